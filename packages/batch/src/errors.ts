/** Stable codes of `@sluice/batch` errors. */
export type BatchErrorCode = 'SLUICE_ERR_BATCH_OPTIONS' | 'SLUICE_ERR_BATCH_WINDOW';

/** Base class of `@sluice/batch` errors. */
export class BatchError extends Error {
  override name: string = 'BatchError';
  /** Stable code. */
  readonly code: BatchErrorCode;
  /** HTTP status when the error reaches a client. */
  readonly status: number;
  constructor(code: BatchErrorCode, message: string, status: number) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/** Options of a {@link Batcher} that cannot work. */
export class InvalidBatcherOptionsError extends BatchError {
  override name = 'InvalidBatcherOptionsError' as const;
  constructor(message: string) {
    super('SLUICE_ERR_BATCH_OPTIONS', message, 500);
  }
}

/** A completion window or deadline a client sent that Sluice cannot honour (a 400). */
export class InvalidCompletionWindowError extends BatchError {
  override name = 'InvalidCompletionWindowError' as const;
  /** The header that carried it. */
  readonly param: string;
  constructor(message: string, param: string) {
    super('SLUICE_ERR_BATCH_WINDOW', message, 400);
    this.param = param;
  }
}

/** Type guard for {@link BatchError} (by code, so a second copy of this module still matches). */
export function isBatchError(error: unknown): error is BatchError {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === 'string' && code.startsWith('SLUICE_ERR_BATCH_');
}
