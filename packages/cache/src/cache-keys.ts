import type { Keys } from '@sluice/redis';

const DAY_MS = 86_400_000;

/** The keys of one cache namespace (all hash-tagged `{cache:NS}`: one slot on a cluster). */
export interface NamespaceKeys {
  /** An entry's JSON (TTL). */
  entry(id: string): string;
  /** Prefix of the entry keys, for scripts that remove entries by id. */
  entryPrefix: string;
  /** The vector set of this embedder and quantisation. */
  vectors: string;
  /** Entry ids by store time (oldest evicted first). */
  age: string;
  /** Entry ids by absolute expiry. */
  expiry: string;
  /** Stampede lock of an entry being filled (TTL). */
  fillLock(id: string): string;
  /** Channel a leader's release is announced on. */
  fillChannel(id: string): string;
  /** Marks a key whose fills are not coalesced (its answers were not cacheable). */
  noFill(id: string): string;
}

/**
 * Every key name of the cache, under the configured prefix: `{cache:NS}:…` per namespace,
 * `{cache-scope:SCOPE}:ns` the namespaces of a tenant or sharing group,
 * `{cache-meta:all}:expiry` the sweep index and `{cache-meta:all}:stats:DAY` the counters.
 */
export class CacheKeyspace {
  readonly #keys: Keys;
  readonly #vectorTag: string;
  #statsDay: { day: number; key: string } | undefined;
  /** The sweep index: `NS.ID` members scored by absolute expiry, across namespaces. */
  readonly expiryIndex: string;

  /** @param vectorTag names the vector space (embedder and quantisation) of the vector sets */
  constructor(keys: Keys, vectorTag: string) {
    this.#keys = keys;
    this.#vectorTag = vectorTag;
    this.expiryIndex = keys.family('cache-meta', 'all', 'expiry');
  }

  /** The keys of a namespace. */
  namespace(namespace: string): NamespaceKeys {
    const family = (...rest: string[]) => this.#keys.family('cache', namespace, ...rest);
    return {
      entry: (id: string) => family('e', id),
      entryPrefix: `${family('e')}:`,
      vectors: family('v', this.#vectorTag),
      age: family('age'),
      expiry: family('exp'),
      fillLock: (id: string) => family('fill', id),
      fillChannel: (id: string) => family('filled', id),
      noFill: (id: string) => family('nofill', id),
    };
  }

  /** The namespaces of a scope (a tenant, or a sharing group). */
  scope(scope: string): string {
    return this.#keys.family('cache-scope', scope, 'ns');
  }

  /** The counters hash of the UTC day of `at`. */
  stats(at: number): string {
    // Every lookup counts: the key is worked out once per UTC day, not per count.
    const day = Math.floor(at / DAY_MS);
    if (this.#statsDay?.day !== day)
      this.#statsDay = {
        day,
        key: this.#keys.family('cache-meta', 'all', 'stats', new Date(day * DAY_MS).toISOString().slice(0, 10)),
      };
    return this.#statsDay.key;
  }
}
