/** Stable codes of every error `@sluice/embeddings` throws. */
export type EmbeddingsErrorCode =
  'SLUICE_ERR_EMBEDDINGS_OPTIONS' | 'SLUICE_ERR_WORD_VECTORS_UNAVAILABLE' | 'SLUICE_ERR_WORD_VECTORS_FORMAT';

/** Base class of the errors of `@sluice/embeddings`. */
export class EmbeddingsError extends Error {
  override name: string = 'EmbeddingsError';
  readonly code: EmbeddingsErrorCode;
  readonly retryable: boolean;

  constructor(message: string, options: { code: EmbeddingsErrorCode; retryable?: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.retryable = options.retryable ?? false;
  }
}

/** Invalid options (a programming or configuration error). */
export class EmbeddingsOptionsError extends EmbeddingsError {
  override name = 'EmbeddingsOptionsError' as const;
  constructor(message: string) {
    super(message, { code: 'SLUICE_ERR_EMBEDDINGS_OPTIONS' });
  }
}

/** The word-vector model is not provisioned and could not be (no registry, no disk). */
export class WordVectorsUnavailableError extends EmbeddingsError {
  override name = 'WordVectorsUnavailableError' as const;
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'SLUICE_ERR_WORD_VECTORS_UNAVAILABLE', retryable: true, cause });
  }
}

/** A model file is not in the format this version writes (truncated, or from another version). */
export class WordVectorsFormatError extends EmbeddingsError {
  override name = 'WordVectorsFormatError' as const;
  constructor(message: string) {
    super(message, { code: 'SLUICE_ERR_WORD_VECTORS_FORMAT' });
  }
}

/** True for any error thrown by `@sluice/embeddings`. */
export function isEmbeddingsError(error: unknown): error is EmbeddingsError {
  return error instanceof EmbeddingsError;
}
