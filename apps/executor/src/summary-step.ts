import { DelayedError, RateLimitError, type Job, type Worker } from 'bullmq';
import type { Ledger } from '@sluice/ledger';
import type { CompletionJobData, CompletionJobResult } from '@sluice/queues';
import type { ContextManager } from '@sluice/routing';
import type { Logger } from '@sluice/telemetry';
import { billedCall } from './cascade-step.ts';
import type { UpstreamCaller } from './upstream-call.ts';

/** Options for {@link createSummaryProcessor}. */
export interface SummaryProcessorOptions {
  /** The limits-aware caller (no cache: a summary is never reused, no cascade). */
  callUpstream: UpstreamCaller;
  /** Stores the finished summary (`completeSummary`). */
  context: Pick<ContextManager, 'completeSummary'>;
  /** Costs the summary in the tenant's ledger (reported apart from client jobs). */
  ledger?: Ledger;
  logger?: Logger;
  /** @defaultValue `Date.now` */
  now?: () => number;
}

/**
 * Runs a summary job (BullMQ job name `summary` on the `router` tier queue): the router
 * tier's model extends the conversation's rolling summary, which is then stored for later
 * requests. It has no client-visible job record; requests never wait for it (until it is
 * stored they use the plain window), and a failed one is simply requested again later.
 */
export function createSummaryProcessor(options: SummaryProcessorOptions) {
  const { callUpstream, context, ledger, logger } = options;
  const now = options.now ?? Date.now;
  return async (
    job: Job<CompletionJobData, CompletionJobResult>,
    worker: Worker<CompletionJobData, CompletionJobResult>,
    token: string | undefined,
    signal: AbortSignal,
  ): Promise<CompletionJobResult> => {
    const data = job.data;
    const task = data.summary!;
    const attempt = job.attemptsMade + 1;
    let outcome;
    try {
      outcome = await callUpstream({ job, worker, token, attempt, tier: 'router', signal, begin: async () => true });
    } catch (error) {
      if (
        signal.reason === 'shutdown' &&
        token &&
        !(error instanceof DelayedError) &&
        !(error instanceof RateLimitError)
      ) {
        await job.moveToDelayed(Date.now(), token);
        throw new DelayedError();
      }
      throw error;
    }
    if (!outcome) return undefined as never;
    const text = outcome.completion.choices[0]?.message.content ?? '';
    const stored = text.trim() ? await context.completeSummary({ ...task, prompt: [] }, text) : false;
    const call = billedCall(outcome, 'router');
    await ledger
      ?.record({
        kind: 'summary',
        tenant: data.tenant,
        jobId: data.id,
        finishedAt: now(),
        tier: 'router',
        cache: 'bypass',
        calls: [call],
        counterfactual: { promptTokens: 0, completionTokens: 0, costUsd: 0 },
      })
      .catch((error: unknown) =>
        logger?.warn({ err: error, jobId: data.id }, 'could not record the summary job in the ledger'),
      );
    logger?.debug(
      { jobId: data.id, conversation: task.conversation.id, to: task.to, stored },
      'conversation summary extended',
    );
    return {
      completion: outcome.completion,
      tier: 'router',
      model: outcome.deployment.model,
      deploymentId: outcome.deployment.id,
      cache: 'bypass',
      costUsd: call.costUsd,
      attempt,
      calls: [call],
    };
  };
}
