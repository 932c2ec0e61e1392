import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkBackpressure, createThroughputMeter, estimateWaitMs } from './backpressure.ts';
import { BackpressureError, isBackpressureError, isLimitsError } from './errors.ts';
import { TestRedis } from './test-helpers.ts';

describe('estimateWaitMs', () => {
  it('divides the queue by the throughput', () => {
    expect(estimateWaitMs({ queued: 0, throughputPerSec: 0 })).toBe(0);
    expect(estimateWaitMs({ queued: 100, throughputPerSec: 20 })).toBe(5_000);
    expect(estimateWaitMs({ queued: 1, throughputPerSec: 3 })).toBe(334);
    expect(estimateWaitMs({ queued: 5, throughputPerSec: 0 })).toBe(Number.POSITIVE_INFINITY);
    expect(estimateWaitMs({ queued: 50, throughputPerSec: 0, minThroughputPerSec: 10 })).toBe(5_000);
  });
});

describe('checkBackpressure', () => {
  it('accepts under the bound and refuses above it with a retry-after', () => {
    expect(checkBackpressure({ queued: 100, throughputPerSec: 10, maxWaitMs: 10_000 })).toEqual({
      expectedWaitMs: 10_000,
    });
    let caught: unknown;
    try {
      checkBackpressure({ queued: 400, throughputPerSec: 10, maxWaitMs: 10_000 });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(BackpressureError);
    expect(isBackpressureError(caught) && isLimitsError(caught)).toBe(true);
    expect(caught).toMatchObject({
      code: 'SLUICE_ERR_OVERLOADED',
      status: 429,
      retryable: true,
      expectedWaitMs: 40_000,
      maxWaitMs: 10_000,
      retryAfterMs: 30_000,
    });
    expect((caught as Error).message).toBe('Sluice is overloaded: the expected wait (40 s) exceeds 10 s; retry later');
    expect(() => checkBackpressure({ queued: 1, throughputPerSec: 0, maxWaitMs: 5_000 })).toThrow(
      expect.objectContaining({ retryAfterMs: 5_000, expectedWaitMs: Number.POSITIVE_INFINITY }),
    );
  });
});

describe('throughput meter', () => {
  let t: TestRedis;
  beforeEach(() => {
    t = new TestRedis();
  });
  afterEach(() => t.close());

  it('averages completions per second over the window, shared between processes', async () => {
    t.clock.now = Math.floor(t.clock.now / 1000) * 1000; // on a second boundary
    const a = createThroughputMeter({
      redis: t.connect(),
      keys: t.keys,
      clock: t.clock.read,
      name: 'completions',
      windowMs: 10_000,
    });
    const b = createThroughputMeter({
      redis: t.connect(),
      keys: t.keys,
      clock: t.clock.read,
      name: 'completions',
      windowMs: 10_000,
    });
    const other = createThroughputMeter({
      redis: t.connect(),
      keys: t.keys,
      clock: t.clock.read,
      name: 'tier-large',
      windowMs: 10_000,
    });
    await a.record(10);
    t.clock.advance(500);
    await b.record(20);
    await other.record(1_000);
    expect(await a.ratePerSecond()).toBe(0); // the current second is not complete yet
    t.clock.advance(500);
    await b.record(5);
    t.clock.advance(1_000);
    expect(await b.ratePerSecond()).toBe(3.5); // 35 over 10 s
    t.clock.advance(8_000);
    expect(await a.ratePerSecond()).toBe(3.5); // both seconds still in the window
    t.clock.advance(1_000);
    expect(await a.ratePerSecond()).toBe(0.5); // the first second left
    t.clock.advance(1_000);
    expect(await a.ratePerSecond()).toBe(0);
    expect(() => createThroughputMeter({ redis: t.connect(), keys: t.keys, name: 'x', windowMs: 1_500 })).toThrow(
      'whole seconds',
    );
  });
});
