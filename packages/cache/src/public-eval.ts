import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fnv1a } from '@sluice/embeddings';
import type { EvalPair } from './evaluation.ts';

/**
 * Public paraphrase benchmarks, as the eval reads them. None of their text is in this
 * repository: {@link buildPublicSets} reads the files from a local folder (fetched from the
 * public repositories named in {@link PUBLIC_SOURCES}) and writes the derived sets next to
 * them, outside the repo.
 */
export interface PublicSource {
  name: PublicSetName;
  what: string;
  repository: string;
  commit: string;
  /** Paths in the repository, and where the eval expects them under the data folder. */
  files: Array<{ path: string; local: string }>;
}

export type PublicSetName = 'mrpc' | 'qqp' | 'paws' | 'stsb';
export type PublicSplit = 'dev' | 'holdout';

export const PUBLIC_SOURCES: readonly PublicSource[] = [
  {
    name: 'mrpc',
    what: 'Microsoft Research Paraphrase Corpus: news sentences, human-labelled paraphrase or not (reworded statements)',
    repository: 'galsang/ABCNN',
    commit: 'f95b9a171f1d41cb8012af2f69d5d845f5703463',
    files: [
      { path: 'MSRP_Corpus/msr_paraphrase_train.txt', local: 'mrpc/msr_paraphrase_train.txt' },
      { path: 'MSRP_Corpus/msr_paraphrase_test.txt', local: 'mrpc/msr_paraphrase_test.txt' },
    ],
  },
  {
    name: 'qqp',
    what: 'Quora Question Pairs (GLUE QQP dev sample): questions the community marked duplicate or not',
    repository: 'mieseung/Cutoff_with_Attribution',
    commit: '0ef7460ee83f01034891e92b4f405d2c14944daf',
    files: [{ path: 'glue_data/QQP/new_dev.tsv', local: 'qqp/new_dev.tsv' }],
  },
  {
    name: 'paws',
    what: 'PAWS-Wiki labelled final: word-swapped and back-translated Wikipedia sentences; non-paraphrases share almost every word',
    repository: 'hoangdzung/simmat',
    commit: '7e55b810e8c462041e8de83cdfddfd429dff6996',
    files: [
      { path: 'data/final/dev.tsv', local: 'paws/dev.tsv' },
      { path: 'data/final/test.tsv', local: 'paws/test.tsv' },
    ],
  },
  {
    name: 'stsb',
    what: 'STS Benchmark (captions, news, forums), graded 0–5: ≥ 4.6 counts as the same meaning, < 4 as different',
    repository: 'mieseung/Cutoff_with_Attribution',
    commit: '0ef7460ee83f01034891e92b4f405d2c14944daf',
    files: [
      { path: 'glue_data/STS-B/original/sts-dev.tsv', local: 'stsb/sts-dev.tsv' },
      { path: 'glue_data/STS-B/original/sts-test.tsv', local: 'stsb/sts-test.tsv' },
    ],
  },
];

/** Pairs sampled per split and set (each sample is a fixed function of the pair ids). */
export const PUBLIC_SAMPLE = 400;

interface RawPair {
  id: string;
  a: string;
  b: string;
  same: boolean;
}

