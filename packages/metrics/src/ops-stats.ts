import { loadScripts, WriteBehindCounters, type Keys, type Redis } from '@sluice/redis';
import { TIERS, type CompletionJobResult, type TierName } from '@sluice/queues';

const SCRIPTS = loadScripts('metrics', new URL('./lua/', import.meta.url), { opsIncr: {} });

const MINUTE_MS = 60_000;

/** USD as integer nano-dollars, rounded per call as the cost ledger does, so both sum alike. */
function nanoUsd(usd: number): number {
  return Math.round(usd * 1e9);
}

/** Options for {@link createOpsStats}. */
export interface OpsStatsOptions {
  redis: Redis;
  /** Key helper (`createKeys(prefix)`); keys live under the `{ops:stats}` hash tag. */
  keys: Keys;
  /** Minutes of per-minute buckets kept (the dashboard's "over time" charts). @defaultValue 180 */
  retentionMinutes?: number;
  /** Days the running totals live after their last write. @defaultValue 30 */
  totalsTtlDays?: number;
  /**
   * How long increments are added up in this process before one write sends them (ms): one
   * Redis call per process per interval, however many jobs and 429s there are (a 429 storm
   * must not become a Redis storm). 0 writes each one at once. @defaultValue 1_000
   */
  flushMs?: number;
  /** Where a failed write is reported; its increments are kept for the next one. @defaultValue ignored */
  onError?: (error: unknown) => void;
  /** @defaultValue `Date.now` */
  clock?: () => number;
}

/** Figures of a period (one minute, or since the totals began). */
export interface OpsFigures {
  /** Client jobs finished (summary jobs apart). */
  jobs: number;
  costUsd: number;
  costNanoUsd: number;
  counterfactualUsd: number;
  counterfactualNanoUsd: number;
  savedUsd: number;
  /** Tokens of billed upstream calls (cache answers bill none). */
  promptTokens: number;
  completionTokens: number;
  byTier: Record<TierName, number>;
  cache: { hit: number; miss: number; bypass: number; exact: number; semantic: number };
  /** Background conversation summaries: their count and cost, apart from the jobs'. */
  summaries: { jobs: number; costUsd: number };
  /** 429s received from upstream deployments, in total and per deployment id. */
  upstream429: number;
  upstream429ByDeployment: Record<string, number>;
  /** Upstream calls the global limiter held back (no permit: the job waited instead of drawing a 429), in total and per reason. */
  heldBack: number;
  heldBackByReason: Record<string, number>;
  /** 429s the API answered its clients (tenant quotas, backpressure). */
  client429: number;
}

/** What {@link OpsStats.read} returns. */
export interface OpsSnapshot {
  /** Clock time of the reading (ms). */
  at: number;
  totals: OpsFigures;
  /** The last minutes, oldest first, each starting at `minute` (ms). */
  minutes: Array<OpsFigures & { minute: number }>;
}

/**
 * Sluice-wide operations counters in Redis, written by every API and executor process and
 * read by the savings dashboard: what Prometheus would give with a query across processes,
 * for a dashboard served by one API replica with no Prometheus at hand.
 *
 * Per-minute buckets (kept `retentionMinutes`) and running totals (kept `totalsTtlDays`
 * after their last write), each one hash with a bounded set of fields. Money is counted in
 * integer nano-dollars per call, exactly as the cost ledger counts it, so the totals equal
 * the sum of the jobs' own costs and what `GET /v1/usage` reports for the same jobs.
 *
 * Recording never waits on Redis: increments add up in the process and are written once per
 * `flushMs` (they land in the minute of the write). A job is counted when the process that
 * finished it sees it finish; a job whose executor died between delivering its result and
 * acknowledging it to BullMQ can count twice, and a process killed without `close()` loses up
 * to `flushMs` of counts (the ledger, which bills, de-duplicates and writes at once; these
 * are monitoring counters).
 */
export interface OpsStats {
  /** Count a finished client job, or (`summary`) a background conversation summary. */
  recordJob(result: CompletionJobResult, kind?: 'job' | 'summary'): void;
  /** Count a 429 received from a deployment. */
  recordUpstream429(deploymentId: string): void;
  /** Count an upstream call held back by the global limiter, with the soonest denial's reason. */
  recordHeldBack(reason: string): void;
  /** Count a 429 answered to a client. */
  recordClient429(): void;
  /** Write what has been recorded so far now. */
  flush(): Promise<void>;
  /** Write what is left and stop. Idempotent; records after it are dropped. */
  close(): Promise<void>;
  /** Totals and the last `minutes` minutes (at most the retention). @defaultValue 60 minutes */
  read(options?: { minutes?: number }): Promise<OpsSnapshot>;
}

/** The counter increments a finished job adds. */
export function jobIncrements(result: CompletionJobResult, kind: 'job' | 'summary' = 'job'): Map<string, number> {
  const inc = new Map<string, number>();
  const add = (field: string, value: number) => {
    if (value) inc.set(field, (inc.get(field) ?? 0) + value);
  };
  const calls = result.calls ?? [];
  const cost = calls.length ? calls.reduce((total, c) => total + nanoUsd(c.costUsd), 0) : nanoUsd(result.costUsd);
  if (kind === 'summary') {
    add('summary:jobs', 1);
    add('summary:cost_nusd', cost);
    return inc;
  }
  add('jobs', 1);
  add('cost_nusd', cost);
  add('counterfactual_nusd', nanoUsd(result.counterfactual?.costUsd ?? 0));
  for (const c of calls) {
    if (c.deploymentId === 'cache') continue;
    add('prompt_tokens', c.promptTokens);
    add('completion_tokens', c.completionTokens);
  }
  add(`tier:${result.tier}:jobs`, 1);
  add(`cache:${result.cache}:jobs`, 1);
  if (result.cache === 'hit' && result.cacheKind) add(`cache:hit:${result.cacheKind}`, 1);
  return inc;
}

