import type { ResolvedDeployment } from '@sluice/config';
import { countChatTokens, countTokens, type CountableMessage } from '@sluice/llm';
import { TIERS, type BilledCall, type CompletionJobResult, type TierName } from '@sluice/queues';
import { loadScripts, type Keys, type Redis } from '@sluice/redis';
import { InvalidLedgerOptionsError, InvalidUsageRangeError } from './errors.ts';

const DAY_MS = 86_400_000;
const CACHE_OUTCOMES = ['hit', 'miss', 'bypass'] as const;
/** Longest range one {@link Ledger.usage} call reads. */
export const MAX_USAGE_DAYS = 366;

/** USD as integer nano-dollars: every price product is rounded to 1e-9 USD, so sums are exact. */
export function toNanoUsd(usd: number): number {
  return Math.round(usd * 1e9);
}

/** Nano-dollars back to USD. */
export function fromNanoUsd(nano: number): number {
  return nano / 1e9;
}

/** Sum of costs in USD, added as integers so the total is exactly the sum of its parts. */
export function sumUsd(costs: readonly number[]): number {
  return fromNanoUsd(costs.reduce((total, c) => total + toNanoUsd(c), 0));
}

/** The UTC day (`YYYY-MM-DD`) a timestamp falls on. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** OpenAI's prompt cache: prompts from 1,024 tokens, cached in steps of 128 tokens. */
const PROMPT_CACHE_MIN_TOKENS = 1024;
const PROMPT_CACHE_STEP_TOKENS = 128;

/** The longest prefix of `tokens` tokens a provider prompt cache can serve. */
function cacheablePrefix(tokens: number): number {
  if (tokens < PROMPT_CACHE_MIN_TOKENS) return 0;
  return (
    PROMPT_CACHE_MIN_TOKENS +
    Math.floor((tokens - PROMPT_CACHE_MIN_TOKENS) / PROMPT_CACHE_STEP_TOKENS) * PROMPT_CACHE_STEP_TOKENS
  );
}

/** Input of {@link counterfactualCost}. */
export interface CounterfactualInput {
  /** Every configured deployment; the first `large` one prices the counterfactual. */
  deployments: readonly ResolvedDeployment[];
  /** The full history the client would have sent without Sluice (before any pruning). */
  messages?: readonly CountableMessage[];
  /** Its prompt tokens when already counted (a stored conversation's full history). */
  promptTokens?: number;
  /**
   * Tool definitions and `response_format` sent with the prompt: providers bill them as
   * input tokens, so the counterfactual counts them too (their JSON, with the large model's tokenizer).
   */
  tools?: unknown;
  responseFormat?: unknown;
  /** The answer's completion tokens (the same answer, whichever model gave it). */
  completionTokens: number;
  /** Prompt tokens the provider's prompt cache served on the real answer call. @defaultValue 0 */
  cachedTokens?: number;
}

/**
 * What a job would have cost without Sluice: the large tier's price, the full context (no
 * pruning), no Sluice cache. Input tokens are counted with the large model's tokenizer unless
 * the caller already has them; output tokens are the real answer's.
 *
 * The provider's own prompt cache would have discounted that call too, and that discount is
 * not Sluice's saving: the counterfactual assumes the provider cached everything before the
 * newest message (a conversation sent in full repeats its history as a stable prefix), or at
 * least what it cached on the real call, whichever is more.
 */
