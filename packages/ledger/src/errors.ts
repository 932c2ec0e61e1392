import {
  defineError,
  INVALID_VALUE,
  isSluiceError,
  SluiceError,
  type ErrorDefinition,
  type SluiceErrorOptions,
} from '@sluice/errors';

/** Codes of `@sluice/ledger` errors, registered once in `@sluice/errors`; none reaches a client as itself. */
const LEDGER_ERRORS = {
  failed: defineError({
    code: 'ledger_error',
    status: 500,
    openaiType: 'server_error',
    expose: false,
    sluiceCode: 'SLUICE_ERR_LEDGER',
    subsystem: '@sluice/ledger',
    message: 'the ledger failed',
  }),
  options: defineError({
    code: 'ledger_options',
    status: 500,
    openaiType: 'server_error',
    expose: false,
    subsystem: '@sluice/ledger',
    message: 'invalid ledger options',
  }),
} as const;

/** Base class of every error `@sluice/ledger` throws. Callers branch on `code`. */
export class LedgerError extends SluiceError {
  override name: string = 'LedgerError';

  constructor(message: string, options?: SluiceErrorOptions, definition: ErrorDefinition = LEDGER_ERRORS.failed) {
    super(definition, message, options);
  }
}

/** Options handed to a ledger factory or function are invalid; the message names the field. */
export class InvalidLedgerOptionsError extends LedgerError {
  override name = 'InvalidLedgerOptionsError' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options, LEDGER_ERRORS.options);
  }
}

/** A usage range the caller asked for is invalid (a 400 naming the query parameter). */
export class InvalidUsageRangeError extends LedgerError {
  override name = 'InvalidUsageRangeError' as const;
  /** Query parameter at fault (`from` or `to`). */
  declare readonly param: string;

  constructor(message: string, param: string) {
    // An invalid range is an invalid field value: the same 400 `invalid_value` as any other.
    super(message, { param, code: 'SLUICE_ERR_USAGE_RANGE' }, INVALID_VALUE);
  }
}

/** Whether an error came from `@sluice/ledger`. */
export function isLedgerError(error: unknown): error is LedgerError {
  return error instanceof LedgerError || (isSluiceError(error) && error.code.startsWith('SLUICE_ERR_LEDGER'));
}

/** Whether an error is an invalid usage range (answer 400). */
export function isInvalidUsageRangeError(error: unknown): error is InvalidUsageRangeError {
  return error instanceof InvalidUsageRangeError || (isSluiceError(error) && error.code === 'SLUICE_ERR_USAGE_RANGE');
}
