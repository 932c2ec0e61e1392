import type { FastifyInstance } from 'fastify';
import type { EmbeddingRequest } from './chat-types.ts';
import { destroyConnection, holdUntilAbort, responseId, rollFault, type SimContext } from './context.ts';
import { embedText, encodeEmbeddingBase64, shortenEmbedding } from './embeddings.ts';
import { SimInjectedFaultError, SimInvalidRequestError } from './errors.ts';
import { sampleLatency, sleep } from './latency.ts';
import { admit } from './model-registry.ts';
import { SIF_MODEL_ID } from './models.ts';
import { EMBEDDINGS_BODY_SCHEMA } from './schemas.ts';
import { countTokens, decodeTokens } from './tokens.ts';

/** OpenAI's cap on inputs per embeddings request. */
const MAX_INPUTS = 2048;

/** Registers `POST /v1/embeddings`. */
export function registerEmbeddingsRoute(app: FastifyInstance, ctx: SimContext): void {
  app.post('/v1/embeddings', { schema: { body: EMBEDDINGS_BODY_SCHEMA } }, async (request, reply) => {
    const body = request.body as EmbeddingRequest;
    const runtime = ctx.registry.require(body.model);
    const model = runtime.options;
    if (model.kind !== 'embedding') {
      throw new SimInvalidRequestError(`The model \`${runtime.id}\` does not support embeddings.`, { param: 'model' });
    }
    const inputs = normaliseInput(body.input);
    const dimensions = body.dimensions ?? model.dimensions;
    if (dimensions > model.dimensions) {
      throw new SimInvalidRequestError(
        `Invalid 'dimensions': ${dimensions} is above the model's ${model.dimensions}.`,
        {
          param: 'dimensions',
        },
      );
    }
    runtime.stats.add('requests');
    const tokenCounts = inputs.map((input) => input.tokens);
    const longest = Math.max(...tokenCounts);
    if (longest > model.contextWindow) {
      throw new SimInvalidRequestError(
        `This model's maximum context length is ${model.contextWindow} tokens, however you requested ${longest} tokens in one input. Please reduce your prompt.`,
        { param: 'input', openaiCode: 'context_length_exceeded' },
      );
    }
    const promptTokens = tokenCounts.reduce((sum, count) => sum + count, 0);
    const admission = admit(runtime, promptTokens, ctx.now());
    const tracked = ctx.tracker.begin(reply.raw);
    try {
      runtime.stats.add('promptTokens', promptTokens);
      const headers: Record<string, string> = { ...admission.headers, 'x-request-id': responseId('req') };
      const fault = rollFault(model.faults, ctx.random);
      if (fault === 'error') {
        runtime.stats.add('errors');
        throw new SimInjectedFaultError('The server had an error while processing your request. Sorry about that!', {
          headers,
        });
      }
      if (fault === 'timeout') {
        runtime.stats.add('timeouts');
        await holdUntilAbort(reply, tracked);
        return reply;
      }
      const latency = sampleLatency(model, ctx.random);
      const totalMs = latency.ttftMs + latency.perTokenMs * promptTokens;
      if (fault === 'drop') {
        runtime.stats.add('dropped');
        await sleep(totalMs / 2, tracked.signal);
        destroyConnection(reply);
        return reply;
      }
      if (!(await sleep(totalMs, tracked.signal))) {
        destroyConnection(reply);
        return reply;
      }
      const base64 = body.encoding_format === 'base64';
      const data = inputs.map((input, index) => {
        const real = runtime.id === SIF_MODEL_ID ? ctx.sentenceEmbedder : undefined;
        const full = real ? Array.from(real.embedOne(input.text)) : embedText(input.text, model.dimensions);
        const vector =
          dimensions === full.length ? full.map((v) => Math.fround(v)) : shortenEmbedding(full, dimensions);
        return { object: 'embedding', index, embedding: base64 ? encodeEmbeddingBase64(vector) : vector };
      });
      void reply
        .code(200)
        .headers(headers)
        .send({
          object: 'list',
          data,
          model: runtime.id,
          usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
        });
      return reply;
    } finally {
      admission.release();
      tracked.finish();
    }
  });
}

/** Every accepted input form as text plus its token count; token-id inputs are decoded. */
function normaliseInput(input: EmbeddingRequest['input']): Array<{ text: string; tokens: number }> {
  const invalid = (): SimInvalidRequestError =>
    new SimInvalidRequestError(
      "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
      {
        param: 'input',
      },
    );
  if (typeof input === 'string') {
    if (input.length === 0) throw invalid();
    return [{ text: input, tokens: countTokens(input) }];
  }
  if (input.length === 0 || input.length > MAX_INPUTS) throw invalid();
  if (input.every((item): item is string => typeof item === 'string')) {
    if (input.some((item) => item.length === 0)) throw invalid();
    return input.map((text) => ({ text, tokens: countTokens(text) }));
  }
  if (input.every((item): item is number => typeof item === 'number')) {
    return [fromTokenIds(input, invalid)];
  }
  return (input as number[][]).map((ids) => fromTokenIds(ids, invalid));
}

function fromTokenIds(ids: number[], invalid: () => SimInvalidRequestError): { text: string; tokens: number } {
  if (ids.length === 0) throw invalid();
  try {
    return { text: decodeTokens(ids), tokens: ids.length };
  } catch {
    // An id outside the vocabulary is the caller's mistake, never a 5xx.
    throw invalid();
  }
}
