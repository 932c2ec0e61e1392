import { EventEmitter } from 'node:events';
import type { Worker } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { PermitLines, RateLimitedError, type Limiter } from '@sluice/limits';
import type { CompletionJobResult } from '@sluice/queues';
import { createExecutorMetrics } from './executor.ts';
import { createMetricsRegistry } from './registry.ts';
import type { OpsStats } from './ops-stats.ts';

const deployment = { id: 'sim-small', tier: 'small', rpm: 0, tpm: 0, maxConcurrency: 4 };

/** A stand-in for the limiter with the methods the metrics wrap and read. */
function fakeLimiter() {
  const self = {
    granted: false,
    async acquireAny() {
      if (self.granted) return { granted: true, deployment, lease: { acquiredAt: 0 } };
      const error = new RateLimitedError('sim-small', 'concurrency', 250);
      return {
        granted: false,
        retryAfterMs: 250,
        error,
        denials: [{ granted: false, deploymentId: 'sim-small', reason: 'concurrency', retryAfterMs: 250, limit: 4 }],
      };
    },
    async onUpstreamResult(_d: unknown, result: { status?: number }) {
      return { outcome: result.status === 429 ? 'throttled' : 'success' };
    },
    async state() {
      return { deploymentId: 'sim-small', circuit: 'open', inFlight: 3 };
    },
  };
  return self as unknown as Limiter & { granted: boolean };
}

const recordingStats = () => {
  const calls: string[] = [];
  const stats = {
    recordJob: (r: CompletionJobResult, kind?: string) => void calls.push(`job ${kind} ${r.costUsd}`),
    recordUpstream429: (d: string) => void calls.push(`429 ${d}`),
    recordHeldBack: (reason: string) => void calls.push(`held ${reason}`),
    recordClient429: () => void calls.push('client429'),
    flush: async () => {},
    close: async () => {},
    read: async () => ({}) as never,
  } satisfies OpsStats;
  return { stats, calls };
};

const value = async (
  registry: ReturnType<typeof createMetricsRegistry>,
  name: string,
  labels: Record<string, string>,
) => {
  const metric = await registry.getSingleMetric(name)!.get();
  return metric.values.find((v) => Object.entries(labels).every(([k, l]) => String(v.labels[k]) === l))?.value;
};

