/**
 * `npx tsx packages/cache/src/eval.ts [--url redis://…] [--threshold 0.95] [--sweep]`
 *
 * Semantic hit recall and false hits of the offline embedder on `eval/pairs.json` (the
 * development set) and `eval/holdout.json` (held out), through the real lookup path on
 * Redis: store, VSIM, threshold, verification. Without `--url` it starts a throwaway Redis 8.
 * `--sweep` prints the figures across thresholds.
 */
import { randomUUID } from 'node:crypto';
import { createKeys, createRedis } from '@sluice/redis';
import { startRedisServer, type RunningRedis } from '@sluice/redis-server';
import { loadEvalPairs, runCacheEval, type EvalModeResult } from './evaluation.ts';
import { HashingEmbedder } from './hashing-embedder.ts';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};

let server: RunningRedis | undefined;
const url = flag('url') ?? (server = await startRedisServer()).url;
const redis = createRedis({ url, role: 'worker', name: 'cache-eval' });
const embedder = new HashingEmbedder({ dimensions: Number(flag('dimensions') ?? 256) });
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const line = (label: string, m: EvalModeResult) =>
  `  ${label.padEnd(9)} recall ${pct(m.recall).padStart(6)} (${m.hits}/${m.hitPairs})  false hits ${m.falseHits}${m.falseHitIds.length ? ` [${m.falseHitIds.join(', ')}]` : ''}  near-misses stopped by verification ${m.caughtByVerification}`;

try {
  const thresholds = args.includes('--sweep') ? [0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.99] : [Number(flag('threshold') ?? 0.95)];
  for (const set of ['pairs', 'holdout'] as const) {
    const pairs = loadEvalPairs(set);
    for (const threshold of thresholds) {
      const keys = createKeys(`eval-${randomUUID()}`);
      const result = await runCacheEval({ redis, keys, embedder, pairs, config: { threshold } });
      const misses = pairs.filter((p) => p.expect === 'miss').length;
      console.log(`\neval/${set}.json (${pairs.length - misses} rewordings, ${misses} near-misses), ${result.embedder}, threshold ${threshold}`);
      console.log(line('isolated', result.isolated));
      console.log(line('crowded', result.crowded));
      console.log(`  threshold only, no verification: recall ${pct(result.thresholdOnly.recall)}  false hits ${result.thresholdOnly.falseHits}`);
      if (thresholds.length === 1) {
        console.log('  rejections by reason (isolated):', JSON.stringify(result.isolated.rejectionsByReason));
        console.log('  rewordings missed (isolated):', result.isolated.missedIds.map((m) => `${m.id} (${m.reason})`).join(', ') || 'none');
      }
      // Remove what the run stored, in case the Redis is not a throwaway one.
      const stale = await redis.keys(`${keys.prefix}:*`);
      if (stale.length) await redis.del(...stale);
    }
  }
} finally {
  await redis.quit();
  await server?.stop();
}
