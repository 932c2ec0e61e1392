/** Base class of every error `@sluice/ledger` throws. Callers branch on `code`. */
export class LedgerError extends Error {
  override name: string = 'LedgerError';
  /** Stable machine-readable code. */
  readonly code: string = 'SLUICE_ERR_LEDGER';
  /** HTTP status the API should answer with. */
  readonly status: number = 500;
  /** Whether retrying the same call can succeed. */
  readonly retryable: boolean = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Options handed to a ledger factory or function are invalid; the message names the field. */
export class InvalidLedgerOptionsError extends LedgerError {
  override name = 'InvalidLedgerOptionsError' as const;
  override readonly code = 'SLUICE_ERR_LEDGER_OPTIONS';
}

/** A usage range the caller asked for is invalid (a 400 naming the query parameter). */
export class InvalidUsageRangeError extends LedgerError {
  override name = 'InvalidUsageRangeError' as const;
  override readonly code = 'SLUICE_ERR_USAGE_RANGE';
  override readonly status = 400;
  /** Query parameter at fault (`from` or `to`). */
  readonly param: string;

  constructor(message: string, param: string) {
    super(message);
    this.param = param;
  }
}

/** Whether an error came from `@sluice/ledger`. */
export function isLedgerError(error: unknown): error is LedgerError {
  return error instanceof LedgerError;
}

/** Whether an error is an invalid usage range (answer 400). */
export function isInvalidUsageRangeError(error: unknown): error is InvalidUsageRangeError {
  return error instanceof InvalidUsageRangeError;
}
