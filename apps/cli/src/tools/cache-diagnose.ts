/**
 * `pnpm diagnose:cache [--split dev|holdout] [--threshold 0.9] [--set mrpc,qqp,…] [--show reason] [--examples 5]`
 *
 * Where semantic recall is lost, without Redis: for every pair of a set, the calibrated SIF
 * cosine (float32, so within Q8's rounding of what `VSIM` returns), then — when it clears
 * the threshold — verification with the options the cache uses. Prints, per set, how many
 * same-meaning pairs fall below the threshold, how many verification rejects and by which
 * rule (the first that fails, as the cache reports it, and every rule that fails), and the
 * false hits on different-meaning pairs. Meant for the dev split: the holdout is only read
 * to report, never to tune (`--split holdout` prints the same table).
 */
import { join } from 'node:path';
import {
  EVAL_CONFIG,
  analyzePrompt,
  cosineSimilarity,
  loadSifEmbedder,
  verificationFailures,
  verifyMatch,
  verifyOptionsFor,
  type PublicSplit,
  type VerifyOptions,
} from '@sluice/cache';
import { sluiceCacheDir } from '@sluice/config';
import { flagReader, loadEvalSets } from './eval-sets.ts';

const args = process.argv.slice(2);
const flag = flagReader(args);
const cacheRoot = sluiceCacheDir(process.env);
const split = (flag('split') ?? 'dev') as PublicSplit;
const threshold = Number(flag('threshold') ?? EVAL_CONFIG.threshold);
const show = flag('show');
const examples = Number(flag('examples') ?? 5);
const only = flag('set')?.split(',');

const { embedder, notice } = loadSifEmbedder(flag('model-dir') ?? join(cacheRoot, 'embeddings'));
if (!embedder) throw new Error(notice);
const options: VerifyOptions = verifyOptionsFor(embedder);

const sets = loadEvalSets(flag('data') ?? join(cacheRoot, 'eval-data'), [split]);

const pct = (n: number, d: number) => `${n}/${d} = ${d ? ((100 * n) / d).toFixed(1) : '0.0'}%`;
for (const set of sets) {
  if (only && !only.includes(set.id)) continue;
  let hits = 0;
  let below = 0;
  let falseHits = 0;
  const positives = set.pairs.filter((p) => p.expect === 'hit').length;
  const negatives = set.pairs.length - positives;
  const first: Record<string, number> = {};
  const every: Record<string, number> = {};
  const shown: string[] = [];
  const falseShown: string[] = [];
  for (const pair of set.pairs) {
    const similarity = embedder.calibrate(
      cosineSimilarity(embedder.embedOne(pair.cached), embedder.embedOne(pair.query)),
    );
    if (similarity < threshold) {
      if (pair.expect === 'hit') below += 1;
      continue;
    }
    const a = analyzePrompt(pair.query);
    const b = analyzePrompt(pair.cached);
    const verdict = verifyMatch(a, b, options);
    if (pair.expect === 'miss') {
      if (verdict.ok) {
        falseHits += 1;
        falseShown.push(`  FALSE HIT ${pair.id} (${similarity.toFixed(3)}): ${pair.cached}  ||  ${pair.query}`);
      }
      continue;
    }
    if (verdict.ok) {
      hits += 1;
      continue;
    }
    first[verdict.reason] = (first[verdict.reason] ?? 0) + 1;
    const failures = verificationFailures(a, b, options);
    for (const f of new Set(failures.map((x) => x.reason))) every[f] = (every[f] ?? 0) + 1;
    if (failures.every((f) => f.reason === 'content' || f.reason === 'order'))
      every['soft-only'] = (every['soft-only'] ?? 0) + 1;
    if (failures.length === 1) every[`only:${failures[0]!.reason}`] = (every[`only:${failures[0]!.reason}`] ?? 0) + 1;
    if (show === verdict.reason && shown.length < examples)
      shown.push(
        `  ${pair.id} (${similarity.toFixed(3)}) ${failures.map((f) => `${f.reason}: ${f.detail}`).join(' | ')}\n     ${pair.cached}\n     ${pair.query}`,
      );
  }
  const rejected = positives - hits - below;
  console.log(
    `\n${set.id} (${split}, threshold ${threshold}): recall ${pct(hits, positives)}, false hits ${pct(falseHits, negatives)}`,
  );
  console.log(`  same-meaning pairs below the threshold: ${below}; rejected by verification: ${rejected}`);
  console.log(`  first failing rule: ${JSON.stringify(first)}`);
  console.log(`  every failing rule: ${JSON.stringify(every)}`);
  for (const line of shown) console.log(line);
  if (args.includes('--false')) for (const line of falseShown) console.log(line);
}
