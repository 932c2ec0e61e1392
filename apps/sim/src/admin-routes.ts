import type { FastifyInstance } from 'fastify';
import type { SimContext } from './context.ts';
import { cloneModel } from './models.ts';
import { MODEL_ID_PARAMS_SCHEMA, MODEL_PATCH_BODY_SCHEMA } from './schemas.ts';
import type { SimModelPatch, SimStats } from './types.ts';

/** Hooks the admin routes need from the simulator. */
export interface AdminHooks {
  stats(): SimStats;
  resetStats(): void;
  /** Seconds since the epoch when the simulator started, for the `created` of listed models. */
  createdAt: number;
}

interface ModelIdParams {
  id: string;
}

/**
 * Registers the model list OpenAI clients read (`GET /v1/models`, `GET /v1/models/:id`) and the
 * simulator's control plane under `/sim`.
 */
export function registerAdminRoutes(app: FastifyInstance, ctx: SimContext, hooks: AdminHooks): void {
  const describe = (id: string) => ({ id, object: 'model', created: hooks.createdAt, owned_by: 'sluice-sim' });

  app.get('/v1/models', async () => ({
    object: 'list',
    data: ctx.registry.list().map((runtime) => describe(runtime.id)),
  }));

  app.get<{ Params: ModelIdParams }>(
    '/v1/models/:id',
    { schema: { params: MODEL_ID_PARAMS_SCHEMA } },
    async (request) => describe(ctx.registry.require(request.params.id).id),
  );

  app.get('/sim/models', async () => ({ models: ctx.registry.list().map((runtime) => cloneModel(runtime.options)) }));

  app.get<{ Params: ModelIdParams }>(
    '/sim/models/:id',
    { schema: { params: MODEL_ID_PARAMS_SCHEMA } },
    async (request) => cloneModel(ctx.registry.require(request.params.id).options),
  );

  app.patch<{ Params: ModelIdParams; Body: SimModelPatch }>(
    '/sim/models/:id',
    { schema: { params: MODEL_ID_PARAMS_SCHEMA, body: MODEL_PATCH_BODY_SCHEMA } },
    async (request) => ctx.registry.update(request.params.id, request.body),
  );

  app.get('/sim/stats', async () => hooks.stats());

  app.post('/sim/stats/reset', async () => {
    hooks.resetStats();
    return hooks.stats();
  });

  app.get('/health', async () => ({ status: 'ok' }));
}
