import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { isInvalidUsageRangeError } from '@sluice/ledger';
import { learningScope } from '@sluice/routing';
import { ApiError, badRequest, notFound } from '../errors.ts';
import type { ApiContext } from '../context.ts';

const UsageQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' })),
    to: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' })),
  },
  { additionalProperties: false },
);

const FeedbackBody = Type.Object(
  {
    job_id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
    rating: Type.Union([Type.Literal('inadequate'), Type.Literal('adequate')]),
    /** The tier the job should have gone to. Default: `large` for inadequate, `small` for adequate. */
    tier: Type.Optional(Type.Union([Type.Literal('small'), Type.Literal('large')])),
  },
  { additionalProperties: false },
);

/**
 * `GET /v1/usage`: the tenant's own cost ledger (cost, counterfactual, saving, tokens, by tier
 * and by cache outcome) over `?from=YYYY-MM-DD&to=YYYY-MM-DD` (UTC, default the last 30 days).
 *
 * `POST /v1/feedback`: a caller says a job's answer was inadequate (or adequate); the job's
 * prompt becomes a learned kNN routing exemplar for the better tier.
 */
export function registerUsage(app: FastifyInstance, ctx: ApiContext): void {
  app.get('/v1/usage', { schema: { querystring: UsageQuery } }, async (request) => {
    const { from, to } = request.query as { from?: string; to?: string };
    try {
      return await ctx.ledger.usage(request.tenant!.name, { from, to });
    } catch (error) {
      if (isInvalidUsageRangeError(error)) throw badRequest(error.message, error.param, 'invalid_value');
      throw error;
    }
  });

  app.post('/v1/feedback', { schema: { body: FeedbackBody } }, async (request) => {
    const body = request.body as { job_id: string; rating: 'inadequate' | 'adequate'; tier?: 'small' | 'large' };
    const job = await ctx.store.get(body.job_id);
    // Another tenant's job answers exactly like a missing one.
    if (!job || job.tenant !== request.tenant!.name) throw notFound(`No job with id \`${body.job_id}\`.`);
    if (job.status !== 'completed')
      throw new ApiError(
        'job_not_completed',
        `Job \`${body.job_id}\` is ${job.status}; feedback is for completed jobs.`,
        { param: 'job_id' },
      );
    if (!job.prompt)
      throw new ApiError('no_prompt', `Job \`${body.job_id}\` has no prompt on record to learn from.`, {
        param: 'job_id',
      });
    const tier = body.tier ?? (body.rating === 'inadequate' ? 'large' : 'small');
    const category = job.category as Parameters<ApiContext['knn']['recordFeedback']>[0]['category'];
    // Learned in the tenant's own scope (or its share group's): never routes another tenant's prompts.
    const scope = learningScope(job.tenant, request.tenant!.cacheShareGroup || undefined);
    await ctx.knn.recordFeedback({ prompt: job.prompt, tier, category, source: 'feedback', scope });
    return { object: 'sluice.feedback', job_id: body.job_id, rating: body.rating, tier, recorded: true };
  });
}
