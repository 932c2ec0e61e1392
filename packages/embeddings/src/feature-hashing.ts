/**
 * Feature hashing ("the hashing trick"): a text's features (words, bigrams, character
 * n-grams) each add a signed weight to one slot of a fixed-length vector, so texts that share
 * features share slots and no vocabulary or model is needed. The one implementation of it in
 * Sluice: the cache's hashing embedder, the router's offline embedder and the simulator's
 * `/v1/embeddings` fallback choose their features and hash them here.
 */

/**
 * 32-bit FNV-1a over a string's UTF-16 code units: fast and the same in every process.
 * Stored artefacts depend on its values (the learned router's hashed n-grams, the public
 * eval's dev/holdout split), so it must not change.
 */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * murmur3's 32-bit finaliser. FNV-1a's low bits are weak for short keys, and both a feature's
 * slot and its sign come from one hash, so it is mixed before use.
 */
export function mix32(hash: number): number {
  let h = hash;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Adds `weight` for `feature` to its slot of `vector`. The hash's top bit picks the sign, so
 * unrelated features that collide cancel on average instead of piling up (Weinberger et al.,
 * "Feature Hashing for Large Scale Multitask Learning").
 */
export function addHashedFeature(vector: Float32Array | Float64Array, feature: string, weight: number): void {
  const hash = mix32(fnv1a(feature));
  const sign = hash & 0x8000_0000 ? -1 : 1;
  const index = (hash & 0x7fff_ffff) % vector.length;
  vector[index] = vector[index]! + sign * weight;
}

/** Scales `vector` to unit length in place (an all-zero vector stays zero) and returns it. */
export function normalizeInPlace<V extends Float32Array | Float64Array>(vector: V): V {
  let norm = 0;
  for (const value of vector) norm += value * value;
  if (norm === 0) return vector;
  const scale = 1 / Math.sqrt(norm);
  for (let i = 0; i < vector.length; i += 1) vector[i] = vector[i]! * scale;
  return vector;
}

const WORD_WEIGHT = 1;
const BIGRAM_WEIGHT = 0.5;
const TRIGRAM_WEIGHT = 0.35;

/**
 * A language-neutral lexical embedding: whole words, word bigrams and character trigrams of
 * the NFKC-normalised, lower-cased text, hashed into `dimensions` slots, unit length. Cosine
 * similarity tracks shared words and spellings (typos included), not meaning. A text with no
 * letters or digits (punctuation, emoji) is hashed by its characters, so it still gets a
 * stable non-zero vector.
 */
export function lexicalHashEmbedding(text: string, dimensions: number): Float32Array {
  const vector = new Float64Array(dimensions);
  const words =
    text
      .normalize('NFKC')
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu) ?? [];
  for (let index = 0; index < words.length; index += 1) {
    const word = words[index]!;
    addHashedFeature(vector, `w:${word}`, WORD_WEIGHT);
    if (index > 0) addHashedFeature(vector, `b:${words[index - 1]} ${word}`, BIGRAM_WEIGHT);
    const padded = `#${word}#`;
    for (let start = 0; start + 3 <= padded.length; start += 1)
      addHashedFeature(vector, `t:${padded.slice(start, start + 3)}`, TRIGRAM_WEIGHT);
  }
  if (words.length === 0) for (const char of text) addHashedFeature(vector, `c:${char}`, 1);
  return Float32Array.from(normalizeInPlace(vector));
}
