import { lexicalHashEmbedding } from '@sluice/embeddings';

/**
 * A small deterministic embedder for tests and the offline eval: `@sluice/embeddings`'
 * lexical feature hashing (words, word bigrams, character trigrams; unit length). For the
 * offline eval only: production passes the classifier's embedder (`@sluice/cache`) by injection.
 */
export function createHashingEmbedder(dimensions = 256): (texts: readonly string[]) => Promise<Float32Array[]> {
  return async (texts) => texts.map((t) => lexicalHashEmbedding(t, dimensions));
}
