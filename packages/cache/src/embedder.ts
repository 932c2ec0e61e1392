import { normalizeInPlace } from '@sluice/embeddings';
/**
 * Turns prompts into unit-length vectors for the semantic level. One embedding is computed
 * per job (by the classifier) and reused by routing and the cache.
 */
export interface Embedder {
  /**
   * Stable identity of the vector space, e.g. `hashing-v1/256` or `openai:text-embedding-3-small/256`.
   * Vectors from different ids are never compared: the cache keeps one vector set per id.
   */
  readonly id: string;
  /** Length of every vector `embed` returns. */
  readonly dimensions: number;
  /** One unit-length vector per text, in order. */
  embed(texts: string[]): Promise<Float32Array[]>;
  /**
   * Map this embedder's raw cosine similarity onto the scale similarity thresholds are
   * written in (the scale of a dense sentence-embedding model, where 0.95 means "a
   * rewording"). Absent means the raw cosine is already on that scale.
   */
  calibrate?(cosine: number): number;
  /**
   * Cosine similarity of two single (lower-cased) words in this embedder's word space, or
   * undefined when it has no vector for either. Present on word-vector embedders;
   * verification uses it to accept a reworded content word.
   */
  wordSimilarity?(a: string, b: string): number | undefined;
  /** True when a thesaurus (WordNet) lists the two lower-cased words as synonyms; undefined when it cannot say. */
  synonyms?(a: string, b: string): boolean | undefined;
  /** Prompts embedded so far, by what served them (e.g. `word-vectors`, `hashing`, `remote`, `fallback`). */
  readonly served?: Readonly<Record<string, number>>;
  /** Set when the configured embedder could not be built and another serves instead: why. */
  readonly notice?: string;
}

/** Scale a vector to unit length in place; a zero vector stays zero. */
export function normalizeVector(vector: Float32Array): Float32Array {
  return normalizeInPlace(vector);
}

/** Cosine similarity of two vectors of equal length. */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i += 1) {
    const x = a[i]!;
    const y = b[i]!;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}
