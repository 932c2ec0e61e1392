import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { registerAdminRoutes } from './admin-routes.ts';
import { registerChatRoute } from './chat-route.ts';
import { registerBatchRoutes } from './batch-routes.ts';
import { BatchStore } from './batches.ts';
import { BATCH_TOKEN_HEADER, type SimContext } from './context.ts';
import { PromptCache } from './prompt-cache.ts';
import { registerEmbeddingsRoute } from './embeddings-route.ts';
import { registerMessagesRoute } from './messages-route.ts';
import { registerMessageBatchRoutes } from './message-batch-routes.ts';
import { MessageBatchStore } from './message-batches.ts';
import { SimConfigError, SimInvalidRequestError, isSimError, type OpenAIErrorBody } from './errors.ts';
import { ModelRegistry } from './model-registry.ts';
import { DEFAULT_FIXED_LATENCY_MS, buildModels, sifModel } from './models.ts';
import { RequestTracker } from './request-tracker.ts';
import { validationErrorToOpenAI } from './schemas.ts';
import { warmTokenizer } from './tokens.ts';
import type { SimListenOptions, SimProfile, SimStats, Simulator, SimulatorOptions } from './types.ts';

const PROFILES: readonly SimProfile[] = ['realistic', 'fixed', 'fast'];
const DEFAULT_CLOSE_GRACE_MS = 5000;
const DEFAULT_BODY_LIMIT = 32 * 1024 * 1024;
/** After the grace period, how long keep-alive sockets may take to close before they are cut. */
const SOCKET_CLOSE_TIMEOUT_MS = 1000;

/**
 * Builds an OpenAI-compatible simulator: `/v1/chat/completions` (JSON and SSE),
 * `/v1/embeddings`, `/v1/models`, `/v1/files` and `/v1/batches` (the Batch API), Anthropic's
 * `/v1/messages` and `/v1/messages/batches` (Message Batches), plus the `/sim` control plane (stats, run-time model
 * changes). Every model has a latency model, per-minute request and token limits answered
 * with 429s and `x-ratelimit-*` headers, a concurrency cap, and fault injection.
 *
 * Replies are deterministic: each starts with `[sim:<fingerprint>] ` where the fingerprint is
 * {@link fingerprintMessages} of the request's messages. Prompt directives such as
 * `[[sim:error]]` steer a single request; see the package README.
 *
 * @example
 * ```ts
 * const sim = createSimulator({ profile: 'fast' });
 * const { url } = await sim.listen({ port: 0 });
 * const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'sim' });
 * // …
 * await sim.close();
 * ```
 */
