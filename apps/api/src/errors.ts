import type { FastifyError, FastifyInstance } from 'fastify';
import {
  defineError,
  errorDefinition,
  INVALID_REQUEST,
  INVALID_VALUE,
  isSluiceError,
  MISSING_REQUIRED_PARAMETER,
  SluiceError,
  toOpenAIError,
  type ErrorDefinition,
  type OpenAIErrorBody,
} from '@sluice/errors';
import { isRedisUnavailable, REDIS_ERRORS } from '@sluice/redis';
import type { Logger } from '@sluice/telemetry';

export { retryAfterHeaders } from '@sluice/errors';

const api = (
  code: string,
  status: number,
  message: string,
  openaiType: 'invalid_request_error' | 'server_error' | 'timeout' = 'invalid_request_error',
) => defineError({ code, status, openaiType, subsystem: 'apps/api', message });

/**
 * The API's own client codes, registered once in `@sluice/errors` with those of the packages
 * (`rate_limited`, `model_not_found`, `upstream_*`, …), which the API answers the same way.
 */
export const API_ERRORS = {
  invalidJson: api('invalid_json', 400, 'We could not parse the JSON body of your request.'),
  jsonTooDeep: api('json_too_deep', 400, 'The JSON body is nested too deeply.'),
  invalidEncoding: api('invalid_encoding', 400, 'The request body could not be decoded.'),
  pinConflict: api('pin_conflict', 400, 'The request pins conflicting tiers or models.'),
  badHttpRequest: api('bad_http_request', 400, 'The HTTP request could not be parsed.'),
  invalidUrl: api('invalid_url', 400, 'The URL could not be decoded.'),
  invalidApiKey: api('invalid_api_key', 401, 'Invalid API key.'),
  adminUnauthorized: api('admin_unauthorized', 401, 'Admin access needs basic auth.'),
  bullboardDataRedacted: api('bullboard_data_redacted', 403, 'Job data is redacted in Bull Board.'),
  notFound: api('not_found', 404, 'Not found.'),
  unknownUrl: api('unknown_url', 404, 'Unknown endpoint.'),
  responseNotFound: api('response_not_found', 404, 'No such stored response.'),
  cacheDisabled: api('cache_disabled', 404, 'The cache is not enabled in this API process.'),
  bullboardReadOnly: api('bullboard_read_only', 405, 'Bull Board is read-only here.'),
  requestTimeout: api('request_timeout', 408, 'The request was not received in time.'),
  jobFinished: api('job_finished', 409, 'The job already finished.'),
  jobNotCompleted: api('job_not_completed', 409, 'The job is not completed.'),
  requestTooLarge: api('request_too_large', 413, 'Request body is larger than the limit.'),
  uriTooLong: api('uri_too_long', 414, 'A path parameter of the URL is too long.'),
  unsupportedMediaType: api('unsupported_media_type', 415, 'Content-Type must be application/json.'),
  idempotencyKeyReused: api(
    'idempotency_key_reused',
    422,
    'Idempotency-Key was already used with a different request body.',
  ),
  noPrompt: api('no_prompt', 422, 'The job kept no prompt.'),
  requestHeadersTooLarge: api(
    'request_headers_too_large',
    431,
    'The request headers are larger than the server accepts.',
  ),
  streamInterrupted: api('stream_interrupted', 500, 'The upstream attempt was interrupted.', 'server_error'),
  jobTimeout: api('job_timeout', 504, 'The job did not finish in time.', 'timeout'),
} as const;

/** Options of {@link ApiError}. */
export interface ApiErrorOptions {
  /** The request field at fault. @defaultValue `null` */
  param?: string | null;
  /** Extra headers of the answer. @defaultValue none */
  headers?: Record<string, string>;
  cause?: unknown;
}

/**
 * An error the API answers with an OpenAI-style body. Handlers throw these; one handler maps
 * them. `code` is a client code registered in `@sluice/errors` (the API's own, or a package's),
 * so its status and type are the table's.
 */
export class ApiError extends SluiceError {
  override name = 'ApiError';
  constructor(code: string | ErrorDefinition, message: string, options: ApiErrorOptions = {}) {
    const definition = typeof code === 'string' ? errorDefinition(code) : code;
    // An unregistered code is a programming error: answering it would put a code on the wire
    // that the table (and ARCHITECTURE.md) does not list.
    if (!definition) throw new TypeError(`Error code \`${String(code)}\` is not registered in @sluice/errors`);
    super(definition, message, {
      param: options.param ?? null,
      headers: options.headers ?? {},
      code: definition.sluiceCode,
      cause: options.cause,
    });
  }

  /** The OpenAI error `type` (the table's). */
  get type(): string {
    return this.openaiType;
  }

  /** Extra headers of the answer. */
  get headers(): Readonly<Record<string, string>> {
    return this.responseHeaders;
  }
}

/** 400 invalid request naming the field. */
export const badRequest = (message: string, param: string | null = null, code = 'invalid_request') =>
  new ApiError(code, message, { param });

/** 401: missing or wrong API key. */
export const unauthorized = (message: string) => new ApiError(API_ERRORS.invalidApiKey, message);

/** 404 that does not say whether the resource exists for another tenant. */
export const notFound = (message: string) => new ApiError(API_ERRORS.notFound, message);

