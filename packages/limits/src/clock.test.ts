import { afterEach, describe, expect, it } from 'vitest';
import { measureClockOffset } from './clock.ts';
import { TestRedis } from './test-helpers.ts';

describe('measureClockOffset', () => {
  const t = new TestRedis();
  afterEach(() => t.close());

  it('measures how far Redis time is from a local clock', async () => {
    const redis = t.connect();
    // Same host: the clocks agree to within the round trip.
    expect(Math.abs(await measureClockOffset(redis))).toBeLessThan(50);
    // A host clock 5 s behind reads Redis as 5 s ahead.
    const behind = await measureClockOffset(redis, { clock: () => Date.now() - 5_000, samples: 3 });
    expect(Math.abs(behind - 5_000)).toBeLessThan(50);
  });
});
