/**
 * `@sluice/limits`: the global limiter shared by every executor process through Redis
 * (concurrency leases, exact sliding request and token windows, shared cooldowns, learned
 * limits, circuit breakers, deployment picking), per-tenant quotas, and backpressure.
 */
export { Limiter, createLimits, denialError, classify, WINDOW_MS } from './limiter.ts';
export { limitsFromConfig } from './from-config.ts';
export type { LimitsConfigSource, LimitsFromConfigOptions } from './from-config.ts';
export type {
  LimitsOptions,
  AdaptiveOptions,
  CircuitOptions,
  LimitedDeployment,
  AcquireRequest,
  AcquireResult,
  AcquireAnyResult,
  Lease,
  Denial,
  DenialReason,
  Usage,
  ReleaseResult,
  UpstreamResult,
  UpstreamOutcome,
  UpstreamVerdict,
  CircuitState,
  DeploymentLimitState,
} from './limiter.ts';
export { rankDeployments } from './picker.ts';
export type { PickResult, SkippedDeployment, RankOptions } from './picker.ts';
export { createTenantQuotas, utcDay } from './tenant-quotas.ts';
export type { TenantQuotas, TenantQuotasOptions, TenantQuotaLimits, TenantUsage } from './tenant-quotas.ts';
export { estimateWaitMs, checkBackpressure, createThroughputMeter } from './backpressure.ts';
export type { WaitEstimateInput, BackpressureInput, ThroughputMeter, ThroughputMeterOptions } from './backpressure.ts';
export { parseRateLimitHeaders, parseRetryAfter, parseResetDuration, readHeader } from './headers.ts';
export type { HeaderSource, RateLimitHeaders } from './headers.ts';
export { measureClockOffset } from './clock.ts';
export type { Clock, MeasureClockOffsetOptions } from './clock.ts';
export { deploymentKeys } from './keys.ts';
export type { DeploymentKeys } from './keys.ts';
export {
  LimitsError,
  LimitsConfigError,
  RateLimitedError,
  QuotaExceededError,
  CircuitOpenError,
  BackpressureError,
  isLimitsError,
  isRateLimitedError,
  isQuotaExceededError,
  isCircuitOpenError,
  isBackpressureError,
} from './errors.ts';
export type { LimitKind, QuotaKind } from './errors.ts';
export { PermitLine, PermitLines } from './permit-line.ts';
export { RunPlan, planPark, THROTTLE_FALLBACK_MS } from './run-plan.ts';
export type { RunStep, ParkStep, FailedCall, RunPlanOptions, ParkAction, ParkInput } from './run-plan.ts';
export type { PermitLineOptions, LineTurn, LineEntry } from './permit-line.ts';
