import { readFileSync } from 'node:fs';
import type { Redis } from '@sluice/redis';

/** The cache's Lua scripts, as commands of a connection (see `lua/*.lua` for KEYS/ARGV). */
export interface CacheCommands {
  sluiceCacheStore(
    entry: string,
    vectors: string,
    age: string,
    expiry: string,
    noFill: string,
    ...args: Array<string | number | Buffer>
  ): Promise<string[]>;
  sluiceCacheRemove(vectors: string, age: string, expiry: string, ...args: Array<string | number>): Promise<string[]>;
  sluiceCacheReleaseFill(lock: string, token: string, channel: string): Promise<number>;
  sluiceCacheAcquireFill(lock: string, marker: string, token: string, ttlMs: number): Promise<number>;
  sluiceCacheLookup(
    entry: string,
    vectors: string,
    vector: Buffer | string,
    ...searchArgs: string[]
  ): Promise<[string | null, string[]]>;
}

const lua = (name: string) => readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8');
const STORE_ENTRY = lua('store-entry');
const REMOVE_ENTRIES = lua('remove-entries');
const RELEASE_FILL = lua('release-fill');
const ACQUIRE_FILL = lua('acquire-fill');
const LOOKUP_ENTRY = lua('lookup-entry');

/** `redis` with the cache's scripts defined on it (once per connection). */
export function withCacheScripts(connection: Redis): Redis & CacheCommands {
  const redis = connection as Redis & CacheCommands;
  const commands = redis as unknown as Record<string, unknown>;
  if (typeof commands.sluiceCacheLookup !== 'function')
    redis.defineCommand('sluiceCacheLookup', { numberOfKeys: 2, lua: LOOKUP_ENTRY });
  if (typeof commands.sluiceCacheStore !== 'function') {
    redis.defineCommand('sluiceCacheStore', { numberOfKeys: 5, lua: STORE_ENTRY });
    redis.defineCommand('sluiceCacheRemove', { numberOfKeys: 3, lua: REMOVE_ENTRIES });
    redis.defineCommand('sluiceCacheReleaseFill', { numberOfKeys: 1, lua: RELEASE_FILL });
    redis.defineCommand('sluiceCacheAcquireFill', { numberOfKeys: 2, lua: ACQUIRE_FILL });
  }
  return redis;
}
