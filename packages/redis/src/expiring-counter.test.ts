import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createRedis } from './index.ts';
import { incrementExpiring } from './expiring-counter.ts';

const redis = createRedis({ url: inject('redisUrl'), role: 'worker', name: 'expiring-counter-test', pipelining: true });
afterAll(() => redis.disconnect());

describe('incrementExpiring', () => {
  it('creates the counter with its TTL, adds to it, and never moves the TTL of a live one', async () => {
    const key = `expiring-${randomUUID()}`;
    expect(await incrementExpiring(redis, key, 3, 60_000)).toBe(3);
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(await incrementExpiring(redis, key, 4, 600_000)).toBe(7);
    expect(await redis.pttl(key)).toBeLessThanOrEqual(60_000);
  });
});
