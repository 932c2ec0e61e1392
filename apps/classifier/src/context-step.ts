import type { Queue } from 'bullmq';
import type { SluiceConfig } from '@sluice/config';
import { newJobId } from '@sluice/jobs';
import { messageText } from '@sluice/llm';
import {
  completionJobOptions,
  PRIORITY,
  SUMMARY_JOB_NAME,
  type CompletionJobData,
  type JobContext,
  type TierName,
} from '@sluice/queues';
import type { Keys, Redis } from '@sluice/redis';
import { createContextManager, createContextStore, type ContextManager, type SummaryJob } from '@sluice/routing';
import type { Logger } from '@sluice/telemetry';

/** Options for {@link createContextStep}. */
export interface ContextStepOptions {
  config: SluiceConfig;
  redis: Redis;
  keys: Keys;
  /** The `router` tier queue: summary jobs go there (job name `summary`), never waited for. */
  routerQueue: Queue<CompletionJobData>;
  logger?: Logger;
  /** @defaultValue `Date.now` */
  now?: () => number;
}

/** Builds the context a job sends upstream. */
export interface ContextStep {
  readonly manager: ContextManager;
  /**
   * The pruned context for a long client-sent history or a conversation kept under
   * `conversation_id`; undefined when the request goes upstream as sent.
   */
  prepare(data: CompletionJobData, tier: TierName): Promise<JobContext | undefined>;
}

const isSystem = (role: string) => role === 'system' || role === 'developer';

/**
 * The classifier's context step: token-budgeted context (last turns verbatim, rolling
 * summary, hard-constraint buffer) from `@sluice/routing`, with the summary written by a
 * queued `router`-tier job that nothing waits for.
 */
export function createContextStep(options: ContextStepOptions): ContextStep {
  const { config, redis, keys, routerQueue, logger } = options;
  const now = options.now ?? Date.now;
  const maxInputTokens = config.context.maxInputTokens;

  const requestSummary = async (job: SummaryJob) => {
    const id = `sum-${newJobId()}`;
    const data: CompletionJobData = {
      id,
      tenant: job.conversation.tenant,
      acceptedAt: now(),
      request: { model: 'router', messages: job.prompt },
      stream: false,
      priority: PRIORITY.batch,
      cacheMode: 'no-store',
      pinnedTier: 'router',
      summary: {
        conversation: job.conversation,
        from: job.from,
        to: job.to,
        previousSummary: job.previousSummary,
        coverHash: job.coverHash,
      },
    };
    await routerQueue.add(SUMMARY_JOB_NAME, data, completionJobOptions(id, PRIORITY.batch, config.queues));
  };

  const manager = createContextManager({
    store: createContextStore({ redis, keys, ttlSeconds: config.context.ttlSeconds }),
    maxInputTokens,
    requestSummary,
    onError: (error) => logger?.warn({ err: error }, 'conversation bookkeeping failed; the request is served anyway'),
    now,
  });

  return {
    manager,
    async prepare(data, tier) {
      const { request } = data;
      const conversationId = request.conversation_id;
      if (!conversationId) {
        // Cheap bound first: a token is at least one character, plus a few per message, so
        // a short history skips the tokenizer and the Redis round trips entirely.
        const upperBound =
          3 +
          request.messages.reduce(
            (total, m) =>
              total + 8 + messageText(m.content).length + (m.tool_calls ? JSON.stringify(m.tool_calls).length : 0),
            0,
          );
        if (upperBound <= maxInputTokens) return undefined;
      }
      const model = config.deployments.find((d) => d.tier === tier)?.model;
      let messages = request.messages;
      if (conversationId) {
        // A routing job run twice (its classifier died after the turn was stored) must not
        // store the turn twice: the first run marks the job, a re-run only rebuilds.
        const first = await redis.set(
          keys.family('conv-turn', data.id),
          '1',
          'EX',
          config.queues.resultTtlSeconds,
          'NX',
        );
        if (first !== 'OK') messages = messages.filter((m) => isSystem(m.role));
      }
      let prepared;
      try {
        prepared = await manager.prepare({ tenant: data.tenant, conversationId, messages, model });
      } catch (error) {
        // A client-sent history can always go upstream as sent (it only costs more); a
        // stored conversation cannot be answered without its history, so its job retries.
        if (conversationId) throw error;
        logger?.warn(
          { err: error, jobId: data.id },
          'context pruning failed; sending the history as the client sent it',
        );
        return undefined;
      }
      if (!conversationId && prepared.mode === 'full') return undefined;
      return {
        messages: prepared.messages,
        mode: prepared.mode,
        fullTokens: prepared.fullTokens,
        tokens: prepared.tokens,
        conversationId,
      };
    },
  };
}
