import type { FastifyInstance } from 'fastify';
import type { ApiMetrics } from '@sluice/metrics';
import { ALL_QUEUES, BATCH_POLL_QUEUE, BATCH_QUEUE } from '@sluice/queues';

const OPTIONAL_QUEUES: ReadonlySet<string> = new Set([BATCH_QUEUE, BATCH_POLL_QUEUE]);
import type { ApiContext } from '../context.ts';

/** `/healthz`, `/readyz`, `/metrics`: no auth (probes and scrapers), no tenant data. */
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
}
