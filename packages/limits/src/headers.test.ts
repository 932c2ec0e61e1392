import { describe, expect, it } from 'vitest';
import { parseRateLimitHeaders, parseResetDuration, parseRetryAfter, readHeader } from './headers.ts';
import { classify } from './limiter.ts';

describe('rate-limit headers', () => {
  it('parses reset durations as OpenAI and the simulator write them', () => {
    expect(parseResetDuration('120ms')).toBe(120);
    expect(parseResetDuration('1s')).toBe(1_000);
    expect(parseResetDuration('17.28s')).toBe(17_280);
    expect(parseResetDuration('6m0s')).toBe(360_000);
    expect(parseResetDuration('1h2m3.5s')).toBe(3_723_500);
    expect(parseResetDuration('2')).toBe(2_000);
    expect(parseResetDuration('soon')).toBeUndefined();
    expect(parseResetDuration('5s later')).toBeUndefined();
    expect(parseResetDuration('')).toBeUndefined();
  });

  it('reads retry-after-ms, then retry-after in seconds or as a date', () => {
    const now = Date.UTC(2025, 0, 15, 12, 0, 0);
    expect(parseRetryAfter({ 'retry-after': '3', 'retry-after-ms': '2500' }, now)).toBe(2_500);
    expect(parseRetryAfter({ 'Retry-After': '3' }, now)).toBe(3_000);
    expect(parseRetryAfter(new Headers({ 'retry-after': 'Wed, 15 Jan 2025 12:00:30 GMT' }), now)).toBe(30_000);
    expect(parseRetryAfter({ 'retry-after': ['4', '9'] }, now)).toBe(4_000);
    expect(parseRetryAfter({}, now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('reads every x-ratelimit header from a Headers object or a plain record', () => {
    const raw = {
      'x-ratelimit-limit-requests': '600',
      'x-ratelimit-remaining-requests': '0',
      'x-ratelimit-reset-requests': '59.9s',
      'x-ratelimit-limit-tokens': '150000',
      'x-ratelimit-remaining-tokens': '149000',
      'x-ratelimit-reset-tokens': '400ms',
      'retry-after': '1',
    };
    const expected = {
      limitRequests: 600,
      remainingRequests: 0,
      resetRequestsMs: 59_900,
      limitTokens: 150_000,
      remainingTokens: 149_000,
      resetTokensMs: 400,
      retryAfterMs: 1_000,
    };
    expect(parseRateLimitHeaders(raw, 0)).toEqual(expected);
    expect(parseRateLimitHeaders(new Headers(raw), 0)).toEqual(expected);
    expect(parseRateLimitHeaders({ 'x-ratelimit-limit-requests': 'lots' }, 0)).toEqual({});
    expect(readHeader({ 'X-Thing': 5 }, 'x-thing')).toBe('5');
  });
});

describe('classify', () => {
  it('judges upstream results', () => {
    expect(classify({ status: 200 })).toBe('success');
    expect(classify({ status: 429 })).toBe('throttled');
    expect(classify({ status: 500 })).toBe('failure');
    expect(classify({ status: 529 })).toBe('failure');
    expect(classify({ status: 408 })).toBe('failure');
    expect(classify({ status: 401 })).toBe('failure');
    expect(classify({ status: 400 })).toBe('rejected');
    expect(classify({ status: 413 })).toBe('rejected');
    expect(classify({ error: 'timeout' })).toBe('failure');
    expect(classify({})).toBe('failure');
  });
});
