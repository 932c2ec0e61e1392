import { defineError, INVALID_VALUE, isSluiceError, SluiceError, type ErrorDefinition } from '@sluice/errors';

/** Stable codes of every error `@sluice/cache` throws. */
export type CacheErrorCode =
  'SLUICE_ERR_CACHE_OPTIONS' | 'SLUICE_ERR_CACHE_REQUEST' | 'SLUICE_ERR_EMBEDDING' | 'SLUICE_ERR_EMBEDDING_DIMENSIONS';

/** Options every {@link CacheError} takes. */
export interface CacheErrorOptions {
  code: CacheErrorCode;
  /** Whether trying the same call again later may succeed. @defaultValue false */
  retryable?: boolean;
  cause?: unknown;
}

/** Client codes of `@sluice/cache` (none is exposed but `invalid_value`), registered once in `@sluice/errors`. */
const CACHE_ERRORS = {
  options: defineError({
    code: 'cache_options',
    status: 500,
    openaiType: 'server_error',
    expose: false,
    subsystem: '@sluice/cache',
    message: 'invalid cache options',
  }),
  // The caller goes on without the semantic level; it never reaches a client by itself.
  embedding: defineError({
    code: 'embedding_failed',
    status: 502,
    openaiType: 'upstream_error',
    expose: false,
    sluiceCode: 'SLUICE_ERR_EMBEDDING',
    subsystem: '@sluice/cache',
    message: 'the embedding endpoint failed',
  }),
  embeddingRetryable: defineError({
    code: 'embedding_unavailable',
    status: 502,
    openaiType: 'upstream_error',
    retryable: true,
    expose: false,
    sluiceCode: 'SLUICE_ERR_EMBEDDING',
    subsystem: '@sluice/cache',
    message: 'the embedding endpoint failed',
  }),
} as const;

const DEFINITIONS: Record<CacheErrorCode, (retryable: boolean) => ErrorDefinition> = {
  SLUICE_ERR_CACHE_OPTIONS: () => CACHE_ERRORS.options,
  // A request the cache cannot use is the client's fault: the same 400 as any invalid field.
  SLUICE_ERR_CACHE_REQUEST: () => INVALID_VALUE,
  SLUICE_ERR_EMBEDDING: (retryable) => (retryable ? CACHE_ERRORS.embeddingRetryable : CACHE_ERRORS.embedding),
  SLUICE_ERR_EMBEDDING_DIMENSIONS: (retryable) =>
    retryable ? CACHE_ERRORS.embeddingRetryable : CACHE_ERRORS.embedding,
};

/** Base class of the errors of `@sluice/cache`. */
export class CacheError extends SluiceError {
  override name: string = 'CacheError';
  declare readonly code: CacheErrorCode;

  constructor(message: string, options: CacheErrorOptions) {
    super(DEFINITIONS[options.code](options.retryable ?? false), message, {
      code: options.code,
      cause: options.cause,
    });
  }
}

/** Invalid options passed to a constructor or factory of this package (a programming or config error). */
export class CacheOptionsError extends CacheError {
  override name = 'CacheOptionsError' as const;
  constructor(message: string) {
    super(message, { code: 'SLUICE_ERR_CACHE_OPTIONS' });
  }
}

/** A call's arguments cannot be used (e.g. an embedding of the wrong length). */
export class CacheRequestError extends CacheError {
  override name = 'CacheRequestError' as const;
  constructor(message: string) {
    super(message, { code: 'SLUICE_ERR_CACHE_REQUEST' });
  }
}

/** The embedding endpoint failed or answered something unusable. */
export class EmbeddingError extends CacheError {
  override name = 'EmbeddingError' as const;
  /** HTTP status of the endpoint's answer, when there was one. */
  readonly upstreamStatus: number | undefined;

  constructor(
    message: string,
    options: {
      code?: 'SLUICE_ERR_EMBEDDING' | 'SLUICE_ERR_EMBEDDING_DIMENSIONS';
      status?: number;
      retryable?: boolean;
      cause?: unknown;
    },
  ) {
    super(message, {
      code: options.code ?? 'SLUICE_ERR_EMBEDDING',
      retryable: options.retryable ?? false,
      cause: options.cause,
    });
    this.upstreamStatus = options.status;
  }
}

/** True for any error thrown by `@sluice/cache`. */
export function isCacheError(error: unknown): error is CacheError {
  return error instanceof CacheError || (isSluiceError(error) && error.code in DEFINITIONS);
}

/** True when embedding failed (the caller may go on without the semantic level). */
export function isEmbeddingError(error: unknown): error is EmbeddingError {
  return error instanceof EmbeddingError;
}
