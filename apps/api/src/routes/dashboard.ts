import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { summarizeHistogram, type ApiMetrics, type OpsStats } from '@sluice/metrics';
import type { ApiContext } from '../context.ts';

const PAGE = readFileSync(new URL('../dashboard/dashboard.html', import.meta.url), 'utf8');
const SCRIPT = readFileSync(new URL('../dashboard/dashboard.js', import.meta.url), 'utf8');

/** The route whose latency the dashboard shows: what a synchronous client waits, queue included. */
const LATENCY_ROUTE = '/v1/chat/completions';

/** Queue states the dashboard shows (waiting includes prioritized, as in `sluice_queue_jobs`). */
const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;

// Query strings are not coerced (strict validation): a number comes as digits.
const DataQuery = Type.Object(
  { minutes: Type.Optional(Type.String({ pattern: '^(?:[1-9]|[1-9][0-9]|1[0-7][0-9]|180)$' })) },
  { additionalProperties: false },
);

/** What `GET /admin/dashboard/data` returns. */
export interface DashboardData {
  object: 'sluice.dashboard';
  at: number;
  /** Sluice-wide, since the shared counters began (every API and executor process). */
  savings: {
    jobs: number;
    costUsd: number;
    counterfactualUsd: number;
    savedUsd: number;
    savedShare: number;
    promptTokens: number;
    completionTokens: number;
    summariesUsd: number;
  };
  /** Jobs by cache outcome (Sluice-wide): `hitRatio` = hits ÷ (hits + misses); bypasses could not have hit. */
  cache: { hit: number; miss: number; bypass: number; exact: number; semantic: number; hitRatio: number };
  /** Jobs answered per tier (Sluice-wide). */
  tiers: { router: number; small: number; large: number };
  /** Latency of `POST /v1/chat/completions` as this API replica measured it (its histogram; queue wait included). */
  latency: { route: string; count: number; p50Ms: number | null; p95Ms: number | null; p99Ms: number | null };
  /** Jobs per queue and state, as `sluice_queue_jobs` reports them. */
  queues: Array<{ queue: string } & Record<(typeof QUEUE_STATES)[number], number>>;
  /** 429s: answered to clients (Sluice-wide, and by this replica), received from upstreams, and calls held back by the global limiter. */
  throttling: {
    client429: number;
    client429ThisReplica: number;
    upstream429: number;
    upstream429ByDeployment: Record<string, number>;
    heldBack: number;
    heldBackByReason: Record<string, number>;
  };
  /** The last minutes, oldest first. */
  timeline: Array<{
    minute: number;
    jobs: number;
    costUsd: number;
    counterfactualUsd: number;
    savedUsd: number;
    hit: number;
    miss: number;
    upstream429: number;
    client429: number;
    heldBack: number;
  }>;
}

const ms = (seconds: number | undefined) => (seconds === undefined ? null : Math.round(seconds * 1e6) / 1e3);

/**
 * The savings dashboard at `/admin/dashboard` (the caller puts it behind admin auth): one
 * HTML page and one script, no build step, polling `/admin/dashboard/data` for live figures.
 */
export function registerDashboard(
  app: FastifyInstance,
  ctx: ApiContext,
  deps: { metrics: ApiMetrics; stats: OpsStats },
): void {
  const { metrics, stats } = deps;
  // The page and its script only: no inline script, no third-party origin.
  const csp =
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

  app.get('/dashboard', async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', csp)
      .header('cache-control', 'no-store')
      .send(PAGE),
  );
  app.get('/dashboard/app.js', async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-store').send(SCRIPT),
  );

  app.get('/dashboard/data', { schema: { querystring: DataQuery } }, async (request, reply): Promise<DashboardData> => {
    const minutes = Number((request.query as { minutes?: string }).minutes ?? 60);
    const [snapshot, latencyValues, queueValues, requestValues] = await Promise.all([
      stats.read({ minutes }),
      metrics.http.duration.get(),
      metrics.registry.getSingleMetric('sluice_queue_jobs')?.get(),
      metrics.http.requests.get(),
    ]);
    const t = snapshot.totals;
    const latency = summarizeHistogram(latencyValues, 'sluice_http_request_duration_seconds', { route: LATENCY_ROUTE });
    const queues = new Map<string, { queue: string } & Record<(typeof QUEUE_STATES)[number], number>>();
    for (const name of Object.keys(ctx.queues))
      queues.set(name, { queue: name, waiting: 0, active: 0, delayed: 0, failed: 0, completed: 0 });
    for (const v of queueValues?.values ?? []) {
      const row = queues.get(String(v.labels.queue));
      const state = String(v.labels.state) as (typeof QUEUE_STATES)[number];
      if (row && QUEUE_STATES.includes(state)) row[state] = v.value;
    }
    const client429ThisReplica = requestValues.values
      .filter((v) => String(v.labels.status) === '429')
      .reduce((sum, v) => sum + v.value, 0);
    reply.header('cache-control', 'no-store');
    return {
      object: 'sluice.dashboard',
      at: snapshot.at,
      savings: {
        jobs: t.jobs,
        costUsd: t.costUsd,
        counterfactualUsd: t.counterfactualUsd,
        savedUsd: t.savedUsd,
        savedShare:
          t.counterfactualNanoUsd > 0 ? (t.counterfactualNanoUsd - t.costNanoUsd) / t.counterfactualNanoUsd : 0,
        promptTokens: t.promptTokens,
        completionTokens: t.completionTokens,
        summariesUsd: t.summaries.costUsd,
      },
      cache: { ...t.cache, hitRatio: t.cache.hit + t.cache.miss > 0 ? t.cache.hit / (t.cache.hit + t.cache.miss) : 0 },
      tiers: t.byTier,
      latency: {
        route: LATENCY_ROUTE,
        count: latency.count,
        p50Ms: ms(latency.p50),
        p95Ms: ms(latency.p95),
        p99Ms: ms(latency.p99),
      },
      queues: [...queues.values()],
      throttling: {
        client429: t.client429,
        client429ThisReplica,
        upstream429: t.upstream429,
        upstream429ByDeployment: t.upstream429ByDeployment,
        heldBack: t.heldBack,
        heldBackByReason: t.heldBackByReason,
      },
      timeline: snapshot.minutes.map((m) => ({
        minute: m.minute,
        jobs: m.jobs,
        costUsd: m.costUsd,
        counterfactualUsd: m.counterfactualUsd,
        savedUsd: m.savedUsd,
        hit: m.cache.hit,
        miss: m.cache.miss,
        upstream429: m.upstream429,
        client429: m.client429,
        heldBack: m.heldBack,
      })),
    };
  });
}
