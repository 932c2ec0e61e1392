import type { FastifyInstance } from 'fastify';

/** Headers a browser client may read from an answer (the SDKs read the rate-limit and retry ones). */
const EXPOSED = [
  'x-sluice-job-id',
  'x-sluice-tier',
  'x-sluice-model',
  'x-sluice-cache',
  'x-sluice-cache-kind',
  'x-sluice-cost-usd',
  'retry-after',
  'retry-after-ms',
  'x-should-retry',
  'x-request-id',
  'x-ratelimit-limit-requests',
  'x-ratelimit-remaining-requests',
  'x-ratelimit-limit-tokens',
  'x-ratelimit-remaining-tokens',
  'x-ratelimit-reset-requests',
  'x-ratelimit-reset-tokens',
].join(', ');

/**
 * CORS for configured origins (`api.corsOrigins`). Registered before the auth hook: a
 * preflight carries no credentials, so it is answered here (204) and never reaches auth.
 * Origins not listed get no CORS headers, which the browser reads as a refusal.
 */
export function installCors(app: FastifyInstance, origins: string): void {
  const list = origins
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  if (!list.length) return;
  const any = list.includes('*');
  const allowed = new Set(list.map((o) => o.replace(/\/$/, '').toLowerCase()));
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (typeof origin !== 'string' || (!any && !allowed.has(origin.toLowerCase()))) return;
    reply.header('access-control-allow-origin', any ? '*' : origin);
    if (!any) reply.header('vary', 'Origin');
    if (request.method === 'OPTIONS' && request.headers['access-control-request-method']) {
      const asked = request.headers['access-control-request-headers'];
      reply.header('access-control-allow-methods', 'GET, POST, DELETE, OPTIONS');
      reply.header(
        'access-control-allow-headers',
        typeof asked === 'string' && asked ? asked : 'authorization, content-type',
      );
      reply.header('access-control-max-age', '600');
      return reply.code(204).send();
    }
    reply.header('access-control-expose-headers', EXPOSED);
  });
}
