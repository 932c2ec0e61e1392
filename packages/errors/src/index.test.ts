import { describe, expect, it } from 'vitest';
import {
  defineError,
  errorDefinition,
  INTERNAL_ERROR,
  isSluiceError,
  SluiceError,
  toErrorRecord,
  toOpenAIError,
} from './index.ts';

const TEAPOT = defineError({
  code: 'test_teapot',
  status: 418,
  openaiType: 'invalid_request_error',
  subsystem: 'test',
  message: (what: string) => `I am a teapot, not ${what}`,
});
const HIDDEN = defineError({
  code: 'test_hidden',
  status: 500,
  openaiType: 'server_error',
  expose: false,
  subsystem: 'test',
  message: 'secret internals',
});
const SLOW = defineError({
  code: 'test_slow',
  status: 429,
  openaiType: 'rate_limit_error',
  retryable: true,
  sluiceCode: 'SLUICE_ERR_SLOW_DOWN',
  subsystem: 'test',
  message: 'slow down',
});

describe('defineError', () => {
  it('registers the definition and fills defaults', () => {
    expect(errorDefinition('test_teapot')).toBe(TEAPOT);
    expect(TEAPOT).toMatchObject({ retryable: false, expose: true, sluiceCode: 'SLUICE_ERR_TEST_TEAPOT' });
    expect(TEAPOT.format('a kettle')).toBe('I am a teapot, not a kettle');
    expect(Object.isFrozen(TEAPOT)).toBe(true);
  });

  it('throws when a code is defined twice', () => {
    expect(() =>
      defineError({
        code: 'test_teapot',
        status: 400,
        openaiType: 'invalid_request_error',
        subsystem: 'x',
        message: 'x',
      }),
    ).toThrow(/`test_teapot` is defined twice \(first by test\)/);
  });

  it('refuses a status outside 4xx/5xx, an unknown type and a code that is not snake_case', () => {
    const base = { openaiType: 'server_error', subsystem: 'x', message: 'x' } as const;
    expect(() => defineError({ ...base, code: 'test_ok', status: 302 })).toThrow(/400\.\.599, got `302`/);
    expect(() => defineError({ ...base, code: 'Test-Bad', status: 500 })).toThrow(/snake_case, got `Test-Bad`/);
    expect(() =>
      defineError({ ...base, code: 'test_type', status: 500, openaiType: 'nope' as 'server_error' }),
    ).toThrow(/Unknown `openaiType` `nope`/);
    expect(errorDefinition('test_ok')).toBeUndefined();
  });
});

describe('SluiceError', () => {
  it('carries the definition’s code, status, type and retryability', () => {
    const error = new SluiceError(SLOW, undefined, { retryAfterMs: 1_500, param: 'model' });
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      message: 'slow down',
      code: 'SLUICE_ERR_SLOW_DOWN',
      clientCode: 'test_slow',
      status: 429,
      openaiType: 'rate_limit_error',
      retryable: true,
      retryAfterMs: 1_500,
      param: 'model',
    });
  });

  it('is recognised by isSluiceError, also when made by another copy of the module', () => {
    expect(isSluiceError(new SluiceError(TEAPOT, 'x'))).toBe(true);
    // What a second install's instance looks like: same Symbol.for brand, another prototype chain.
    const foreign = Object.assign(new Error('x'), { [Symbol.for('sluice.error')]: true });
    expect(isSluiceError(foreign)).toBe(true);
    expect(isSluiceError(Object.assign(new Error('x'), { code: 'SLUICE_ERR_TEST_TEAPOT' }))).toBe(false);
    expect(isSluiceError(null)).toBe(false);
    expect(isSluiceError('SluiceError')).toBe(false);
  });
});

describe('toOpenAIError', () => {
  it('answers an exposed error with its status, OpenAI body and retry-after', () => {
    expect(toOpenAIError(new SluiceError(SLOW, 'wait', { retryAfterMs: 1_200, headers: { 'x-a': 'b' } }))).toEqual({
      status: 429,
      body: { error: { message: 'wait', type: 'rate_limit_error', code: 'test_slow', param: null } },
      headers: { 'retry-after': '2', 'retry-after-ms': '1200', 'x-a': 'b' },
      internal: false,
    });
  });

  it('answers unknown errors and unexposed ones with a 500 internal_error that leaks nothing', () => {
    for (const error of [new Error('password=hunter2'), new SluiceError(HIDDEN), 'boom', undefined, { code: 'x' }]) {
      const answer = toOpenAIError(error);
      expect(answer).toEqual({
        status: 500,
        body: {
          error: { message: INTERNAL_ERROR.format(), type: 'server_error', code: 'internal_error', param: null },
        },
        headers: {},
        internal: true,
      });
    }
  });

  it('gives workers the same record the API would answer with', () => {
    expect(toErrorRecord(new SluiceError(TEAPOT, TEAPOT.format('a cup'), { param: 'x' }))).toEqual({
      message: 'I am a teapot, not a cup',
      type: 'invalid_request_error',
      code: 'test_teapot',
      param: 'x',
      status: 418,
    });
  });
});
