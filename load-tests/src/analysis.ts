/**
 * Turns one scenario's responses into its figures: served-by mix, cache hits and their
 * correctness (from the simulator fingerprint in each answer), routing mistakes, context
 * pruning, latency CDF and token spend.
 */
import { DEFAULT_PRICES } from '@sluice/config';
import { countChatTokens } from '@sluice/llm';
import { parseReplyFingerprint } from '@sluice/sim';
import type hdr from 'hdr-histogram-js';
import { usToMs, type OpenLoopResult, type ResponseRecord } from './driver.ts';
import type { SimModelStats } from './processes.ts';
import type {
  AnswerQuality,
  ModelSpend,
  PruningEffect,
  RoutingQuality,
  ScenarioName,
  ScenarioResult,
  SeriesPoint,
} from './results.ts';
import type { Workload } from './workload.ts';

/** USD for tokens of a simulator model (`sim-large@x` is priced as `sim-large`). */
export function priceTokens(model: string, promptTokens: number, completionTokens: number): number {
  const price = DEFAULT_PRICES[model] ?? DEFAULT_PRICES[model.split('@')[0]!];
  if (!price) throw new Error(`No price for model \`${model}\``);
  return (promptTokens * price.input + completionTokens * price.output) / 1e6;
}

/**
 * Spend per model from simulator stats, for the models whose id matches `filter`; counters
 * are taken relative to `before` when given (the maxima are not: they cover the whole window).
 */
export function spendFromStats(
  stats: Record<string, SimModelStats>,
  filter: (model: string) => boolean,
  before: Record<string, SimModelStats> = {},
): ModelSpend[] {
  return Object.entries(stats)
    .filter(([model]) => filter(model))
    .map(([model, s]) => {
      const b = before[model];
      const promptTokens = s.promptTokens - (b?.promptTokens ?? 0);
      const completionTokens = s.completionTokens - (b?.completionTokens ?? 0);
      return {
        model,
        promptTokens,
        completionTokens,
        usd: priceTokens(model, promptTokens, completionTokens),
        requests: s.requests - (b?.requests ?? 0),
        accepted: s.accepted - (b?.accepted ?? 0),
        rateLimited: s.rateLimited - (b?.rateLimited ?? 0),
        maxAcceptedIn60s: s.maxAcceptedIn60s,
        maxInFlight: s.maxInFlight,
      };
    })
    .filter((s) => s.requests > 0)
    .sort((a, b) => a.model.localeCompare(b.model));
}

/** [latency ms, cumulative fraction] points of a histogram, for a CDF chart. */
export function cdfPoints(histogram: hdr.Histogram): Array<[number, number]> {
  if (histogram.totalCount === 0) return [];
  const percentiles = [...Array.from({ length: 48 }, (_, i) => i * 2), 95, 96, 97, 98, 99, 99.5, 99.9, 100];
  return percentiles.map(
    (p) =>
      [usToMs(p === 0 ? histogram.minNonZeroValue : histogram.getValueAtPercentile(p)), p / 100] as [number, number],
  );
}

/** A finished request as analysed: the driver's record plus the answer. */
export type AnsweredRecord = ResponseRecord;

/** Options for {@link analyzeScenario}. */
export interface AnalyzeOptions {
  name: ScenarioName;
  title: string;
  switches: Record<string, string>;
  workload: Workload;
  records: readonly AnsweredRecord[];
  run: OpenLoopResult;
  spend: ModelSpend[];
  providerLimit: ScenarioResult['providerLimit'];
  /** Width of the hit-ratio buckets (s). */
  bucketSeconds: number;
  /**
   * Mean (upstream − client) prompt tokens per request measured where nothing prunes (direct
   * calls): corrects any framing difference between the two counters. @defaultValue 0
   */
  promptTokenOffset?: number;
}

const header = (r: AnsweredRecord, name: string) => r.headers?.[name];

