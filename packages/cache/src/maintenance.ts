import type { Redis } from '@sluice/redis';
import type { CacheCounters } from './cache-counters.ts';
import type { CacheKeyspace } from './cache-keys.ts';
import type { CacheScripts } from './cache-scripts.ts';
import type { CacheLogger, PurgeResult, PurgeTarget, SweepResult } from './cache-types.ts';
import { checkInteger } from './checks.ts';
import { CacheRequestError } from './errors.ts';
import { scopeName } from './scope.ts';

const PURGE_BATCH = 1_000;

/** Options for {@link CacheMaintenance}. */
export interface CacheMaintenanceOptions {
  redis: Redis;
  /** The cache's scripts on `redis` (`cacheScripts`). */
  scripts: CacheScripts;
  keyspace: CacheKeyspace;
  counters: CacheCounters;
  clock: () => number;
  /** Entries a namespace holds at most (bounds a purge's rounds). */
  namespaceCap: number;
  /** How often the background sweeper runs. */
  intervalMs: number;
  /** Entries removed per sweep call. */
  batch: number;
  logger?: CacheLogger;
}

/**
 * Removing entries: the sweeper that drops expired entries' vector elements and index
 * entries (their entry keys expire by TTL), and purges of a tenant, sharing group or namespace.
 */
export class CacheMaintenance {
  readonly #redis: Redis;
  readonly #scripts: CacheScripts;
  readonly #keyspace: CacheKeyspace;
  readonly #counters: CacheCounters;
  readonly #clock: () => number;
  readonly #namespaceCap: number;
  readonly #intervalMs: number;
  readonly #batch: number;
  readonly #logger: CacheLogger | undefined;
  #timer: NodeJS.Timeout | undefined;
  #sweeping = false;
  #closed = false;

  constructor(options: CacheMaintenanceOptions) {
    this.#redis = options.redis;
    this.#scripts = options.scripts;
    this.#keyspace = options.keyspace;
    this.#counters = options.counters;
    this.#clock = options.clock;
    this.#namespaceCap = options.namespaceCap;
    this.#intervalMs = options.intervalMs;
    this.#batch = options.batch;
    this.#logger = options.logger;
  }

  /** Start the background sweeper. Idempotent. */
  start(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setInterval(() => void this.#sweepInBackground(), this.#intervalMs);
    this.#timer.unref();
  }

  /** Stop the sweeper for good. */
  stop(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Remove every entry of a tenant, a sharing group or a namespace. */
  async purge(target: PurgeTarget): Promise<PurgeResult> {
    if ('namespace' in target) {
      if (!/^[0-9a-f]{32}$/.test(target.namespace))
        throw new CacheRequestError(`Expected a namespace of 32 hex chars, got \`${target.namespace}\``);
      const entries = await this.#purgeNamespace(target.namespace);
      return { namespaces: 1, entries };
    }
    const scopes: string[] = [];
    if ('tenant' in target) {
      if (!target.tenant) throw new CacheRequestError('Expected a non-empty `tenant` to purge');
      scopes.push(scopeName(target.tenant));
    }
    if (target.shareGroup) scopes.push(scopeName('-', target.shareGroup));
    let namespaces = 0;
    let entries = 0;
    for (const scope of scopes) {
      const scopeKey = this.#keyspace.scope(scope);
      const list = await this.#redis.zrange(scopeKey, 0, '-1');
      for (const namespace of list) entries += await this.#purgeNamespace(namespace);
      namespaces += list.length;
      await this.#redis.del(scopeKey);
    }
    return { namespaces, entries };
  }

  /**
   * Remove entries whose absolute expiry is at or before `now`: their vector element, index
   * entries and entry key. Does at most `limit` entries per call; `more` says to call again.
   */
  async sweepExpired(now: number = this.#clock(), limit: number = this.#batch): Promise<SweepResult> {
    checkInteger('limit', limit, 1);
    const members = await this.#redis.zrangebyscore(this.#keyspace.expiryIndex, '-inf', now, 'LIMIT', 0, limit);
    const byNamespace = new Map<string, string[]>();
    for (const member of members) {
      const dot = member.indexOf('.');
      const namespace = member.slice(0, dot);
      const list = byNamespace.get(namespace) ?? [];
      list.push(member.slice(dot + 1));
      byNamespace.set(namespace, list);
    }
    let removed = 0;
    for (const [namespace, ids] of byNamespace) {
      const keys = this.#keyspace.namespace(namespace);
      const gone = await this.#scripts.remove(
        [keys.vectors, keys.age, keys.expiry],
        [String(now), keys.entryPrefix, ...ids],
      );
      removed += gone.length;
      const done = new Set(gone);
      const kept = ids.filter((id) => !done.has(id));
      if (gone.length) await this.#redis.zrem(this.#keyspace.expiryIndex, ...gone.map((id) => `${namespace}.${id}`));
      // Kept ids were stored again with a later expiry; re-score them from the namespace's
      // own index so the sweeper does not meet them again before they expire.
      for (const id of kept) {
        const score = await this.#redis.zscore(keys.expiry, id);
        if (score === null) await this.#redis.zrem(this.#keyspace.expiryIndex, `${namespace}.${id}`);
        else await this.#redis.zadd(this.#keyspace.expiryIndex, Number(score), `${namespace}.${id}`);
      }
    }
    if (removed) this.#counters.count('swept', removed);
    return { scanned: members.length, removed, more: members.length === limit };
  }

  async #sweepInBackground(): Promise<void> {
    if (this.#sweeping || this.#closed) return;
    this.#sweeping = true;
    try {
      // Bounded: a few batches per tick, the rest next tick.
      for (let i = 0; i < 10; i += 1) {
        const result = await this.sweepExpired();
        if (!result.more) break;
      }
    } catch (error) {
      this.#logger?.warn({ err: error }, 'cache sweep failed; retrying next interval');
    } finally {
      this.#sweeping = false;
    }
  }

  async #purgeNamespace(namespace: string): Promise<number> {
    const keys = this.#keyspace.namespace(namespace);
    let entries = 0;
    // Bounded by the cap; the guard stops a purge racing a writer from looping forever.
    for (let round = 0; round <= Math.ceil(this.#namespaceCap / PURGE_BATCH) + 1; round += 1) {
      const ids = await this.#redis.zrange(keys.age, 0, String(PURGE_BATCH - 1));
      if (ids.length === 0) break;
      const gone = await this.#scripts.remove(
        [keys.vectors, keys.age, keys.expiry],
        ['+inf', keys.entryPrefix, ...ids],
      );
      if (gone.length) await this.#redis.zrem(this.#keyspace.expiryIndex, ...gone.map((id) => `${namespace}.${id}`));
      entries += gone.length;
    }
    await this.#redis.del(keys.vectors, keys.age, keys.expiry);
    if (entries) this.#counters.count('purged', entries);
    return entries;
  }
}
