/**
 * `pnpm build:cache-eval [--data DIR]`
 *
 * Builds the public evaluation sets from local copies of public paraphrase benchmarks
 * (default folder `~/.cache/sluice/eval-data`, outside the repo; where each file comes from
 * is `PUBLIC_SOURCES` in public-eval.ts: repository, commit, path). Copy them there first,
 * e.g. `git show <commit>:<path> > ~/.cache/sluice/eval-data/<local>` in a clone of each.
 */
import { join } from 'node:path';
import { PUBLIC_SOURCES, buildPublicSets, setsDir } from '@sluice/cache';
import { sluiceCacheDir } from '@sluice/config';

const args = process.argv.slice(2);
const at = args.indexOf('--data');
const dataDir = at >= 0 ? args[at + 1]! : join(sluiceCacheDir(process.env), 'eval-data');
const built = buildPublicSets(dataDir);
for (const b of built)
  console.log(`${b.name}.${b.split}: ${b.hits} same-meaning pairs, ${b.misses} different-meaning pairs`);
const missing = PUBLIC_SOURCES.filter((s) => !built.some((b) => b.name === s.name));
for (const s of missing)
  console.log(
    `${s.name}: not built, missing ${s.files.map((f) => join(dataDir, f.local)).join(', ')} (from ${s.repository} @ ${s.commit})`,
  );
console.log(`sets in ${setsDir(dataDir)}`);
