import { randomUUID } from 'node:crypto';
import { incrementExpiring, type Redis } from '@sluice/redis';
import type { Keys } from '@sluice/redis';
import type { Clock } from './clock.ts';
import { QuotaExceededError, type QuotaKind } from './errors.ts';
import { encodeKeyPart } from './keys.ts';
import { limitScripts, type LimitScripts } from './scripts.ts';
import { expectId, expectInteger } from './validate.ts';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** A tenant's quotas, from its record or the configured defaults (`tenants.defaultRpm`, …). */
export interface TenantQuotaLimits {
  /** Requests per minute, over a sliding 60-second window (0 = unlimited). */
  rpm: number;
  /** Tokens per UTC calendar day (0 = unlimited). */
  tokensPerDay: number;
}

/** What a tenant has used, after an admitted request. */
export interface TenantUsage {
  /** Requests admitted in the last 60 s, this one included (0 when rpm is unlimited: not tracked). */
  requestsInWindow: number;
  /** Tokens recorded today (UTC). */
  tokensToday: number;
}

/** Options for {@link createTenantQuotas}. */
export interface TenantQuotasOptions {
  redis: Redis;
  keys: Keys;
  /** @defaultValue `Date.now` */
  clock?: Clock;
}

/** Per-tenant request and token quotas held in Redis, shared by every API process. */
export interface TenantQuotas {
  /**
   * Admit one request of `tenant`, or throw a {@link QuotaExceededError} naming the quota
   * (`tenant acme exceeded its quota of 60 requests per minute`) with `retryAfterMs`. A
   * refused request does not count against the quota.
   */
  checkRequest(tenant: string, limits: TenantQuotaLimits, options?: { requestId?: string }): Promise<TenantUsage>;
  /** Add tokens spent by `tenant` (prompt + completion) to today's total; returns the new total. */
  recordTokens(tenant: string, tokens: number): Promise<number>;
  /** Tokens `tenant` spent today (UTC). */
  tokensToday(tenant: string): Promise<number>;
}

/** UTC day stamp `YYYY-MM-DD` and ms until that day ends. */
export function utcDay(now: number): { day: string; msUntilEnd: number } {
  const start = Math.floor(now / DAY_MS) * DAY_MS;
  return { day: new Date(start).toISOString().slice(0, 10), msUntilEnd: start + DAY_MS - now };
}

class RedisTenantQuotas implements TenantQuotas {
  readonly #redis: Redis;
  readonly #keys: Keys;
  readonly #clock: Clock;
  readonly #scripts: LimitScripts;

  constructor(options: TenantQuotasOptions) {
    this.#redis = options.redis;
    this.#keys = options.keys;
    this.#clock = options.clock ?? Date.now;
    this.#scripts = limitScripts(options.redis);
  }

  #requestsKey(tenant: string): string {
    return this.#keys.family('quota', encodeKeyPart(tenant), 'requests');
  }

  #tokensKey(tenant: string, day: string): string {
    return this.#keys.family('quota', encodeKeyPart(tenant), 'tokens', day);
  }

  async checkRequest(
    tenant: string,
    limits: TenantQuotaLimits,
    options: { requestId?: string } = {},
  ): Promise<TenantUsage> {
    expectId('tenant', tenant);
    expectInteger('limits.rpm', limits.rpm, 0);
    expectInteger('limits.tokensPerDay', limits.tokensPerDay, 0);
    const now = this.#clock();
    const { day, msUntilEnd } = utcDay(now);
    const reply = await this.#scripts.tenantCheck(
      [this.#requestsKey(tenant), this.#tokensKey(tenant, day)],
      [now, options.requestId ?? randomUUID(), limits.rpm, limits.tokensPerDay, MINUTE_MS, msUntilEnd],
    );
    if (Number(reply[0]) === 1) return { requestsInWindow: Number(reply[1]), tokensToday: Number(reply[2]) };
    const quota = String(reply[1]) as QuotaKind;
    throw new QuotaExceededError(
      tenant,
      quota,
      quota === 'requests_per_minute' ? limits.rpm : limits.tokensPerDay,
      Number(reply[2]),
    );
  }

  async recordTokens(tenant: string, tokens: number): Promise<number> {
    expectId('tenant', tenant);
    expectInteger('tokens', tokens, 0);
    const { day, msUntilEnd } = utcDay(this.#clock());
    const key = this.#tokensKey(tenant, day);
    // Kept a day past the end of its own day, so "yesterday" can still be reported.
    return incrementExpiring(this.#redis, key, tokens, msUntilEnd + DAY_MS);
  }

  async tokensToday(tenant: string): Promise<number> {
    expectId('tenant', tenant);
    const { day } = utcDay(this.#clock());
    return Number((await this.#redis.get(this.#tokensKey(tenant, day))) ?? 0);
  }
}

/** Create per-tenant quotas on Redis. Keys: `<prefix>:{quota:<tenant>}:requests|tokens:<day>`. */
export function createTenantQuotas(options: TenantQuotasOptions): TenantQuotas {
  return new RedisTenantQuotas(options);
}
