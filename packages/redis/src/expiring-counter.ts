import type { Redis } from './index.ts';

/**
 * Add `by` to the counter at `key`, which lives `ttlMs` from its creation, and return the new
 * total. The key is created with its TTL before it is incremented (`SET … PX NX`, then
 * `INCRBY`: two commands on one key, so one connection and one slot, run in order and sent
 * together), so it never exists without a TTL and no transaction is needed.
 */
export async function incrementExpiring(redis: Redis, key: string, by: number, ttlMs: number): Promise<number> {
  const [, total] = await Promise.all([redis.set(key, 0, 'PX', ttlMs, 'NX'), redis.incrby(key, by)]);
  return total;
}
