import multipart from '@fastify/multipart';
import type { FastifyInstance } from 'fastify';
import type { BatchStore } from './batches.ts';
import type { MessageBatchStore } from './message-batches.ts';
import { SimInvalidRequestError } from './errors.ts';

/** Largest file `POST /v1/files` takes (OpenAI's batch input limit is 200 MB). */
const MAX_FILE_BYTES = 200 * 1024 * 1024;

interface IdParams {
  id: string;
}

const ID_PARAMS = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 200 } },
} as const;

const BATCH_CREATE_SCHEMA = {
  type: 'object',
  required: ['input_file_id', 'endpoint', 'completion_window'],
  properties: {
    input_file_id: { type: 'string', minLength: 1 },
    endpoint: { type: 'string' },
    completion_window: { type: 'string' },
    metadata: { anyOf: [{ type: 'object', additionalProperties: { type: 'string' } }, { type: 'null' }] },
  },
} as const;

/**
 * Registers OpenAI's Files API (`/v1/files`: upload as multipart, read, content, delete) and
 * Batch API (`/v1/batches`: create, retrieve, list, cancel), plus `POST /sim/batches/:id/expire`
 * to end a batch's window early (an OpenAI batch, or an Anthropic Message Batch of `messageBatches`).
 */
export function registerBatchRoutes(app: FastifyInstance, store: BatchStore, messageBatches?: MessageBatchStore): void {
  void app.register(multipart, { limits: { fileSize: MAX_FILE_BYTES, files: 1, fields: 10 } });

  app.post('/v1/files', async (request) => {
    if (!request.isMultipart())
      throw new SimInvalidRequestError("Expected a multipart/form-data body with 'file' and 'purpose'.", {
        param: 'file',
      });
    let purpose: string | undefined;
    let upload: { filename: string; content: Buffer } | undefined;
    for await (const part of request.parts()) {
      if (part.type === 'file') {
        upload = { filename: part.filename, content: await part.toBuffer() };
      } else if (part.fieldname === 'purpose') {
        purpose = String(part.value);
      }
    }
    if (upload === undefined)
      throw new SimInvalidRequestError("Missing required parameter: 'file'.", { param: 'file' });
    if (purpose === undefined)
      throw new SimInvalidRequestError("Missing required parameter: 'purpose'.", { param: 'purpose' });
    return store.addFile(upload.filename, purpose, upload.content);
  });

  app.get<{ Params: IdParams }>('/v1/files/:id', { schema: { params: ID_PARAMS } }, async (request) =>
    store.file(request.params.id),
  );

  app.get<{ Params: IdParams }>('/v1/files/:id/content', { schema: { params: ID_PARAMS } }, async (request, reply) =>
    reply.type('application/octet-stream').send(store.content(request.params.id)),
  );

  app.delete<{ Params: IdParams }>('/v1/files/:id', { schema: { params: ID_PARAMS } }, async (request) =>
    store.deleteFile(request.params.id),
  );

  app.post<{
    Body: {
      input_file_id: string;
      endpoint: string;
      completion_window: string;
      metadata?: Record<string, string> | null;
    };
  }>('/v1/batches', { schema: { body: BATCH_CREATE_SCHEMA } }, async (request) => store.create(request.body));

  app.get<{ Params: IdParams }>('/v1/batches/:id', { schema: { params: ID_PARAMS } }, async (request) =>
    store.retrieve(request.params.id),
  );

  app.post<{ Params: IdParams }>('/v1/batches/:id/cancel', { schema: { params: ID_PARAMS } }, async (request) =>
    store.cancel(request.params.id),
  );

  app.get<{ Querystring: { limit?: string } }>(
    '/v1/batches',
    {
      schema: {
        querystring: { type: 'object', properties: { limit: { type: 'string', pattern: '^(100|[1-9][0-9]?)$' } } },
      },
    },
    async (request) => {
      const data = await store.list(Number(request.query.limit ?? 20));
      return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: false };
    },
  );

  app.post<{ Params: IdParams }>('/sim/batches/:id/expire', { schema: { params: ID_PARAMS } }, async (request) =>
    messageBatches?.has(request.params.id)
      ? messageBatches.expire(request.params.id, `${request.protocol}://${request.host}`)
      : store.expire(request.params.id),
  );
}
