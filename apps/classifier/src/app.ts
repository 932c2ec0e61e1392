import { AsyncLocalStorage } from 'node:async_hooks';
import { UnrecoverableError, type Job, type Queue, type Worker } from 'bullmq';
import { defineError, SluiceError, toErrorRecord } from '@sluice/errors';
import { createEmbedder, type Embedder } from '@sluice/cache';
import type { SluiceConfig } from '@sluice/config';
import { JobRecordMissingError, JobStore, TERMINAL, type AppendOutcome } from '@sluice/jobs';
import { limitsFromConfig } from '@sluice/limits';
import { UpstreamClient } from '@sluice/llm';
import { batchDeploymentFor } from '@sluice/batch';
import {
  BATCH_QUEUE,
  completionJobOptions,
  createQueue,
  createWorker,
  decodeEmbedding,
  encodeEmbedding,
  ROUTE_QUEUE,
  TIER_QUEUES,
  type BilledCall,
  type CompletionJobData,
  type RouteDecision,
  type TierName,
} from '@sluice/queues';
import { createKeys, isCluster, type Redis } from '@sluice/redis';
import {
  createRouterTierCall,
  latestUserText,
  learningScope,
  rememberPromptTextTokens,
  routerFromConfig,
  type Router,
} from '@sluice/routing';
import { createContextStep, type ContextStep } from './context-step.ts';
import type { ClassifierMetrics } from '@sluice/metrics';
import type { Logger, QueueTelemetry } from '@sluice/telemetry';

/** Options for {@link createClassifier}. */
export interface ClassifierOptions {
  config: SluiceConfig;
  /** Blocking connection for the worker (role `worker`). */
  workerConnection: Redis;
  /** Connection for commands (job store, producers). */
  connection: Redis;
  logger: Logger;
  /** The routing strategy stack. @defaultValue built from `config.routing` (`routerFromConfig`) */
  router?: Router;
  /** The embedder kNN routing uses; pass the cache's (`cache.embedder`). @defaultValue `createEmbedder(config.embeddings)` */
  embedder?: Embedder;
  /**
   * Computes the job's embedding once; routing (kNN) and the cache both use it, so the
   * executor never embeds again. @defaultValue none
   */
  embed?: (request: CompletionJobData['request']) => Promise<Float32Array | undefined>;
  /** Routing decisions and worker metrics (`createClassifierMetrics`). @defaultValue none */
  metrics?: ClassifierMetrics;
  /** BullMQ telemetry (tracing on): each job's trace continues here and into its tier queue. @defaultValue none */
  telemetry?: QueueTelemetry;
}

/** A running classifier: consumes `route`, decides tier and category, enqueues to the tier. */
export interface Classifier {
  start(): Promise<void>;
  close(): Promise<void>;
  readonly worker: Worker<CompletionJobData>;
}

/** Codes the classifier gives, registered once in `@sluice/errors`. */
const CLASSIFIER_ERRORS = {
  routingFailed: defineError({
    code: 'routing_failed',
    status: 500,
    openaiType: 'server_error',
    subsystem: 'apps/classifier',
    message: 'Routing failed.',
  }),
} as const;

/** Longest prompt kept with a job for feedback (kNN embeds at most this much of a prompt). */
const FEEDBACK_PROMPT_CHARS = 4_000;

