import { defineError, isSluiceError, SluiceError } from '@sluice/errors';

/** Which limit refused a permit. */
export type LimitKind = 'concurrency' | 'rpm' | 'tpm' | 'cooldown';

/** Which tenant quota was exceeded. */
export type QuotaKind = 'requests_per_minute' | 'tokens_per_day';

/** Client codes of `@sluice/limits`, registered once in `@sluice/errors`. */
export const LIMITS_ERRORS = {
  rateLimited: defineError({
    code: 'rate_limited',
    status: 429,
    openaiType: 'rate_limit_error',
    retryable: true,
    subsystem: '@sluice/limits',
    message: (deploymentId: string) => `deployment ${deploymentId} is rate limited`,
  }),
  quotaExceeded: defineError({
    code: 'quota_exceeded',
    status: 429,
    openaiType: 'rate_limit_error',
    retryable: true,
    subsystem: '@sluice/limits',
    message: (tenant: string) => `tenant ${tenant} exceeded its quota`,
  }),
  overloaded: defineError({
    code: 'overloaded',
    status: 429,
    openaiType: 'rate_limit_error',
    retryable: true,
    subsystem: '@sluice/limits',
    message: 'Sluice is overloaded; retry later',
  }),
  circuitOpen: defineError({
    code: 'circuit_open',
    status: 503,
    openaiType: 'service_unavailable',
    retryable: true,
    subsystem: '@sluice/limits',
    message: (deploymentId: string) => `deployment ${deploymentId} is failing; its circuit is open`,
  }),
  config: defineError({
    code: 'limits_config',
    status: 500,
    openaiType: 'server_error',
    expose: false,
    subsystem: '@sluice/limits',
    message: 'invalid limits options',
  }),
} as const;

/** Base class of every error `@sluice/limits` throws. */
export class LimitsError extends SluiceError {
  override name: string = 'LimitsError';
}

/** Options of `createLimits` and friends were invalid; the message names the bad value. */
export class LimitsConfigError extends LimitsError {
  override name = 'LimitsConfigError' as const;
  constructor(message: string) {
    super(LIMITS_ERRORS.config, message);
  }
}

/**
 * No permit for a deployment right now: a concurrency, request or token limit is used up, or
 * the deployment is cooling down after a 429. Waiting `retryAfterMs` (or failing over) helps.
 */
export class RateLimitedError extends LimitsError {
  override name = 'RateLimitedError' as const;
  /** How long to wait before trying again (ms). */
  declare readonly retryAfterMs: number;
  /** The limit that refused. */
  readonly limit: LimitKind;
  /** The deployment that refused. */
  readonly deploymentId: string;

  constructor(
    deploymentId: string,
    limit: LimitKind,
    retryAfterMs: number,
    options: { message?: string; cause?: unknown } = {},
  ) {
    super(
      LIMITS_ERRORS.rateLimited,
      options.message ??
        `deployment ${deploymentId} is rate limited (${describeLimit(limit)}); retry in ${retryAfterMs} ms`,
      { retryAfterMs, cause: options.cause },
    );
    this.limit = limit;
    this.deploymentId = deploymentId;
  }
}

/** A tenant used up one of its quotas; the message names the quota and its value. */
export class QuotaExceededError extends LimitsError {
  override name = 'QuotaExceededError' as const;
  /** How long to wait before trying again (ms). */
  declare readonly retryAfterMs: number;
  readonly tenant: string;
  /** Which quota. */
  readonly quota: QuotaKind;
  /** The quota's value (requests per minute or tokens per day). */
  readonly limit: number;

  constructor(tenant: string, quota: QuotaKind, limit: number, retryAfterMs: number) {
    super(
      LIMITS_ERRORS.quotaExceeded,
      `tenant ${tenant} exceeded its quota of ${limit} ${quota === 'requests_per_minute' ? 'requests per minute' : 'tokens per day'}`,
      { retryAfterMs },
    );
    this.tenant = tenant;
    this.quota = quota;
    this.limit = limit;
  }
}

/** A deployment's circuit is open (or its one half-open probe is in flight). */
export class CircuitOpenError extends LimitsError {
  override name = 'CircuitOpenError' as const;
  /** How long to wait before trying again (ms). */
  declare readonly retryAfterMs: number;
  readonly deploymentId: string;

  constructor(deploymentId: string, retryAfterMs: number) {
    super(
      LIMITS_ERRORS.circuitOpen,
      `deployment ${deploymentId} is failing; its circuit is open, retry in ${retryAfterMs} ms`,
      { retryAfterMs },
    );
    this.deploymentId = deploymentId;
  }
}

/** The expected queue wait exceeds the configured bound: answer 429 instead of queueing. */
export class BackpressureError extends LimitsError {
  override name = 'BackpressureError' as const;
  /** How long to wait before trying again (ms). */
  declare readonly retryAfterMs: number;
  /** The wait a new job would face, in ms (`Infinity` when nothing completes). */
  readonly expectedWaitMs: number;
  /** The bound it exceeded. */
  readonly maxWaitMs: number;

  constructor(expectedWaitMs: number, maxWaitMs: number, retryAfterMs: number) {
    const expected = Number.isFinite(expectedWaitMs) ? `${Math.round(expectedWaitMs / 1000)} s` : 'unbounded';
    super(
      LIMITS_ERRORS.overloaded,
      `Sluice is overloaded: the expected wait (${expected}) exceeds ${Math.round(maxWaitMs / 1000)} s; retry later`,
      { retryAfterMs },
    );
    this.expectedWaitMs = expectedWaitMs;
    this.maxWaitMs = maxWaitMs;
  }
}

function describeLimit(limit: LimitKind): string {
  switch (limit) {
    case 'concurrency':
      return 'concurrent requests';
    case 'rpm':
      return 'requests per minute';
    case 'tpm':
      return 'tokens per minute';
    case 'cooldown':
      return 'cooling down after the provider throttled it';
  }
}

const LIMITS_CODES: ReadonlySet<string> = new Set(Object.values(LIMITS_ERRORS).map((d) => d.sluiceCode));

// The guards also accept errors from another copy of this module (two installs in one
// process), which `instanceof` alone would miss: the `@sluice/errors` brand, then the stable code.
function hasCode(error: unknown, code: string): boolean {
  return isSluiceError(error) && error.code === code;
}

/** True for any error thrown by `@sluice/limits`. */
export function isLimitsError(error: unknown): error is LimitsError {
  return error instanceof LimitsError || (isSluiceError(error) && LIMITS_CODES.has(error.code));
}

/** True for {@link RateLimitedError}. */
export function isRateLimitedError(error: unknown): error is RateLimitedError {
  return error instanceof RateLimitedError || hasCode(error, LIMITS_ERRORS.rateLimited.sluiceCode);
}

/** True for {@link QuotaExceededError}. */
export function isQuotaExceededError(error: unknown): error is QuotaExceededError {
  return error instanceof QuotaExceededError || hasCode(error, LIMITS_ERRORS.quotaExceeded.sluiceCode);
}

/** True for {@link CircuitOpenError}. */
export function isCircuitOpenError(error: unknown): error is CircuitOpenError {
  return error instanceof CircuitOpenError || hasCode(error, LIMITS_ERRORS.circuitOpen.sluiceCode);
}

/** True for {@link BackpressureError}. */
export function isBackpressureError(error: unknown): error is BackpressureError {
  return error instanceof BackpressureError || hasCode(error, LIMITS_ERRORS.overloaded.sluiceCode);
}
