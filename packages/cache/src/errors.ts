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

/** Base class of the errors of `@sluice/cache`. */
export class CacheError extends Error {
  override name: string = 'CacheError';
  readonly code: CacheErrorCode;
  readonly retryable: boolean;

  constructor(message: string, options: CacheErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.retryable = options.retryable ?? false;
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
  readonly status: number | undefined;

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
    this.status = options.status;
  }
}

/** True for any error thrown by `@sluice/cache`. */
export function isCacheError(error: unknown): error is CacheError {
  return error instanceof CacheError;
}

/** True when embedding failed (the caller may go on without the semantic level). */
export function isEmbeddingError(error: unknown): error is EmbeddingError {
  return error instanceof EmbeddingError;
}
