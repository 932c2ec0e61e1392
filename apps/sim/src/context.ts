import { randomBytes } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import { waitForAbort } from './latency.ts';
import type { ModelRegistry } from './model-registry.ts';
import type { RequestTracker, TrackedRequest } from './request-tracker.ts';
import type { ChatCompletionRequest } from './chat-types.ts';
import type { SimFaults } from './types.ts';
import type { PromptCache } from './prompt-cache.ts';

/** What every route needs from the simulator that owns it. */
export interface SimContext {
  readonly registry: ModelRegistry;
  readonly tracker: RequestTracker;
  readonly now: () => number;
  readonly random: () => number;
  /** Sees every valid chat request body (tests inspect what reached the upstream). */
  readonly onChatRequest?: (body: ChatCompletionRequest) => void;
  /** Serves {@link SIF_MODEL_ID} when present. */
  readonly sentenceEmbedder?: { readonly dimensions: number; embedOne(text: string): Float32Array };
  /** Secret the batch runner sends in {@link BATCH_TOKEN_HEADER} when it replays a batch's lines in process. */
  readonly batchToken: string;
  /** The provider-side prompt cache (`cached_tokens` in usage). */
  readonly promptCache: PromptCache;
}

/** Header that marks a request as a batch line replayed in process (its value is {@link SimContext.batchToken}). */
export const BATCH_TOKEN_HEADER = 'x-sim-batch-token';

/** An injected fault drawn for one accepted request. */
export type Fault = 'error' | 'timeout' | 'drop';

/**
 * Draws at most one fault. One draw against stacked shares keeps them exclusive, so
 * `{ errorRate: 0.2, timeoutRate: 0.1 }` means 20 % errors and 10 % timeouts, not overlapping.
 */
export function rollFault(faults: SimFaults, random: () => number): Fault | undefined {
  const draw = random();
  if (draw < faults.errorRate) return 'error';
  if (draw < faults.errorRate + faults.timeoutRate) return 'timeout';
  if (draw < faults.errorRate + faults.timeoutRate + faults.dropStreamRate) return 'drop';
  return undefined;
}

/** Takes the reply away from fastify and cuts the connection without a response. */
export function destroyConnection(reply: FastifyReply): void {
  if (!reply.sent) reply.hijack();
  reply.raw.destroy();
}

/**
 * The timeout fault: never answer. Waits until the client gives up or the simulator shuts
 * down, then cuts the connection so no socket outlives either.
 */
export async function holdUntilAbort(reply: FastifyReply, tracked: TrackedRequest): Promise<void> {
  reply.hijack();
  tracked.hold();
  await waitForAbort(tracked.signal);
  reply.raw.destroy();
}

/** A random id in OpenAI's style, e.g. `chatcmpl-3kPq…`. */
export function responseId(prefix: string): string {
  return `${prefix}-${randomBytes(18).toString('base64url')}`;
}
