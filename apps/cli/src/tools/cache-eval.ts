/**
 * `pnpm eval:cache [--url redis://…] [--threshold 0.9] [--sweep] [--embedder sif|hashing|both] [--data DIR] [--split dev|holdout|both]`
 *
 * Semantic hit recall and false hits through the real lookup path on Redis (store, VSIM,
 * threshold, verification), per set and split: the hand-written `eval/pairs.json` (dev) and
 * `eval/holdout.json`, and the public paraphrase sets built by `pnpm build:cache-eval` from
 * `~/.cache/sluice/eval-data` (MRPC, QQP, PAWS, STS-B; sources in public-eval.ts). Without
 * `--url` it starts a throwaway Redis 8. `hashing` is the embedder before issue 14, `sif`
 * the word-vector default; `both` prints them side by side.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createKeys, createRedis } from '@sluice/redis';
import { startRedisServer, type RunningRedis } from '@sluice/redis-server';
import {
  EVAL_CONFIG,
  HashingEmbedder,
  loadSifEmbedder,
  runCacheEval,
  type Embedder,
  type PublicSplit,
} from '@sluice/cache';
import { sluiceCacheDir } from '@sluice/config';
import { flagReader, loadEvalSets } from './eval-sets.ts';

const args = process.argv.slice(2);
const flag = flagReader(args);

const cacheRoot = sluiceCacheDir(process.env);
const dataDir = flag('data') ?? join(cacheRoot, 'eval-data');
const which = flag('embedder') ?? 'both';
const embedders: Embedder[] = [];
if (which === 'hashing' || which === 'both')
  embedders.push(new HashingEmbedder({ dimensions: Number(flag('dimensions') ?? 256) }));
if (which === 'sif' || which === 'both') {
  const sif = loadSifEmbedder(flag('model-dir') ?? join(cacheRoot, 'embeddings'));
  if (sif.embedder) embedders.push(sif.embedder);
  else console.log(`word-vector embedder unavailable: ${sif.notice}`);
}
const splits: PublicSplit[] =
  flag('split') === 'dev' ? ['dev'] : flag('split') === 'holdout' ? ['holdout'] : ['dev', 'holdout'];

const sets = loadEvalSets(dataDir, splits, (name, split) =>
  console.log(`${name}.${split}: not built (run pnpm build:cache-eval)`),
);

let server: RunningRedis | undefined;
const url = flag('url') ?? (server = await startRedisServer()).url;
const redis = createRedis({ url, role: 'worker', name: 'cache-eval' });
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const thresholds = args.includes('--sweep')
  ? [0.8, 0.85, 0.9, 0.93, 0.95, 0.97]
  : [Number(flag('threshold') ?? EVAL_CONFIG.threshold)];
const verbose = args.includes('--verbose');

try {
  console.log(
    '\n| set | split | embedder | threshold | same-meaning pairs hit (recall) | different-meaning pairs hit (false-hit rate) | crowded: recall / false hits | threshold alone: recall / false hits | rejections by reason |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const set of sets) {
    for (const embedder of embedders) {
      for (const threshold of thresholds) {
        const keys = createKeys(`eval-${randomUUID()}`);
        const contentWordSimilarity =
          flag('content-similarity') === undefined ? undefined : Number(flag('content-similarity'));
        const result = await runCacheEval({
          redis,
          keys,
          embedder,
          pairs: set.pairs,
          config: { threshold },
          contentWordSimilarity,
        });
        const m = result.isolated;
        const misses = set.pairs.length - m.hitPairs;
        // A rewording answered with another pair's entry is counted as a false hit too.
        const wrongOnMisses = m.falseHitIds.filter(
          (id) => set.pairs.find((p) => p.id === id)?.expect === 'miss',
        ).length;
        console.log(
          `| ${set.label} | ${set.split} | ${embedder.id} | ${threshold} | ${m.hits}/${m.hitPairs} = **${pct(m.recall)}** | ${m.falseHits} (${wrongOnMisses}/${misses} = ${pct(misses ? wrongOnMisses / misses : 0)}) | ${pct(result.crowded.recall)} / ${result.crowded.falseHits} | ${pct(result.thresholdOnly.recall)} / ${result.thresholdOnly.falseHits} | ${JSON.stringify(m.rejectionsByReason)} |`,
        );
        if (verbose && m.falseHitIds.length) {
          for (const id of m.falseHitIds) {
            const p = set.pairs.find((x) => x.id === id)!;
            console.log(`    FALSE HIT ${id}: ${p.cached}  ||  ${p.query}`);
          }
        }
        if (verbose && result.crowded.falseHitIds.length) {
          // Crowded false hits, and whether the query's text is cached by another pair too (public sets reuse sentences).
          for (const id of result.crowded.falseHitIds) {
            const p = set.pairs.find((x) => x.id === id)!;
            const shared = set.pairs.filter(
              (x) => x.id !== id && (x.cached === p.cached || x.cached === p.query || x.query === p.query),
            );
            console.log(
              `    CROWDED FALSE HIT ${id} (${p.expect}${shared.length ? `, text shared with ${shared.map((x) => x.id).join(' ')}` : ''}): ${p.cached}  ||  ${p.query}`,
            );
          }
        }
        const stale = await redis.keys(`${keys.prefix}:*`);
        if (stale.length) await redis.del(...stale);
      }
    }
  }
} finally {
  await redis.quit();
  await server?.stop();
}
