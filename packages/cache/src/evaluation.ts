import { readFileSync } from 'node:fs';
import type { Keys, Redis } from '@sluice/redis';
import type { CategoryName } from '@sluice/queues';
import { cosineSimilarity, type Embedder } from './embedder.ts';
import type { CacheConfig } from './policy.ts';
import { ResponseCache } from './response-cache.ts';
import type { RejectionReason } from './verify.ts';

/** One prompt pair of `eval/pairs.json`. */
export interface EvalPair {
  id: string;
  expect: 'hit' | 'miss';
  category: CategoryName;
  cached: string;
  query: string;
  why?: string;
}

/**
 * An eval set shipped with the package: `pairs` (the development set the rules were written
 * against) or `holdout` (written after the rules were frozen; an out-of-sample estimate).
 */
export function loadEvalPairs(set: 'pairs' | 'holdout' = 'pairs'): EvalPair[] {
  const file = new URL(`../eval/${set}.json`, import.meta.url);
  return (JSON.parse(readFileSync(file, 'utf8')) as { pairs: EvalPair[] }).pairs;
}

/** Options for {@link runCacheEval}. */
export interface CacheEvalOptions {
  redis: Redis;
  keys: Keys;
  embedder: Embedder;
  /** @defaultValue {@link EVAL_CONFIG} (the config defaults: threshold 0.90, semantic on) */
  config?: Partial<CacheConfig>;
  pairs?: EvalPair[];
  /** See {@link ResponseCacheOptions.contentWordSimilarity}. */
  contentWordSimilarity?: number;
}

/** What one mode of the eval measured. */
export interface EvalModeResult {
  /** Rewordings answered with their own cached entry. */
  hits: number;
  hitPairs: number;
  /** `hits / hitPairs`. */
  recall: number;
  /** Near-misses answered from the cache, plus rewordings answered with another pair's entry. Must be 0. */
  falseHits: number;
  falseHitIds: string[];
  /** Rewordings not answered, with the reason (for the README's honest list). */
  missedIds: Array<{ id: string; reason: string }>;
  /** Near-misses whose vectors were close enough, stopped only by verification. */
  caughtByVerification: number;
  rejectionsByReason: Partial<Record<RejectionReason, number>>;
}

/** Result of {@link runCacheEval}. */
export interface CacheEvalResult {
  embedder: string;
  threshold: number;
  /** Each pair alone in its own tenant: stores `cached`, looks up `query`. */
  isolated: EvalModeResult;
  /** Every `cached` prompt in one namespace, then every `query`: adds wrong-neighbour risk. */
  crowded: EvalModeResult;
  /** Threshold alone, no verification (computed from the vectors, not through the cache): what verification prevents. */
  thresholdOnly: { recall: number; falseHits: number };
}

export const EVAL_CONFIG: CacheConfig = {
  enabled: true,
  semantic: true,
  threshold: 0.9,
  thresholdByCategory: {},
  ttlSeconds: {
    time_sensitive: 0,
    factual: 3_600,
    general: 604_800,
    creative: 604_800,
    code: 604_800,
    reasoning: 604_800,
  },
  maxTemperature: 1,
  namespaceCap: 50_000,
  cacheToolCalls: false,
};

const completionFor = (id: string) => ({
  id: `chatcmpl-${id}`,
  object: 'chat.completion',
  created: 0,
  model: 'eval-model',
  choices: [{ index: 0, message: { role: 'assistant', content: `answer for ${id}` }, finish_reason: 'stop' }],
});

const requestFor = (text: string) => ({ model: 'eval-model', messages: [{ role: 'user' as const, content: text }] });

function emptyMode(hitPairs: number): EvalModeResult {
  return {
    hits: 0,
    hitPairs,
    recall: 0,
    falseHits: 0,
    falseHitIds: [],
    missedIds: [],
    caughtByVerification: 0,
    rejectionsByReason: {},
  };
}

/**
 * Measure semantic hit recall and false hits of an embedder through the real lookup path
 * (store, `VSIM`, threshold, verification) on a live Redis. Uses the key prefix it is given;
 * pass a fresh one.
 */
