/**
 * `@sluice/batch`: answers deferrable jobs through the providers' batch APIs (OpenAI's Batch
 * API, Anthropic's Message Batches) at their batch price. Wiring: a {@link Batcher} per
 * process (apps/batcher), fed by the `{batch}` queue (routed deferrable jobs), ticking on a
 * timer, and polling submitted batches as jobs of the `{batch-poll}` queue.
 */
export { Batcher, batchDeploymentFor, batchRequest } from './batcher.ts';
export type { BatcherOptions, BatchTuning, PollJobData, PollOutcome } from './batcher.ts';
export { PendingStore } from './pending.ts';
export type { DeferredJob, Claim } from './pending.ts';
export { OpenAIBatchProvider, isFinal, CLAIM_METADATA_KEY } from './provider.ts';
export type { BatchProvider, BatchRequest, ClaimRef, ProviderBatch, ProviderResultLine } from './provider.ts';
export { AnthropicBatchProvider, encodeCustomId, decodeCustomId } from './anthropic-provider.ts';
export type { AnthropicBatchProviderOptions } from './anthropic-provider.ts';
export { parseDeadline, MIN_COMPLETION_WINDOW_MS, MAX_COMPLETION_WINDOW_MS } from './window.ts';
export { BatchError, InvalidBatcherOptionsError, InvalidCompletionWindowError, isBatchError } from './errors.ts';
export type { BatchErrorCode } from './errors.ts';
