import { loadScripts, type Redis } from '@sluice/redis';

/** The cache's Lua scripts (`lua/<name>-<keys>.lua`, each with its KEYS/ARGV header). */
const SCRIPTS = loadScripts('cache', new URL('./lua/', import.meta.url), {
  // GET, EXISTS and VSIM only: it runs as EVALSHA_RO.
  lookupEntry: { readOnly: true },
  storeEntry: {},
  removeEntries: {},
  releaseFill: {},
  acquireFill: {},
});

/** The cache's scripts on one connection, keys and arguments as in `lua/*.lua`. */
export interface CacheScripts {
  lookup(
    keys: [entry: string, vectors: string, otherEntry: string],
    args: [vector: Buffer | string, entryPrefix: string, exactId: string, leastScore: string, ...searchArgs: string[]],
  ): Promise<[string | null, string[], Array<string | null>, number]>;
  store(
    keys: [entry: string, vectors: string, age: string, expiry: string, noFill: string],
    args: Array<string | number | Buffer>,
  ): Promise<string[]>;
  remove(keys: [vectors: string, age: string, expiry: string], args: string[]): Promise<string[]>;
  releaseFill(keys: [lock: string], args: [token: string, channel: string]): Promise<number>;
  acquireFill(keys: [lock: string, noFill: string], args: [token: string, ttlMs: number]): Promise<number>;
}

/** The cache's scripts bound to `redis`. */
export function cacheScripts(redis: Redis): CacheScripts {
  return {
    lookup: async (keys, args) =>
      (await SCRIPTS.lookupEntry.run(redis, keys, args)) as [string | null, string[], Array<string | null>, number],
    store: async (keys, args) => (await SCRIPTS.storeEntry.run(redis, keys, args)) as string[],
    remove: async (keys, args) => (await SCRIPTS.removeEntries.run(redis, keys, args)) as string[],
    releaseFill: async (keys, args) => (await SCRIPTS.releaseFill.run(redis, keys, args)) as number,
    acquireFill: async (keys, args) => (await SCRIPTS.acquireFill.run(redis, keys, args)) as number,
  };
}
