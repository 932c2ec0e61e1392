import type { Queue } from 'bullmq';
import type { Registry } from 'prom-client';
import type { CompletionJobResult } from '@sluice/queues';
import { defineHttpMetrics, defineJobMetrics, defineQueueDepthMetrics } from './definitions.ts';
import { recordCacheLookup, recordJobResult } from './jobs.ts';
import { NAMED_PRIORITIES } from './labels.ts';
import type { OpsStats } from './ops-stats.ts';

/** Options for {@link createApiMetrics}. */
export interface ApiMetricsOptions {
  registry: Registry;
  /** Every queue, by name, whose depth `sluice_queue_jobs` reports. */
  queues: Readonly<Record<string, Pick<Queue, 'getJobCounts' | 'getCountsPerPriority'>>>;
  /** Shared counters the savings dashboard reads. @defaultValue none */
  stats?: OpsStats;
}

/** The API's metrics, and the hooks that feed them. */
export interface ApiMetrics {
  readonly registry: Registry;
  readonly http: ReturnType<typeof defineHttpMetrics>;
  /** Count one answered HTTP request (`route` is the route pattern). */
  response(route: string, method: string, status: number, seconds: number): void;
  /**
   * Count a job the cache fast path answered before any queue: one lookup hit, its cost (0)
   * and counterfactual. Misses are not counted here: the job goes on to an executor, whose
   * own lookup counts it, so each job is one lookup in `sluice_cache_lookups_total`.
   */
  fastPathHit(result: CompletionJobResult): void;
}

/** Queue states reported by `sluice_queue_jobs` besides `waiting` (waiting + prioritized). */
const STATES = ['active', 'delayed', 'failed', 'completed'] as const;

/** Create the API's metrics on `registry`. */
export function createApiMetrics(options: ApiMetricsOptions): ApiMetrics {
  const { registry, queues, stats } = options;
  const http = defineHttpMetrics(registry);
  const jobs = defineJobMetrics(registry);
  defineQueueDepthMetrics(registry, {
    async jobs() {
      await Promise.all(
        Object.entries(queues).map(async ([name, q]) => {
          const counts = await q
            .getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed')
            .catch(() => undefined);
          if (!counts) return;
          this.set({ queue: name, state: 'waiting' }, (counts.waiting ?? 0) + (counts.prioritized ?? 0));
          for (const state of STATES) this.set({ queue: name, state }, counts[state] ?? 0);
        }),
      );
    },
    async byPriority() {
      await Promise.all(
        Object.entries(queues).map(async ([name, q]) => {
          const [perPriority, counts] = await Promise.all([
            q.getCountsPerPriority(NAMED_PRIORITIES.map(([, p]) => p)),
            q.getJobCounts('waiting', 'prioritized'),
          ]).catch(() => [undefined, undefined]);
          if (!perPriority || !counts) return;
          let named = 0;
          for (const [label, p] of NAMED_PRIORITIES) {
            const n = perPriority[String(p)] ?? 0;
            named += n;
            this.set({ queue: name, priority: label }, n);
          }
          this.set(
            { queue: name, priority: 'other' },
            Math.max(0, (counts.waiting ?? 0) + (counts.prioritized ?? 0) - named),
          );
        }),
      );
    },
  });
  return {
    registry,
    http,
    response(route, method, status, seconds) {
      http.requests.inc({ route, method, status: String(status) });
      http.duration.observe({ route, method }, seconds);
      if (status === 429) stats?.recordClient429();
    },
    fastPathHit(result) {
      recordCacheLookup(jobs, 'hit', result.cacheKind ?? 'exact');
      recordJobResult(jobs, result);
      stats?.recordJob(result);
    },
  };
}