export function createSimulator(options: SimulatorOptions = {}): Simulator {
  const profile = options.profile ?? 'realistic';
  if (!PROFILES.includes(profile)) {
    throw new SimConfigError(`Expected \`profile\` to be one of ${PROFILES.join(', ')}, got \`${String(profile)}\``);
  }
  const latencyMs = options.latencyMs ?? DEFAULT_FIXED_LATENCY_MS;
  assertNonNegative(latencyMs, 'latencyMs');
  const closeGraceMs = options.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS;
  assertNonNegative(closeGraceMs, 'closeGraceMs');
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  if (!Number.isInteger(bodyLimit) || bodyLimit < 1) {
    throw new SimConfigError(`Expected \`bodyLimit\` to be an integer ≥ 1, got \`${String(bodyLimit)}\``);
  }
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;

  const ctx: SimContext = {
    registry: new ModelRegistry([
      ...buildModels(options.models, profile, latencyMs),
      ...(options.sentenceEmbedder
        ? buildModels([sifModel(options.sentenceEmbedder.dimensions)], profile, latencyMs)
        : []),
    ]),
    sentenceEmbedder: options.sentenceEmbedder,
    tracker: new RequestTracker(),
    now,
    random,
    onChatRequest: options.onChatRequest,
    batchToken: randomBytes(16).toString('hex'),
    promptCache: new PromptCache(options.promptCache),
  };
  let startedAt = now();

  const app = Fastify({
    ...(options.logger === undefined ? {} : { loggerInstance: options.logger }),
    bodyLimit,
    ajv: {
      // OpenAI rejects `"max_tokens": "5"`; fastify's default coercion would quietly accept it.
      customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false },
    },
  }) as unknown as FastifyInstance;

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { status, body, headers } = toOpenAIError(error);
    if (status >= 500 && !isSimError(error)) request.log.error({ err: error }, 'simulator handler failed');
    void reply.code(status).headers(headers).send(body);
  });

  app.setNotFoundHandler((request, reply) => {
    const body: OpenAIErrorBody = {
      error: {
        message: `Invalid URL (${request.method} ${request.url})`,
        type: 'invalid_request_error',
        param: null,
        code: null,
      },
    };
    void reply.code(404).send(body);
  });

  // While shutting down, answers that are still going out close their connection afterwards,
  // so keep-alive sockets do not hold the server open until the forced cut.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (ctx.tracker.closing) void reply.header('connection', 'close');
    return payload;
  });

  registerChatRoute(app, ctx);
  registerEmbeddingsRoute(app, ctx);
  registerMessagesRoute(app, ctx);
  // A batch's lines are answered by the routes above, in process, so they are validated and
  // answered exactly as live requests are.
  const batches = new BatchStore(options.batch ?? {}, now, async (line) => {
    const answer = await app.inject({
      method: 'POST',
      url: line.url,
      headers: { 'content-type': 'application/json', [BATCH_TOKEN_HEADER]: ctx.batchToken },
      payload: JSON.stringify(line.body),
    });
    return { statusCode: answer.statusCode, body: answer.json() };
  });
  // Anthropic's Message Batches, on the same timing; each request goes through /v1/messages.
  const messageBatches = new MessageBatchStore(options.batch ?? {}, now, async (request) => {
    const answer = await app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: {
        'content-type': 'application/json',
        'anthropic-version': '2023-06-01',
        [BATCH_TOKEN_HEADER]: ctx.batchToken,
      },
      payload: JSON.stringify(request.params),
    });
    return { statusCode: answer.statusCode, body: answer.json() };
  });
  registerBatchRoutes(app, batches, messageBatches);
  registerMessageBatchRoutes(app, ctx, messageBatches);

  const stats = (): SimStats => {
    const models: SimStats['models'] = {};
    for (const runtime of ctx.registry.list()) models[runtime.id] = runtime.stats.snapshot();
    return { models, startedAt: new Date(startedAt).toISOString() };
  };
  const resetStats = (): void => {
    for (const runtime of ctx.registry.list()) runtime.stats.reset();
    startedAt = now();
  };
  registerAdminRoutes(app, ctx, { stats, resetStats, createdAt: Math.floor(startedAt / 1000) });

  let closing: Promise<void> | undefined;

  return {
    app,

    async listen(listenOptions: SimListenOptions = {}) {
      if (closing !== undefined) throw new Error('Cannot listen: the simulator has been closed');
      const host = listenOptions.host ?? '127.0.0.1';
      const port = listenOptions.port ?? 0;
      // Building the tokenizer takes about a second; pay it before the first request does.
      warmTokenizer();
      await app.listen({ port, host });
      const address = app.server.address() as AddressInfo;
      const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      return { url: `http://${urlHost}:${address.port}` };
    },

    close() {
      closing ??= (async () => {
        // Stop accepting first; then let answers in flight finish (held ones end at once).
        const appClosed = app.close();
        const errors: unknown[] = [];
        await ctx.tracker.shutdown(closeGraceMs).catch((error: unknown) => errors.push(error));
        app.server.closeIdleConnections();
        const cutSockets = setTimeout(() => app.server.closeAllConnections(), SOCKET_CLOSE_TIMEOUT_MS);
        await appClosed.catch((error: unknown) => errors.push(error));
        clearTimeout(cutSockets);
        if (errors.length > 0) throw new AggregateError(errors, 'Simulator did not close cleanly');
      })();
      return closing;
    },

    stats,
    resetStats,

    updateModel(id, patch) {
      return ctx.registry.update(id, patch);
    },

    getModel(id) {
      const runtime = ctx.registry.find(id);
      return runtime === undefined ? undefined : { ...runtime.options, faults: { ...runtime.options.faults } };
    },
  };
}

function assertNonNegative(value: number, name: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new SimConfigError(`Expected \`${name}\` to be a number ≥ 0, got \`${String(value)}\``);
  }
}

/** The one place errors become HTTP answers in OpenAI's shape. */
function toOpenAIError(error: FastifyError): {
  status: number;
  body: OpenAIErrorBody;
  headers: Record<string, string>;
} {
  if (isSimError(error)) return { status: error.status, body: error.toBody(), headers: error.headers };
  if (error.validation !== undefined) {
    const invalid = validationErrorToOpenAI(error.validation);
    return { status: invalid.status, body: invalid.toBody(), headers: {} };
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    const message =
      error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError
        ? 'We could not parse the JSON body of your request. The request body must be valid JSON.'
        : error.message;
    const invalid = new SimInvalidRequestError(message, { status });
    return { status, body: invalid.toBody(), headers: {} };
  }
  return {
    status: 500,
    body: {
      error: { message: 'The simulator failed to process the request.', type: 'server_error', param: null, code: null },
    },
    headers: {},
  };
}
