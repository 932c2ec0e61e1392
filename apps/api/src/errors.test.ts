import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { toErrorRecord } from '@sluice/errors';
import { LimitsConfigError, QuotaExceededError, RateLimitedError } from '@sluice/limits';
import { UpstreamError } from '@sluice/llm';
import { RedisOfflineError } from '@sluice/redis';
import { UnknownModelError } from '@sluice/routing';
import { createLogger } from '@sluice/telemetry';
import { ApiError, installErrorHandler } from './errors.ts';
import { jobError } from './pipeline.ts';

/** An app whose one route throws what the test hands it; the logged lines are kept. */
function appThrowing(error: unknown) {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const app = Fastify();
  installErrorHandler(app, createLogger({ serviceName: 'test', destination }));
  app.post(
    '/throw',
    { schema: { body: { type: 'object', required: ['model'], properties: { model: { type: 'string' } } } } },
    async () => {
      throw error;
    },
  );
  return { app, lines };
}

describe('installErrorHandler', () => {
  it('answers each Sluice error with its registered code, status, type and retry-after', async () => {
    const cases: Array<[unknown, number, string, string]> = [
      [new RateLimitedError('d1', 'rpm', 1_500), 429, 'rate_limited', 'rate_limit_error'],
      [new QuotaExceededError('t', 'requests_per_minute', 60, 2_000), 429, 'quota_exceeded', 'rate_limit_error'],
      [new UnknownModelError('gpt-9', []), 404, 'model_not_found', 'invalid_request_error'],
      [new RedisOfflineError('subscriber offline'), 503, 'redis_unavailable', 'service_unavailable'],
      [
        new UpstreamError('Upstream answered 422: no', 'bad_request', 'd1', 422, undefined, {}),
        400,
        'upstream_bad_request',
        'invalid_request_error',
      ],
      [
        new UpstreamError('Upstream answered 503', 'server_error', 'd1', 503, undefined, {}),
        502,
        'upstream_server_error',
        'upstream_error',
      ],
      [new ApiError('job_finished', 'already done'), 409, 'job_finished', 'invalid_request_error'],
    ];
    for (const [error, status, code, type] of cases) {
      const { app } = appThrowing(error);
      const res = await app.inject({ method: 'POST', url: '/throw', payload: { model: 'x' } });
      expect(res.statusCode, code).toBe(status);
      expect(res.json().error, code).toMatchObject({ code, type, message: (error as Error).message });
      // The executor stores the same record for the same error; the API relays it unchanged.
      expect(toErrorRecord(error), code).toMatchObject({ code, type, status });
      const relayed = await appThrowing(jobError('job1', toErrorRecord(error))).app.inject({
        method: 'POST',
        url: '/throw',
        payload: { model: 'x' },
      });
      expect([relayed.statusCode, relayed.json().error.code], code).toEqual([status, code]);
    }
    const { app } = appThrowing(new RateLimitedError('d1', 'rpm', 1_500));
    const res = await app.inject({ method: 'POST', url: '/throw', payload: { model: 'x' } });
    expect(res.headers['retry-after']).toBe('2');
    expect(res.headers['retry-after-ms']).toBe('1500');
  });

  it('answers unknown and startup-only errors 500 internal_error without their message, and logs them', async () => {
    for (const error of [new Error('secret=hunter2'), new LimitsConfigError('secret rpm')]) {
      const { app, lines } = appThrowing(error);
      const res = await app.inject({ method: 'POST', url: '/throw', payload: { model: 'x' } });
      expect(res.statusCode).toBe(500);
      expect(res.json().error).toMatchObject({ code: 'internal_error', type: 'server_error' });
      expect(res.body).not.toContain('secret');
      expect(lines.join('')).toContain('unhandled error');
    }
  });

  it('answers schema validation with 400 naming the field', async () => {
    const { app } = appThrowing(new Error('unreached'));
    const res = await app.inject({ method: 'POST', url: '/throw', payload: {} });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'missing_required_parameter', param: 'model' });
  });

  it('refuses to build an ApiError with a code the registry does not list', () => {
    expect(() => new ApiError('not_a_registered_code', 'x')).toThrow(/not registered/);
  });
});