/** The classifier's job handler, exported for tests. */
export function createClassifierProcessor(deps: {
  store: JobStore;
  router: Router;
  tierQueues: Record<TierName, Queue<CompletionJobData>>;
  /** Where routed deferrable jobs go when a deployment of their tier has a batch API. @defaultValue none: they take the tier queue */
  batchQueue?: Queue<CompletionJobData>;
  config: SluiceConfig;
  embed?: ClassifierOptions['embed'];
  /** Prunes long conversations and keeps stored ones. @defaultValue none: messages go as sent */
  context?: ContextStep;
  /** Collects the LLM router's calls made while deciding, to cost them with the job. */
  routingCalls?: AsyncLocalStorage<BilledCall[]>;
  /** Told each decision once its job is in the tier queue. @defaultValue none */
  onRouted?: (route: RouteDecision) => void;
  /**
   * The job store and the tier queues are on one Redis, so commands sent together on one
   * connection run in order (false on a cluster). @defaultValue false: one round trip more per job
   */
  ordered?: boolean;
  /**
   * Deciding can spend money (the LLM router's call, a remote embedder's), so the job's status
   * is read first and a cancelled job costs nothing. Otherwise the routed event is the check: a
   * job found finished or without a record there costs a decision's CPU, and the common job one
   * round trip less. @defaultValue false
   */
  checkFirst?: boolean;
}) {
  // The API writes the record before it enqueues, so a missing one is a record not yet
  // visible or one that expired: retried with backoff, then the job fails with a reason
  // (in Bull Board and in the log), never dropped without a word.
  const refused = (outcome: AppendOutcome, id: string) => {
    if (outcome === 'missing') throw new JobRecordMissingError(id);
    return outcome === 'finished';
  };
  return async (job: Job<CompletionJobData>) => {
    const data = job.data;
    if (deps.checkFirst) {
      const status = await deps.store.status(data.id);
      if (!status) throw new JobRecordMissingError(data.id);
      // Cancelled or finished before routing: nothing to do, and nothing to spend.
      if (TERMINAL.has(status)) return;
    }
    rememberPromptTextTokens(data.request, data.promptTextTokens);
    let embedding: Float32Array | undefined = decodeEmbedding(data.embedding);
    if (!embedding && deps.embed) embedding = await deps.embed(data.request);
    const routingCalls: BilledCall[] = [];
    const decide = () =>
      deps.router.decide(
        {
          request: data.request,
          embedding: embedding as Float32Array<ArrayBuffer> | undefined,
          learningScope: learningScope(data.tenant, data.shareGroup),
        },
        { pinnedTier: data.pinnedTier, quality: data.routingQuality },
      );
    const { cascade, ...decided } = deps.routingCalls
      ? await deps.routingCalls.run(routingCalls, decide)
      : await decide();
    const route = cascade ? { ...decided, cascade } : decided;
    const context = await deps.context?.prepare(data, route.tier);
    // The prompt is kept with the job (as long as its result) for `POST /v1/feedback`.
    const prompt = latestUserText(data.request).slice(0, FEEDBACK_PROMPT_CHARS);
    const next: CompletionJobData = {
      ...data,
      route,
      embedding: embedding ? encodeEmbedding(embedding) : undefined,
      ...(context ? { context } : {}),
      ...(routingCalls.length ? { routingCalls } : {}),
    };
    const routed = () =>
      deps.store.appendEvent(data.id, { type: 'routed', route }, 'routed', {
        tier: route.tier,
        category: route.category,
        prompt,
      });
    // Same job id in the tier queue: if this routing job is retried after the add succeeded,
    // BullMQ ignores the duplicate add, so a job is never executed twice.
    // A deferrable job goes to the batcher (cache, then a provider batch at its discount) when
    // its tier has a deployment with a batch API; otherwise it is answered like any job.
    const deferrable =
      data.deadline !== undefined &&
      deps.batchQueue !== undefined &&
      batchDeploymentFor(deps.config, data, route.tier) !== undefined;
    const queue = deferrable ? deps.batchQueue! : deps.tierQueues[route.tier];
    const enqueue = () =>
      queue.add('completion', next, completionJobOptions(data.id, data.priority, deps.config.queues));
    if (deps.ordered) {
      // One round trip: the routed event runs first on Redis, so an executor never sees the
      // job before its record says routed. A job cancelled meanwhile (not appended) is still
      // enqueued; the executor's attempt event is refused on a finished job, so it spends
      // nothing. One without a record is enqueued too: the executor retries it until the
      // record is there, or fails it with the reason after its last attempt.
      const [appended] = await Promise.all([routed(), enqueue()]);
      if (refused(appended, data.id)) return;
    } else {
      // On a cluster the record and the tier queue are on different shards: nothing orders
      // commands sent together, so the event goes first.
      if (refused(await routed(), data.id)) return;
      await enqueue();
    }
    deps.onRouted?.(route);
  };
}

