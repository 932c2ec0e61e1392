/**
 * Deterministic text embeddings from hashed features (the "hashing trick"): whole words,
 * word bigrams and character trigrams each add a signed weight to one dimension. Texts that
 * share words and spellings share dimensions, so cosine similarity tracks lexical overlap:
 * good enough for a semantic cache to find near-duplicates, and free of any model download.
 */

const WORD_WEIGHT = 1;
const BIGRAM_WEIGHT = 0.5;
const TRIGRAM_WEIGHT = 0.35;

/** A unit-length (L2) vector of `dimensions` float32-representable numbers for `text`. */
export function embedText(text: string, dimensions: number): number[] {
  const vector = new Float64Array(dimensions);
  const words =
    text
      .normalize('NFKC')
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu) ?? [];
  for (let index = 0; index < words.length; index += 1) {
    const word = words[index]!;
    addFeature(vector, `w:${word}`, WORD_WEIGHT);
    if (index > 0) addFeature(vector, `b:${words[index - 1]} ${word}`, BIGRAM_WEIGHT);
    const padded = `#${word}#`;
    for (let start = 0; start + 3 <= padded.length; start += 1)
      addFeature(vector, `t:${padded.slice(start, start + 3)}`, TRIGRAM_WEIGHT);
  }
  if (words.length === 0) {
    // Punctuation-only or emoji input still deserves a stable, non-zero vector.
    for (const char of text) addFeature(vector, `c:${char}`, 1);
  }
  return normalise(Array.from(vector), dimensions);
}

/** Keeps the first `dimensions` components and rescales to unit length (OpenAI's `dimensions` semantics). */
export function shortenEmbedding(vector: readonly number[], dimensions: number): number[] {
  return normalise(vector.slice(0, dimensions), dimensions);
}

/** Little-endian float32 bytes, base64-encoded: what `encoding_format: 'base64'` returns. */
export function encodeEmbeddingBase64(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  for (let index = 0; index < vector.length; index += 1) bytes.writeFloatLE(vector[index]!, index * 4);
  return bytes.toString('base64');
}

/** Cosine similarity of two vectors of equal length. */
export function cosineSimilarity(left: readonly number[], right: readonly number[]): number {
  let dot = 0;
  let leftNorm = 0;
  let rightNorm = 0;
  for (let index = 0; index < left.length; index += 1) {
    const a = left[index]!;
    const b = right[index] ?? 0;
    dot += a * b;
    leftNorm += a * a;
    rightNorm += b * b;
  }
  return leftNorm === 0 || rightNorm === 0 ? 0 : dot / Math.sqrt(leftNorm * rightNorm);
}

function addFeature(vector: Float64Array, feature: string, weight: number): void {
  const hash = fnv1a(feature);
  // The low bit picks the sign so unrelated features cancel out on average instead of piling up.
  const sign = (hash & 1) === 0 ? 1 : -1;
  const slot = (hash >>> 1) % vector.length;
  vector[slot] = vector[slot]! + sign * weight;
}

function normalise(vector: number[], dimensions: number): number[] {
  let norm = 0;
  for (const value of vector) norm += value * value;
  if (norm === 0) {
    // Only reachable after shortening drops every non-zero component: fall back to a fixed axis.
    const axis = new Array<number>(dimensions).fill(0);
    axis[0] = 1;
    return axis;
  }
  const scale = 1 / Math.sqrt(norm);
  return vector.map((value) => Math.fround(value * scale));
}

/** 32-bit FNV-1a over UTF-16 code units: fast and deterministic across processes. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
