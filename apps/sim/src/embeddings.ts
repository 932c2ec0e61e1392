import { lexicalHashEmbedding } from '@sluice/embeddings';

/**
 * The simulator's fallback embedding model, for when no word vectors are provisioned: the
 * lexical feature-hashing embedding of `@sluice/embeddings`, so cosine similarity tracks
 * shared words and spellings. Good enough for a semantic cache to find near-duplicates, and
 * free of any model download.
 */

/** A unit-length (L2) vector of `dimensions` float32-representable numbers for `text`. */
export function embedText(text: string, dimensions: number): number[] {
  return normalise(Array.from(lexicalHashEmbedding(text, dimensions)), dimensions);
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
