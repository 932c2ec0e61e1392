import type { FastifyError, FastifyInstance } from 'fastify';
import { CacheRequestError } from '@sluice/cache';
import { clientError, isLimitsError } from '@sluice/limits';
import { isRedisUnavailable } from '@sluice/redis';
import { isRoutingError, isUnknownModelError } from '@sluice/routing';
import type { Logger } from '@sluice/telemetry';

/** An error the API answers with an OpenAI-style body. Handlers throw these; one handler maps them. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly code: string,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** 400 invalid request naming the field. */
export const badRequest = (message: string, param: string | null = null, code = 'invalid_request') =>
  new ApiError(400, message, 'invalid_request_error', code, param);

/** 401: missing or wrong API key. */
export const unauthorized = (message: string) => new ApiError(401, message, 'invalid_request_error', 'invalid_api_key');

/** 404 that does not say whether the resource exists for another tenant. */
export const notFound = (message: string) => new ApiError(404, message, 'invalid_request_error', 'not_found');

/** The OpenAI error body. */
export function errorBody(message: string, type: string, code: string | null, param: string | null = null) {
  return { error: { message, type, param, code } };
}

/** `body/messages/0/content` → `messages[0].content`. */
export function fieldPath(instancePath: string, missing?: string): string {
  const parts = instancePath.split('/').filter(Boolean);
  if (missing) parts.push(missing);
  return parts.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

/** `retry-after` (whole seconds, as HTTP says) and `retry-after-ms` (the openai SDKs read it first). */
export function retryAfterHeaders(retryAfterMs: number): Record<string, string> {
  const ms = Math.max(1, Math.ceil(retryAfterMs));
  return { 'retry-after': String(Math.ceil(ms / 1000)), 'retry-after-ms': String(ms) };
}

/**
 * The one place errors become HTTP answers: validation → 400 naming the field, oversize → 413,
 * malformed JSON → 400, unknown model → 404, quota or backpressure → 429 with retry-after,
 * Redis away → 503 with retry-after; anything else
 * is logged and answered 500 without internals.
 */
export function installErrorHandler(app: FastifyInstance, logger: Logger): void {
  app.setErrorHandler(
    (
      error: FastifyError & {
        validation?: Array<{
          instancePath: string;
          message?: string;
          keyword: string;
          params: Record<string, unknown>;
        }>;
      },
      request,
      reply,
    ) => {
      if (error instanceof ApiError) {
        return reply
          .status(error.status)
          .headers(error.headers)
          .send(errorBody(error.message, error.type, error.code, error.param));
      }
      if (error.validation?.length) {
        const v = error.validation[0]!;
        const missing = v.keyword === 'required' ? String(v.params.missingProperty) : undefined;
        const param = fieldPath(v.instancePath, missing);
        const message = missing
          ? `Missing required parameter: \`${param}\`.`
          : v.keyword === 'additionalProperties'
            ? `Unrecognized parameter \`${fieldPath(v.instancePath, String(v.params.additionalProperty))}\`.`
            : `Invalid value for \`${param || 'body'}\`: ${v.message ?? 'invalid'}.`;
        return reply
          .status(400)
          .send(
            errorBody(
              message,
              'invalid_request_error',
              missing ? 'missing_required_parameter' : 'invalid_value',
              param || null,
            ),
          );
      }
      if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        return reply
          .status(413)
          .send(
            errorBody(
              `Request body is larger than the ${request.routeOptions.bodyLimit ?? ''} byte limit.`,
              'invalid_request_error',
              'request_too_large',
            ),
          );
      }
      if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
        return reply
          .status(415)
          .send(errorBody('Content-Type must be application/json.', 'invalid_request_error', 'unsupported_media_type'));
      }
      if (
        error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ||
        error instanceof SyntaxError ||
        error.code === 'FST_ERR_CTP_INVALID_JSON_BODY'
      ) {
        return reply
          .status(400)
          .send(
            errorBody(
              `We could not parse the JSON body of your request: ${error.message}`,
              'invalid_request_error',
              'invalid_json',
            ),
          );
      }
      if (error instanceof CacheRequestError) {
        return reply.status(400).send(errorBody(error.message, 'invalid_request_error', 'invalid_value'));
      }
      if (isUnknownModelError(error)) {
        return reply.status(404).send(errorBody(error.message, 'invalid_request_error', 'model_not_found', 'model'));
      }
      if (isRoutingError(error) && error.status < 500) {
        return reply.status(error.status).send(errorBody(error.message, 'invalid_request_error', error.code));
      }
      if (isLimitsError(error) && (error.status < 500 || error.retryable)) {
        const headers = error.retryAfterMs === undefined ? {} : retryAfterHeaders(error.retryAfterMs);
        const { code, type } = clientError(error);
        return reply
          .status(error.status)
          .headers(headers)
          .send(errorBody(error.message, type, code));
      }
      if (isRedisUnavailable(error)) {
        return reply
          .status(503)
          .header('retry-after', '2')
          .send(
            errorBody(
              'Sluice cannot reach its Redis right now; retry shortly.',
              'service_unavailable',
              'redis_unavailable',
            ),
          );
      }
      if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
        return reply
          .status(error.statusCode)
          .send(errorBody(error.message, 'invalid_request_error', error.code ?? 'invalid_request'));
      }
      logger.error({ err: error, route: request.routeOptions.url }, 'unhandled error');
      return reply
        .status(500)
        .send(errorBody('Internal error; the request was not completed.', 'server_error', 'internal_error'));
    },
  );
  app.setNotFoundHandler((request, reply) => {
    reply
      .status(404)
      .send(
        errorBody(
          `Unknown endpoint ${request.method} ${request.url.split('?')[0]}.`,
          'invalid_request_error',
          'unknown_url',
        ),
      );
  });
}

/**
 * Node's HTTP parser refuses some requests before Fastify sees them (headers too large, a
 * malformed request line, a request timeout); Fastify's own answer has its body, not OpenAI's.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: import('node:net').Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, reason, body] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [
          431,
          'Request Header Fields Too Large',
          errorBody(
            'The request headers are larger than the server accepts; send fewer or shorter headers.',
            'invalid_request_error',
            'request_headers_too_large',
          ),
        ]
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [
            408,
            'Request Timeout',
            errorBody('The request was not received in time.', 'invalid_request_error', 'request_timeout'),
          ]
        : [
            400,
            'Bad Request',
            errorBody('The HTTP request could not be parsed.', 'invalid_request_error', 'bad_http_request'),
          ];
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
  const status =
    typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  const message =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? 'A path parameter of the URL is too long.'
      : error.code === 'FST_ERR_BAD_URL'
        ? 'The URL could not be decoded.'
        : error.message;
  void reply
    .status(status)
    .send(errorBody(message, 'invalid_request_error', status === 414 ? 'uri_too_long' : 'invalid_url'));
}
