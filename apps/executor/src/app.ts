import { DelayedError, RateLimitError, UnrecoverableError, type Job, type Worker } from 'bullmq';
import { defineError, isSluiceError, SluiceError, toErrorRecord } from '@sluice/errors';
import type { SluiceConfig } from '@sluice/config';
import { type UpstreamCaller } from './upstream-call.ts';
import { createLimitedCaller } from './limited-call.ts';
import { JobRecordMissingError, JobStore, type JobErrorBody } from '@sluice/jobs';
import { isUpstreamError, UpstreamClient, UpstreamError } from '@sluice/llm';
import {
  createWorker,
  SUMMARY_JOB_NAME,
  TIER_QUEUES,
  TIERS,
  type CompletionJobData,
  type CompletionJobResult,
  type TierName,
} from '@sluice/queues';
import { createKeys, type Redis } from '@sluice/redis';
import { isLimitsError, limitsFromConfig, PermitLines, type Limiter } from '@sluice/limits';
import type { ExecutorMetrics } from '@sluice/metrics';
import type { Logger, QueueTelemetry } from '@sluice/telemetry';
import { createEmbedder, type ResponseCache } from '@sluice/cache';
import { counterfactualCost, createLedger, entryFromResult, sumUsd, type Ledger } from '@sluice/ledger';
import {
  createContextManager,
  createContextStore,
  knnStrategy,
  learningScope,
  rememberPromptTextTokens,
  type KnnStrategy,
} from '@sluice/routing';
import { createCachingCaller } from './cache-step.ts';
import { billedCall, createCascadingCaller } from './cascade-step.ts';
import { createSummaryProcessor } from './summary-step.ts';
import { createSettling } from './settling.ts';

/** Options for {@link createExecutor}. */
export interface ExecutorOptions {
  config: SluiceConfig;
  /** Connection for commands (job store, events). */
  connection: Redis;
  /** Blocking connection for the workers. */
  workerConnection: Redis;
  /** Subscriber connection (cancellations). */
  subscriber: Redis;
  logger: Logger;
  /** Tiers this process serves. @defaultValue every tier */
  tiers?: readonly TierName[];
  /** The shared response cache; absent: no caching. */
  cache?: ResponseCache;
  /** Makes each attempt's upstream call. @defaultValue the limits-aware caller (global permits, failover, circuits) */
  callUpstream?: UpstreamCaller;
  /** How long shutdown waits for in-flight jobs before handing them back (ms). @defaultValue `config.executor.drainTimeoutMs` */
  drainTimeoutMs?: number;
  /** The cost ledger every finished job is counted in. @defaultValue a ledger on `connection` */
  ledger?: Ledger;
  /** The kNN routing set escalated cascades teach. @defaultValue the shared set, with the cache's embedder */
  knn?: KnnStrategy;
  /** Metrics fed by the limiter, the cache step and the workers (`createExecutorMetrics`). @defaultValue none */
  metrics?: ExecutorMetrics;
  /** BullMQ telemetry (tracing on): each job's trace continues here. @defaultValue none */
  telemetry?: QueueTelemetry;
}

/** A running executor. */
export interface Executor {
  start(): Promise<void>;
  /** Stop taking work; finish in-flight jobs or hand them back after the drain timeout. Idempotent. */
  close(): Promise<void>;
  readonly workers: readonly Worker<CompletionJobData, CompletionJobResult>[];
}

/** Why an in-flight call was aborted. */
type AbortReason = 'cancelled' | 'shutdown';

/** Codes the executor itself gives a failed job, registered once in `@sluice/errors`. */
export const EXECUTOR_ERRORS = {
  executionFailed: defineError({
    code: 'execution_failed',
    status: 500,
    openaiType: 'server_error',
    subsystem: 'apps/executor',
    message: (reason: string) => `The job failed: ${reason}`,
  }),
  // The worker gave up on the job outside a processor (it stalled too often, or ran out of attempts).
  jobFailed: defineError({
    code: 'job_failed',
    status: 500,
    openaiType: 'server_error',
    subsystem: 'apps/executor',
    message: (reason: string) => `The job failed: ${reason}`,
  }),
} as const;

/** What a failed job stores: the same code, status and type the API answers for the same error. */
function errorBody(error: unknown): JobErrorBody {
  if (isLimitsError(error)) {
    // Only a job that waited past `limits.permitWaitMs` for a permit fails with one of these.
    return { ...toErrorRecord(error), message: `The job waited too long for an upstream permit: ${error.message}` };
  }
  if (isSluiceError(error)) return toErrorRecord(error);
  const reason = (error as Error)?.message ?? String(error);
  return toErrorRecord(
    new SluiceError(EXECUTOR_ERRORS.executionFailed, EXECUTOR_ERRORS.executionFailed.format(reason)),
  );
}