describe('executor metrics', () => {
  it('counts permits held back, denials per limit, 429s received, call outcomes; reads circuit and in-flight state', async () => {
    const registry = createMetricsRegistry({ role: 'executor', processMetrics: false });
    const { stats, calls } = recordingStats();
    const metrics = createExecutorMetrics({ registry, deployments: [deployment as never], stats, clock: () => 1_500 });
    const limiter = fakeLimiter();
    expect(metrics.instrumentLimiter(limiter)).toBe(limiter);

    await limiter.acquireAny([deployment as never]);
    limiter.granted = true;
    await limiter.acquireAny([deployment as never]);
    await limiter.onUpstreamResult(deployment as never, { status: 429, lease: { acquiredAt: 1_000 } as never });
    await limiter.onUpstreamResult(deployment as never, { status: 200, lease: { acquiredAt: 500 } as never });

    expect(await value(registry, 'sluice_upstream_held_back_total', { reason: 'concurrency' })).toBe(1);
    expect(
      await value(registry, 'sluice_permit_denials_total', { deployment: 'sim-small', reason: 'concurrency' }),
    ).toBe(1);
    expect(await value(registry, 'sluice_upstream_429_total', { deployment: 'sim-small' })).toBe(1);
    expect(
      await value(registry, 'sluice_upstream_requests_total', { deployment: 'sim-small', outcome: 'throttled' }),
    ).toBe(1);
    expect(
      await value(registry, 'sluice_upstream_requests_total', { deployment: 'sim-small', outcome: 'success' }),
    ).toBe(1);
    expect(await value(registry, 'sluice_upstream_duration_seconds', { deployment: 'sim-small', le: '1' })).toBe(2);
    expect(await value(registry, 'sluice_circuit_state', { deployment: 'sim-small', state: 'open' })).toBe(1);
    expect(await value(registry, 'sluice_circuit_state', { deployment: 'sim-small', state: 'closed' })).toBe(0);
    expect(await value(registry, 'sluice_upstream_in_flight', { deployment: 'sim-small' })).toBe(3);
    expect(calls).toEqual(['held concurrency', '429 sim-small']);
  });

  it("reports the jobs held in each tier's permit line at scrape time", async () => {
    const registry = createMetricsRegistry({ role: 'executor', processMetrics: false });
    const metrics = createExecutorMetrics({ registry, deployments: [] });
    const lines = new PermitLines({ holdMs: 60_000 });
    metrics.observePermitLines(lines);
    const small = lines.for('small');
    small.block(30_000);
    const waiting = [
      small.wait({ priority: 5, acceptedAt: 1, deadline: Number.POSITIVE_INFINITY }),
      small.wait({ priority: 5, acceptedAt: 2, deadline: Number.POSITIVE_INFINITY }),
    ];
    lines.for('large');
    let text = await registry.metrics();
    expect(text).toContain('sluice_permit_line_jobs{tier="small"} 2');
    expect(text).toContain('sluice_permit_line_jobs{tier="large"} 0');
    lines.close();
    expect((await Promise.all(waiting)).map((t) => t.kind)).toEqual(['park', 'park']);
    text = await registry.metrics();
    expect(text).toContain('sluice_permit_line_jobs{tier="small"} 0');
  });

  it('counts cache lookups with their kind only for hits and rejections', async () => {
    const registry = createMetricsRegistry({ role: 'executor', processMetrics: false });
    const metrics = createExecutorMetrics({ registry, deployments: [] });
    metrics.cacheLookup('hit', 'semantic');
    metrics.cacheLookup('rejected', 'semantic');
    metrics.cacheLookup('miss', 'exact');
    metrics.cacheLookup('bypass');
    const text = await registry.metrics();
    expect(text).toContain('sluice_cache_lookups_total{result="hit",kind="semantic"} 1');
    expect(text).toContain('sluice_cache_lookups_total{result="rejected",kind="semantic"} 1');
    expect(text).toContain('sluice_cache_lookups_total{result="miss",kind="none"} 1');
    expect(text).toContain('sluice_cache_lookups_total{result="bypass",kind="none"} 1');
  });

  it('measures a worker: first-start queue wait per priority, run time, and each completed job’s cost and tokens', async () => {
    const registry = createMetricsRegistry({ role: 'executor', processMetrics: false });
    const { stats, calls } = recordingStats();
    let now = 10_000;
    const metrics = createExecutorMetrics({ registry, deployments: [], stats, clock: () => now });
    const worker = Object.assign(new EventEmitter(), { name: '{tier-small}' });
    metrics.observeWorker(worker as unknown as Worker);

    const job = {
      name: 'completion',
      timestamp: 9_700,
      processedOn: 10_000,
      attemptsStarted: 1,
      attemptsMade: 0,
      opts: { priority: 1 },
    };
    worker.emit('active', job);
    // A second start (parked for a permit, handed back) is not queue wait.
    worker.emit('active', { ...job, attemptsStarted: 2, processedOn: 60_000 });
    now = 10_400;
    const result = {
      costUsd: 0.00005,
      tier: 'small',
      cache: 'miss',
      counterfactual: { promptTokens: 10, completionTokens: 5, costUsd: 0.0005 },
      calls: [
        {
          purpose: 'answer',
          tier: 'small',
          model: 'm',
          deploymentId: 'sim-small',
          promptTokens: 10,
          completionTokens: 5,
          costUsd: 0.00005,
        },
      ],
    };
    worker.emit('completed', job, result);
    worker.emit('completed', { ...job, name: 'summary' }, { ...result, counterfactual: undefined });
    // A cancelled job returns nothing: not a cost.
    worker.emit('completed', job, undefined);
    worker.emit('failed', job, new Error('x'));

    expect(
      await value(registry, 'sluice_queue_wait_seconds', { queue: '{tier-small}', priority: 'interactive', le: '0.5' }),
    ).toBe(1);
    expect(
      await value(registry, 'sluice_queue_wait_seconds', {
        queue: '{tier-small}',
        priority: 'interactive',
        le: '0.25',
      }),
    ).toBe(0);
    expect(await value(registry, 'sluice_jobs_finished_total', { queue: '{tier-small}', outcome: 'completed' })).toBe(
      3,
    );
    expect(await value(registry, 'sluice_jobs_finished_total', { queue: '{tier-small}', outcome: 'failed' })).toBe(1);
    expect(
      await value(registry, 'sluice_job_run_seconds', { queue: '{tier-small}', outcome: 'completed', le: '0.5' }),
    ).toBe(3);
    expect(await value(registry, 'sluice_cost_usd_total', { kind: 'actual' })).toBeCloseTo(0.00005, 12);
    expect(await value(registry, 'sluice_cost_usd_total', { kind: 'counterfactual' })).toBeCloseTo(0.0005, 12);
    expect(await value(registry, 'sluice_cost_usd_total', { kind: 'summary' })).toBeCloseTo(0.00005, 12);
    expect(await value(registry, 'sluice_tokens_total', { direction: 'input', tier: 'small' })).toBe(20);
    expect(await value(registry, 'sluice_tokens_total', { direction: 'output', tier: 'small' })).toBe(10);
    expect(calls).toEqual(['job job 0.00005', 'job summary 0.00005']);
  });
});