/** Compute a scenario's figures from its responses. */
export function analyzeScenario(options: AnalyzeOptions): ScenarioResult {
  const { workload, records, run } = options;
  const servedBy: Record<string, number> = {};
  const cache = { hits: 0, exact: 0, semantic: 0, misses: 0, bypass: 0, hitRatio: 0 };
  const quality: AnswerQuality = {
    checked: 0,
    own: 0,
    sameIntent: 0,
    falseHits: 0,
    wrongNotHit: 0,
    crossTenant: 0,
    timeSensitiveHits: 0,
    unattributed: 0,
    unreadable: 0,
  };
  const routing: RoutingQuality = { complex: 0, complexOnSmall: 0, simple: 0, simpleOnLarge: 0 };
  const pruning: PruningEffect = {
    turns: 0,
    clientPromptTokens: 0,
    upstreamPromptTokens: 0,
    savedTokens: 0,
    prunedTurns: 0,
  };
  const offset = options.promptTokenOffset ?? 0;
  const buckets = new Map<number, { hits: number; n: number }>();
  let headerCost = 0;
  let headerCostSeen = false;

  for (const r of records) {
    const bucket = Math.floor(r.dueMs / 1000 / options.bucketSeconds);
    const b = buckets.get(bucket) ?? { hits: 0, n: 0 };
    b.n++;
    buckets.set(bucket, b);
    if (!r.ok) continue;
    const req = workload.requests[r.index]!;
    const cacheHeader = header(r, 'x-sluice-cache');
    const hit = cacheHeader === 'hit';
    const tier = header(r, 'x-sluice-tier') ?? (options.name === 'direct' ? 'large' : 'unknown');
    const cost = header(r, 'x-sluice-cost-usd');
    if (cost !== undefined && Number.isFinite(Number(cost))) {
      headerCost += Number(cost);
      headerCostSeen = true;
    }
    servedBy[hit ? 'hit' : tier] = (servedBy[hit ? 'hit' : tier] ?? 0) + 1;
    if (hit) {
      cache.hits++;
      if (header(r, 'x-sluice-cache-kind') === 'semantic') cache.semantic++;
      else cache.exact++;
    } else if (cacheHeader === 'bypass') cache.bypass++;
    else if (cacheHeader === 'miss') cache.misses++;
    if (hit) b.hits++;

    // Which prompt was this answer produced for?
    const fingerprint = parseReplyFingerprint(r.content);
    if (!fingerprint) quality.unreadable++;
    else {
      quality.checked++;
      const origin = workload.fingerprints.get(fingerprint);
      if (fingerprint === req.fingerprint) quality.own++;
      else if (!origin) quality.unattributed++;
      else if (origin.tenant !== req.tenant) quality.crossTenant++;
      else if (origin.intentGroup === req.intentGroup) quality.sameIntent++;
      else if (hit) quality.falseHits++;
      else quality.wrongNotHit++;
      // A hit from another tenant is wrong too, whatever its intent.
      if (origin && origin.tenant !== req.tenant && hit) quality.falseHits++;
    }
    if (hit && req.category === 'time_sensitive') quality.timeSensitiveHits++;

    if (tier === 'small' || tier === 'large') {
      if (req.complexity === 'complex') {
        routing.complex++;
        if (tier === 'small') routing.complexOnSmall++;
      } else {
        routing.simple++;
        if (tier === 'large') routing.simpleOnLarge++;
      }
    }

    if (req.conversation && !hit && r.usage) {
      const client = countChatTokens(req.messages);
      pruning.turns++;
      pruning.clientPromptTokens += client;
      pruning.upstreamPromptTokens += r.usage.prompt_tokens;
      const saved = client + offset - r.usage.prompt_tokens;
      if (saved > 0.5) {
        pruning.prunedTurns++;
        pruning.savedTokens += saved;
      }
    }
  }
  pruning.savedTokens = Math.round(pruning.savedTokens);
  cache.hitRatio = run.sent ? cache.hits / run.sent : 0;
  const hitRatioSeries: SeriesPoint[] = [...buckets.entries()]
    .sort(([a], [b]) => a - b)
    .map(([bucket, b]) => ({ t: (bucket + 0.5) * options.bucketSeconds, value: b.n ? b.hits / b.n : 0, n: b.n }));
  const costUsd = options.spend.reduce((a, s) => a + s.usd, 0);
  // Answers the provider accepted on the answering tiers, minus those a client received: work
  // done for clients that had already given up (or retried elsewhere).
  const answeringCalls = options.spend
    .filter((s) => /^sim-(small|large)(@|$)/.test(s.model))
    .reduce((a, s) => a + s.accepted, 0);
  const ms = (h: hdr.Histogram, p: number) => usToMs(h.getValueAtPercentile(p));
  return {
    name: options.name,
    title: options.title,
    switches: options.switches,
    sent: run.sent,
    ok: run.ok,
    errors: run.errors,
    statuses: run.statuses,
    successRate: run.sent ? run.ok / run.sent : 0,
    okLatency: {
      p50: ms(run.okHistogram, 50),
      p90: ms(run.okHistogram, 90),
      p99: ms(run.okHistogram, 99),
      max: usToMs(run.okHistogram.maxValue),
    },
    allLatency: { p50: run.p50, p90: run.p90, p99: run.p99, max: run.max },
    throughput: run.throughput,
    elapsedS: run.elapsedS,
    latencyCdf: cdfPoints(run.okHistogram),
    spend: options.spend,
    costUsd,
    costPerThousandOk: run.ok ? (costUsd / run.ok) * 1000 : 0,
    headerCostUsd: headerCostSeen ? headerCost : undefined,
    unusedUpstreamCalls: Math.max(0, answeringCalls - (run.ok - cache.hits)),
    servedBy,
    cache,
    hitRatioSeries,
    quality,
    routing,
    pruning,
    providerLimit: options.providerLimit,
  };
}

/**
 * Mean (upstream − client) prompt tokens over successful records: how the two counters
 * differ when nothing rewrites the prompt. Measured on direct calls.
 */
export function promptTokenOffset(workload: Workload, records: readonly AnsweredRecord[]): number {
  let sum = 0;
  let n = 0;
  for (const r of records) {
    if (!r.ok || !r.usage) continue;
    sum += r.usage.prompt_tokens - countChatTokens(workload.requests[r.index]!.messages);
    n++;
  }
  return n ? sum / n : 0;
}
