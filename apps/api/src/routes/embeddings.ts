import { createHash } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ResolvedEmbeddingDeployment } from '@sluice/config';
import { newJobId } from '@sluice/jobs';
import { denialError, limitsFromConfig } from '@sluice/limits';
import {
  base64ToVector,
  costUsd,
  EmbeddingsClient,
  isUpstreamError,
  vectorToBase64,
  type EmbeddingInput,
} from '@sluice/llm';
import { createKeys } from '@sluice/redis';
import { rateLimitHeaders } from '../admission.ts';
import type { ApiContext } from '../context.ts';
import { ApiError, badRequest, retryAfterHeaders } from '../errors.ts';

/** OpenAI's cap on inputs per embeddings request. */
const MAX_INPUTS = 2_048;

const TokenArray = Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1, maxItems: 8_192 });

/** The `POST /v1/embeddings` body. */
export const EmbeddingsRequestSchema = Type.Object(
  {
    model: Type.String({ minLength: 1, maxLength: 256 }),
    input: Type.Union([
      Type.String(),
      Type.Array(Type.String(), { minItems: 1, maxItems: MAX_INPUTS }),
      TokenArray,
      Type.Array(TokenArray, { minItems: 1, maxItems: MAX_INPUTS }),
    ]),
    encoding_format: Type.Optional(Type.Union([Type.Literal('float'), Type.Literal('base64')])),
    dimensions: Type.Optional(Type.Integer({ minimum: 1, maximum: 65_536 })),
    user: Type.Optional(Type.String({ maxLength: 256 })),
  },
  { additionalProperties: false },
);
type EmbeddingsRequest = Static<typeof EmbeddingsRequestSchema>;

/** The inputs of a request as a list (a single string or a single token array is one input). */
export function embeddingInputs(input: EmbeddingsRequest['input']): EmbeddingInput[] {
  if (typeof input === 'string') return [input];
  if (input.length && typeof input[0] === 'number') return [input as number[]];
  return input as EmbeddingInput[];
}

/** Longest a permit is waited for inside the request before it is answered 429. */
const PERMIT_WAIT_MS = 2_000;

/**
 * `POST /v1/embeddings`: the tenant's quota, the deployment's global limits (rpm/tpm, the
 * same limiter the executors use), an exact cache per input (embeddings are deterministic
 * per model and dimensions; scoped to the tenant or its cache-sharing group), then the cost
 * in the ledger and the tokens against the tenant's daily budget.
 */
