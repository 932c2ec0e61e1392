import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLimits, denialError, WINDOW_MS, type LimitedDeployment } from './limiter.ts';
import { isRateLimitedError, RateLimitedError } from './errors.ts';
import { seededRandom } from '@sluice/testing';
import { TestRedis } from './test-helpers.ts';

const deployment = (overrides: Partial<LimitedDeployment> = {}): LimitedDeployment => ({
  id: 'sim-small',
  rpm: 0,
  tpm: 0,
  maxConcurrency: 0,
  timeoutMs: 1_000,
  ...overrides,
});

let t: TestRedis;
beforeEach(() => {
  t = new TestRedis();
});
afterEach(() => t.close());

describe('request window', () => {
  it('never grants more than floor(rpm × 0.98) in any 60 s window across three processes', async () => {
    const d = deployment({ rpm: 100 });
    const limit = Math.floor(100 * 0.98);
    const processes = [t.limiter(), t.limiter(), t.limiter()];
    const random = seededRandom(42);
    const grants: number[] = [];
    let denials = 0;
    const end = t.clock.now + 3 * WINDOW_MS + 30_000;
    while (t.clock.now < end) {
      // Every process offers a burst at once; Redis serialises the scripts, so this checks
      // that check-and-take is one atomic step.
      const results = await Promise.all(
        processes.flatMap((p) => Array.from({ length: 4 }, () => p.acquire(d, { promptTokens: 10 }))),
      );
      for (const r of results) {
        if (r.granted) grants.push(r.lease.acquiredAt);
        else {
          denials += 1;
          expect(r.reason).toBe('rpm');
          expect(r.limit).toBe(limit);
          expect(r.retryAfterMs).toBeGreaterThan(0);
          expect(r.retryAfterMs).toBeLessThanOrEqual(WINDOW_MS + 1);
        }
      }
      t.clock.advance(1 + Math.floor(random() * 700));
    }
    grants.sort((a, b) => a - b);
    let busiest = 0;
    for (let i = 0, j = 0; i < grants.length; i += 1) {
      // Closed window [grants[i], grants[i] + 60 s].
      while (j < grants.length && grants[j]! <= grants[i]! + WINDOW_MS) j += 1;
      busiest = Math.max(busiest, j - i);
    }
    expect(busiest).toBe(limit);
    // Saturated for 3.5 minutes: at least one full limit per elapsed minute, never a fourth.
    expect(grants.length).toBeGreaterThanOrEqual(3 * limit);
    expect(grants.length).toBeLessThanOrEqual(4 * limit);
    expect(denials).toBeGreaterThan(grants.length);
  });

  it('tells exactly when the next permit frees', async () => {
    const limiter = t.limiter();
    const d = deployment({ rpm: 10 }); // 9 after the margin
    const first = t.clock.now;
    for (let i = 0; i < 9; i += 1) {
      expect((await limiter.acquire(d)).granted).toBe(true);
      t.clock.advance(1_000);
    }
    const denied = await limiter.acquire(d);
    expect(denied).toMatchObject({
      granted: false,
      reason: 'rpm',
      limit: 9,
      retryAfterMs: first + WINDOW_MS + 1 - t.clock.now,
    });
    if (denied.granted) return;
    const error = denialError(denied);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(isRateLimitedError(error)).toBe(true);
    expect(error).toMatchObject({
      code: 'SLUICE_ERR_RATE_LIMITED',
      status: 429,
      retryable: true,
      limit: 'rpm',
      retryAfterMs: denied.retryAfterMs,
    });
    t.clock.advance(denied.retryAfterMs - 1);
    expect((await limiter.acquire(d)).granted).toBe(false);
    t.clock.advance(1);
    expect((await limiter.acquire(d)).granted).toBe(true);
  });

  it('keeps deployments apart', async () => {
    const limiter = t.limiter();
    expect((await limiter.acquire(deployment({ id: 'a', rpm: 1 }))).granted).toBe(true);
    expect((await limiter.acquire(deployment({ id: 'a', rpm: 1 }))).granted).toBe(false);
    expect((await limiter.acquire(deployment({ id: 'b', rpm: 1 }))).granted).toBe(true);
  });
});

