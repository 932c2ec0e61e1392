import { PUBLIC_SOURCES, loadEvalPairs, loadPublicSet, type EvalPair, type PublicSplit } from '@sluice/cache';

/** One labelled set of cache pairs and the split it was taken from. */
export interface EvalSet {
  /** Short name, as `--set` selects it: `hand-written` or a public source's name. */
  id: string;
  /** Where it came from, for report tables (file or repository and commit). */
  label: string;
  split: PublicSplit;
  pairs: EvalPair[];
}

/**
 * The cache's evaluation sets for the given splits: the hand-written pairs shipped with
 * `@sluice/cache` (`eval/pairs.json` is the dev split, `eval/holdout.json` the holdout) and
 * the public paraphrase sets that `pnpm build:cache-eval` wrote into `dataDir`. A public set
 * not built yet is left out and reported through `onMissing`.
 */
export function loadEvalSets(
  dataDir: string,
  splits: readonly PublicSplit[],
  onMissing: (name: string, split: PublicSplit) => void = () => {},
): EvalSet[] {
  const sets: EvalSet[] = [];
  for (const split of splits) {
    const file = split === 'dev' ? 'pairs' : 'holdout';
    sets.push({ id: 'hand-written', label: `eval/${file}.json (hand-written)`, split, pairs: loadEvalPairs(file) });
  }
  for (const source of PUBLIC_SOURCES) {
    for (const split of splits) {
      const pairs = loadPublicSet(dataDir, source.name, split);
      if (!pairs) onMissing(source.name, split);
      else
        sets.push({
          id: source.name,
          label: `${source.name} (${source.repository}@${source.commit.slice(0, 7)})`,
          split,
          pairs,
        });
    }
  }
  return sets;
}

/** `--name value` reader over a command line's arguments. */
export function flagReader(args: readonly string[]): (name: string) => string | undefined {
  return (name) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
}