export function registerEmbeddings(app: FastifyInstance, ctx: ApiContext): void {
  const { config } = ctx;
  const keys = createKeys(config.redis.prefix);
  const limiter = limitsFromConfig(config, { redis: ctx.redis, keys });
  const upstream = new EmbeddingsClient();
  // As long as the longest-lived chat cache entries: an embedding never goes stale.
  const ttlSeconds = Math.max(...Object.values(config.cache.ttlSeconds), 3_600);

  const resolve = (model: string): ResolvedEmbeddingDeployment => {
    const d =
      model === 'auto'
        ? config.embeddingDeployments[0]
        : config.embeddingDeployments.find((e) => e.model === model || e.id === model);
    if (!d) {
      const known = config.embeddingDeployments.map((e) => e.model).join(', ');
      throw new ApiError(
        'model_not_found',
        `The embedding model \`${model}\` is not served here; use one of: ${known} (or auto).`,
        { param: 'model' },
      );
    }
    return d;
  };

  const acquire = async (d: ResolvedEmbeddingDeployment, jobId: string, promptTokens: number) => {
    const deadline = Date.now() + PERMIT_WAIT_MS;
    const limited = { id: d.id, rpm: d.rpm, tpm: d.tpm, maxConcurrency: 0, timeoutMs: d.timeoutMs, model: d.model };
    for (;;) {
      const result = await limiter.acquire(limited, { jobId, promptTokens, maxOutputTokens: 0 });
      if (result.granted) return result.lease;
      if (Date.now() + result.retryAfterMs > deadline) {
        const error = denialError(result);
        throw new ApiError('upstream_rate_limited', `The embedding deployment is at its limit: ${error.message}`, {
          headers: retryAfterHeaders(result.retryAfterMs),
        });
      }
      await new Promise((r) => setTimeout(r, result.retryAfterMs));
    }
  };

  app.post('/v1/embeddings', { schema: { body: EmbeddingsRequestSchema } }, async (request: FastifyRequest, reply) => {
    const body = request.body as EmbeddingsRequest;
    const tenant = request.tenant!;
    const deployment = resolve(body.model);
    const inputs = embeddingInputs(body.input);
    inputs.forEach((input, i) => {
      if (typeof input === 'string' && input.length === 0)
        throw badRequest(`\`input[${i}]\` is empty; every input needs at least one character.`, `input[${i}]`);
      if (typeof input === 'string' && input.length > config.api.maxMessageChars)
        throw badRequest(
          `\`input[${i}]\` is ${input.length} characters long; at most ${config.api.maxMessageChars} are accepted.`,
          `input[${i}]`,
        );
    });
    const jobId = newJobId();
    const limits = {
      rpm: tenant.rpm || config.tenants.defaultRpm,
      tokensPerDay: tenant.tokensPerDay || config.tenants.defaultTokensPerDay,
    };
    const usage = await limiter.tenants.checkRequest(tenant.name, limits, { requestId: jobId });
    reply.headers(rateLimitHeaders(limits, usage, Date.now()));

    const scope = tenant.cacheShareGroup ? `g-${tenant.cacheShareGroup}` : `t-${tenant.name}`;
    const cacheKey = (input: EmbeddingInput) =>
      keys.family(
        'emb',
        scope,
        createHash('sha256')
          .update(`${deployment.model}\n${body.dimensions ?? 0}\n${JSON.stringify(input)}`)
          .digest('hex'),
      );
    const noStore = /\bno-store\b/i.test(String(request.headers['cache-control'] ?? ''));
    const noCache = noStore || /\bno-cache\b/i.test(String(request.headers['cache-control'] ?? ''));
    const cacheKeys = inputs.map(cacheKey);
    const cached = noCache ? inputs.map(() => null) : await ctx.redis.mget(...cacheKeys);
    const encoded: Array<string | undefined> = cached.map((c) => c ?? undefined);
    const missing = inputs.map((_, i) => i).filter((i) => encoded[i] === undefined);

    let promptTokens = 0;
    if (missing.length) {
      const estimate = missing.reduce(
        (sum, i) =>
          sum +
          (typeof inputs[i] === 'string'
            ? Math.ceil((inputs[i] as string).length / 3)
            : (inputs[i] as number[]).length),
        0,
      );
      const lease = await acquire(deployment, jobId, estimate);
      let result;
      try {
        result = await upstream.embed(
          deployment,
          missing.map((i) => inputs[i]!),
          { dimensions: body.dimensions, user: body.user },
        );
      } catch (error) {
        await limiter.release(lease).catch(() => {});
        // Any other upstream failure answers with its own `upstream_<kind>` code, as the executor's do.
        if (isUpstreamError(error) && error.requestFault)
          throw new ApiError('upstream_bad_request', error.message.replace(/^Upstream answered \d+: /, ''));
        if (isUpstreamError(error) && error.kind === 'rate_limited')
          throw new ApiError('upstream_rate_limited', 'The embedding deployment is rate limited; retry shortly.', {
            headers: retryAfterHeaders(error.retryAfterMs ?? 1_000),
          });
        throw error;
      }
      await limiter.release(lease, { promptTokens: result.promptTokens, completionTokens: 0 }).catch(() => {});
      promptTokens = result.promptTokens;
      result.vectors.forEach((v, j) => (encoded[missing[j]!] = vectorToBase64(v)));
      if (!noStore) {
        const pipeline = ctx.redis.pipeline();
        for (const i of missing) pipeline.set(cacheKeys[i]!, encoded[i]!, 'EX', ttlSeconds);
        await pipeline
          .exec()
          .catch((error: unknown) => request.log.warn({ err: error }, 'could not store embeddings in the cache'));
      }
    }
    const cost = costUsd(
      { inputPricePerMTok: deployment.inputPricePerMTok, outputPricePerMTok: 0 },
      { prompt_tokens: promptTokens, completion_tokens: 0 },
    );
    const bookkeeping = Promise.all([
      promptTokens ? limiter.tenants.recordTokens(tenant.name, promptTokens) : undefined,
      ctx.ledger.record({
        tenant: tenant.name,
        jobId,
        finishedAt: Date.now(),
        kind: 'embedding',
        tier: 'router',
        cache: missing.length ? 'miss' : 'hit',
        calls: [
          {
            purpose: 'answer',
            tier: 'router',
            model: deployment.model,
            deploymentId: missing.length ? deployment.id : 'cache',
            promptTokens,
            completionTokens: 0,
            costUsd: cost,
          },
        ],
        counterfactual: { promptTokens: 0, completionTokens: 0, costUsd: 0 },
      }),
    ]);
    const base64 = body.encoding_format === 'base64';
    reply.headers({
      'x-sluice-job-id': jobId,
      'x-sluice-model': deployment.model,
      'x-sluice-cache': missing.length === 0 ? 'hit' : missing.length === inputs.length ? 'miss' : 'partial',
      'x-sluice-cost-usd': cost.toFixed(9),
    });
    const response = {
      object: 'list',
      data: encoded.map((e, index) => ({ object: 'embedding', index, embedding: base64 ? e! : base64ToVector(e!) })),
      model: deployment.model,
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
    };
    // The answer first; a failed ledger write is logged, never the caller's problem.
    bookkeeping.catch((error: unknown) => request.log.error({ err: error, jobId }, 'embeddings bookkeeping failed'));
    return response;
  });
}
