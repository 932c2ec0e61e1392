import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { responseId, type SimContext } from './context.ts';
import { SimError, SimInvalidRequestError } from './errors.ts';
import type { MessageBatchStore } from './message-batches.ts';
import { anthropicShape } from './messages-route.ts';

interface IdParams {
  id: string;
}

const ID_PARAMS = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 200 } },
} as const;

/** A 401 in Anthropic's words (`authentication_error` once shaped). */
class SimAuthenticationError extends SimError {
  override name = 'SimAuthenticationError' as const;
  constructor(message: string) {
    super('SLUICE_ERR_SIM_INVALID_REQUEST', message, { status: 401, type: 'authentication_error' });
  }
}

/**
 * What Anthropic asks of every call: a key (`x-api-key`, or a bearer token) and an
 * `anthropic-version`. The simulator takes any key; it checks that one was sent, so a client
 * that forgot its key sees the 401 the real API gives, not a quiet success.
 */
async function requireAnthropicHeaders(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  void reply.header('request-id', responseId('req'));
  const key = request.headers['x-api-key'];
  const bearer = request.headers.authorization;
  if ((typeof key !== 'string' || key === '') && (typeof bearer !== 'string' || !/^Bearer\s+\S/i.test(bearer))) {
    throw new SimAuthenticationError('x-api-key header is required');
  }
  if (typeof request.headers['anthropic-version'] !== 'string' || request.headers['anthropic-version'] === '') {
    throw new SimInvalidRequestError('anthropic-version: header is required', { param: 'anthropic-version' });
  }
}

/** Where this request reached the simulator (the `results_url` names it, as Anthropic's names its host). */
const baseUrlOf = (request: FastifyRequest) => `${request.protocol}://${request.host}`;

/**
 * Registers Anthropic's Message Batches API: `POST /v1/messages/batches` (create), `GET
 * /v1/messages/batches` (list, newest first), `GET /v1/messages/batches/:id` (retrieve),
 * `POST /v1/messages/batches/:id/cancel`, `GET /v1/messages/batches/:id/results` (JSONL), with
 * Anthropic's headers and error bodies. `POST /sim/batches/:id/expire` ends one's window too.
 */
export function registerMessageBatchRoutes(app: FastifyInstance, ctx: SimContext, store: MessageBatchStore): void {
  const route = { preHandler: requireAnthropicHeaders, onSend: anthropicShape(ctx) };

  app.post<{ Body: { requests?: unknown } }>(
    '/v1/messages/batches',
    {
      ...route,
      schema: { body: { type: 'object', required: ['requests'], properties: { requests: { type: 'array' } } } },
    },
    async (request) => store.create(request.body, baseUrlOf(request)),
  );

  app.get<{ Querystring: { limit?: string; before_id?: string; after_id?: string } }>(
    '/v1/messages/batches',
    {
      ...route,
      schema: {
        querystring: {
          type: 'object',
          properties: {
            limit: { type: 'string', pattern: '^(1000|[1-9][0-9]{0,2})$' },
            before_id: { type: 'string', minLength: 1 },
            after_id: { type: 'string', minLength: 1 },
          },
        },
      },
    },
    async (request) => {
      const { limit, before_id: beforeId, after_id: afterId } = request.query;
      return store.list(
        {
          limit: Number(limit ?? 20),
          ...(beforeId ? { before_id: beforeId } : {}),
          ...(afterId ? { after_id: afterId } : {}),
        },
        baseUrlOf(request),
      );
    },
  );

  app.get<{ Params: IdParams }>(
    '/v1/messages/batches/:id',
    { ...route, schema: { params: ID_PARAMS } },
    async (request) => store.retrieve(request.params.id, baseUrlOf(request)),
  );

  app.post<{ Params: IdParams }>(
    '/v1/messages/batches/:id/cancel',
    { ...route, schema: { params: ID_PARAMS } },
    async (request) => store.cancel(request.params.id, baseUrlOf(request)),
  );

  app.get<{ Params: IdParams }>(
    '/v1/messages/batches/:id/results',
    { ...route, schema: { params: ID_PARAMS } },
    async (request, reply) => reply.type('application/binary').send(await store.results(request.params.id)),
  );
}