describe('pacing', () => {
  it('spreads a backlog over the window instead of spending it in the first second', async () => {
    const d = deployment({ rpm: 600 }); // 588 after the margin: 11 per second (10 % headroom)
    const paced = t.limiter();
    const grants: number[] = [];
    const start = t.clock.now;
    // A backlog polls every 50 ms for two minutes, from three processes at once.
    const processes = [paced, t.limiter(), t.limiter()];
    while (t.clock.now < start + 2 * WINDOW_MS) {
      const results = await Promise.all(processes.flatMap((p) => [p.acquire(d), p.acquire(d)]));
      for (const r of results) {
        if (r.granted) grants.push(r.lease.acquiredAt);
        else expect(r).toMatchObject({ reason: 'rpm', limit: 588 });
      }
      t.clock.advance(50);
    }
    const inSpan = (from: number, ms: number) => grants.filter((g) => g >= from && g < from + ms).length;
    // Never more than a second's share (+10 %) in any second, under the 12-request margin…
    for (const g of grants) expect(inSpan(g, 1_000)).toBeLessThanOrEqual(11);
    expect(inSpan(start, 1_000)).toBe(11);
    // …not the whole window in its first seconds: the first 10 s hold 110 of 588…
    expect(inSpan(start, 10_000)).toBeLessThanOrEqual(110);
    // …and the full limit in every minute: pacing costs no throughput.
    expect(inSpan(start, WINDOW_MS)).toBe(588);
    expect(inSpan(start + WINDOW_MS, WINDOW_MS)).toBe(588);
  });

  it('says when the span has room, and 0 turns it off', async () => {
    const d = deployment({ rpm: 600 });
    const limiter = t.limiter();
    for (let i = 0; i < 11; i += 1) {
      expect((await limiter.acquire(d)).granted).toBe(true);
      t.clock.advance(10);
    }
    expect(await limiter.acquire(d)).toMatchObject({ granted: false, reason: 'rpm', limit: 588, retryAfterMs: 890 });
    t.clock.advance(889);
    expect((await limiter.acquire(d)).granted).toBe(false);
    t.clock.advance(1);
    expect((await limiter.acquire(d)).granted).toBe(true);

    const unpaced = t.limiter({ pacingMs: 0 });
    const burst = deployment({ id: 'burst', rpm: 600 });
    let granted = 0;
    while ((await unpaced.acquire(burst)).granted) granted += 1;
    expect(granted).toBe(588);
    expect(() => t.limiter({ pacingMs: -1 })).toThrow('Expected `pacingMs` to be an integer ≥ 0, got `-1`');
  });
});

describe('concurrency leases', () => {
  it('frees a crashed worker’s lease when it expires, and a released one at once', async () => {
    const d = deployment({ maxConcurrency: 2, timeoutMs: 1_000 });
    const crashedConnection = t.connect();
    const crashed = createLimits({ redis: crashedConnection, keys: t.keys, clock: t.clock.read, leaseGraceMs: 5_000 });
    expect((await crashed.acquire(d)).granted).toBe(true);
    const second = await crashed.acquire(d);
    if (!second.granted) throw new Error('expected a grant');
    expect(second.lease.expiresAt - second.lease.acquiredAt).toBe(6_000);
    // The process dies: its connection goes away, its leases are never released.
    crashedConnection.disconnect();

    const survivor = t.limiter({ pollIntervalMs: 200 });
    expect(await survivor.acquire(d)).toMatchObject({
      granted: false,
      reason: 'concurrency',
      limit: 2,
      retryAfterMs: 200,
    });
    expect((await survivor.state(d)).inFlight).toBe(2);
    t.clock.advance(5_999);
    expect((await survivor.acquire(d)).granted).toBe(false);
    t.clock.advance(1);
    const after = await survivor.acquire(d);
    if (!after.granted) throw new Error('expected a grant once the dead leases expired');
    expect((await survivor.state(d)).inFlight).toBe(1);

    expect((await survivor.acquire(d)).granted).toBe(true);
    expect((await survivor.acquire(d)).granted).toBe(false);
    expect(await survivor.release(after.lease)).toEqual({ released: true, tokenAdjustment: 0 });
    expect(await survivor.release(after.lease)).toEqual({ released: false, tokenAdjustment: 0 });
    expect((await survivor.acquire(d)).granted).toBe(true);
  });

  it('never lets a short lease shorten the life of the lease set', async () => {
    const redis = t.connect();
    const limiter = createLimits({ redis, keys: t.keys, clock: t.clock.read });
    const d = deployment({ maxConcurrency: 5 });
    await limiter.acquire(d, { leaseMs: 600_000 });
    await limiter.acquire(d, { leaseMs: 1_000 });
    const ttl = await redis.pttl(t.keys.family('limit', 'sim-small', 'leases'));
    expect(ttl).toBeGreaterThan(600_000);
  });

  it('renews a live lease but not an expired one', async () => {
    const limiter = t.limiter({ leaseGraceMs: 0 });
    const d = deployment({ maxConcurrency: 1, timeoutMs: 1_000 });
    const r = await limiter.acquire(d);
    if (!r.granted) throw new Error('expected a grant');
    t.clock.advance(900);
    expect(await limiter.renew(r.lease, 5_000)).toBe(true);
    t.clock.advance(4_000); // past the original expiry, within the renewed one
    expect((await limiter.acquire(d)).granted).toBe(false);
    t.clock.advance(1_000);
    expect(await limiter.renew(r.lease)).toBe(false);
    expect((await limiter.acquire(d)).granted).toBe(true);
  });
});

