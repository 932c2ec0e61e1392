import { WriteBehindCounters, type CounterBatch, type Redis } from '@sluice/redis';
import type { CacheKeyspace } from './cache-keys.ts';
import type { CacheLogger } from './cache-types.ts';

const DAY_MS = 86_400_000;

/** Options for {@link CacheCounters}. */
export interface CacheCountersOptions {
  redis: Redis;
  keyspace: CacheKeyspace;
  clock: () => number;
  /** Days a day's counters are kept. */
  retentionDays: number;
  /** How long counts are added up in the process before they are written (0: at once). */
  flushMs: number;
  logger?: CacheLogger;
}

/**
 * The cache's counters (lookups by outcome, stores, fills, sweeps), one hash per UTC day in
 * `{cache-meta:all}`. They must never fail or slow a request: counts are added up in the
 * process and written in the background (one pipeline per batch); `read` includes this
 * process's counts not yet written.
 */
export class CacheCounters {
  readonly #redis: Redis;
  readonly #keyspace: CacheKeyspace;
  readonly #clock: () => number;
  readonly #retentionDays: number;
  readonly #logger: CacheLogger | undefined;
  readonly #counters: WriteBehindCounters;
  /** Day hashes whose TTL is set (once per process and day). */
  readonly #expiringDays = new Set<string>();

  constructor(options: CacheCountersOptions) {
    this.#redis = options.redis;
    this.#keyspace = options.keyspace;
    this.#clock = options.clock;
    this.#retentionDays = options.retentionDays;
    this.#logger = options.logger;
    this.#counters = new WriteBehindCounters({ flushMs: options.flushMs, write: (batch) => this.#write(batch) });
  }

  /** Adds `by` to today's `field`. */
  count(field: string, by = 1): void {
    this.#counters.add(this.#keyspace.stats(this.#clock()), field, by);
  }

  /** Writes what this process has counted so far. Never rejects. */
  flush(): Promise<void> {
    return this.#counters.flush();
  }

  /** Writes what is pending; later counts are written at once. */
  close(): Promise<void> {
    return this.#counters.close();
  }

  /** The day hashes of the last `days` days (today first), this process's counts included. */
  async read(days: number): Promise<Array<Record<string, string>>> {
    await this.flush();
    const now = this.#clock();
    const pipeline = this.#redis.pipeline();
    for (let i = 0; i < Math.min(days, this.#retentionDays); i += 1)
      pipeline.hgetall(this.#keyspace.stats(now - i * DAY_MS));
    const results = (await pipeline.exec()) ?? [];
    return results.map(([, value]) => (value ?? {}) as Record<string, string>);
  }

  /** One pipeline for a batch of counts; resolves with the increments Redis refused. */
  async #write(batch: CounterBatch): Promise<CounterBatch | undefined> {
    // Every key carries the `{cache-meta:all}` hash tag: one slot, one pipeline on a cluster too.
    const pipeline = this.#redis.pipeline();
    // Each command's reply index, in pipeline order (a key's PEXPIRE follows its HINCRBYs).
    const sent: Array<[string, string, number, number]> = [];
    const expiring: Array<[string, number]> = [];
    let index = 0;
    for (const [key, fields] of batch) {
      for (const [field, by] of fields) {
        pipeline.hincrby(key, field, by);
        sent.push([key, field, by, index++]);
      }
      if (!this.#expiringDays.has(key)) {
        pipeline.pexpire(key, this.#retentionDays * DAY_MS);
        expiring.push([key, index++]);
      }
    }
    let replies: Array<[Error | null, unknown]>;
    try {
      replies = ((await pipeline.exec()) ?? []) as Array<[Error | null, unknown]>;
    } catch (error) {
      replies = Array.from({ length: index }, () => [error as Error, null]);
    }
    let failed: Error | undefined;
    const unwritten: CounterBatch = new Map();
    for (const [key, field, by, i] of sent) {
      const error = replies[i]?.[0] ?? (replies[i] ? null : new Error('no reply'));
      if (!error) continue;
      failed = error;
      let fields = unwritten.get(key);
      if (!fields) unwritten.set(key, (fields = new Map()));
      fields.set(field, (fields.get(field) ?? 0) + by);
    }
    for (const [key, i] of expiring) {
      const reply = replies[i];
      if (reply && !reply[0]) this.#expiringDays.add(key);
    }
    if (failed) this.#logger?.warn({ err: failed }, 'cache counter update failed; kept for the next write');
    return unwritten;
  }
}
