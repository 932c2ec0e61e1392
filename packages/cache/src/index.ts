/**
 * `@sluice/cache`: the exact + semantic response cache on Redis 8 vector sets.
 *
 * Wiring: `createEmbedder(config.embeddings)` once per process, then
 * `new ResponseCache({ redis, keys, embedder, config: config.cache })`, `start()` the sweeper
 * in one or more worker processes, `close()` on shutdown.
 */
export { ResponseCache, verifyOptionsFor } from './response-cache.ts';
export type {
  ResponseCacheOptions,
  CacheLogger,
  Quantization,
  CacheRequestContext,
  LookupInput,
  LookupResult,
  CacheHit,
  CacheMiss,
  Rejection,
  StoreInput,
  StoreResult,
  Fill,
  FillLeader,
  FillWaiter,
  PurgeTarget,
  PurgeResult,
  SweepResult,
} from './cache-types.ts';
export type { Embedder } from './embedder.ts';
export { cosineSimilarity, normalizeVector } from './embedder.ts';
export { HashingEmbedder, HASHING_CALIBRATION_POINT } from './hashing-embedder.ts';
export type { HashingEmbedderOptions } from './hashing-embedder.ts';
export { OpenAIEmbedder } from './openai-embedder.ts';
export type { OpenAIEmbedderOptions } from './openai-embedder.ts';
export { createEmbedder, loadSifEmbedder, SIF_REMOTE_MODEL } from './create-embedder.ts';
export type { CreateEmbedderOptions } from './create-embedder.ts';
export {
  computeScope,
  semanticPrompt,
  parseExactKey,
  scopeName,
  canonicalJson,
  OUTPUT_NEUTRAL_FIELDS,
} from './scope.ts';
export type { CacheScope, ScopeInput } from './scope.ts';
export { shouldStore, shouldLookup, chooseHit, categoryTtlSeconds, STORE_SKIP_REASONS } from './policy.ts';
export type {
  CacheConfig,
  CompletionLike,
  BypassReason,
  StoreSkipReason,
  LookupPolicyInput,
  StorePolicyInput,
} from './policy.ts';
export {
  verifyMatch,
  verificationFailures,
  analyzePrompt,
  REJECTION_REASONS,
  CONTENT_WORD_SIMILARITY,
  SYNONYM_SENSE_SIMILARITY,
  MAX_REWORDED_SHARE,
  ELABORATION_SIMILARITY,
  MAX_ELABORATIONS,
} from './verify.ts';
export type { RejectionReason, Verdict, PromptFeatures, VerifyOptions } from './verify.ts';
export { buildPublicSets, loadPublicSet, PUBLIC_SOURCES, setsDir } from './public-eval.ts';
export { EVAL_CONFIG, loadEvalPairs, runCacheEval } from './evaluation.ts';
export type { CacheEvalOptions, CacheEvalResult, EvalModeResult, EvalPair } from './evaluation.ts';
export type { PublicSetName, PublicSplit, PublicSource } from './public-eval.ts';
export { completionToChunks } from './stream.ts';
export type { ChatCompletionChunk, CompletionToChunksOptions } from './stream.ts';
export type { CacheStats, MissReason } from './stats.ts';
export {
  CacheError,
  CacheOptionsError,
  CacheRequestError,
  EmbeddingError,
  isCacheError,
  isEmbeddingError,
} from './errors.ts';
export type { CacheErrorCode, CacheErrorOptions } from './errors.ts';
export { createResponseCache, cacheContext, cacheModelScope } from './from-config.ts';