describe('token window', () => {
  it('reserves prompt + output budget and settles to the real usage', async () => {
    const limiter = t.limiter({ defaultOutputTokens: 400 });
    const d = deployment({ tpm: 1_000 }); // 980 after the margin
    const first = await limiter.acquire(d, { promptTokens: 100 });
    if (!first.granted) throw new Error('expected a grant');
    expect(first.lease.reservedTokens).toBe(500);
    expect((await limiter.state(d)).tokensInWindow).toBe(500);

    const denied = await limiter.acquire(d, { promptTokens: 100 });
    expect(denied).toMatchObject({ granted: false, reason: 'tpm', limit: 980, retryAfterMs: WINDOW_MS + 1 });

    expect(await limiter.release(first.lease, { promptTokens: 100, completionTokens: 50 })).toEqual({
      released: true,
      tokenAdjustment: -350,
    });
    expect((await limiter.state(d)).tokensInWindow).toBe(150);
    const second = await limiter.acquire(d, { promptTokens: 100 });
    expect(second.granted).toBe(true);
    expect((await limiter.state(d)).tokensInWindow).toBe(650);

    t.clock.advance(WINDOW_MS + 1);
    const state = await limiter.state(d);
    expect(state.tokensInWindow).toBe(0);
    expect(state.requestsInWindow).toBe(0);
  });

  it('never settles below an explicit max_tokens, which the provider counts at admission', async () => {
    const limiter = t.limiter();
    const d = deployment({ tpm: 10_000 });
    const r = await limiter.acquire(d, { promptTokens: 100, maxOutputTokens: 300 });
    if (!r.granted) throw new Error('expected a grant');
    expect(await limiter.release(r.lease, { totalTokens: 120 })).toEqual({ released: true, tokenAdjustment: 0 });
    const r2 = await limiter.acquire(d, { promptTokens: 100, maxOutputTokens: 300 });
    if (!r2.granted) throw new Error('expected a grant');
    expect(await limiter.release(r2.lease, { totalTokens: 450 })).toEqual({ released: true, tokenAdjustment: 50 });
    expect((await limiter.state(d)).tokensInWindow).toBe(850);
  });

  it('counts prompt tokens from messages with the real tokenizer', async () => {
    const limiter = t.limiter({ defaultOutputTokens: 0 });
    const r = await limiter.acquire(deployment({ model: 'gpt-4o' }), {
      messages: [{ role: 'user', content: 'Hello there, how are you today?' }],
    });
    if (!r.granted) throw new Error('expected a grant');
    expect(r.lease.reservedTokens).toBeGreaterThan(5);
    expect(r.lease.reservedTokens).toBeLessThan(30);
  });

  it('reports the wait until enough tokens leave the window', async () => {
    const limiter = t.limiter({ defaultOutputTokens: 0 });
    const d = deployment({ tpm: 1_000 }); // 980
    const start = t.clock.now;
    await limiter.acquire(d, { promptTokens: 300 });
    t.clock.advance(10_000);
    await limiter.acquire(d, { promptTokens: 300 });
    t.clock.advance(10_000);
    await limiter.acquire(d, { promptTokens: 300 });
    // 900 used; 500 more needs the first two entries gone.
    const denied = await limiter.acquire(d, { promptTokens: 500 });
    expect(denied).toMatchObject({
      granted: false,
      reason: 'tpm',
      retryAfterMs: start + 10_000 + WINDOW_MS + 1 - t.clock.now,
    });
  });
});

