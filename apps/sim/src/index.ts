/**
 * `@sluice/sim`: the OpenAI-compatible simulator Sluice uses for demos, tests and load tests.
 * See README.md for flags, models, prompt directives and admin endpoints.
 */
export { createSimulator } from './simulator.ts';
export { DEFAULT_SIM_MODELS, DEFAULT_FIXED_LATENCY_MS, SIF_MODEL_ID } from './models.ts';
export { fingerprintMessages, parseReplyFingerprint, canonicalJson, type FingerprintMessage } from './fingerprint.ts';
export { REFUSAL_TEXT, parseDirectives, type ChatDirectives } from './reply.ts';
export type { ChatCompletionRequest } from './chat-types.ts';
export { cosineSimilarity, embedText } from './embeddings.ts';
export { MAX_MODEL_VARIANTS } from './model-registry.ts';
export {
  SimError,
  SimInvalidRequestError,
  SimModelNotFoundError,
  SimRateLimitError,
  SimInjectedFaultError,
  SimConfigError,
  isSimError,
  isSimRateLimitError,
  type OpenAIErrorBody,
  type SimErrorCode,
} from './errors.ts';
export type {
  SimFaults,
  SimListenOptions,
  SimModelInput,
  SimModelKind,
  SimModelOptions,
  SimModelPatch,
  SimModelStats,
  SimProfile,
  SimStats,
  Simulator,
  SimulatorOptions,
} from './types.ts';