/** The OpenAI body of an error, as {@link toOpenAIError} gives it (for SSE streams and raw sockets). */
export function errorBody(error: unknown): OpenAIErrorBody {
  return toOpenAIError(error).body;
}

/** `body/messages/0/content` → `messages[0].content`. */
export function fieldPath(instancePath: string, missing?: string): string {
  const parts = instancePath.split('/').filter(Boolean);
  if (missing) parts.push(missing);
  return parts.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

type HandledError = FastifyError & {
  validation?: Array<{ instancePath: string; message?: string; keyword: string; params: Record<string, unknown> }>;
};

// Fastify's own 4xx errors, by status, as the table's codes; any other 4xx is a 400.
const BY_STATUS: Record<number, ErrorDefinition> = {
  404: API_ERRORS.notFound,
  408: API_ERRORS.requestTimeout,
  413: API_ERRORS.requestTooLarge,
  414: API_ERRORS.uriTooLong,
  415: API_ERRORS.unsupportedMediaType,
  431: API_ERRORS.requestHeadersTooLarge,
};

/** What Fastify and Redis throw, as the registered error it is; anything else as is (a 500). */
function asSluiceError(error: HandledError, bodyLimit: number | undefined): unknown {
  if (isSluiceError(error)) return error;
  if (error.validation?.length) {
    const v = error.validation[0]!;
    const missing = v.keyword === 'required' ? String(v.params.missingProperty) : undefined;
    const param = fieldPath(v.instancePath, missing);
    const message = missing
      ? `Missing required parameter: \`${param}\`.`
      : v.keyword === 'additionalProperties'
        ? `Unrecognized parameter \`${fieldPath(v.instancePath, String(v.params.additionalProperty))}\`.`
        : `Invalid value for \`${param || 'body'}\`: ${v.message ?? 'invalid'}.`;
    return new ApiError(missing ? MISSING_REQUIRED_PARAMETER : INVALID_VALUE, message, { param: param || null });
  }
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return new ApiError(API_ERRORS.requestTooLarge, `Request body is larger than the ${bodyLimit ?? ''} byte limit.`);
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
    return new ApiError(API_ERRORS.unsupportedMediaType, 'Content-Type must be application/json.');
  if (
    error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ||
    error instanceof SyntaxError ||
    error.code === 'FST_ERR_CTP_INVALID_JSON_BODY'
  )
    return new ApiError(API_ERRORS.invalidJson, `We could not parse the JSON body of your request: ${error.message}`);
  if (isRedisUnavailable(error))
    return new SluiceError(REDIS_ERRORS.unavailable, undefined, { retryAfterMs: 2_000, cause: error });
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500)
    return new ApiError(BY_STATUS[error.statusCode] ?? INVALID_REQUEST, error.message);
  return error;
}

/**
 * The one place errors become HTTP answers, through `@sluice/errors` `toOpenAIError`: every
 * Sluice error answers with its registered code, status and type (and retry-after when it
 * says when); validation → 400 naming the field, oversize → 413, malformed JSON → 400, Redis
 * away → 503; anything else is logged and answered 500 without internals.
 */
export function installErrorHandler(app: FastifyInstance, logger: Logger): void {
  app.setErrorHandler((error: HandledError, request, reply) => {
    const answer = toOpenAIError(asSluiceError(error, request.routeOptions.bodyLimit));
    if (answer.internal) logger.error({ err: error, route: request.routeOptions.url }, 'unhandled error');
    return reply.status(answer.status).headers(answer.headers).send(answer.body);
  });
  app.setNotFoundHandler((request, reply) => {
    const answer = toOpenAIError(
      new ApiError(API_ERRORS.unknownUrl, `Unknown endpoint ${request.method} ${request.url.split('?')[0]}.`),
    );
    reply.status(answer.status).send(answer.body);
  });
}

/**
 * Node's HTTP parser refuses some requests before Fastify sees them (headers too large, a
 * malformed request line, a request timeout); Fastify's own answer has its body, not OpenAI's.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: import('node:net').Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [reason, refusal] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [
          'Request Header Fields Too Large',
          new ApiError(
            API_ERRORS.requestHeadersTooLarge,
            'The request headers are larger than the server accepts; send fewer or shorter headers.',
          ),
        ]
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? ['Request Timeout', new ApiError(API_ERRORS.requestTimeout, 'The request was not received in time.')]
        : ['Bad Request', new ApiError(API_ERRORS.badHttpRequest, 'The HTTP request could not be parsed.')];
  const { status, body } = toOpenAIError(refusal);
  const text = JSON.stringify(body);
  if (socket.writable)
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
    );
  else socket.destroy(error);
}

/**
 * The router's own refusals (a malformed URL, a path parameter past its length limit), which
 * Fastify answers before any route, hook or error handler: OpenAI's body, same statuses.
 */
export function frameworkErrors(error: FastifyError, _request: unknown, reply: import('fastify').FastifyReply): void {
  const message =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? 'A path parameter of the URL is too long.'
      : error.code === 'FST_ERR_BAD_URL'
        ? 'The URL could not be decoded.'
        : error.message;
  const answer = toOpenAIError(
    new ApiError(error.statusCode === 414 ? API_ERRORS.uriTooLong : API_ERRORS.invalidUrl, message),
  );
  void reply.status(answer.status).send(answer.body);
}