export function counterfactualCost(input: CounterfactualInput): NonNullable<CompletionJobResult['counterfactual']> {
  const large = input.deployments.find((d) => d.tier === 'large');
  if (!large)
    throw new InvalidLedgerOptionsError('Expected a `large` deployment to price the counterfactual, found none');
  const messages = input.messages ?? [];
  const definitions = [input.tools, input.responseFormat].filter((d) => d !== undefined && d !== null);
  const promptTokens =
    (input.promptTokens ?? countChatTokens(messages, large.model)) +
    definitions.reduce<number>((sum, d) => sum + countTokens(JSON.stringify(d), large.model), 0);
  let cachedTokens = 0;
  if (promptTokens >= PROMPT_CACHE_MIN_TOKENS) {
    const newest = messages.length > 0 ? countChatTokens(messages.slice(-1), large.model) : 0;
    // Only a request with a newest message and something before it (earlier messages, or a
    // history Sluice keeps) has a prefix the provider saw before.
    const history =
      messages.length > 0 && (messages.length > 1 || input.promptTokens !== undefined)
        ? cacheablePrefix(promptTokens - newest)
        : 0;
    cachedTokens = Math.min(promptTokens, Math.max(history, input.cachedTokens ?? 0));
  }
  const costUsd =
    Math.round(
      (((promptTokens - cachedTokens) * large.inputPricePerMTok +
        cachedTokens * (large.cachedInputPricePerMTok ?? large.inputPricePerMTok) +
        input.completionTokens * large.outputPricePerMTok) /
        1_000_000) *
        1e9,
    ) / 1e9;
  return {
    promptTokens,
    completionTokens: input.completionTokens,
    ...(cachedTokens > 0 ? { cachedTokens } : {}),
    costUsd,
  };
}

/** One finished job as the ledger counts it. */
export interface LedgerEntry {
  tenant: string;
  /** The job id (a summary job's own id): counted once per id. */
  jobId: string;
  /** When the job finished (ms); it counts on that UTC day. */
  finishedAt: number;
  /**
   * A client's job, a background conversation summary, or a `POST /v1/embeddings` request
   * (the last two reported apart; an embedding entry's `tier` is not used). @defaultValue `'job'`
   */
  kind?: 'job' | 'summary' | 'embedding';
  /** The tier that gave the answer. */
  tier: TierName;
  cache: 'hit' | 'miss' | 'bypass';
  /** Billed calls (cache answers are priced at zero). Their costs add up to the job's cost. */
  calls: readonly BilledCall[];
  /** Large tier, full context, no cache. */
  counterfactual: { promptTokens: number; completionTokens: number; costUsd: number };
  /** A cascade escalated to the large tier. */
  escalated?: boolean;
}

/** A finished job's entry from its result (`calls` and `counterfactual` as the executor or fast path set them). */
export function entryFromResult(
  job: { tenant: string; jobId: string; finishedAt: number },
  result: CompletionJobResult,
): LedgerEntry {
  return {
    tenant: job.tenant,
    jobId: job.jobId,
    finishedAt: job.finishedAt,
    tier: result.tier,
    cache: result.cache,
    calls: result.calls ?? [],
    counterfactual: result.counterfactual ?? { promptTokens: 0, completionTokens: 0, costUsd: 0 },
    escalated: result.cascade?.escalated ?? false,
  };
}

/** Options for {@link createLedger}. */
export interface LedgerOptions {
  /** ioredis connection. */
  redis: Redis;
  /** Key helper (`createKeys(prefix)`); keys live under the `ledger` family, tagged per tenant. */
  keys: Keys;
  /** Days a tenant's daily totals are kept after their last write. @defaultValue 400 */
  retentionDays?: number;
  /**
   * How long a job's "already counted" marker lives (s). It must outlive every way the job
   * can finish again (retries, takeover after a crash), which the job record's TTL bounds.
   * @defaultValue 172_800 (2 days)
   */
  markerTtlSeconds?: number;
  /** Clock (ms), for the default usage range. @defaultValue `Date.now` */
  now?: () => number;
}

/** Cost, counterfactual and tokens of a slice of the totals. */
export interface UsageFigures {
  jobs: number;
  cost_usd: number;
  cost_nano_usd: number;
  counterfactual_usd: number;
  counterfactual_nano_usd: number;
  saved_usd: number;
  prompt_tokens: number;
  completion_tokens: number;
}

/** Per tier: jobs answered there, and the calls made there (a cascade's small call counts on small). */
export interface TierUsage {
  jobs: number;
  calls: number;
  cost_usd: number;
  cost_nano_usd: number;
  prompt_tokens: number;
  completion_tokens: number;
}