/** Wire a classifier process. */
export function createClassifier(options: ClassifierOptions): Classifier {
  const { config, logger } = options;
  const keys = createKeys(config.redis.prefix);
  const store = new JobStore({ redis: options.connection, keys, ttlSeconds: config.queues.resultTtlSeconds });
  const routingCalls = new AsyncLocalStorage<BilledCall[]>();
  const llmRouting = /\bllm\b/.test(config.routing.strategy);
  const router =
    options.router ??
    routerFromConfig({
      config,
      redis: options.connection,
      keys,
      embedder: options.embedder ?? createEmbedder({ ...config.embeddings, apiKey: config.embeddings.apiKey }),
      // The LLM router's call holds a router-tier permit like any upstream call, and is
      // costed with the job it routed.
      complete: llmRouting
        ? createRouterTierCall({
            deployments: config.deployments.filter((d) => d.tier === 'router'),
            upstream: new UpstreamClient(),
            limiter: limitsFromConfig(config, { redis: options.connection, keys }),
            onCall: (call) => routingCalls.getStore()?.push(call),
          })
        : undefined,
      onStrategyError: (error, strategy) => logger.warn({ err: error, strategy }, 'routing strategy failed; skipped'),
    }).router;
  const queueError = (error: Error, queue: string) => logger.warn({ err: error, queue }, 'queue connection error');
  const tierQueues = {
    router: createQueue(TIER_QUEUES.router, {
      connection: options.connection,
      keys,
      telemetry: options.telemetry,
      onError: queueError,
    }),
    small: createQueue(TIER_QUEUES.small, {
      connection: options.connection,
      keys,
      telemetry: options.telemetry,
      onError: queueError,
    }),
    large: createQueue(TIER_QUEUES.large, {
      connection: options.connection,
      keys,
      telemetry: options.telemetry,
      onError: queueError,
    }),
  };
  const context = createContextStep({
    config,
    redis: options.connection,
    keys,
    routerQueue: tierQueues.router,
    logger,
  });
  const batchQueue = createQueue(BATCH_QUEUE, {
    connection: options.connection,
    keys,
    telemetry: options.telemetry,
    onError: queueError,
  });
  const processor = createClassifierProcessor({
    store,
    router,
    tierQueues,
    batchQueue,
    config,
    embed: options.embed,
    context,
    routingCalls,
    onRouted: options.metrics?.routed,
    ordered: !isCluster(options.connection),
    // The LLM router's call and a remote embedder are billed: a cancelled job must spend neither.
    checkFirst: llmRouting || config.embeddings.baseUrl !== '',
  });
  const worker = createWorker(
    ROUTE_QUEUE,
    async (job) => {
      try {
        await processor(job);
      } catch (error) {
        const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        if (error instanceof JobRecordMissingError) {
          // No record to tell: the job fails on the queue (Bull Board shows why) and in the log.
          logger.warn({ jobId: job.data.id, attempt: job.attemptsMade + 1, last }, 'routing job without a job record');
        } else if (last || error instanceof UnrecoverableError) {
          await store.fail(
            job.data.id,
            toErrorRecord(
              new SluiceError(CLASSIFIER_ERRORS.routingFailed, `Routing failed: ${(error as Error).message}`, {
                cause: error,
              }),
            ),
          );
        }
        throw error;
      }
      return undefined as never;
    },
    {
      connection: options.workerConnection,
      keys,
      concurrency: config.classifier.concurrency,
      lockDurationMs: config.queues.lockDurationMs,
      telemetry: options.telemetry,
    },
  );
  worker.on('error', (error) => logger.error({ err: error }, 'classifier worker error'));
  options.metrics?.observeWorker(worker);
  let closed: Promise<void> | undefined;
  return {
    worker,
    async start() {
      void worker.run();
      await worker.waitUntilReady();
      logger.info({ concurrency: config.classifier.concurrency }, 'classifier consuming route queue');
    },
    close() {
      closed ??= (async () => {
        const results = await Promise.allSettled([
          worker.close(),
          batchQueue.close(),
          ...Object.values(tierQueues).map((q) => q.close()),
        ]);
        for (const r of results)
          if (r.status === 'rejected') logger.error({ err: r.reason }, 'classifier close step failed');
      })();
      return closed;
    },
  };
}
