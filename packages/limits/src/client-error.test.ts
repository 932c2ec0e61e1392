import { isSluiceError, toOpenAIError } from '@sluice/errors';
import { describe, expect, it } from 'vitest';
import {
  BackpressureError,
  CircuitOpenError,
  isLimitsError,
  isRateLimitedError,
  LimitsConfigError,
  QuotaExceededError,
  RateLimitedError,
} from './errors.ts';

describe('limits errors as clients see them', () => {
  it('gives each limits error one client code, status and type, whichever process reports it', () => {
    const limited = toOpenAIError(new RateLimitedError('d1', 'rpm', 1_000));
    expect(limited).toMatchObject({
      status: 429,
      body: { error: { code: 'rate_limited', type: 'rate_limit_error' } },
      headers: { 'retry-after': '1', 'retry-after-ms': '1000' },
    });
    expect(toOpenAIError(new CircuitOpenError('d1', 5_000))).toMatchObject({
      status: 503,
      body: { error: { code: 'circuit_open', type: 'service_unavailable' } },
    });
  });

  it('keeps the stable SLUICE_ERR_ codes and hides a configuration error behind internal_error', () => {
    expect(new RateLimitedError('d1', 'rpm', 1_000).code).toBe('SLUICE_ERR_RATE_LIMITED');
    const config = new LimitsConfigError('bad rpm `-1`');
    expect(config.code).toBe('SLUICE_ERR_LIMITS_CONFIG');
    expect(toOpenAIError(config)).toMatchObject({ status: 500, body: { error: { code: 'internal_error' } } });
    expect(toOpenAIError(config).body.error.message).not.toContain('rpm');
  });

  it('names quota and backpressure refusals as the API always has', () => {
    const quota = new QuotaExceededError('t', 'requests_per_minute', 60, 1_000);
    expect(quota.code).toBe('SLUICE_ERR_QUOTA_EXCEEDED');
    expect(toOpenAIError(quota).body.error).toMatchObject({ code: 'quota_exceeded', type: 'rate_limit_error' });
    const overloaded = new BackpressureError(10_000, 1_000, 500);
    expect(overloaded.code).toBe('SLUICE_ERR_OVERLOADED');
    expect(toOpenAIError(overloaded).body.error).toMatchObject({ code: 'overloaded', type: 'rate_limit_error' });
  });

  it('recognises an error of another copy of the module by its brand and code', () => {
    const original = new RateLimitedError('d1', 'rpm', 1_000);
    const foreign = Object.assign(new Error(original.message), {
      code: original.code,
      [Symbol.for('sluice.error')]: true,
    });
    expect(isSluiceError(foreign)).toBe(true);
    expect(isRateLimitedError(foreign)).toBe(true);
    expect(isLimitsError(foreign)).toBe(true);
    // A plain object that merely has the code is not one.
    expect(isRateLimitedError({ code: 'SLUICE_ERR_RATE_LIMITED' })).toBe(false);
  });
});
