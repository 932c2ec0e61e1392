import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ApiContext } from '../context.ts';
import { ApiError, badRequest } from '../errors.ts';

const PurgeBody = Type.Object(
  {
    tenant: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    shareGroup: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    // A namespace is a hash (32 hex chars); `*` or any pattern is refused, never expanded.
    namespace: Type.Optional(Type.String({ pattern: '^[0-9a-f]{32}$' })),
  },
  { additionalProperties: false },
);

/**
 * Cache administration (behind admin auth): counters and purges.
 *   GET  /admin/cache/stats?days=N   hits, misses, stores, rejections by reason, expirations…
 *   POST /admin/cache/purge          { tenant } | { shareGroup } | { namespace }
 */
export function registerCacheAdmin(scope: FastifyInstance, ctx: ApiContext): void {
  const cache = () => {
    if (!ctx.cache) throw new ApiError('cache_disabled', 'The cache is not enabled in this API process.');
    return ctx.cache;
  };
  scope.get(
    '/cache/stats',
    { schema: { querystring: Type.Object({ days: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,2}$' })) }) } },
    async (request) => {
      const { days } = request.query as { days?: string };
      return cache().stats({ days: days ? Number(days) : 1 });
    },
  );
  scope.post('/cache/purge', { schema: { body: PurgeBody } }, async (request) => {
    const body = request.body as { tenant?: string; shareGroup?: string; namespace?: string };
    const given = Object.keys(body).filter((k) => body[k as keyof typeof body] !== undefined);
    if (body.namespace && given.length === 1) return cache().purge({ namespace: body.namespace });
    if (body.tenant && !body.namespace) return cache().purge({ tenant: body.tenant, shareGroup: body.shareGroup });
    if (body.shareGroup && given.length === 1) return cache().purge({ shareGroup: body.shareGroup });
    throw badRequest(
      'Give exactly one target: `tenant` (optionally with its `shareGroup`), `shareGroup`, or `namespace`.',
      given[0] ?? null,
    );
  });
}