function figures(get: (field: string) => number, fields: Iterable<string>): OpsFigures {
  const cost = get('cost_nusd');
  const counterfactual = get('counterfactual_nusd');
  const upstream429ByDeployment: Record<string, number> = {};
  const heldBackByReason: Record<string, number> = {};
  for (const field of fields) {
    if (field.startsWith('upstream429:')) upstream429ByDeployment[field.slice('upstream429:'.length)] = get(field);
    if (field.startsWith('held_back:')) heldBackByReason[field.slice('held_back:'.length)] = get(field);
  }
  return {
    jobs: get('jobs'),
    costUsd: cost / 1e9,
    costNanoUsd: cost,
    counterfactualUsd: counterfactual / 1e9,
    counterfactualNanoUsd: counterfactual,
    savedUsd: (counterfactual - cost) / 1e9,
    promptTokens: get('prompt_tokens'),
    completionTokens: get('completion_tokens'),
    byTier: Object.fromEntries(TIERS.map((t) => [t, get(`tier:${t}:jobs`)])) as Record<TierName, number>,
    cache: {
      hit: get('cache:hit:jobs'),
      miss: get('cache:miss:jobs'),
      bypass: get('cache:bypass:jobs'),
      exact: get('cache:hit:exact'),
      semantic: get('cache:hit:semantic'),
    },
    summaries: { jobs: get('summary:jobs'), costUsd: get('summary:cost_nusd') / 1e9 },
    upstream429: get('upstream429'),
    upstream429ByDeployment,
    heldBack: get('held_back'),
    heldBackByReason,
    client429: get('client429'),
  };
}

function fromHash(hash: Record<string, string>): OpsFigures {
  return figures((field) => Number(hash[field] ?? 0), Object.keys(hash));
}

/** Create the shared {@link OpsStats} on a connection (which stays the caller's to close). */
export function createOpsStats(options: OpsStatsOptions): OpsStats {
  const { redis, keys } = options;
  const clock = options.clock ?? Date.now;
  const retentionMinutes = options.retentionMinutes ?? 180;
  const flushMs = options.flushMs ?? 1_000;
  const onError = options.onError ?? (() => {});
  if (!(Number.isFinite(flushMs) && flushMs >= 0))
    throw new TypeError(`Expected \`flushMs\` to be a number ≥ 0, got \`${String(flushMs)}\``);
  const totalsTtlSeconds = Math.round((options.totalsTtlDays ?? 30) * 86_400);
  if (!Number.isInteger(retentionMinutes) || retentionMinutes < 1)
    throw new TypeError(`Expected \`retentionMinutes\` to be an integer ≥ 1, got \`${String(retentionMinutes)}\``);
  if (!(totalsTtlSeconds >= 1))
    throw new TypeError(`Expected \`totalsTtlDays\` to be > 0, got \`${String(options.totalsTtlDays)}\``);
  const minuteKey = (minute: number) => keys.family('ops', 'stats', 'm', String(minute));
  const totalsKey = keys.family('ops', 'stats', 'totals');

  const incr = async (increments: Map<string, number>) => {
    if (increments.size === 0) return;
    const minute = Math.floor(clock() / MINUTE_MS) * MINUTE_MS;
    const args: (string | number)[] = [retentionMinutes * 60 + 60, totalsTtlSeconds];
    for (const [field, value] of increments) args.push(field, value);
    await SCRIPTS.opsIncr.run(redis, [minuteKey(minute), totalsKey], args);
  };

  // One key: the minute is taken when a batch is written, not when it was added.
  const counters = new WriteBehindCounters({
    flushMs,
    onError,
    write: async (batch) => {
      for (const fields of batch.values()) await incr(fields);
    },
  });
  let closed = false;
  const add = (increments: Iterable<readonly [string, number]>) => {
    if (!closed) counters.addAll('ops', increments);
  };

  return {
    recordJob: (result, kind = 'job') => add(jobIncrements(result, kind)),
    recordUpstream429: (deploymentId) =>
      add([
        ['upstream429', 1],
        [`upstream429:${deploymentId}`, 1],
      ]),
    recordHeldBack: (reason) =>
      add([
        ['held_back', 1],
        [`held_back:${reason}`, 1],
      ]),
    recordClient429: () => add([['client429', 1]]),
    flush: () => counters.flush(),
    async close() {
      closed = true;
      await counters.close();
    },
    async read(readOptions = {}) {
      const count = Math.min(Math.max(1, Math.floor(readOptions.minutes ?? 60)), retentionMinutes);
      const now = clock();
      const current = Math.floor(now / MINUTE_MS) * MINUTE_MS;
      const minutes = Array.from({ length: count }, (_, i) => current - (count - 1 - i) * MINUTE_MS);
      const pipeline = redis.pipeline();
      pipeline.hgetall(totalsKey);
      for (const m of minutes) pipeline.hgetall(minuteKey(m));
      const replies = ((await pipeline.exec()) ?? []).map(([error, value]) => {
        if (error) throw error;
        return (value ?? {}) as Record<string, string>;
      });
      return {
        at: now,
        totals: fromHash(replies[0] ?? {}),
        minutes: minutes.map((minute, i) => ({ minute, ...fromHash(replies[i + 1] ?? {}) })),
      };
    },
  };
}