export async function runCacheEval(options: CacheEvalOptions): Promise<CacheEvalResult> {
  const pairs = options.pairs ?? loadEvalPairs();
  const config: CacheConfig = { ...EVAL_CONFIG, ...options.config };
  const cache = new ResponseCache({
    redis: options.redis,
    keys: options.keys,
    embedder: options.embedder,
    config,
    contentWordSimilarity: options.contentWordSimilarity,
  });
  const hitPairs = pairs.filter((p) => p.expect === 'hit').length;
  const base = { tier: 'small' as const, model: 'eval-model' };
  const [cachedVectors, queryVectors] = await Promise.all([
    options.embedder.embed(pairs.map((p) => p.cached)),
    options.embedder.embed(pairs.map((p) => p.query)),
  ]);

  const score = (
    mode: EvalModeResult,
    pair: EvalPair,
    result: Awaited<ReturnType<ResponseCache['lookup']>>,
    ownEntry: string | undefined,
  ) => {
    for (const r of result.rejections) mode.rejectionsByReason[r.reason] = (mode.rejectionsByReason[r.reason] ?? 0) + 1;
    if (result.hit) {
      if (pair.expect === 'hit' && result.entryId === ownEntry) mode.hits += 1;
      else {
        mode.falseHits += 1;
        mode.falseHitIds.push(pair.id);
      }
    } else {
      if (pair.expect === 'hit')
        mode.missedIds.push({
          id: pair.id,
          reason: result.rejections[0] ? `${result.reason}: ${result.rejections[0].reason}` : result.reason,
        });
      if (pair.expect === 'miss' && result.rejections.length > 0) mode.caughtByVerification += 1;
    }
  };

  const isolated = emptyMode(hitPairs);
  for (const [i, pair] of pairs.entries()) {
    const tenant = `eval-${pair.id}`;
    const stored = await cache.store({
      ...base,
      tenant,
      category: pair.category,
      request: requestFor(pair.cached),
      completion: completionFor(pair.id),
      jobId: pair.id,
      embedding: cachedVectors[i],
    });
    const result = await cache.lookup({
      ...base,
      tenant,
      category: pair.category,
      request: requestFor(pair.query),
      embedding: queryVectors[i],
    });
    score(isolated, pair, result, stored.stored ? stored.entryId : undefined);
  }

  const crowded = emptyMode(hitPairs);
  const own = new Map<string, string>();
  for (const [i, pair] of pairs.entries()) {
    const stored = await cache.store({
      ...base,
      tenant: 'eval-crowded',
      category: pair.category,
      request: requestFor(pair.cached),
      completion: completionFor(pair.id),
      jobId: pair.id,
      embedding: cachedVectors[i],
    });
    if (stored.stored) own.set(pair.id, stored.entryId);
  }
  for (const [i, pair] of pairs.entries()) {
    const result = await cache.lookup({
      ...base,
      tenant: 'eval-crowded',
      category: pair.category,
      request: requestFor(pair.query),
      embedding: queryVectors[i],
    });
    score(crowded, pair, result, own.get(pair.id));
  }
  for (const mode of [isolated, crowded]) mode.recall = hitPairs ? mode.hits / hitPairs : 0;

  const threshold = config.threshold;
  const calibrate = (c: number) => (options.embedder.calibrate ? options.embedder.calibrate(c) : c);
  let thresholdHits = 0;
  let thresholdFalse = 0;
  pairs.forEach((pair, i) => {
    const pass =
      calibrate(cosineSimilarity(cachedVectors[i]!, queryVectors[i]!)) >=
      (config.thresholdByCategory[pair.category] ?? threshold);
    if (pass && pair.expect === 'hit') thresholdHits += 1;
    if (pass && pair.expect === 'miss') thresholdFalse += 1;
  });

  await cache.close();
  return {
    embedder: options.embedder.id,
    threshold,
    isolated,
    crowded,
    thresholdOnly: { recall: hitPairs ? thresholdHits / hitPairs : 0, falseHits: thresholdFalse },
  };
}
