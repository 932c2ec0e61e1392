/** Which limit refused a permit. */
export type LimitKind = 'concurrency' | 'rpm' | 'tpm' | 'cooldown';

/** Which tenant quota was exceeded. */
export type QuotaKind = 'requests_per_minute' | 'tokens_per_day';

/** What every {@link LimitsError} carries so a caller can act on it without parsing messages. */
export interface LimitsErrorOptions {
  /** Stable machine-readable code, e.g. `SLUICE_ERR_RATE_LIMITED`. */
  code: string;
  /** HTTP status the API answers with. */
  status: number;
  /** Whether trying again later can succeed. */
  retryable: boolean;
  /** How long to wait before trying again, when known. */
  retryAfterMs?: number;
  cause?: unknown;
}

/** Base class of every error `@sluice/limits` throws. */
export class LimitsError extends Error {
  override name: string = 'LimitsError';
  /** Stable machine-readable code. */
  readonly code: string;
  /** HTTP status the API answers with. */
  readonly status: number;
  /** Whether trying again later can succeed. */
  readonly retryable: boolean;
  /** How long to wait before trying again; `undefined` when unknown. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: LimitsErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.status = options.status;
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Options of `createLimits` and friends were invalid; the message names the bad value. */
export class LimitsConfigError extends LimitsError {
  override name = 'LimitsConfigError' as const;
  constructor(message: string) {
    super(message, { code: 'SLUICE_ERR_LIMITS_CONFIG', status: 500, retryable: false });
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
      options.message ??
        `deployment ${deploymentId} is rate limited (${describeLimit(limit)}); retry in ${retryAfterMs} ms`,
      {
        code: 'SLUICE_ERR_RATE_LIMITED',
        status: 429,
        retryable: true,
        retryAfterMs,
        cause: options.cause,
      },
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
      `tenant ${tenant} exceeded its quota of ${limit} ${quota === 'requests_per_minute' ? 'requests per minute' : 'tokens per day'}`,
      {
        code: 'SLUICE_ERR_QUOTA_EXCEEDED',
        status: 429,
        retryable: true,
        retryAfterMs,
      },
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
    super(`deployment ${deploymentId} is failing; its circuit is open, retry in ${retryAfterMs} ms`, {
      code: 'SLUICE_ERR_CIRCUIT_OPEN',
      status: 503,
      retryable: true,
      retryAfterMs,
    });
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
      `Sluice is overloaded: the expected wait (${expected}) exceeds ${Math.round(maxWaitMs / 1000)} s; retry later`,
      {
        code: 'SLUICE_ERR_OVERLOADED',
        status: 429,
        retryable: true,
        retryAfterMs,
      },
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

const LIMITS_CODES = new Set([
  'SLUICE_ERR_RATE_LIMITED',
  'SLUICE_ERR_QUOTA_EXCEEDED',
  'SLUICE_ERR_CIRCUIT_OPEN',
  'SLUICE_ERR_OVERLOADED',
  'SLUICE_ERR_LIMITS_CONFIG',
]);

// The guards also accept errors from another copy of this module (two installs in one
// process), which `instanceof` alone would miss, by checking the stable code.
function hasCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

/** True for any error thrown by `@sluice/limits`. */
export function isLimitsError(error: unknown): error is LimitsError {
  if (error instanceof LimitsError) return true;
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && LIMITS_CODES.has(code);
}

/** True for {@link RateLimitedError}. */
export function isRateLimitedError(error: unknown): error is RateLimitedError {
  return error instanceof RateLimitedError || hasCode(error, 'SLUICE_ERR_RATE_LIMITED');
}

/** True for {@link QuotaExceededError}. */
export function isQuotaExceededError(error: unknown): error is QuotaExceededError {
  return error instanceof QuotaExceededError || hasCode(error, 'SLUICE_ERR_QUOTA_EXCEEDED');
}

/** True for {@link CircuitOpenError}. */
export function isCircuitOpenError(error: unknown): error is CircuitOpenError {
  return error instanceof CircuitOpenError || hasCode(error, 'SLUICE_ERR_CIRCUIT_OPEN');
}

/** True for {@link BackpressureError}. */
export function isBackpressureError(error: unknown): error is BackpressureError {
  return error instanceof BackpressureError || hasCode(error, 'SLUICE_ERR_OVERLOADED');
}

/**
 * How a limits error reaches a client, the same from the API (answered at once) and from the
 * executor (a job that failed with it): the OpenAI-style `code` and `type`. The status is the
 * error's own.
 */
export function clientError(error: LimitsError): {
  code: string;
  type: 'rate_limit_error' | 'invalid_request_error' | 'service_unavailable' | 'server_error';
} {
  const code = isQuotaExceededError(error)
    ? 'quota_exceeded'
    : isBackpressureError(error)
      ? 'overloaded'
      : error.code.replace(/^SLUICE_ERR_/, '').toLowerCase();
  if (error.status === 429) return { code, type: 'rate_limit_error' };
  if (error.status < 500) return { code, type: 'invalid_request_error' };
  return { code, type: error.retryable ? 'service_unavailable' : 'server_error' };
}
