import type { FastifyInstance } from 'fastify';
import { TIERS, type SluiceConfig } from '@sluice/config';
import { ApiError } from '../errors.ts';
import type { ApiContext } from '../context.ts';

/** One entry of OpenAI's model list. */
export interface ModelEntry {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

/**
 * What `model` accepts, in OpenAI's list shape: `auto` (route for me), each tier that has a
 * deployment, every configured chat model and every embedding model. Models served by several
 * deployments are listed once.
 */
export function listModels(config: SluiceConfig, created: number): ModelEntry[] {
  const entries: ModelEntry[] = [{ id: 'auto', object: 'model', created, owned_by: 'sluice' }];
  const seen = new Set(['auto']);
  const add = (id: string, owner: string) => {
    if (seen.has(id)) return;
    seen.add(id);
    entries.push({ id, object: 'model', created, owned_by: owner });
  };
  for (const tier of TIERS) if (config.deployments.some((d) => d.tier === tier)) add(tier, 'sluice');
  for (const d of config.deployments) add(d.model, d.api === 'anthropic' ? 'anthropic' : 'sluice-deployment');
  for (const d of config.embeddingDeployments) add(d.model, 'sluice-deployment');
  return entries;
}

/** `GET /v1/models` and `GET /v1/models/{id}` (ids may hold `/`, as in `org/model`). */
export function registerModels(app: FastifyInstance, ctx: ApiContext): void {
  // Fixed per process: the list only changes with the configuration.
  const created = Math.floor(Date.now() / 1000);
  const models = listModels(ctx.config, created);
  app.get('/v1/models', async () => ({ object: 'list', data: models }));
  app.get('/v1/models/*', async (request) => {
    const id = decodeURIComponent((request.params as { '*': string })['*']);
    const model = models.find((m) => m.id === id);
    if (!model)
      throw new ApiError(
        'model_not_found',
        `The model \`${id}\` does not exist; GET /v1/models lists the models Sluice serves.`,
        { param: 'model' },
      );
    return model;
  });
}
