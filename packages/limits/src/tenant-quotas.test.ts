import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isQuotaExceededError, QuotaExceededError } from './errors.ts';
import { createTenantQuotas, utcDay, type TenantQuotas } from './tenant-quotas.ts';
import { TestRedis } from './test-helpers.ts';

let t: TestRedis;
let quotas: TenantQuotas;
beforeEach(() => {
  t = new TestRedis();
  quotas = createTenantQuotas({ redis: t.connect(), keys: t.keys, clock: t.clock.read });
});
afterEach(() => t.close());

async function refusal(promise: Promise<unknown>): Promise<QuotaExceededError> {
  try {
    await promise;
  } catch (error) {
    if (isQuotaExceededError(error)) return error;
    throw error;
  }
  throw new Error('expected a QuotaExceededError');
}

describe('tenant quotas', () => {
  it('refuses the request past the per-minute quota with a message naming it', async () => {
    const limits = { rpm: 3, tokensPerDay: 0 };
    const start = t.clock.now;
    for (let i = 1; i <= 3; i += 1) {
      expect(await quotas.checkRequest('acme', limits)).toEqual({ requestsInWindow: i, tokensToday: 0 });
      t.clock.advance(1_000);
    }
    const error = await refusal(quotas.checkRequest('acme', limits));
    expect(error).toBeInstanceOf(QuotaExceededError);
    expect(error.message).toBe('tenant acme exceeded its quota of 3 requests per minute');
    expect(error).toMatchObject({
      code: 'SLUICE_ERR_QUOTA_EXCEEDED',
      status: 429,
      retryable: true,
      tenant: 'acme',
      quota: 'requests_per_minute',
      limit: 3,
    });
    expect(error.retryAfterMs).toBe(start + 60_001 - t.clock.now);

    // Refused requests do not count; another tenant is unaffected.
    expect((await quotas.checkRequest('globex', limits)).requestsInWindow).toBe(1);
    t.clock.advance(error.retryAfterMs);
    expect((await quotas.checkRequest('acme', limits)).requestsInWindow).toBe(3);
  });

  it('refuses once the tokens of the UTC day are spent, until midnight', async () => {
    const limits = { rpm: 0, tokensPerDay: 1_000 };
    expect(await quotas.recordTokens('acme', 900)).toBe(900);
    expect(await quotas.checkRequest('acme', limits)).toEqual({ requestsInWindow: 0, tokensToday: 900 });
    expect(await quotas.recordTokens('acme', 200)).toBe(1_100);
    const error = await refusal(quotas.checkRequest('acme', limits));
    expect(error.message).toBe('tenant acme exceeded its quota of 1000 tokens per day');
    expect(error.quota).toBe('tokens_per_day');
    // The fake clock starts at 12:00 UTC.
    expect(error.retryAfterMs).toBe(12 * 3_600_000);
    expect(await quotas.tokensToday('acme')).toBe(1_100);

    t.clock.advance(error.retryAfterMs);
    expect(await quotas.tokensToday('acme')).toBe(0);
    expect(await quotas.checkRequest('acme', limits)).toEqual({ requestsInWindow: 0, tokensToday: 0 });
  });

  it('treats 0 as unlimited and tenant ids as opaque', async () => {
    for (let i = 0; i < 50; i += 1) await quotas.checkRequest('we{ird}:tenant', { rpm: 0, tokensPerDay: 0 });
    await quotas.recordTokens('we{ird}:tenant', 10 ** 9);
    expect((await quotas.checkRequest('we{ird}:tenant', { rpm: 0, tokensPerDay: 0 })).tokensToday).toBe(10 ** 9);
    await expect(quotas.checkRequest('', { rpm: 1, tokensPerDay: 0 })).rejects.toThrow(
      'Expected `tenant` to be a non-empty string',
    );
    await expect(quotas.recordTokens('acme', -5)).rejects.toThrow('Expected `tokens` to be an integer ≥ 0, got `-5`');
  });

  it('names UTC days', () => {
    expect(utcDay(Date.UTC(2025, 0, 15, 23, 59, 59, 999))).toEqual({ day: '2025-01-15', msUntilEnd: 1 });
    expect(utcDay(Date.UTC(2025, 0, 16))).toEqual({ day: '2025-01-16', msUntilEnd: 86_400_000 });
  });
});