/** What `GET /v1/usage` returns. */
export interface UsageReport {
  object: 'sluice.usage';
  tenant: string;
  from: string;
  to: string;
  /** Client jobs: the sum of their own `cost_usd`, and what they would have cost without Sluice. */
  totals: UsageFigures & {
    counterfactual_prompt_tokens: number;
    counterfactual_completion_tokens: number;
    upstream_calls: number;
    escalations: number;
    /** `saved_usd` over `counterfactual_usd` (0 when nothing was spent). */
    saved_share: number;
  };
  by_tier: Record<TierName, TierUsage>;
  by_cache: Record<(typeof CACHE_OUTCOMES)[number], UsageFigures>;
  /** Background rolling-summary jobs (router tier): the price of pruning, not in any job's cost. */
  summaries: {
    jobs: number;
    cost_usd: number;
    cost_nano_usd: number;
    prompt_tokens: number;
    completion_tokens: number;
  };
  /** `POST /v1/embeddings` requests (inputs answered from the embeddings cache cost nothing). */
  embeddings: { requests: number; cost_usd: number; cost_nano_usd: number; prompt_tokens: number };
  /** Everything spent: jobs, summaries and embeddings, and the saving net of summaries. */
  spend_usd: number;
  net_saved_usd: number;
  days: Array<{ date: string; jobs: number; cost_usd: number; counterfactual_usd: number; saved_usd: number }>;
}

/** Per-tenant, per-day cost ledger in Redis hashes. */
export interface Ledger {
  /** Count a finished job; false when it was already counted. */
  record(entry: LedgerEntry): Promise<boolean>;
  /** A tenant's totals over `[from, to]` (UTC days, inclusive). @defaultValue the last 30 days */
  usage(tenant: string, range?: { from?: string; to?: string }): Promise<UsageReport>;
}

const SCRIPTS = loadScripts('ledger', new URL('./lua/', import.meta.url), { recordJob: {} });
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function parseDay(value: string, name: string): number {
  const ms = DATE.test(value) ? Date.parse(`${value}T00:00:00Z`) : Number.NaN;
  if (!Number.isFinite(ms) || utcDay(ms) !== value)
    throw new InvalidUsageRangeError(`Expected \`${name}\` to be a date YYYY-MM-DD, got \`${value}\``, name);
  return ms;
}

/** The days of a usage range, validated (at most {@link MAX_USAGE_DAYS}, `from` ≤ `to`). */
export function usageDays(range: { from?: string; to?: string }, now: number): string[] {
  const toMs = range.to !== undefined ? parseDay(range.to, 'to') : Date.parse(`${utcDay(now)}T00:00:00Z`);
  const fromMs = range.from !== undefined ? parseDay(range.from, 'from') : toMs - 29 * DAY_MS;
  if (fromMs > toMs)
    throw new InvalidUsageRangeError(
      `Expected \`from\` (${utcDay(fromMs)}) to be on or before \`to\` (${utcDay(toMs)})`,
      'from',
    );
  const count = Math.round((toMs - fromMs) / DAY_MS) + 1;
  if (count > MAX_USAGE_DAYS)
    throw new InvalidUsageRangeError(`A usage range spans at most ${MAX_USAGE_DAYS} days, got ${count}`, 'from');
  return Array.from({ length: count }, (_, i) => utcDay(fromMs + i * DAY_MS));
}

/**
 * Totals that are sums of the per-outcome fields (`cache:<o>:…`, each job counts under exactly
 * one outcome) or of the per-tier calls: not written (6 of a miss's 18 `HINCRBY`s), worked out
 * when read. Older hashes that hold them too read the same: they were written in the same
 * script as their parts.
 */
const DERIVED: Readonly<Record<string, readonly string[]>> = {
  jobs: CACHE_OUTCOMES.map((o) => `cache:${o}:jobs`),
  cost_nusd: CACHE_OUTCOMES.map((o) => `cache:${o}:cost_nusd`),
  counterfactual_nusd: CACHE_OUTCOMES.map((o) => `cache:${o}:counterfactual_nusd`),
  prompt_tokens: CACHE_OUTCOMES.map((o) => `cache:${o}:prompt_tokens`),
  completion_tokens: CACHE_OUTCOMES.map((o) => `cache:${o}:completion_tokens`),
  calls: TIERS.map((t) => `tier:${t}:calls`),
};

/** A day hash's fields with the {@link DERIVED} totals worked out from their parts. */
function withTotals(hash: Record<string, string>): Map<string, number> {
  const fields = new Map<string, number>();
  for (const [field, value] of Object.entries(hash)) if (!(field in DERIVED)) fields.set(field, Number(value));
  for (const [total, parts] of Object.entries(DERIVED))
    fields.set(
      total,
      parts.reduce((sum, part) => sum + (fields.get(part) ?? 0), 0),
    );
  return fields;
}

