import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createKeys, createRedis } from '@sluice/redis';
import { loadSifEmbedder } from './create-embedder.ts';
import { loadEvalPairs, runCacheEval } from './evaluation.ts';
import { loadPublicSet } from './public-eval.ts';
import { HashingEmbedder } from './hashing-embedder.ts';

// Floors are the figures measured when the defaults were chosen (README), so a change that
// costs recall fails here; false hits must stay at 0.
const DEV_RECALL_FLOOR = 31 / 36;
const HOLDOUT_RECALL_FLOOR = 17 / 20;
const SIF_DEV_RECALL_FLOOR = 32 / 36;
const SIF_HOLDOUT_RECALL_FLOOR = 17 / 20;

describe('semantic cache eval (offline embedder, real lookup path)', () => {
  const redis = createRedis({ url: inject('redisUrl'), role: 'worker', name: 'cache-eval-test' });
  afterAll(() => redis.disconnect());
  const embedder = new HashingEmbedder({ dimensions: 256 });

  it('has at least 20 rewordings and 20 near-misses', () => {
    const pairs = loadEvalPairs();
    expect(pairs.filter((p) => p.expect === 'hit').length).toBeGreaterThanOrEqual(20);
    expect(pairs.filter((p) => p.expect === 'miss').length).toBeGreaterThanOrEqual(20);
    expect(new Set(pairs.map((p) => p.id)).size).toBe(pairs.length);
  });

  it('serves no false hit and keeps recall on eval/pairs.json', async () => {
    const result = await runCacheEval({ redis, keys: createKeys(`test-${randomUUID()}`), embedder });
    expect(result.isolated.falseHitIds).toEqual([]);
    expect(result.crowded.falseHitIds).toEqual([]);
    expect(result.isolated.recall).toBeGreaterThanOrEqual(DEV_RECALL_FLOOR);
    expect(result.crowded.recall).toBeGreaterThanOrEqual(DEV_RECALL_FLOOR);
    // The threshold alone would let near-misses through: verification is doing real work.
    expect(result.thresholdOnly.falseHits).toBeGreaterThan(0);
    expect(result.isolated.caughtByVerification).toBe(result.thresholdOnly.falseHits);
  });

  it('serves no false hit and keeps recall on the held-out eval/holdout.json', async () => {
    const pairs = loadEvalPairs('holdout');
    const result = await runCacheEval({ redis, keys: createKeys(`test-${randomUUID()}`), embedder, pairs });
    expect(result.isolated.falseHitIds).toEqual([]);
    expect(result.crowded.falseHitIds).toEqual([]);
    expect(result.isolated.recall).toBeGreaterThanOrEqual(HOLDOUT_RECALL_FLOOR);
  });
});

describe('semantic cache eval (word-vector embedder, real lookup path)', () => {
  const modelDir = inject('embeddingsModelDir');
  const sif = loadSifEmbedder(modelDir);
  const redis = createRedis({ url: inject('redisUrl'), role: 'worker', name: 'cache-eval-sif-test' });
  afterAll(() => redis.disconnect());

  it.skipIf(!sif.embedder)('serves no false hit and keeps recall on both hand-written sets', async () => {
    for (const [set, floor] of [
      ['pairs', SIF_DEV_RECALL_FLOOR],
      ['holdout', SIF_HOLDOUT_RECALL_FLOOR],
    ] as const) {
      const result = await runCacheEval({
        redis,
        keys: createKeys(`test-${randomUUID()}`),
        embedder: sif.embedder!,
        pairs: loadEvalPairs(set),
      });
      expect(result.embedder).toBe('sif:wink-sg100d-q8/100');
      expect(result.isolated.falseHitIds).toEqual([]);
      expect(result.crowded.falseHitIds).toEqual([]);
      expect(result.isolated.recall).toBeGreaterThanOrEqual(floor);
    }
  });

  // The public sets are built from files outside the repo (`pnpm build:cache-eval`); where they are, PAWS's
  // word swaps must stay at ≤ 1 % false hits (measured: 1.0 % dev, 0.5 % holdout).
  const dataDir = join(dirname(modelDir), 'eval-data');
  const paws = (['dev', 'holdout'] as const).map((split) => loadPublicSet(dataDir, 'paws', split));
  it.skipIf(!sif.embedder || paws.some((p) => !p))('keeps PAWS word-swap false hits at or under 1 %', async () => {
    for (const pairs of paws) {
      const result = await runCacheEval({
        redis,
        keys: createKeys(`test-${randomUUID()}`),
        embedder: sif.embedder!,
        pairs: pairs!,
      });
      const negatives = pairs!.filter((p) => p.expect === 'miss');
      const wrong = result.isolated.falseHitIds.filter((id) => negatives.some((p) => p.id === id)).length;
      expect(wrong / negatives.length).toBeLessThanOrEqual(0.01);
    }
  });
});
