export { rulesStrategy, detectCategory, scoreComplexity, marginConfidence } from './rules.ts';
export type { RoutingInput, RoutingStrategy, RulesStrategy, RulesStrategyOptions } from './rules.ts';
export { extractFeatures, latestUserText } from './features.ts';
export type { PromptFeatures } from './features.ts';
export { createRouter } from './router.ts';
export type { CreateRouterOptions, LowConfidencePolicy, Router, RouterDecision, DecideOptions } from './router.ts';
export { resolvePin } from './pin.ts';
export type { ConfiguredModel, PinResolution } from './pin.ts';
export { RoutingError, UnknownModelError, InvalidRoutingOptionsError, StrategyFailedError, isRoutingError, isUnknownModelError } from './errors.ts';
