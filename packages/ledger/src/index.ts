export {
  createLedger,
  counterfactualCost,
  entryFromResult,
  ledgerIncrements,
  usageDays,
  toNanoUsd,
  fromNanoUsd,
  sumUsd,
  utcDay,
  MAX_USAGE_DAYS,
} from './ledger.ts';
export type {
  Ledger,
  LedgerEntry,
  LedgerOptions,
  CounterfactualInput,
  UsageReport,
  UsageFigures,
  TierUsage,
} from './ledger.ts';
export {
  LedgerError,
  InvalidLedgerOptionsError,
  InvalidUsageRangeError,
  isLedgerError,
  isInvalidUsageRangeError,
} from './errors.ts';
