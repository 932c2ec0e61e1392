import {
  Queue,
  Worker,
  type JobsOptions,
  type Processor,
  type WorkerOptions,
  type ConnectionOptions,
  type Telemetry,
} from 'bullmq';
import type { Redis } from '@sluice/redis';
import type { Keys } from '@sluice/redis';

export * from './payload.ts';
export { checkChatRequest, type ChatRequestCheckOptions, type ChatRequestProblem } from './chat-request-check.ts';
import type { CompletionJobData, CompletionJobResult, TierName } from './payload.ts';

/** The queue every accepted job enters first; classifiers consume it. */
export const ROUTE_QUEUE = '{route}';
/** Every tier, cheapest first (`@sluice/config` declares them). */
export { TIERS } from '@sluice/config';

/** Tier queues; executors consume them. Hash-tagged so each queue sits on one cluster slot. */
export const TIER_QUEUES: Readonly<Record<TierName, string>> = Object.freeze({
  router: '{tier-router}',
  small: '{tier-small}',
  large: '{tier-large}',
});
/** Routed deferrable jobs waiting for the batcher (cache lookup, then a provider batch). */
export const BATCH_QUEUE = '{batch}';
/** One job per submitted provider batch, polled until its answers are delivered. */
export const BATCH_POLL_QUEUE = '{batch-poll}';
/** Every queue, for Bull Board and metrics. */
export const ALL_QUEUES = [
  ROUTE_QUEUE,
  TIER_QUEUES.router,
  TIER_QUEUES.small,
  TIER_QUEUES.large,
  BATCH_QUEUE,
  BATCH_POLL_QUEUE,
] as const;

/** What each queue is for, shown in Bull Board. */
export const QUEUE_DESCRIPTIONS: Readonly<Record<string, string>> = Object.freeze({
  [ROUTE_QUEUE]: 'Accepted jobs waiting for a classifier to pick their tier and category',
  [TIER_QUEUES.router]: 'Jobs answered by the router tier (cheapest model; also summaries)',
  [TIER_QUEUES.small]: 'Jobs answered by the small tier (cheap model for simple work)',
  [TIER_QUEUES.large]: 'Jobs answered by the large tier (expensive reasoning model)',
  [BATCH_QUEUE]: 'Deferrable jobs (a completion window) on their way into a provider batch',
  [BATCH_POLL_QUEUE]: 'Provider batches in flight, one job each (its data lists the Sluice jobs in it)',
});

/** Priorities: lower runs first (BullMQ). */
export const PRIORITY = Object.freeze({ interactive: 1, default: 5, batch: 10 });

/** Retry and retention settings shared by producers (from config). */
export interface JobPolicy {
  attempts: number;
  backoffMs: number;
  keepCompleted: number;
  keepFailed: number;
}

/** BullMQ job options for a completion job, same for every hop. */
export function completionJobOptions(jobId: string, priority: number, policy: JobPolicy): JobsOptions {
  return {
    jobId,
    priority,
    attempts: policy.attempts,
    // Jitter spreads retries of jobs that failed together (a 429 storm) over time.
    backoff: { type: 'exponential', delay: policy.backoffMs, jitter: 0.5 },
    // `count: 0` deletes the job as it completes (one DEL); a count keeps a list, trimmed on
    // every completion (ZADD, HSET, ZREVRANGE, the oldest job's HMGET and DEL, ZREMRANGEBYRANK).
    removeOnComplete: { count: policy.keepCompleted },
    removeOnFail: { count: policy.keepFailed },
  };
}

/** Options for {@link createQueue} and {@link createWorker}. */
export interface QueueFactoryOptions {
  connection: Redis;
  keys: Keys;
  /**
   * BullMQ telemetry (`bullmq-otel`): producers put the trace context into each job, workers
   * continue it, so one trace follows a job across the queues. @defaultValue none: BullMQ
   * skips all tracing code
   */
  telemetry?: Telemetry;
  /**
   * Called with the queue's (or worker's) connection errors. BullMQ prints an 'error' it has
   * no listener for with `console.error`, as multi-line text in the middle of JSON logs, once
   * per reconnect attempt during a Redis outage. @defaultValue none: BullMQ prints them
   */
  onError?: (error: Error, queue: string) => void;
}

/** A producer handle for a queue (payload typed). */
export function createQueue(name: string, options: QueueFactoryOptions): Queue<CompletionJobData, CompletionJobResult> {
  const queue = new Queue<CompletionJobData, CompletionJobResult>(name, {
    connection: options.connection as unknown as ConnectionOptions,
    prefix: options.keys.bullPrefix,
    ...(options.telemetry ? { telemetry: options.telemetry } : {}),
  });
  const onError = options.onError;
  if (onError) queue.on('error', (error) => onError(error, name));
  return queue;
}

/** A consumer of a queue; `autorun` is off so the app calls `run()` when wired. */
export function createWorker(
  name: string,
  processor: Processor<CompletionJobData, CompletionJobResult>,
  options: QueueFactoryOptions & {
    concurrency: number;
    lockDurationMs: number;
    workerOptions?: Partial<WorkerOptions>;
  },
): Worker<CompletionJobData, CompletionJobResult> {
  const worker = new Worker<CompletionJobData, CompletionJobResult>(name, processor, {
    connection: options.connection as unknown as ConnectionOptions,
    prefix: options.keys.bullPrefix,
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs,
    // Checked once per lock period, so a job whose worker died is taken over within about
    // two lock periods (BullMQ's default of 30 s would dominate a short lock).
    stalledInterval: Math.min(options.lockDurationMs, 30_000),
    // A job whose worker died is taken over after one lock period; after this many such
    // stalls it fails with a readable reason instead of looping forever.
    maxStalledCount: 3,
    autorun: false,
    ...(options.telemetry ? { telemetry: options.telemetry } : {}),
    ...options.workerOptions,
  });
  const onError = options.onError;
  if (onError) worker.on('error', (error) => onError(error, name));
  return worker;
}
export { decodeEmbedding, encodeEmbedding } from './embedding-codec.ts';
