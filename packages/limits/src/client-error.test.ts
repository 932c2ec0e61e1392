import { describe, expect, it } from 'vitest';
import {
  BackpressureError,
  CircuitOpenError,
  clientError,
  LimitsConfigError,
  QuotaExceededError,
  RateLimitedError,
} from './errors.ts';

describe('clientError', () => {
  it('gives each limits error one client code and type, whichever process reports it', () => {
    expect(clientError(new RateLimitedError('d1', 'rpm', 1_000))).toEqual({
      code: 'rate_limited',
      type: 'rate_limit_error',
    });
    expect(clientError(new CircuitOpenError('d1', 5_000))).toEqual({
      code: 'circuit_open',
      type: 'service_unavailable',
    });
    expect(clientError(new LimitsConfigError('bad'))).toEqual({ code: 'limits_config', type: 'server_error' });
  });

  it('names quota and backpressure refusals as the API always has', () => {
    const quota = new QuotaExceededError('t', 'requests_per_minute', 60, 1_000);
    expect(clientError(quota)).toMatchObject({ code: 'quota_exceeded' });
    const overloaded = new BackpressureError(10_000, 1_000, 500);
    expect(clientError(overloaded)).toMatchObject({ code: 'overloaded', type: 'rate_limit_error' });
  });
});
