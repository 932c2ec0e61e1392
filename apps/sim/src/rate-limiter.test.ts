import { describe, expect, it } from 'vitest';
import { SlidingWindowRateLimiter, formatResetDuration, rateLimitHeaders } from './rate-limiter.ts';

describe('SlidingWindowRateLimiter', () => {
  it('refuses the request over rpm and frees the slot exactly 60 s after the oldest grant', () => {
    const limiter = new SlidingWindowRateLimiter();
    const limits = { rpm: 2, tpm: 0 };
    expect(limiter.tryAcquire(1_000, 1, limits).ok).toBe(true);
    expect(limiter.tryAcquire(5_000, 1, limits).ok).toBe(true);

    const refused = limiter.tryAcquire(10_000, 1, limits);
    expect(refused).toMatchObject({ ok: false, limit: 'requests', retryAfterMs: 51_000, used: 2, limitValue: 2 });
    // Refusals leave no trace: the window still frees at 61 s, not later.
    expect(limiter.tryAcquire(60_999, 1, limits).ok).toBe(false);
    expect(limiter.tryAcquire(61_000, 1, limits).ok).toBe(true);
    expect(limiter.tryAcquire(61_000, 1, limits)).toMatchObject({ ok: false, retryAfterMs: 4_000 });
  });

  it('counts tokens in the window and says when enough expire', () => {
    const limiter = new SlidingWindowRateLimiter();
    const limits = { rpm: 0, tpm: 1_000 };
    expect(limiter.tryAcquire(0, 600, limits).ok).toBe(true);
    expect(limiter.tryAcquire(10_000, 300, limits).ok).toBe(true);

    const refused = limiter.tryAcquire(20_000, 500, limits);
    expect(refused).toMatchObject({ ok: false, limit: 'tokens', used: 900, tooLarge: false, retryAfterMs: 40_000 });
    expect(limiter.tryAcquire(20_000, 100, limits).ok).toBe(true);
    expect(limiter.tryAcquire(60_000, 500, limits).ok).toBe(true);
  });

  it('flags a request larger than the whole token budget', () => {
    const limiter = new SlidingWindowRateLimiter();
    expect(limiter.tryAcquire(0, 5_000, { rpm: 0, tpm: 1_000 })).toMatchObject({
      ok: false,
      tooLarge: true,
      retryAfterMs: 60_000,
    });
  });

  it('reports remaining capacity and reset time in its snapshot', () => {
    const limiter = new SlidingWindowRateLimiter();
    const limits = { rpm: 10, tpm: 1_000 };
    limiter.tryAcquire(0, 100, limits);
    const granted = limiter.tryAcquire(30_000, 50, limits);
    expect(granted.snapshot).toEqual({
      limitRequests: 10,
      remainingRequests: 8,
      resetRequestsMs: 60_000,
      limitTokens: 1_000,
      remainingTokens: 850,
      resetTokensMs: 60_000,
    });
    expect(limiter.snapshot(70_000, limits)).toMatchObject({
      remainingRequests: 9,
      remainingTokens: 950,
      resetRequestsMs: 20_000,
    });
  });

  it('keeps up with a long run of grants (window compaction)', () => {
    const limiter = new SlidingWindowRateLimiter();
    const limits = { rpm: 600, tpm: 0 };
    let granted = 0;
    // 10 requests per second for 10 minutes: exactly 600 fit in any 60 s window.
    for (let at = 0; at < 600_000; at += 100) if (limiter.tryAcquire(at, 1, limits).ok) granted += 1;
    expect(granted).toBe(6_000);
    expect(limiter.tryAcquire(599_950, 1, limits)).toMatchObject({ ok: false, retryAfterMs: 50 });
  });
});

describe('rate-limit headers', () => {
  it('formats durations like OpenAI', () => {
    expect(formatResetDuration(0)).toBe('0ms');
    expect(formatResetDuration(120)).toBe('120ms');
    expect(formatResetDuration(119.2)).toBe('120ms');
    expect(formatResetDuration(1_000)).toBe('1s');
    expect(formatResetDuration(17_280)).toBe('17.28s');
    expect(formatResetDuration(60_000)).toBe('1m0s');
    expect(formatResetDuration(90_500)).toBe('1m30.5s');
  });

  it('leaves out unlimited dimensions', () => {
    const headers = rateLimitHeaders({
      limitRequests: 5,
      remainingRequests: 4,
      resetRequestsMs: 1_500,
      limitTokens: undefined,
      remainingTokens: Number.POSITIVE_INFINITY,
      resetTokensMs: 0,
    });
    expect(headers).toEqual({
      'x-ratelimit-limit-requests': '5',
      'x-ratelimit-remaining-requests': '4',
      'x-ratelimit-reset-requests': '1.5s',
    });
  });
});