/** The hash increments one entry adds (integers only: nano-dollars and tokens); totals are derived when read. */
export function ledgerIncrements(entry: LedgerEntry): Map<string, number> {
  const inc = new Map<string, number>();
  const add = (field: string, value: number) => {
    if (value) inc.set(field, (inc.get(field) ?? 0) + value);
  };
  const billed = entry.calls.filter((c) => c.deploymentId !== 'cache');
  const cost = entry.calls.reduce((total, c) => total + toNanoUsd(c.costUsd), 0);
  const promptTokens = billed.reduce((total, c) => total + c.promptTokens, 0);
  const completionTokens = billed.reduce((total, c) => total + c.completionTokens, 0);
  if ((entry.kind ?? 'job') === 'summary') {
    add('summary:jobs', 1);
    add('summary:cost_nusd', cost);
    add('summary:prompt_tokens', promptTokens);
    add('summary:completion_tokens', completionTokens);
    return inc;
  }
  if (entry.kind === 'embedding') {
    add('embedding:requests', 1);
    add('embedding:cost_nusd', cost);
    add('embedding:prompt_tokens', promptTokens);
    return inc;
  }
  const counterfactual = toNanoUsd(entry.counterfactual.costUsd);
  add('counterfactual_prompt_tokens', entry.counterfactual.promptTokens);
  add('counterfactual_completion_tokens', entry.counterfactual.completionTokens);
  add('escalations', entry.escalated ? 1 : 0);
  add(`tier:${entry.tier}:jobs`, 1);
  for (const c of entry.calls) {
    add(`tier:${c.tier}:cost_nusd`, toNanoUsd(c.costUsd));
    if (c.deploymentId === 'cache') continue;
    add(`tier:${c.tier}:calls`, 1);
    add(`tier:${c.tier}:prompt_tokens`, c.promptTokens);
    add(`tier:${c.tier}:completion_tokens`, c.completionTokens);
  }
  add(`cache:${entry.cache}:jobs`, 1);
  add(`cache:${entry.cache}:cost_nusd`, cost);
  add(`cache:${entry.cache}:counterfactual_nusd`, counterfactual);
  add(`cache:${entry.cache}:prompt_tokens`, promptTokens);
  add(`cache:${entry.cache}:completion_tokens`, completionTokens);
  return inc;
}

function figures(get: (field: string) => number, prefix: string): UsageFigures {
  const cost = get(`${prefix}cost_nusd`);
  const counterfactual = get(`${prefix}counterfactual_nusd`);
  return {
    jobs: get(`${prefix}jobs`),
    cost_usd: fromNanoUsd(cost),
    cost_nano_usd: cost,
    counterfactual_usd: fromNanoUsd(counterfactual),
    counterfactual_nano_usd: counterfactual,
    saved_usd: fromNanoUsd(counterfactual - cost),
    prompt_tokens: get(`${prefix}prompt_tokens`),
    completion_tokens: get(`${prefix}completion_tokens`),
  };
}

/**
 * Create the cost {@link Ledger}. Totals live in one hash per tenant per UTC day
 * (`{prefix}:{ledger:TENANT}:day:YYYY-MM-DD`, TTL `retentionDays`), in integer nano-dollars
 * and tokens added with HINCRBY, so a total is exactly the sum of the jobs' own costs.
 */
