import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiMetrics, OpsStats } from '@sluice/metrics';
import { registerBullBoard } from './bull-board.ts';
import type { ApiContext } from './context.ts';
import { ApiError, errorBody } from './errors.ts';
import { registerCacheAdmin } from './routes/admin-cache.ts';
import { registerDashboard } from './routes/dashboard.ts';

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Basic auth as user `admin` with the admin password; with no password set, admin is closed. */
export function adminAuth(password: string) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization ?? '';
    const [scheme, encoded] = header.split(' ');
    const decoded = scheme?.toLowerCase() === 'basic' && encoded ? Buffer.from(encoded, 'base64').toString() : '';
    const sep = decoded.indexOf(':');
    const ok =
      password !== '' &&
      sep > 0 &&
      safeEqual(decoded.slice(0, sep), 'admin') &&
      safeEqual(decoded.slice(sep + 1), password);
    if (!ok) {
      return reply
        .status(401)
        .header('www-authenticate', 'Basic realm="sluice-admin", charset="UTF-8"')
        .send(
          errorBody(
            new ApiError(
              'admin_unauthorized',
              password
                ? 'Admin access needs basic auth as `admin` with SLUICE_ADMIN_PASSWORD.'
                : 'Admin access is closed: SLUICE_ADMIN_PASSWORD is not set.',
            ),
          ),
        );
    }
  };
}

/** What the admin pages read besides the API context. */
export interface AdminDeps {
  metrics: ApiMetrics;
  /** Sluice-wide counters (savings, cache, tiers, 429s) the dashboard reads. */
  stats: OpsStats;
}

/**
 * Everything under `/admin`, behind admin basic auth: Bull Board at `/admin/queues`
 * (read-only and prompt redaction per config), the savings dashboard at `/admin/dashboard`,
 * and the cache endpoints.
 */
export async function registerAdmin(app: FastifyInstance, ctx: ApiContext, deps: AdminDeps): Promise<void> {
  await app.register(
    async (scope) => {
      scope.addHook('onRequest', adminAuth(ctx.config.admin.password));
      await registerBullBoard(scope, {
        queues: ctx.queues,
        readOnly: ctx.config.bullBoard.readOnly,
        showPrompts: ctx.config.bullBoard.showPrompts,
      });
    },
    { prefix: '/admin/queues' },
  );
  await app.register(
    async (scope) => {
      scope.addHook('onRequest', adminAuth(ctx.config.admin.password));
      registerCacheAdmin(scope, ctx);
      registerDashboard(scope, ctx, deps);
    },
    { prefix: '/admin' },
  );
}
