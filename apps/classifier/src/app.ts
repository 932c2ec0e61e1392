import { UnrecoverableError, type Job, type Queue, type Worker } from 'bullmq';
import type { SluiceConfig } from '@sluice/config';
import { JobStore, TERMINAL } from '@sluice/jobs';
import { completionJobOptions, createQueue, createWorker, ROUTE_QUEUE, TIER_QUEUES, type CompletionJobData, type TierName } from '@sluice/queues';
import { createKeys, type Redis } from '@sluice/redis';
import { createRouter, rulesStrategy, type Router } from '@sluice/routing';
import type { Logger } from '@sluice/telemetry';

/** Options for {@link createClassifier}. */
export interface ClassifierOptions {
  config: SluiceConfig;
  /** Blocking connection for the worker (role `worker`). */
  workerConnection: Redis;
  /** Connection for commands (job store, producers). */
  connection: Redis;
  logger: Logger;
  /** The routing strategy stack. @defaultValue rules only */
  router?: Router;
  /**
   * Computes the job's embedding once; routing (kNN) and the cache both use it, so the
   * executor never embeds again. @defaultValue none
   */
  embed?: (request: CompletionJobData['request']) => Promise<Float32Array | undefined>;
}

/** A running classifier: consumes `route`, decides tier and category, enqueues to the tier. */
export interface Classifier {
  start(): Promise<void>;
  close(): Promise<void>;
  readonly worker: Worker<CompletionJobData>;
}

/** The classifier's job handler, exported for tests. */
export function createClassifierProcessor(deps: { store: JobStore; router: Router; tierQueues: Record<TierName, Queue<CompletionJobData>>; config: SluiceConfig; embed?: ClassifierOptions['embed'] }) {
  return async (job: Job<CompletionJobData>) => {
    const data = job.data;
    const status = await deps.store.status(data.id);
    // Cancelled or expired before routing: nothing to do, and nothing to spend.
    if (!status || TERMINAL.has(status)) return;
    let embedding: Float32Array | undefined = data.embedding ? Float32Array.from(data.embedding) : undefined;
    if (!embedding && deps.embed) embedding = await deps.embed(data.request);
    const decision = await deps.router.decide({ request: data.request, embedding: embedding as Float32Array<ArrayBuffer> | undefined }, { pinnedTier: data.pinnedTier });
    const { cascade: _cascade, ...route } = decision;
    const appended = await deps.store.append(data.id, { type: 'routed', route }, 'routed', { tier: route.tier, category: route.category });
    if (!appended) return;
    const next: CompletionJobData = { ...data, route, embedding: embedding ? Array.from(embedding) : undefined };
    // Same job id in the tier queue: if this routing job is retried after the add succeeded,
    // BullMQ ignores the duplicate add, so a job is never executed twice.
    await deps.tierQueues[route.tier].add('completion', next, completionJobOptions(data.id, data.priority, deps.config.queues));
  };
}

/** Wire a classifier process. */
export function createClassifier(options: ClassifierOptions): Classifier {
  const { config, logger } = options;
  const keys = createKeys(config.redis.prefix);
  const store = new JobStore({ redis: options.connection, keys, ttlSeconds: config.queues.resultTtlSeconds });
  const router = options.router ?? createRouter({ strategies: [rulesStrategy()] });
  const tierQueues = {
    router: createQueue(TIER_QUEUES.router, { connection: options.connection, keys }),
    small: createQueue(TIER_QUEUES.small, { connection: options.connection, keys }),
    large: createQueue(TIER_QUEUES.large, { connection: options.connection, keys }),
  };
  const processor = createClassifierProcessor({ store, router, tierQueues, config, embed: options.embed });
  const worker = createWorker(
    ROUTE_QUEUE,
    async (job) => {
      try {
        await processor(job);
      } catch (error) {
        const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        if (last || error instanceof UnrecoverableError) {
          await store.fail(job.data.id, { message: `Routing failed: ${(error as Error).message}`, type: 'server_error', code: 'routing_failed', status: 500 });
        }
        throw error;
      }
      return undefined as never;
    },
    { connection: options.workerConnection, keys, concurrency: config.classifier.concurrency, lockDurationMs: config.queues.lockDurationMs },
  );
  worker.on('error', (error) => logger.error({ err: error }, 'classifier worker error'));
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
        const results = await Promise.allSettled([worker.close(), ...Object.values(tierQueues).map((q) => q.close())]);
        for (const r of results) if (r.status === 'rejected') logger.error({ err: r.reason }, 'classifier close step failed');
      })();
      return closed;
    },
  };
}
