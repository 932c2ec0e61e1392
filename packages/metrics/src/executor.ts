import type { Worker } from 'bullmq';
import type { Registry } from 'prom-client';
import type { LimitedDeployment, Limiter, DeploymentLimitState, PermitLines } from '@sluice/limits';
import { SUMMARY_JOB_NAME, type CompletionJobResult } from '@sluice/queues';
import { defineJobMetrics, defineUpstreamMetrics, defineWorkerMetrics } from './definitions.ts';
import { recordCacheLookup, recordJobResult } from './jobs.ts';
import type { CacheLookupKind, CacheLookupResult } from './labels.ts';
import type { OpsStats } from './ops-stats.ts';
import { observeWorker } from './worker.ts';

/** Options for {@link createExecutorMetrics}. */
export interface ExecutorMetricsOptions {
  registry: Registry;
  /** Deployments whose circuit and concurrency the gauges report (every configured one). */
  deployments: readonly LimitedDeployment[];
  /** Shared counters the savings dashboard reads. @defaultValue none */
  stats?: OpsStats;
  /** @defaultValue `Date.now` */
  clock?: () => number;
}

/** An executor's metrics, and the hooks that feed them. */
export interface ExecutorMetrics {
  readonly registry: Registry;
  /**
   * Measure the limiter's permits and upstream results: 429s received, calls held back,
   * denials per limit (concurrency = semaphore waits), call outcomes and times. Patches this
   * instance's `acquireAny` and `onUpstreamResult` in place (behaviour unchanged) and reads
   * circuit and in-flight state through it at scrape time. Returns the same limiter.
   */
  instrumentLimiter<L extends Limiter>(limiter: L): L;
  /** Count one cache lookup of a job (the cache step's final word on it). */
  cacheLookup(result: CacheLookupResult, kind?: CacheLookupKind): void;
  /** Measure a tier worker: queue wait, run time, and each completed job's cost and tokens. */
  observeWorker(worker: Worker<any, CompletionJobResult>): () => void;
  /** Report the process's permit lines (jobs held for a permit, per tier) at each scrape. */
  observePermitLines(lines: PermitLines): void;
}

/** Seconds a scrape reuses the limiter state read for the previous gauge (one read per scrape). */
const STATE_REUSE_MS = 1_000;

/** Create an executor's metrics on `registry`. */
export function createExecutorMetrics(options: ExecutorMetricsOptions): ExecutorMetrics {
  const { registry, stats } = options;
  const clock = options.clock ?? Date.now;
  let limiter: Limiter | undefined;
  let permitLines: PermitLines | undefined;
  let states: { at: number; value: Promise<DeploymentLimitState[]> } | undefined;
  const readStates = () => {
    if (!limiter) return Promise.resolve([]);
    if (!states || clock() - states.at > STATE_REUSE_MS) {
      const l = limiter;
      states = { at: clock(), value: Promise.all(options.deployments.map((d) => l.state(d))).catch(() => []) };
    }
    return states.value;
  };
  const jobs = defineJobMetrics(registry);
  const worker = defineWorkerMetrics(registry);
  const upstream = defineUpstreamMetrics(registry, {
    async circuit() {
      for (const s of await readStates())
        for (const state of ['closed', 'open', 'half_open'] as const)
          this.set({ deployment: s.deploymentId, state }, s.circuit === state ? 1 : 0);
    },
    async inFlight() {
      for (const s of await readStates()) this.set({ deployment: s.deploymentId }, s.inFlight);
    },
    permitLine() {
      for (const [tier, length] of Object.entries(permitLines?.lengths() ?? {})) this.set({ tier }, length);
    },
  });

  return {
    registry,
    instrumentLimiter(target) {
      limiter = target;
      const acquireAny = target.acquireAny.bind(target);
      const onUpstreamResult = target.onUpstreamResult.bind(target);
      target.acquireAny = (async (...args: Parameters<Limiter['acquireAny']>) => {
        const got = await acquireAny(...args);
        if (!got.granted) {
          for (const d of got.denials) upstream.denials.inc({ deployment: d.deploymentId, reason: d.reason });
          const reason = 'limit' in got.error ? got.error.limit : 'circuit_open';
          upstream.heldBack.inc({ reason });
          stats?.recordHeldBack(reason);
        }
        return got;
      }) as Limiter['acquireAny'];
      target.onUpstreamResult = async (deployment, result) => {
        const verdict = await onUpstreamResult(deployment, result);
        upstream.calls.inc({ deployment: deployment.id, outcome: verdict.outcome });
        if (result.lease)
          upstream.duration.observe(
            { deployment: deployment.id },
            Math.max(0, clock() - result.lease.acquiredAt) / 1000,
          );
        if (result.status === 429) {
          upstream.throttled.inc({ deployment: deployment.id });
          stats?.recordUpstream429(deployment.id);
        }
        return verdict;
      };
      return target;
    },
    observePermitLines(lines) {
      permitLines = lines;
    },
    cacheLookup(result, kind) {
      recordCacheLookup(jobs, result, kind);
    },
    observeWorker(w) {
      return observeWorker(
        w,
        worker,
        (job, result) => {
          // A cancelled job, or a run that found its job finished by another, returns nothing.
          if (!result || typeof result !== 'object' || !('costUsd' in result)) return;
          const kind = job.name === SUMMARY_JOB_NAME ? 'summary' : 'job';
          recordJobResult(jobs, result, kind);
          stats?.recordJob(result, kind);
        },
        clock,
      );
    },
  };
}
