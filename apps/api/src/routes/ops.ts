import type { FastifyInstance } from 'fastify';
import type { ApiMetrics } from '@sluice/metrics';
import { ALL_QUEUES, BATCH_POLL_QUEUE, BATCH_QUEUE } from '@sluice/queues';

const OPTIONAL_QUEUES: ReadonlySet<string> = new Set([BATCH_QUEUE, BATCH_POLL_QUEUE]);
import type { ApiContext } from '../context.ts';

/** Sluice's icon: a sluice gate (two posts, a gate, water below). */
const FAVICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#0f1419"/><rect x="5" y="4" width="4" height="24" fill="#8b98a5"/><rect x="23" y="4" width="4" height="24" fill="#8b98a5"/><rect x="9" y="7" width="14" height="11" fill="#3fb950"/><path d="M9 23c2.3-2 4.7-2 7 0s4.7 2 7 0v5H9z" fill="#58a6ff"/></svg>';

/** `/healthz`, `/readyz`, `/metrics`, the favicon: no auth (probes and scrapers), no tenant data. */
export function registerOps(app: FastifyInstance, ctx: ApiContext, metrics: ApiMetrics): void {
  const { registry } = metrics;

  app.addHook('onResponse', async (request, reply) => {
    metrics.response(request.routeOptions.url ?? 'unknown', request.method, reply.statusCode, reply.elapsedTime / 1000);
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
        try {
          const workers = await ctx.queues[name]!.getWorkersCount();
          checks[`workers ${name}`] = String(workers);
          // Without a batcher only deferrable jobs wait; every other request is still served.
          if (workers === 0 && !OPTIONAL_QUEUES.has(name)) ready = false;
        } catch (error) {
          checks[`workers ${name}`] = `unknown: ${(error as Error).message}`;
          if (!OPTIONAL_QUEUES.has(name)) ready = false;
        }
      }
    }
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
  });

  app.get('/metrics', async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()));

  // Browsers ask every origin for a favicon; the admin pages link this one.
  const favicon = (_request: unknown, reply: import('fastify').FastifyReply) =>
    reply.type('image/svg+xml').header('cache-control', 'public, max-age=86400').send(FAVICON);
  app.get('/favicon.svg', favicon);
  app.get('/favicon.ico', favicon);
}
