import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { QUEUE_DESCRIPTIONS } from '@sluice/queues';
import type { ApiContext } from './context.ts';
import { errorBody } from './errors.ts';
import { registerCacheAdmin } from './routes/admin-cache.ts';

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
    const ok = password !== '' && sep > 0 && safeEqual(decoded.slice(0, sep), 'admin') && safeEqual(decoded.slice(sep + 1), password);
    if (!ok) {
      return reply
        .status(401)
        .header('www-authenticate', 'Basic realm="sluice-admin", charset="UTF-8"')
        .send(errorBody(password ? 'Admin access needs basic auth as `admin` with SLUICE_ADMIN_PASSWORD.' : 'Admin access is closed: SLUICE_ADMIN_PASSWORD is not set.', 'invalid_request_error', 'admin_unauthorized'));
    }
  };
}

/** Bull Board at `/admin/queues`, every queue, behind admin basic auth. */
export async function registerAdmin(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath('/admin/queues');
  createBullBoard({
    queues: Object.entries(ctx.queues).map(
      ([name, queue]) => new BullMQAdapter(queue, { description: QUEUE_DESCRIPTIONS[name], displayName: name.replace(/[{}]/g, '') }),
    ),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Sluice queues' } },
  });
  await app.register(
    async (scope) => {
      scope.addHook('onRequest', adminAuth(ctx.config.admin.password));
      await scope.register(serverAdapter.registerPlugin());
    },
    { prefix: '/admin/queues' },
  );
  await app.register(
    async (scope) => {
      scope.addHook('onRequest', adminAuth(ctx.config.admin.password));
      registerCacheAdmin(scope, ctx);
    },
    { prefix: '/admin' },
  );
}