export function createLedger(options: LedgerOptions): Ledger {
  const { redis, keys } = options;
  const retentionDays = options.retentionDays ?? 400;
  const markerTtlSeconds = options.markerTtlSeconds ?? 172_800;
  const now = options.now ?? Date.now;
  if (!Number.isInteger(retentionDays) || retentionDays < 1)
    throw new InvalidLedgerOptionsError(
      `Expected \`retentionDays\` to be an integer ≥ 1, got \`${String(retentionDays)}\``,
    );
  if (!Number.isInteger(markerTtlSeconds) || markerTtlSeconds < 1)
    throw new InvalidLedgerOptionsError(
      `Expected \`markerTtlSeconds\` to be an integer ≥ 1, got \`${String(markerTtlSeconds)}\``,
    );
  const tag = (tenant: string) => encodeURIComponent(tenant);
  const dayKey = (tenant: string, day: string) => keys.family('ledger', tag(tenant), 'day', day);

  return {
    async record(entry) {
      if (!entry.tenant) throw new InvalidLedgerOptionsError('Expected a ledger entry with a `tenant`');
      const args: (string | number)[] = [retentionDays * 86_400, markerTtlSeconds];
      for (const [field, value] of ledgerIncrements(entry)) args.push(field, value);
      const keyArgs = [
        dayKey(entry.tenant, utcDay(entry.finishedAt)),
        keys.family('ledger', tag(entry.tenant), 'job', entry.jobId),
      ];
      return Number(await SCRIPTS.recordJob.run(redis, keyArgs, args)) === 1;
    },

    async usage(tenant, range = {}) {
      const days = usageDays(range, now());
      const pipeline = redis.pipeline();
      for (const day of days) pipeline.hgetall(dayKey(tenant, day));
      const hashes = ((await pipeline.exec()) ?? []).map(([error, value]) => {
        if (error) throw error;
        return withTotals((value ?? {}) as Record<string, string>);
      });
      const sums = new Map<string, number>();
      for (const h of hashes) for (const [field, value] of h) sums.set(field, (sums.get(field) ?? 0) + value);
      const get = (field: string) => sums.get(field) ?? 0;
      const totals = figures(get, '');
      const summaryCost = get('summary:cost_nusd');
      const embeddingCost = get('embedding:cost_nusd');
      const byTier = Object.fromEntries(
        TIERS.map((t) => {
          const cost = get(`tier:${t}:cost_nusd`);
          return [
            t,
            {
              jobs: get(`tier:${t}:jobs`),
              calls: get(`tier:${t}:calls`),
              cost_usd: fromNanoUsd(cost),
              cost_nano_usd: cost,
              prompt_tokens: get(`tier:${t}:prompt_tokens`),
              completion_tokens: get(`tier:${t}:completion_tokens`),
            },
          ];
        }),
      ) as Record<TierName, TierUsage>;
      const byCache = Object.fromEntries(
        CACHE_OUTCOMES.map((o) => [o, figures(get, `cache:${o}:`)]),
      ) as UsageReport['by_cache'];
      return {
        object: 'sluice.usage',
        tenant,
        from: days[0]!,
        to: days.at(-1)!,
        totals: {
          ...totals,
          counterfactual_prompt_tokens: get('counterfactual_prompt_tokens'),
          counterfactual_completion_tokens: get('counterfactual_completion_tokens'),
          upstream_calls: get('calls'),
          escalations: get('escalations'),
          saved_share:
            totals.counterfactual_nano_usd > 0
              ? (totals.counterfactual_nano_usd - totals.cost_nano_usd) / totals.counterfactual_nano_usd
              : 0,
        },
        by_tier: byTier,
        by_cache: byCache,
        summaries: {
          jobs: get('summary:jobs'),
          cost_usd: fromNanoUsd(summaryCost),
          cost_nano_usd: summaryCost,
          prompt_tokens: get('summary:prompt_tokens'),
          completion_tokens: get('summary:completion_tokens'),
        },
        embeddings: {
          requests: get('embedding:requests'),
          cost_usd: fromNanoUsd(embeddingCost),
          cost_nano_usd: embeddingCost,
          prompt_tokens: get('embedding:prompt_tokens'),
        },
        spend_usd: fromNanoUsd(totals.cost_nano_usd + summaryCost + embeddingCost),
        net_saved_usd: fromNanoUsd(totals.counterfactual_nano_usd - totals.cost_nano_usd - summaryCost),
        days: days.map((date, i) => {
          const h = hashes[i]!;
          const cost = h.get('cost_nusd') ?? 0;
          const counterfactual = h.get('counterfactual_nusd') ?? 0;
          return {
            date,
            jobs: h.get('jobs') ?? 0,
            cost_usd: fromNanoUsd(cost),
            counterfactual_usd: fromNanoUsd(counterfactual),
            saved_usd: fromNanoUsd(counterfactual - cost),
          };
        }),
      };
    },
  };
}
