import type { FastifySchemaValidationError } from 'fastify';
import { SimInvalidRequestError } from './errors.ts';

/**
 * Request-body schemas. They check shapes only and allow unknown members, as OpenAI does for
 * parameters the simulator ignores (temperature, seed, user, …). Semantic checks that need
 * more than one field live in the route.
 */

const NULLABLE_POSITIVE_INTEGER = { type: ['integer', 'null'], minimum: 1 } as const;

const CONTENT_PART = {
  type: 'object',
  required: ['type'],
  properties: { type: { type: 'string' }, text: { type: 'string' } },
} as const;

const MESSAGE = {
  type: 'object',
  required: ['role'],
  properties: {
    role: { type: 'string', enum: ['system', 'developer', 'user', 'assistant', 'tool', 'function'] },
    content: { anyOf: [{ type: 'string' }, { type: 'array', items: CONTENT_PART }, { type: 'null' }] },
    name: { type: 'string' },
    tool_call_id: { type: 'string' },
    tool_calls: { type: 'array' },
  },
} as const;

const TOOL = {
  type: 'object',
  required: ['type', 'function'],
  properties: {
    type: { type: 'string', enum: ['function'] },
    function: {
      type: 'object',
      required: ['name'],
      properties: {
        name: { type: 'string', pattern: '^[a-zA-Z0-9_-]{1,64}$' },
        description: { type: 'string' },
        parameters: { type: 'object' },
      },
    },
  },
} as const;

/** `POST /v1/chat/completions` body. */
export const CHAT_COMPLETION_BODY_SCHEMA = {
  type: 'object',
  required: ['model', 'messages'],
  properties: {
    model: { type: 'string', minLength: 1 },
    messages: { type: 'array', minItems: 1, items: MESSAGE },
    stream: { type: ['boolean', 'null'] },
    stream_options: {
      anyOf: [{ type: 'null' }, { type: 'object', properties: { include_usage: { type: 'boolean' } } }],
    },
    max_tokens: NULLABLE_POSITIVE_INTEGER,
    max_completion_tokens: NULLABLE_POSITIVE_INTEGER,
    n: { type: ['integer', 'null'], minimum: 1, maximum: 128 },
    temperature: { type: ['number', 'null'], minimum: 0, maximum: 2 },
    top_p: { type: ['number', 'null'], minimum: 0, maximum: 1 },
    tools: { type: 'array', items: TOOL },
    tool_choice: {
      anyOf: [
        { type: 'string', enum: ['none', 'auto', 'required'] },
        {
          type: 'object',
          required: ['type', 'function'],
          properties: {
            type: { type: 'string', enum: ['function'] },
            function: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
          },
        },
      ],
    },
    response_format: {
      type: 'object',
      required: ['type'],
      properties: {
        type: { type: 'string', enum: ['text', 'json_object', 'json_schema'] },
        json_schema: {
          type: 'object',
          required: ['name'],
          properties: { name: { type: 'string' }, schema: { type: 'object' }, strict: { type: ['boolean', 'null'] } },
        },
      },
    },
  },
} as const;

/** `POST /v1/embeddings` body. */
export const EMBEDDINGS_BODY_SCHEMA = {
  type: 'object',
  required: ['model', 'input'],
  properties: {
    model: { type: 'string', minLength: 1 },
    input: {
      anyOf: [
        { type: 'string' },
        { type: 'array', items: { type: 'string' } },
        { type: 'array', items: { type: 'integer', minimum: 0 } },
        { type: 'array', items: { type: 'array', items: { type: 'integer', minimum: 0 } } },
      ],
    },
    encoding_format: { type: 'string', enum: ['float', 'base64'] },
    dimensions: { type: 'integer', minimum: 1 },
    user: { type: 'string' },
  },
} as const;

/** `PATCH /sim/models/:id` body; values are checked by `patchModel`, which names the bad one. */
export const MODEL_PATCH_BODY_SCHEMA = { type: 'object' } as const;

/** `:id` route parameter. */
export const MODEL_ID_PARAMS_SCHEMA = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1 } },
} as const;

/**
 * Turns fastify's schema errors into the 400 OpenAI would send, e.g.
 * `Missing required parameter: 'messages'.` with `param: 'messages'`.
 */
export function validationErrorToOpenAI(errors: readonly FastifySchemaValidationError[]): SimInvalidRequestError {
  // For anyOf the branch errors come first and describe one arbitrary branch; the anyOf
  // error itself names the member that was wrong, which is what a caller needs.
  const error = errors.find((candidate) => candidate.keyword === 'anyOf') ?? errors[0];
  if (error === undefined) return new SimInvalidRequestError('Invalid request body.');
  const params = error.params as Record<string, unknown>;
  const at = pointerToParam(error.instancePath);
  if (error.keyword === 'required') {
    const param = joinParam(at, String(params.missingProperty));
    return new SimInvalidRequestError(`Missing required parameter: '${param}'.`, { param });
  }
  if (at === '') return new SimInvalidRequestError('Invalid request body: expected a JSON object.');
  switch (error.keyword) {
    case 'minItems':
      return new SimInvalidRequestError(
        `Invalid '${at}': empty array. Expected an array with minimum length ${String(params.limit)}, but got an empty array instead.`,
        { param: at },
      );
    case 'type':
    case 'anyOf': {
      // The branch `type` errors at the same path say together what would have been accepted.
      const expected = errors
        .filter((candidate) => candidate.keyword === 'type' && candidate.instancePath === error.instancePath)
        .flatMap((candidate) => String((candidate.params as { type?: unknown }).type).split(','));
      const unique = [...new Set(expected)];
      const wanted =
        unique.length <= 1
          ? (unique[0] ?? 'a different type')
          : `${unique.slice(0, -1).join(', ')} or ${unique.at(-1)}`;
      return new SimInvalidRequestError(`Invalid type for '${at}': expected ${wanted}.`, { param: at });
    }
    case 'enum':
      return new SimInvalidRequestError(
        `Invalid value for '${at}': expected one of ${(params.allowedValues as unknown[]).map((value) => `'${String(value)}'`).join(', ')}.`,
        { param: at },
      );
    default:
      return new SimInvalidRequestError(`Invalid '${at}': ${error.message ?? 'invalid value'}.`, { param: at });
  }
}

/** `/messages/0/content` → `messages[0].content`. */
function pointerToParam(pointer: string): string {
  let param = '';
  for (const raw of pointer.split('/').slice(1)) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    param = /^\d+$/.test(segment) ? `${param}[${segment}]` : joinParam(param, segment);
  }
  return param;
}

function joinParam(base: string, member: string): string {
  return base === '' ? member : `${base}.${member}`;
}