/** Wire an executor process: one BullMQ worker per tier queue. */
export function createExecutor(options: ExecutorOptions): Executor {
  const { config, logger } = options;
  const keys = createKeys(config.redis.prefix);
  const store = new JobStore({ redis: options.connection, keys, ttlSeconds: config.queues.resultTtlSeconds });
  const upstream = new UpstreamClient();
  const inFlight = new Map<string, AbortController>();
  /** Jobs this process holds for a permit, per tier; closed when close begins, so they go back to the queue. */
  const permitLines = new PermitLines({ holdMs: config.limits.permitHoldMs });
  options.metrics?.observePermitLines(permitLines);

  /** What follows answers already published (limiter learning and release, cache stores); drained on close. */
  const settling = createSettling();
  const instrumentLimiter = <L extends Limiter>(limiter: L): L =>
    options.metrics?.instrumentLimiter(limiter) ?? limiter;
  const baseCaller =
    options.callUpstream ??
    createLimitedCaller({
      config,
      upstream,
      logger,
      lines: permitLines,
      settling,
      limiter: instrumentLimiter(limitsFromConfig(config, { redis: options.connection, keys })),
    });
  // The cache wraps whichever caller makes the real call: a hit never takes a rate-limit permit.
  const cachingCaller = options.cache
    ? createCachingCaller({
        cache: options.cache,
        config,
        inner: baseCaller,
        logger,
        settling,
        onLookup: options.metrics?.cacheLookup,
      })
    : baseCaller;
  const embedder =
    options.cache?.embedder ?? createEmbedder({ ...config.embeddings, apiKey: config.embeddings.apiKey });
  const knn =
    options.knn ??
    knnStrategy({
      redis: options.connection,
      keys,
      embed: (texts) => embedder.embed([...texts]),
      embedderId: embedder.id,
    });
  // The cascade sits outside the cache: each tier's call has its own cache scope, and a
  // cached small answer is gated like a fresh one.
  const callUpstream = createCascadingCaller({
    inner: cachingCaller,
    logger,
    onEscalation: ({ tenant, shareGroup, ...e }) =>
      knn.recordEscalation({ ...e, scope: learningScope(tenant, shareGroup) }),
  });
  const ledger =
    options.ledger ??
    createLedger({
      redis: options.connection,
      keys,
      retentionDays: config.ledger.retentionDays,
      markerTtlSeconds: 2 * config.queues.resultTtlSeconds,
    });
  const contextManager = createContextManager({
    store: createContextStore({ redis: options.connection, keys, ttlSeconds: config.context.ttlSeconds }),
    maxInputTokens: config.context.maxInputTokens,
    // Summaries are requested by the classifier; this process only runs and stores them.
    requestSummary: () => undefined,
  });
  const summarize = createSummaryProcessor({ callUpstream: baseCaller, context: contextManager, ledger, logger });

  /**
   * Bookkeeping of a job this process finished, or found finished by an earlier run that may
   * have died before it (both idempotent): count it in the ledger, and append the reply to a
   * conversation Sluice keeps. Never fails the job, whose answer is already delivered.
   */
  const afterComplete = async (data: CompletionJobData, result: CompletionJobResult, finishedAt: number) => {
    const steps: Promise<unknown>[] = [
      ledger.record(entryFromResult({ tenant: data.tenant, jobId: data.id, finishedAt }, result)),
    ];
    const conversationId = data.context?.conversationId;
    if (conversationId) {
      const message = (
        result.completion as { choices?: Array<{ message?: { content?: string | null; tool_calls?: unknown[] } }> }
      ).choices?.[0]?.message;
      const first = await options.connection.set(
        keys.family('conv-reply', data.id),
        '1',
        'EX',
        config.queues.resultTtlSeconds,
        'NX',
      );
      // A tool-call reply keeps its calls: the next turn's tool results answer them by id.
      const reply = message?.tool_calls?.length
        ? { role: 'assistant' as const, content: message.content ?? null, tool_calls: message.tool_calls }
        : { role: 'assistant' as const, content: message?.content ?? '' };
      if (first === 'OK') steps.push(contextManager.recordReply({ tenant: data.tenant, id: conversationId }, reply));
    }
    for (const r of await Promise.allSettled(steps))
      if (r.status === 'rejected')
        logger.error({ err: r.reason, jobId: data.id }, 'job bookkeeping (ledger, conversation) failed');
  };
  const workerByQueue = new Map<string, Worker<CompletionJobData, CompletionJobResult>>();

  const processJob = async (
    job: Job<CompletionJobData, CompletionJobResult>,
    token?: string,
  ): Promise<CompletionJobResult> => {
    const data = job.data;
    if (job.name === SUMMARY_JOB_NAME && data.summary) {
      const controller = new AbortController();
      inFlight.set(data.id, controller);
      try {
        return await summarize(job, workerByQueue.get(job.queueName)!, token, controller.signal);
      } finally {
        inFlight.delete(data.id);
      }
    }
    rememberPromptTextTokens(data.request, data.promptTextTokens);
    const attempt = job.attemptsMade + 1;
    // The event log numbers runs, not attempts: a job taken over after its worker died, or
    // handed back at shutdown, runs again with the same attemptsMade, and the API must tell
    // the two runs' chunks apart. attemptsStarted counts every start, so it only grows.
    const run = Math.max(job.attemptsStarted, attempt);
    // No separate status check: `begin` appends the attempt event only while the job is not
    // finished (one atomic script), which is the check, one round trip cheaper.
    const tier = data.route?.tier ?? data.pinnedTier ?? 'large';
    const cacheOutcome = data.cacheMode === 'default' ? 'miss' : 'bypass';
    const controller = new AbortController();
    inFlight.set(data.id, controller);
    try {
      const pending: Promise<unknown>[] = [];
      const outcome = await callUpstream({
        job,
        worker: workerByQueue.get(job.queueName)!,
        token,
        attempt,
        tier,
        signal: controller.signal,
        // A long conversation goes upstream as the classifier pruned it; the cache keeps
        // scoping by the client's own request.
        request: data.context ? { ...data.request, messages: data.context.messages } : undefined,
        begin: (deployment, cached) =>
          store.append(
            data.id,
            cached
              ? {
                  type: 'attempt',
                  attempt: run,
                  tier,
                  model: deployment.model,
                  deploymentId: deployment.id,
                  cache: 'hit',
                  cacheKind: cached.kind,
                  cacheSimilarity: cached.similarity,
                }
              : {
                  type: 'attempt',
                  attempt: run,
                  tier: deployment.tier,
                  model: deployment.model,
                  deploymentId: deployment.id,
                  cache: cacheOutcome,
                },
            'running',
          ),
        // Chunks are appended without awaiting each: one connection keeps them in order, and
        // the upstream stream is not slowed by a Redis round trip per chunk.
        onChunk: data.stream
          ? (chunk) => void pending.push(store.append(data.id, { type: 'chunk', attempt: run, chunk }))
          : undefined,
      });
      await Promise.all(pending);
      if (!outcome) {
        const record = await store.get(data.id);
        // Refused for want of a record (one not yet visible, or expired): retried, then failed
        // on the queue with the reason; nothing is written for a client nobody knows.
        if (!record) throw new JobRecordMissingError(data.id);
        // An earlier run finished the job and may have died before its bookkeeping.
        if (record.status === 'completed' && record.result)
          await afterComplete(data, record.result, record.finishedAt ?? Date.now());
        return record.result ?? (undefined as never);
      }
      const { completion, deployment } = outcome;
      const answeredBy = outcome.tier ?? tier;
      // Every billed call: the LLM router's, a cascade's small call, the answer. A cache hit
      // spends no tokens: its pseudo deployment is priced at zero.
      const calls = [...(data.routingCalls ?? []), ...(outcome.calls ?? [billedCall(outcome, answeredBy)])];
      const result: CompletionJobResult = {
        completion,
        tier: answeredBy,
        model: deployment.model,
        deploymentId: deployment.id,
        cache: outcome.cache ? 'hit' : (outcome.cacheOutcome ?? cacheOutcome),
        ...(outcome.cache ? { cacheKind: outcome.cache.kind, cacheSimilarity: outcome.cache.similarity } : {}),
        costUsd: sumUsd(calls.map((c) => c.costUsd)),
        attempt,
        calls,
        ...(outcome.cascade ? { cascade: outcome.cascade } : {}),
        counterfactual: counterfactualCost({
          deployments: config.deployments,
          messages: data.request.messages,
          promptTokens: data.context?.fullTokens,
          tools: data.request.tools,
          responseFormat: data.request.response_format,
          completionTokens: completion.usage?.completion_tokens ?? 0,
          cachedTokens: completion.usage?.prompt_tokens_details?.cached_tokens,
        }),
        ...(data.context
          ? { context: { mode: data.context.mode, fullTokens: data.context.fullTokens, tokens: data.context.tokens } }
          : {}),
      };
      const finishedAt = Date.now();
      const completed = store.complete(data.id, result, finishedAt);
      // Sent: the call's release and counters now follow the finish on this connection.
      settling.published(data.id);
      if (await completed) await afterComplete(data, result, finishedAt);
      // Returned for the worker's metrics (its `completed` event); BullMQ stores it only in a
      // kept completed job (none by default: the job record holds the result).
      return result;
    } catch (error) {
      const reason = controller.signal.reason as AbortReason | undefined;
      if (reason === 'cancelled') return undefined as never;
      // The caller parked the job (rate-limit wait, delayed retry): it keeps its place and attempt.
      if (error instanceof DelayedError || error instanceof RateLimitError) throw error;
      if (reason === 'shutdown' && token) {
        // Hand the job back without spending an attempt: another executor picks it up now.
        await job.moveToDelayed(Date.now(), token);
        throw new DelayedError();
      }
      const attemptsLeft = attempt < (job.opts.attempts ?? 1);
      if (error instanceof JobRecordMissingError) {
        logger.warn({ jobId: data.id, attempt, last: !attemptsLeft }, 'completion job without a job record');
        throw attemptsLeft ? error : new UnrecoverableError(error.message);
      }
      const retryable = isUpstreamError(error) && error.retryable;
      if (retryable && attemptsLeft) {
        await store.append(data.id, { type: 'retry', attempt, reason: (error as UpstreamError).message });
        throw error;
      }
      await store.fail(data.id, errorBody(error));
      throw new UnrecoverableError((error as Error).message);
    } finally {
      inFlight.delete(data.id);
      // Whatever ended the run (a failure, a park, a cancel), what its calls hold is settled.
      settling.published(data.id);
    }
  };

  const tiers = options.tiers ?? TIERS;
  const workers = tiers.map((tier) =>
    createWorker(TIER_QUEUES[tier], processJob, {
      connection: options.workerConnection,
      keys,
      concurrency: config.executor.concurrency,
      lockDurationMs: config.queues.lockDurationMs,
      telemetry: options.telemetry,
      workerOptions: {
        // `worker.rateLimit` (a job with no permit) pauses the tier queue for every worker only
        // when a limiter is configured; this one never limits by itself.
        limiter: { max: 1e12, duration: 1_000 },
        // A parked job re-enters its priority list without waking a worker blocked on the
        // queue (BullMQ adds no marker for it), so an idle worker finds it only when its
        // blocking wait ends: measured 4-5 s per park with the 5 s default, ~1 s with this.
        drainDelay: 1,
      },
    }),
  );
  for (const w of workers) {
    options.metrics?.observeWorker(w);
    workerByQueue.set(w.name, w);
    w.on('error', (error) => logger.error({ err: error }, 'executor worker error'));
    // A job that stalled too often (its workers kept dying) fails here, not in a processor:
    // record the reason so the client sees it instead of waiting forever.
    w.on('failed', (job, error) => {
      // A summary job has no client-visible record; the next request asks for another.
      if (job?.name === SUMMARY_JOB_NAME) return;
      if (job && (job.attemptsMade >= (job.opts.attempts ?? 1) || /stalled/i.test(error.message))) {
        void store
          .fail(
            job.data.id,
            toErrorRecord(new SluiceError(EXECUTOR_ERRORS.jobFailed, EXECUTOR_ERRORS.jobFailed.format(error.message))),
          )
          .catch(() => {});
      }
    });
  }

  const onCancel = (channel: string, jobId: string) => {
    if (channel === keys.cancelChannel) inFlight.get(jobId)?.abort('cancelled' satisfies AbortReason);
  };

  let closed: Promise<void> | undefined;
  return {
    workers,
    async start() {
      options.subscriber.on('message', onCancel);
      await options.subscriber.subscribe(keys.cancelChannel);
      for (const w of workers) void w.run();
      await Promise.all(workers.map((w) => w.waitUntilReady()));
      logger.info({ tiers, concurrency: config.executor.concurrency }, 'executor consuming tier queues');
    },
    close() {
      closed ??= (async () => {
        permitLines.close();
        const drain = Promise.allSettled(workers.map((w) => w.close()));
        const timer = setTimeout(() => {
          logger.warn({ inFlight: inFlight.size }, 'drain timeout: handing in-flight jobs back');
          for (const c of inFlight.values()) c.abort('shutdown' satisfies AbortReason);
        }, options.drainTimeoutMs ?? config.executor.drainTimeoutMs);
        const results = await drain;
        clearTimeout(timer);
        // Answers already went out; their releases and stores must still reach Redis.
        await settling.drain();
        for (const r of results)
          if (r.status === 'rejected') logger.error({ err: r.reason }, 'executor close step failed');
        options.subscriber.off('message', onCancel);
        await options.subscriber.unsubscribe(keys.cancelChannel).catch(() => {});
      })();
      return closed;
    },
  };
}
