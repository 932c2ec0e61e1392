export {
  rulesStrategy,
  detectCategory,
  isTimeSensitive,
  scoreComplexity,
  marginConfidence,
  complexityOf,
} from './rules.ts';
export type { RoutingInput, RoutingStrategy, RulesStrategy, RulesStrategyOptions } from './rules.ts';
export {
  extractFeatures,
  latestUserText,
  instructionText,
  promptTextTokens,
  rememberPromptTextTokens,
} from './features.ts';
export type { PromptFeatures } from './features.ts';
export { createRouter } from './router.ts';
export type { CreateRouterOptions, LowConfidencePolicy, Router, RouterDecision, DecideOptions } from './router.ts';
export { knnStrategy, learningScope, DEFAULT_EXEMPLARS } from './knn.ts';
export type { KnnStrategy, KnnStrategyOptions, EmbedFunction, Exemplar, RoutingFeedback, SeedResult } from './knn.ts';
export { llmStrategy, parseRouterReply, LLM_ROUTER_PROMPT } from './llm.ts';
export type { LlmStrategyOptions, CompleteFunction } from './llm.ts';
export { qualityGate, validateSchema } from './gate.ts';
export type { QualityVerdict, QualityCheck, GateCompletion } from './gate.ts';
export { resolvePin } from './pin.ts';
export type { ConfiguredModel, PinResolution } from './pin.ts';
export { scoreDecisions, loadEvalSet, evalMessages, formatReport, EVAL_PRICES } from './evaluation.ts';
export { createHashingEmbedder } from './hashing-embedder.ts';
export { writeRouteLlmReport } from './learned/routellm-report.ts';
export type { EvalItem, EvalReport, TierPrices } from './evaluation.ts';
export {
  RoutingError,
  UnknownModelError,
  InvalidRoutingOptionsError,
  StrategyFailedError,
  isRoutingError,
  isUnknownModelError,
} from './errors.ts';
export {
  extractConstraints,
  mergeConstraints,
  constraintsMessage,
  sentences,
  MAX_CONSTRAINTS,
} from './context/constraints.ts';
export type {
  Constraint,
  ConstraintBuffer,
  ConstraintFinding,
  ConstraintKind,
  ExtractConstraintsOptions,
} from './context/constraints.ts';
export { buildContext, coverHash, messageHash, summaryMessage } from './context/build.ts';
export type { BuildContextOptions, BuiltContext, ContextMode, StoredSummary } from './context/build.ts';
export { summaryPrompt } from './context/summary.ts';
export { createContextStore } from './context/store.ts';
export type { ContextStore, ContextStoreOptions, ConversationRef, StoredConversation } from './context/store.ts';
export { createContextManager, deriveConversationId } from './context/manager.ts';
export { generateConversation } from './context/conversations.ts';
export type { GeneratedConversation } from './context/conversations.ts';
export type {
  ContextManager,
  ContextManagerOptions,
  PrepareContextInput,
  PreparedContext,
  SummaryJob,
} from './context/manager.ts';
export { strategiesFromConfig, STRATEGY_NAMES } from './from-config.ts';
export { learnedStrategy, isQuality } from './learned/strategy.ts';
export type { LearnedStrategy, LearnedStrategyOptions } from './learned/strategy.ts';
export { createLearnedModel, shippedLearnedModel, validateModelFile } from './learned/model.ts';
export type { LearnedModel, LearnedModelFile } from './learned/model.ts';
export { calibrateQuality, parsePromptSample } from './learned/calibrate.ts';
export type { Calibration, SampleRequest } from './learned/calibrate.ts';
export { qualityForLargeShare, scoreRouting, scoreCurve, areaUnderCurve } from './learned/curve.ts';
export type { Outcome, CurvePoint } from './learned/curve.ts';
export type { StrategiesFromConfigOptions } from './from-config.ts';
export { routerFromConfig } from './from-config.ts';
export type { RouterFromConfigOptions, ConfiguredRouting } from './from-config.ts';
export { createRouterTierCall } from './router-tier.ts';
export type { RouterTierCallOptions } from './router-tier.ts';
