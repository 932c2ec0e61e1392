import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ALL_QUEUES } from '@sluice/queues';
import type { ApiContext } from '../context.ts';

/** `/healthz`, `/readyz`, `/metrics`: no auth (probes and scrapers), no tenant data. */
export function registerOps(app: FastifyInstance, ctx: ApiContext): void {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'sluice_api_' });
  const requests = new Counter({ name: 'sluice_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['route', 'method', 'status'] as const, registers: [registry] });
  const latency = new Histogram({
    name: 'sluice_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['route', 'method'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  new Gauge({
    name: 'sluice_queue_jobs',
    help: 'Jobs per queue and state (waiting includes prioritized)',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      for (const name of ALL_QUEUES) {
        const q = ctx.queues[name];
        if (!q) continue;
        const counts = await q.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed').catch(() => undefined);
        if (!counts) continue;
        this.set({ queue: name, state: 'waiting' }, (counts.waiting ?? 0) + (counts.prioritized ?? 0));
        for (const state of ['active', 'delayed', 'failed', 'completed'] as const) this.set({ queue: name, state }, counts[state] ?? 0);
      }
    },
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unknown';
    requests.inc({ route, method: request.method, status: String(reply.statusCode) });
    latency.observe({ route, method: request.method }, reply.elapsedTime / 1000);
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const checks: Record<string, string> = {};
    let ready = true;
    try {
      await ctx.redis.ping();
      checks.redis = 'ok';
    } catch (error) {
      ready = false;
      checks.redis = `unreachable: ${(error as Error).message}`;
    }
    if (checks.redis === 'ok') {
      for (const name of ALL_QUEUES) {
        const workers = await ctx.queues[name]!.getWorkersCount().catch(() => 0);
        checks[`workers ${name}`] = String(workers);
        if (workers === 0) ready = false;
      }
    }
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
  });

  app.get('/metrics', async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()));
}