describe('shared cooldown', () => {
  it('holds every process back and is never shortened', async () => {
    const a = t.limiter();
    const b = t.limiter();
    const d = deployment({ rpm: 600 });
    const verdict = await a.onUpstreamResult(d, { status: 429, headers: { 'retry-after': '7' } });
    expect(verdict).toMatchObject({ outcome: 'throttled', retryable: true, failover: true, cooldownMs: 7_000 });
    expect(await b.acquire(d)).toMatchObject({ granted: false, reason: 'cooldown', retryAfterMs: 7_000 });
    expect(await b.cooldown(d.id, 2_000)).toBe(t.clock.now + 7_000);
    expect((await b.state(d)).cooldownReason).toBe('429');
    t.clock.advance(6_999);
    expect((await b.acquire(d)).granted).toBe(false);
    t.clock.advance(1);
    expect((await b.acquire(d)).granted).toBe(true);
    expect(await a.cooldown(d.id, 3_000, 'operator')).toBe(t.clock.now + 3_000);
    expect((await b.state(d)).cooldownReason).toBe('operator');
  });

  it('prefers retry-after-ms and cools down when remaining hits 0', async () => {
    const limiter = t.limiter();
    const d = deployment();
    expect(
      (
        await limiter.onUpstreamResult(d, {
          status: 429,
          headers: new Headers({ 'retry-after': '2', 'retry-after-ms': '1500' }),
        })
      ).cooldownMs,
    ).toBe(1_500);
    t.clock.advance(1_500);
    const ok = await limiter.onUpstreamResult(d, {
      status: 200,
      headers: {
        'x-ratelimit-remaining-requests': '0',
        'x-ratelimit-reset-requests': '3s',
        'x-ratelimit-remaining-tokens': '5000',
      },
    });
    expect(ok).toMatchObject({ outcome: 'success', retryable: false, failover: false, cooldownMs: 3_000 });
    expect(await limiter.acquire(d)).toMatchObject({ granted: false, reason: 'cooldown', retryAfterMs: 3_000 });
    expect((await limiter.state(d)).cooldownReason).toBe('remaining-requests');
    // A provider whose "reset" means "window empty" could say a minute; capped.
    t.clock.advance(3_000);
    const capped = await limiter.onUpstreamResult(d, {
      status: 200,
      headers: { 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '59.5s' },
    });
    expect(capped.cooldownMs).toBe(10_000);
  });

  it('takes a wait the caller already parsed over the headers, and retry-after on a 503', async () => {
    const limiter = t.limiter();
    const d = deployment();
    expect(
      (await limiter.onUpstreamResult(d, { status: 429, retryAfterMs: 4_200, headers: { 'retry-after': '1' } }))
        .cooldownMs,
    ).toBe(4_200);
    t.clock.advance(5_000);
    expect(await limiter.onUpstreamResult(d, { status: 503, headers: { 'retry-after': '2' } })).toMatchObject({
      outcome: 'failure',
      cooldownMs: 2_000,
    });
  });
});

describe('validation', () => {
  it('names the bad option or deployment value', async () => {
    expect(() => t.limiter({ safetyFactor: 1.5 })).toThrow(
      'Expected `safetyFactor` to be a number in (0, 1], got `1.5`',
    );
    expect(() => t.limiter({ circuit: { failureThreshold: 0 } })).toThrow(
      'Expected `circuit.failureThreshold` to be an integer ≥ 1, got `0`',
    );
    const limiter = t.limiter();
    await expect(limiter.acquire(deployment({ rpm: -1 }))).rejects.toThrow(
      'Expected `deployment sim-small rpm` to be an integer ≥ 0, got `-1`',
    );
    await expect(limiter.acquireAny([])).rejects.toMatchObject({ code: 'SLUICE_ERR_LIMITS_CONFIG' });
  });

  it('works with ids that would break a hash tag', async () => {
    const limiter = t.limiter();
    const d = deployment({ id: 'odd}{:id', rpm: 1 });
    expect((await limiter.acquire(d)).granted).toBe(true);
    expect((await limiter.acquire(d)).granted).toBe(false);
    expect(isRateLimitedError(new Error('x'))).toBe(false);
  });
});
