import type { Job, Worker } from 'bullmq';
import type { defineWorkerMetrics } from './definitions.ts';
import { priorityLabel } from './labels.ts';

/** The worker metrics, as {@link defineWorkerMetrics} registers them. */
export type WorkerMetrics = ReturnType<typeof defineWorkerMetrics>;

/** What {@link observeWorker} reports a finished job to. */
export type OnJobCompleted<R> = (job: Job<unknown, R>, result: R) => void;

/**
 * Measure a BullMQ worker from its events, with no change to its processor: queue wait per
 * queue and priority when a job first starts, run time and outcome when it ends. `onCompleted`
 * also sees each completed job and its return value (an executor counts cost and tokens there).
 *
 * Queue wait is measured from when the job entered this queue (`job.timestamp`, plus any
 * delay it was added with) on its first start only: a job parked for a rate-limit permit or
 * handed back at shutdown starts again, and that second wait is the limiter's, counted by the
 * upstream metrics instead.
 */
export function observeWorker<R>(
  worker: Worker<any, R>,
  metrics: WorkerMetrics,
  onCompleted?: OnJobCompleted<R>,
  clock: () => number = Date.now,
): () => void {
  const queue = worker.name;
  const onActive = (job: Job) => {
    if ((job.attemptsStarted ?? 0) > 1 || job.attemptsMade > 0) return;
    const enqueued = job.timestamp + (job.opts.delay ?? 0);
    const started = job.processedOn ?? clock();
    metrics.wait.observe({ queue, priority: priorityLabel(job.opts.priority) }, Math.max(0, started - enqueued) / 1000);
  };
  const ran = (job: Job | undefined, outcome: 'completed' | 'failed') => {
    metrics.finished.inc({ queue, outcome });
    if (job?.processedOn) metrics.run.observe({ queue, outcome }, Math.max(0, clock() - job.processedOn) / 1000);
  };
  const onCompletedEvent = (job: Job<unknown, R>, result: R) => {
    ran(job, 'completed');
    onCompleted?.(job, result);
  };
  const onFailed = (job: Job | undefined) => ran(job, 'failed');
  worker.on('active', onActive);
  worker.on('completed', onCompletedEvent as never);
  worker.on('failed', onFailed);
  return () => {
    worker.off('active', onActive);
    worker.off('completed', onCompletedEvent as never);
    worker.off('failed', onFailed);
  };
}
