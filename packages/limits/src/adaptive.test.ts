import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LimitedDeployment } from './limiter.ts';
import { TestRedis } from './test-helpers.ts';

const d: LimitedDeployment = { id: 'sim-large', rpm: 20, tpm: 0, maxConcurrency: 0 }; // ceiling 19

let t: TestRedis;
beforeEach(() => {
  t = new TestRedis();
});
afterEach(() => t.close());

async function grantsInARow(limiter: ReturnType<TestRedis['limiter']>, deployment: LimitedDeployment): Promise<number> {
  let n = 0;
  while ((await limiter.acquire(deployment)).granted) n += 1;
  return n;
}

describe('adaptive limit', () => {
  it('decreases ×0.7 on a 429, once per hold period, shared by every process', async () => {
    const a = t.limiter({ adaptive: { throttleCooldownMs: 0 } });
    const b = t.limiter({ pacingMs: 0 }); // the whole learned window at once
    const first = await a.onUpstreamResult(d, { status: 429 });
    expect(first.learnedRpm).toBe(13); // floor(19 × 0.7)
    expect((await b.state(d)).requestLimit).toBe(13);
    expect(await grantsInARow(b, d)).toBe(13);

    t.clock.advance(4_999); // 429s of calls sent at the old rate arrive late: no second cut
    expect((await a.onUpstreamResult(d, { status: 429 })).learnedRpm).toBe(13);
    t.clock.advance(1);
    expect((await a.onUpstreamResult(d, { status: 429 })).learnedRpm).toBe(9); // floor(13.3 × 0.7)
  });

  it('recovers by 5% of the ceiling per 10 s of successes up to the configured limit', async () => {
    const limiter = t.limiter({ adaptive: { throttleCooldownMs: 0 } });
    const deployment = { ...d, rpm: 100 }; // ceiling 98
    await limiter.onUpstreamResult(deployment, { status: 429 });
    t.clock.advance(5_000);
    expect((await limiter.onUpstreamResult(deployment, { status: 429 })).learnedRpm).toBe(48); // 98 × 0.49 = 48.02

    t.clock.advance(9_999);
    expect((await limiter.onUpstreamResult(deployment, { status: 200 })).learnedRpm).toBe(48); // not a step yet
    const seen: Array<number | undefined> = [];
    for (let step = 0; step < 11; step += 1) {
      t.clock.advance(10_000);
      seen.push((await limiter.onUpstreamResult(deployment, { status: 200 })).learnedRpm);
    }
    // 48.02 + 4.9 k, floored; back at the ceiling on the 11th step, where learning is dropped.
    expect(seen).toEqual([52, 57, 62, 67, 72, 77, 82, 87, 92, 97, undefined]);
    const state = await limiter.state(deployment);
    expect(state.requestLimit).toBe(98);
    expect(state.learnedRpm).toBeUndefined();
  });

  it('never goes below the floor fraction of the ceiling', async () => {
    const limiter = t.limiter({ adaptive: { decreaseHoldMs: 0, floorFraction: 0.25, throttleCooldownMs: 0 } });
    const deployment = { ...d, rpm: 100 };
    let learned: number | undefined;
    for (let i = 0; i < 10; i += 1) learned = (await limiter.onUpstreamResult(deployment, { status: 429 })).learnedRpm;
    expect(learned).toBe(24); // floor(98 × 0.25 = 24.5)
  });

  it('learns from what was sent when no limit is configured', async () => {
    const limiter = t.limiter({ adaptive: { throttleCooldownMs: 0 } });
    const unlimited = { ...d, rpm: 0 };
    for (let i = 0; i < 20; i += 1) expect((await limiter.acquire(unlimited)).granted).toBe(true);
    const verdict = await limiter.onUpstreamResult(unlimited, { status: 429 });
    expect(verdict).toMatchObject({ learnedRpm: 14, learnedTpm: undefined }); // 20 sent × 0.7; tokens unknown
    expect(await limiter.acquire(unlimited)).toMatchObject({ granted: false, reason: 'rpm', limit: 14 });
  });

  it('does not learn a limit from a 429 after a handful of requests', async () => {
    const limiter = t.limiter({ adaptive: { throttleCooldownMs: 0 } });
    const unlimited = { ...d, rpm: 0 };
    for (let i = 0; i < 9; i += 1) await limiter.acquire(unlimited);
    expect(await limiter.onUpstreamResult(unlimited, { status: 429 })).toMatchObject({
      learnedRpm: undefined,
      learnedTpm: undefined,
    });
    // But a 429 that names the request window is believed.
    expect(
      (await limiter.onUpstreamResult(unlimited, { status: 429, headers: { 'x-ratelimit-remaining-requests': '0' } }))
        .learnedRpm,
    ).toBe(6);
  });

  it('cuts only the window the 429 names', async () => {
    const limiter = t.limiter({ adaptive: { throttleCooldownMs: 0 } });
    const deployment = { ...d, rpm: 100, tpm: 10_000 };
    const r = await limiter.acquire(deployment, { promptTokens: 100, maxOutputTokens: 100 });
    if (!r.granted) throw new Error('expected a grant');
    const tokens = await limiter.onUpstreamResult(deployment, {
      lease: r.lease,
      status: 429,
      headers: { 'x-ratelimit-remaining-requests': '40', 'x-ratelimit-remaining-tokens': '150' }, // < 200 reserved
    });
    expect(tokens).toMatchObject({ learnedRpm: undefined, learnedTpm: 6_860 }); // 9800 × 0.7
    t.clock.advance(5_000);
    const concurrency = await limiter.onUpstreamResult(deployment, {
      status: 429,
      headers: { 'x-ratelimit-remaining-requests': '40', 'x-ratelimit-remaining-tokens': '5000' },
    });
    expect(concurrency).toMatchObject({ learnedRpm: undefined, learnedTpm: 6_860 });
  });

  it('adopts the provider-reported limit as a cap', async () => {
    const limiter = t.limiter();
    const configured = { ...d, rpm: 100, tpm: 0 };
    const verdict = await limiter.onUpstreamResult(configured, {
      status: 200,
      headers: { 'x-ratelimit-limit-requests': '50', 'x-ratelimit-limit-tokens': '20000' },
    });
    expect(verdict.headers).toMatchObject({ limitRequests: 50, limitTokens: 20_000 });
    const state = await limiter.state(configured);
    expect(state.requestLimit).toBe(49);
    expect(state.tokenLimit).toBe(19_600);
    // A higher reported limit never raises the configured one.
    await limiter.onUpstreamResult(configured, { status: 200, headers: { 'x-ratelimit-limit-requests': '500' } });
    expect((await limiter.state(configured)).requestLimit).toBe(98);
  });

  describe('a window-edge 429', () => {
    const provider = { ...d, rpm: 600 }; // ceiling 588, margin 12 requests
    // What the provider (and the simulator) sends when its window, counted at arrival, is
    // full a moment before ours, counted at grant.
    const edge429 = (retryAfterMs: number, limit = 600) => ({
      status: 429,
      headers: {
        'x-ratelimit-limit-requests': String(limit),
        'x-ratelimit-remaining-requests': '0',
        'x-ratelimit-reset-requests': '59.8s',
        'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))),
        'retry-after-ms': String(retryAfterMs),
      },
    });

    it('cools down for its retry-after and lowers nothing when the headers confirm the limit', async () => {
      const a = t.limiter();
      const b = t.limiter();
      const verdict = await a.onUpstreamResult(provider, edge429(300));
      expect(verdict).toMatchObject({ outcome: 'throttled', learnedRpm: undefined, cooldownMs: 300 });
      const state = await b.state(provider);
      expect(state).toMatchObject({ requestLimit: 588, learnedRpm: undefined, cooldownReason: '429' });
      expect(await b.acquire(provider)).toMatchObject({ granted: false, reason: 'cooldown', retryAfterMs: 300 });
      t.clock.advance(300);
      expect((await b.acquire(provider)).granted).toBe(true);
    });

    it('lowers the limit past the margin’s worth of them in one window: someone else uses the key', async () => {
      const limiter = t.limiter();
      for (let i = 0; i < 12; i += 1) {
        expect((await limiter.onUpstreamResult(provider, edge429(200))).learnedRpm).toBeUndefined();
        t.clock.advance(1_000);
      }
      expect((await limiter.onUpstreamResult(provider, edge429(200))).learnedRpm).toBe(411); // floor(588 × 0.7)
      // A new window starts a new count.
      const fresh = t.limiter();
      const other = { ...provider, id: 'other' };
      for (let i = 0; i < 12; i += 1) await fresh.onUpstreamResult(other, edge429(200));
      t.clock.advance(60_000);
      expect((await fresh.onUpstreamResult(other, edge429(200))).learnedRpm).toBeUndefined();
    });

    it('is not one when the wait is long or the provider reports a lower limit', async () => {
      const limiter = t.limiter();
      expect((await limiter.onUpstreamResult(provider, edge429(20_000))).learnedRpm).toBe(411);
      const other = { ...provider, id: 'lower' };
      expect((await limiter.onUpstreamResult(other, edge429(300, 500))).learnedRpm).toBe(343); // cap 490 × 0.7
    });
  });
});