/** PAWS and MRPC ship tokenised text ("In Paris , in 1560 ,"): join it back as typed. */
function detokenize(text: string): string {
  return text
    .replace(/``\s*|''\s*/g, '"')
    .replace(/\s+([.,;:!?%)\]])/g, '$1')
    .replace(/([([$])\s+/g, '$1')
    .replace(/\s+'s\b/g, "'s")
    .replace(/\s+n't\b/g, "n't")
    .replace(/\s+--\s+/g, ' – ')
    .trim();
}

/** A fixed pseudo-random sample of `n` pairs, balanced as far as the set allows. */
function sample(pairs: RawPair[], n: number): RawPair[] {
  const ordered = [...pairs].sort((x, y) => fnv1a(x.id) - fnv1a(y.id));
  const positives = ordered.filter((p) => p.same).slice(0, Math.ceil(n / 2));
  const negatives = ordered.filter((p) => !p.same).slice(0, n - positives.length);
  return [...positives, ...negatives];
}

const lines = (file: string) =>
  readFileSync(file, 'utf8')
    .replace(/^\uFEFF/, '')
    .split('\n')
    .filter(Boolean);

function readSplits(name: PublicSetName, dir: string): Record<PublicSplit, RawPair[]> {
  switch (name) {
    case 'mrpc': {
      // Quality \t id1 \t id2 \t s1 \t s2; train is the dev split, test the holdout.
      const read = (file: string) =>
        lines(join(dir, file))
          .slice(1)
          .map((l) => l.split('\t'))
          .filter((c) => c.length >= 5)
          .map((c) => ({ id: `mrpc-${c[1]}-${c[2]}`, a: c[3]!, b: c[4]!, same: c[0] === '1' }));
      return { dev: read('mrpc/msr_paraphrase_train.txt'), holdout: read('mrpc/msr_paraphrase_test.txt') };
    }
    case 'qqp': {
      // id \t qid1 \t qid2 \t q1 \t q2 \t is_duplicate; split by the pair id's hash.
      const all = lines(join(dir, 'qqp/new_dev.tsv'))
        .map((l) => l.split('\t'))
        .filter((c) => c.length >= 6 && /^\d+$/.test(c[0]!))
        .map((c) => ({ id: `qqp-${c[0]}`, a: c[3]!, b: c[4]!, same: c[5]!.trim() === '1' }));
      return { dev: all.filter((p) => fnv1a(p.id) % 2 === 0), holdout: all.filter((p) => fnv1a(p.id) % 2 === 1) };
    }
    case 'paws': {
      // id \t s1 \t s2 \t label; dev is the dev split, test the holdout.
      const read = (file: string, prefix: string) =>
        lines(join(dir, file))
          .map((l) => l.split('\t'))
          .filter((c) => c.length >= 4 && /^\d+$/.test(c[0]!))
          .map((c) => ({
            id: `paws-${prefix}-${c[0]}`,
            a: detokenize(c[1]!),
            b: detokenize(c[2]!),
            same: c[3]!.trim() === '1',
          }));
      return { dev: read('paws/dev.tsv', 'dev'), holdout: read('paws/test.tsv', 'test') };
    }
    case 'stsb': {
      // genre \t file \t year \t id \t score \t s1 \t s2; 4.0–4.6 is left out as ambiguous.
      const read = (file: string, prefix: string) =>
        lines(join(dir, file))
          .map((l) => l.split('\t'))
          .filter((c) => c.length >= 7)
          .map((c) => ({ id: `stsb-${prefix}-${c[1]}-${c[2]}-${c[3]}`, score: Number(c[4]), a: c[5]!, b: c[6]! }))
          .filter((p) => p.score >= 4.6 || p.score < 4)
          .map((p) => ({ id: p.id, a: p.a, b: p.b, same: p.score >= 4.6 }));
      return { dev: read('stsb/sts-dev.tsv', 'dev'), holdout: read('stsb/sts-test.tsv', 'test') };
    }
  }
}

/** Folder the derived sets are written to. */
export const setsDir = (dataDir: string) => join(dataDir, 'sets');

/**
 * Read every source present under `dataDir` and write `sets/<name>.<split>.json` (up to
 * {@link PUBLIC_SAMPLE} pairs each, positives first cached, then asked). Returns what was built.
 */
export function buildPublicSets(
  dataDir: string,
): Array<{ name: PublicSetName; split: PublicSplit; hits: number; misses: number }> {
  const built: Array<{ name: PublicSetName; split: PublicSplit; hits: number; misses: number }> = [];
  mkdirSync(setsDir(dataDir), { recursive: true });
  for (const source of PUBLIC_SOURCES) {
    if (!source.files.every((f) => existsSync(join(dataDir, f.local)))) continue;
    const splits = readSplits(source.name, dataDir);
    for (const split of ['dev', 'holdout'] as const) {
      const pairs: EvalPair[] = sample(splits[split], PUBLIC_SAMPLE).map((p) => ({
        id: p.id,
        expect: p.same ? 'hit' : 'miss',
        category: 'general',
        cached: p.a,
        query: p.b,
      }));
      writeFileSync(
        join(setsDir(dataDir), `${source.name}.${split}.json`),
        JSON.stringify({
          source: { repository: source.repository, commit: source.commit, files: source.files.map((f) => f.path) },
          pairs,
        }),
      );
      built.push({
        name: source.name,
        split,
        hits: pairs.filter((p) => p.expect === 'hit').length,
        misses: pairs.filter((p) => p.expect === 'miss').length,
      });
    }
  }
  return built;
}

/** A derived set, or undefined when it has not been built. */
export function loadPublicSet(dataDir: string, name: PublicSetName, split: PublicSplit): EvalPair[] | undefined {
  const file = join(setsDir(dataDir), `${name}.${split}.json`);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { pairs: EvalPair[] }).pairs : undefined;
}
