import { randomUUID } from 'node:crypto';
import { duplicateRedis, ShardedSubscriber, type Redis } from '@sluice/redis';
import type { CacheCounters } from './cache-counters.ts';
import type { CacheKeyspace } from './cache-keys.ts';
import type { CacheScripts } from './cache-scripts.ts';
import type { CacheHit, CacheLogger, Fill } from './cache-types.ts';
import { checkInteger } from './checks.ts';
import { parseExactKey } from './scope.ts';

/** Options for {@link FillCoordinator}. */
export interface FillCoordinatorOptions {
  redis: Redis;
  /** The cache's scripts on `redis` (`cacheScripts`). */
  scripts: CacheScripts;
  keyspace: CacheKeyspace;
  counters: CacheCounters;
  /** How often a waiter looks for the leader's entry, notified or not. */
  pollMs: number;
  /** A subscribed connection to listen on. @defaultValue one of its own, opened on first wait */
  subscriber?: Redis;
  /** The hit a stored entry gives (undefined when it may not be served). */
  served(raw: string | null, namespace: string): CacheHit | undefined;
  logger?: CacheLogger;
}

/**
 * Stampede control for identical concurrent misses, in any process: the first caller for an
 * exact key leads (a lock with a TTL) and the others wait for its entry, woken by a
 * notification on the entry's fill channel and polling in case one is missed.
 */
export class FillCoordinator {
  readonly #redis: Redis;
  readonly #scripts: CacheScripts;
  readonly #keyspace: CacheKeyspace;
  readonly #counters: CacheCounters;
  readonly #pollMs: number;
  readonly #served: FillCoordinatorOptions['served'];
  readonly #logger: CacheLogger | undefined;
  #subscriber: Redis | undefined;
  readonly #ownsSubscriber: boolean;
  #fills: Promise<ShardedSubscriber | undefined> | undefined;
  /** Every waiter's wake-up, so close() ends their waits at once. */
  readonly #waiters = new Set<() => void>();
  #closed = false;

  constructor(options: FillCoordinatorOptions) {
    this.#redis = options.redis;
    this.#scripts = options.scripts;
    this.#keyspace = options.keyspace;
    this.#counters = options.counters;
    this.#pollMs = options.pollMs;
    this.#served = options.served;
    this.#logger = options.logger;
    this.#subscriber = options.subscriber;
    this.#ownsSubscriber = !options.subscriber;
  }

  /**
   * Stampede control. The first caller for an exact key becomes the leader (`SET NX PX`);
   * every other caller, in any process, gets a waiter. The lock expires after `ttlMs`, so a
   * leader that dies frees the key; make it longer than the upstream call can take.
   *
   * @param options.ttlMs - lock lifetime. @defaultValue 120_000
   */
  async acquire(exactKey: string, options: { ttlMs?: number } = {}): Promise<Fill> {
    const { namespace, entryId } = parseExactKey(exactKey);
    const ttlMs = checkInteger('ttlMs', options.ttlMs ?? 120_000, 1);
    const keys = this.#keyspace.namespace(namespace);
    const token = randomUUID();
    const outcome = await this.#scripts.acquireFill([keys.fillLock(entryId), keys.noFill(entryId)], [token, ttlMs]);
    if (outcome === 2) {
      this.#counters.count('fill.uncoalesced');
      return { leader: true, coordinated: false, exactKey, release: () => Promise.resolve() };
    }
    if (outcome === 1) {
      this.#counters.count('fill.leader');
      let released: Promise<void> | undefined;
      return {
        leader: true,
        coordinated: true,
        exactKey,
        release: () => {
          released ??= this.#scripts
            .releaseFill([keys.fillLock(entryId)], [token, keys.fillChannel(entryId)])
            .then(() => undefined);
          return released;
        },
      };
    }
    this.#counters.count('fill.waiter');
    return { leader: false, exactKey, wait: (timeoutMs) => this.#waitForFill(namespace, entryId, timeoutMs) };
  }

  async #waitForFill(namespace: string, entryId: string, timeoutMs: number): Promise<CacheHit | undefined> {
    checkInteger('timeoutMs', timeoutMs, 0);
    const keys = this.#keyspace.namespace(namespace);
    const channel = keys.fillChannel(entryId);
    const deadline = Date.now() + timeoutMs;
    let wake: (() => void) | undefined;
    // Set by a notification that arrives while Redis is being asked, so it is not lost.
    let pending = false;
    const notified = () => {
      pending = true;
      wake?.();
    };
    const stopListening = await this.#listen(channel, notified);
    try {
      for (;;) {
        const [[, raw], [, locked]] = ((await this.#redis
          .multi()
          .get(keys.entry(entryId))
          .exists(keys.fillLock(entryId))
          .exec()) ?? []) as [[unknown, string | null], [unknown, number]];
        const hit = this.#served(raw, namespace);
        if (hit) {
          this.#counters.count('fill.shared');
          return hit;
        }
        // Lock gone and no entry: the leader released without a cacheable answer, or died
        // and its lock expired. The caller acquires again; one of the waiters leads.
        if (!locked) return undefined;
        const remaining = deadline - Date.now();
        if (remaining <= 0 || this.#closed) return undefined;
        if (pending) {
          pending = false;
          continue;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(remaining, this.#pollMs));
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
        pending = false;
      }
    } finally {
      stopListening();
    }
  }

  /**
   * Starts listening for the fill notice on `channel`; returns what stops it. Polling still
   * finds the entry, notifications only make it sooner, so the wait for the subscription is
   * bounded by one poll interval: a subscription that never confirms (seen once on a cluster
   * under a loaded test suite) must not hold the request.
   */
  async #listen(channel: string, listener: () => void): Promise<() => void> {
    this.#waiters.add(listener);
    const fills = await this.#fillSubscriber();
    const listening = fills?.listen(channel, listener).catch((error: unknown) => {
      this.#logger?.warn({ err: error }, 'fill subscription failed; waiting by polling');
      return undefined;
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([listening, new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#pollMs)))]);
    clearTimeout(timer);
    return () => {
      this.#waiters.delete(listener);
      void listening?.then((stop) => stop?.());
    };
  }

  #fillSubscriber(): Promise<ShardedSubscriber | undefined> {
    this.#fills ??= (async () => {
      try {
        // Own connection, because a subscribed connection can run no other command; it
        // queues while connecting, unlike a fail-fast `request` connection.
        const subscriber =
          this.#subscriber ??
          duplicateRedis(this.#redis, {
            enableOfflineQueue: true,
            maxRetriesPerRequest: null,
            enableAutoPipelining: false,
            subscriber: true,
          });
        this.#subscriber = subscriber;
        subscriber.on('error', (error: unknown) => this.#logger?.debug?.({ err: error }, 'fill subscriber error'));
        return new ShardedSubscriber(subscriber);
      } catch (error) {
        this.#logger?.warn({ err: error }, 'fill subscriber unavailable; waiting by polling');
        return undefined;
      }
    })();
    return this.#fills;
  }

  /** Ends every wait and closes the subscriber this coordinator opened. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const wake of this.#waiters) wake();
    this.#waiters.clear();
    const subscriber = this.#subscriber;
    if (subscriber && this.#ownsSubscriber) {
      try {
        await subscriber.quit();
      } catch {
        subscriber.disconnect();
      }
    }
  }
}
