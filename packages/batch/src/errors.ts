import { defineError, INVALID_REQUEST, isSluiceError, SluiceError, type ErrorDefinition } from '@sluice/errors';

const BATCH_OPTIONS = defineError({
  code: 'batch_options',
  status: 500,
  openaiType: 'server_error',
  expose: false,
  subsystem: '@sluice/batch',
  message: 'invalid batcher options',
});

/** Stable codes of `@sluice/batch` errors. */
export type BatchErrorCode = 'SLUICE_ERR_BATCH_OPTIONS' | 'SLUICE_ERR_BATCH_WINDOW';

/** Base class of `@sluice/batch` errors. */
export class BatchError extends SluiceError {
  override name: string = 'BatchError';
  /** Stable code. */
  declare readonly code: BatchErrorCode;
  constructor(code: BatchErrorCode, message: string, definition: ErrorDefinition, param?: string) {
    super(definition, message, { code, param: param ?? null });
  }
}

/** Options of a {@link Batcher} that cannot work. */
export class InvalidBatcherOptionsError extends BatchError {
  override name = 'InvalidBatcherOptionsError' as const;
  constructor(message: string) {
    super('SLUICE_ERR_BATCH_OPTIONS', message, BATCH_OPTIONS);
  }
}

/** A completion window or deadline a client sent that Sluice cannot honour (a 400). */
export class InvalidCompletionWindowError extends BatchError {
  override name = 'InvalidCompletionWindowError' as const;
  /** The header that carried it. */
  declare readonly param: string;
  constructor(message: string, param: string) {
    super('SLUICE_ERR_BATCH_WINDOW', message, INVALID_REQUEST, param);
  }
}

/** Type guard for {@link BatchError} (by code, so a second copy of this module still matches). */
export function isBatchError(error: unknown): error is BatchError {
  return error instanceof BatchError || (isSluiceError(error) && error.code.startsWith('SLUICE_ERR_BATCH_'));
}
