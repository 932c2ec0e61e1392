import { DelayedError, Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { Batcher, type BatchProvider, type PollJobData } from '@sluice/batch';
import type { ResponseCache } from '@sluice/cache';
import type { ResolvedDeployment, SluiceConfig } from '@sluice/config';
import { JobStore } from '@sluice/jobs';
import { createLedger, type Ledger } from '@sluice/ledger';
import {
  BATCH_POLL_QUEUE,
  BATCH_QUEUE,
  createQueue,
  createWorker,
  TIER_QUEUES,
  type CompletionJobData,
  type CompletionJobResult,
} from '@sluice/queues';
import { createKeys, type Redis } from '@sluice/redis';
import type { Logger, QueueTelemetry } from '@sluice/telemetry';

/** Options for {@link createBatcherProcess}. */
export interface BatcherProcessOptions {
  config: SluiceConfig;
  /** Connection for commands. */
  connection: Redis;
  /** Blocking connection for the workers. */
  workerConnection: Redis;
  logger: Logger;
  /** The shared response cache; absent: deferrable jobs are neither looked up nor stored. */
  cache?: ResponseCache;
  /**
   * The batch API of a deployment.
   * @defaultValue Anthropic's Message Batches for `api: anthropic` deployments, else OpenAI's Batch API, on the deployment's base URL
   */
  provider?: (deployment: ResolvedDeployment) => BatchProvider;
  /** The cost ledger. @defaultValue a ledger on `connection` */
  ledger?: Ledger;
  telemetry?: QueueTelemetry;
}

/** A running batcher process. */
export interface BatcherProcess {
  readonly batcher: Batcher;
  readonly workers: readonly Worker[];
  start(): Promise<void>;
  /** Stops taking work and the timer; in-flight steps finish (each is safe to repeat). Idempotent. */
  close(): Promise<void>;
}

/**
 * Wires a batcher: a worker on `{batch}` (routed deferrable jobs: cache, then pending), a
 * timer that submits and recovers batches, and a worker on `{batch-poll}` whose jobs are the
 * submitted provider batches (a poll that finds a batch still running puts its job back as
 * delayed until the next poll). Any number of batcher processes can run against one Redis.
 */
export function createBatcherProcess(options: BatcherProcessOptions): BatcherProcess {
  const { config, logger } = options;
  const keys = createKeys(config.redis.prefix);
  const store = new JobStore({ redis: options.connection, keys, ttlSeconds: config.queues.resultTtlSeconds });
  const ledger =
    options.ledger ??
    createLedger({
      redis: options.connection,
      keys,
      retentionDays: config.ledger.retentionDays,
      markerTtlSeconds: 2 * config.queues.resultTtlSeconds,
    });
  const queueOptions = { connection: options.connection, keys, telemetry: options.telemetry };
  const tierQueues = {
    router: createQueue(TIER_QUEUES.router, queueOptions),
    small: createQueue(TIER_QUEUES.small, queueOptions),
    large: createQueue(TIER_QUEUES.large, queueOptions),
  };
  const pollQueue = new Queue<PollJobData>(BATCH_POLL_QUEUE, {
    connection: options.connection as unknown as ConnectionOptions,
    prefix: keys.bullPrefix,
  });
  const batcher = new Batcher({
    config,
    redis: options.connection,
    keys,
    store,
    ledger,
    cache: options.cache,
    logger,
    tierQueues,
    pollQueue,
    provider: options.provider,
    tuning: {
      maxSize: config.batch.maxSize,
      maxAgeMs: config.batch.maxAgeMs,
      pollIntervalMs: config.batch.pollIntervalMs,
      fallbackMarginMs: config.batch.fallbackMarginMs,
    },
  });

  const intake = createWorker(
    BATCH_QUEUE,
    async (job: Job<CompletionJobData, CompletionJobResult>) => {
      await batcher.intake(job.data);
      return undefined as never;
    },
    {
      ...queueOptions,
      connection: options.workerConnection,
      concurrency: 16,
      lockDurationMs: config.queues.lockDurationMs,
    },
  );

  const poller = new Worker<PollJobData>(
    BATCH_POLL_QUEUE,
    async (job, token) => {
      const outcome = await batcher.poll(job.data);
      if (outcome.done) return outcome;
      await job.updateProgress({ status: outcome.status, fellBack: outcome.fellBack });
      await job.moveToDelayed(Date.now() + config.batch.pollIntervalMs, token);
      throw new DelayedError();
    },
    {
      connection: options.workerConnection as unknown as ConnectionOptions,
      prefix: keys.bullPrefix,
      concurrency: 4,
      lockDuration: config.queues.lockDurationMs,
      autorun: false,
    },
  );
  const workers = [intake, poller] as readonly Worker[];
  for (const w of workers) w.on('error', (error) => logger.error({ err: error }, 'batcher worker error'));

  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | undefined;
  const tick = () => {
    ticking ??= batcher.tick().finally(() => {
      ticking = undefined;
    });
  };

  let closed: Promise<void> | undefined;
  return {
    batcher,
    workers,
    async start() {
      for (const w of workers) void w.run();
      await Promise.all(workers.map((w) => w.waitUntilReady()));
      timer = setInterval(tick, config.batch.tickMs);
      logger.info({ deployments: batcher.deployments.map((d) => d.id) }, 'batcher consuming deferrable jobs');
    },
    close() {
      closed ??= (async () => {
        if (timer) clearInterval(timer);
        const results = await Promise.allSettled([...workers.map((w) => w.close()), ticking ?? Promise.resolve()]);
        results.push(
          ...(await Promise.allSettled([pollQueue.close(), ...Object.values(tierQueues).map((q) => q.close())])),
        );
        for (const r of results)
          if (r.status === 'rejected') logger.error({ err: r.reason }, 'batcher close step failed');
      })();
      return closed;
    },
  };
}
