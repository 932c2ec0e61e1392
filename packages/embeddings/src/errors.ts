import { defineError, isSluiceError, SluiceError, type ErrorDefinition } from '@sluice/errors';

/** Stable codes of every error `@sluice/embeddings` throws. */
export type EmbeddingsErrorCode =
  'SLUICE_ERR_EMBEDDINGS_OPTIONS' | 'SLUICE_ERR_WORD_VECTORS_UNAVAILABLE' | 'SLUICE_ERR_WORD_VECTORS_FORMAT';

// Startup and provisioning failures: none reaches a client as itself.
const EMBEDDINGS_ERRORS: Record<EmbeddingsErrorCode, ErrorDefinition> = {
  SLUICE_ERR_EMBEDDINGS_OPTIONS: defineError({
    code: 'embeddings_options',
    status: 500,
    openaiType: 'server_error',
    expose: false,
    subsystem: '@sluice/embeddings',
    message: 'invalid embeddings options',
  }),
  SLUICE_ERR_WORD_VECTORS_UNAVAILABLE: defineError({
    code: 'word_vectors_unavailable',
    status: 503,
    openaiType: 'service_unavailable',
    retryable: true,
    expose: false,
    subsystem: '@sluice/embeddings',
    message: 'the word-vector model is not provisioned',
  }),
  SLUICE_ERR_WORD_VECTORS_FORMAT: defineError({
    code: 'word_vectors_format',
    status: 500,
    openaiType: 'server_error',
    expose: false,
    subsystem: '@sluice/embeddings',
    message: 'the word-vector model file is not in this version’s format',
  }),
};

/** Base class of the errors of `@sluice/embeddings`. */
export class EmbeddingsError extends SluiceError {
  override name: string = 'EmbeddingsError';
  declare readonly code: EmbeddingsErrorCode;

  constructor(message: string, options: { code: EmbeddingsErrorCode; cause?: unknown }) {
    super(EMBEDDINGS_ERRORS[options.code], message, { code: options.code, cause: options.cause });
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
    super(message, { code: 'SLUICE_ERR_WORD_VECTORS_UNAVAILABLE', cause });
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
  return error instanceof EmbeddingsError || (isSluiceError(error) && error.code in EMBEDDINGS_ERRORS);
}
