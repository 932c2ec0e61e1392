import type { BypassReason, StoreSkipReason } from './policy.ts';
import type { RejectionReason } from './verify.ts';

/** Why a lookup found nothing to serve. */
export type MissReason =
  /** No entry under the exact key, and the semantic level did not apply. */
  | 'not-found'
  /** The namespace's vector set is empty or absent. */
  | 'no-candidates'
  /** Neighbours exist but none is similar enough. */
  | 'below-threshold'
  /** Similar neighbours were all rejected by verification. */
  | 'rejected'
  /** The only matching entries had expired (absolute or category TTL). */
  | 'expired'
  /**
   * Not searched: another scope of the same request had an exact entry
   * (`LookupInput.supersededBy`). Not counted: the request's answer is that entry.
   */
  | 'superseded';

/** Counters of the cache over a number of days, from Redis (shared by every process). */
export interface CacheStats {
  /** Days summed, ending today (UTC, by the cache's clock). */
  days: number;
  /**
   * The embedder of the process that answered (not summed across processes): its vector
   * space `id`, prompts it embedded by what served them (`word-vectors`, `hashing`, `remote`,
   * `cache`, `fallback`), and `notice` when it serves in place of the configured one.
   */
  embedder?: { id: string; served: Record<string, number>; notice?: string };
  lookups: number;
  hits: { total: number; exact: number; semantic: number };
  /** `hits.total / (hits.total + misses.total)`; bypasses are not lookups that could hit. 0 when nothing was looked up. */
  hitRate: number;
  misses: { total: number; byReason: Partial<Record<MissReason, number>> };
  bypasses: { total: number; byReason: Partial<Record<BypassReason, number>> };
  stores: number;
  storeSkips: { total: number; byReason: Partial<Record<StoreSkipReason, number>> };
  /** Semantic candidates above the threshold that verification rejected (one lookup may reject several). */
  rejections: { total: number; byReason: Partial<Record<RejectionReason, number>> };
  /** Expired entries met by lookups (never served). */
  expirations: number;
  /** Entries evicted to keep a namespace within its cap. */
  evictions: number;
  /** Expired entries removed by the sweeper. */
  swept: number;
  /** Entries removed by purges. */
  purged: number;
  /**
   * Stampede control: calls that became the leader, that waited, waits answered by the
   * leader's entry, and calls let through uncoordinated because the answer was just refused.
   */
  fills: { leaders: number; waiters: number; shared: number; uncoalesced: number };
}

/** Sum raw counter hashes (`field → count`) into {@link CacheStats}. */
export function summarizeCounters(hashes: Array<Record<string, string>>, days: number): CacheStats {
  const totals = new Map<string, number>();
  for (const hash of hashes) {
    for (const [field, value] of Object.entries(hash)) totals.set(field, (totals.get(field) ?? 0) + Number(value));
  }
  const get = (field: string) => totals.get(field) ?? 0;
  const group = <K extends string>(prefix: string) => {
    const byReason: Partial<Record<K, number>> = {};
    let total = 0;
    for (const [field, value] of totals) {
      if (field.startsWith(`${prefix}.`)) {
        byReason[field.slice(prefix.length + 1) as K] = value;
        total += value;
      }
    }
    return { total, byReason };
  };
  const hits = {
    exact: get('hit.exact'),
    semantic: get('hit.semantic'),
    total: get('hit.exact') + get('hit.semantic'),
  };
  const misses = group<MissReason>('miss');
  const bypasses = group<BypassReason>('bypass');
  return {
    days,
    lookups: hits.total + misses.total + bypasses.total,
    hits,
    hitRate: hits.total + misses.total === 0 ? 0 : hits.total / (hits.total + misses.total),
    misses,
    bypasses,
    stores: get('store'),
    storeSkips: group<StoreSkipReason>('skip'),
    rejections: group<RejectionReason>('reject'),
    expirations: get('expired'),
    evictions: get('evicted'),
    swept: get('swept'),
    purged: get('purged'),
    fills: {
      leaders: get('fill.leader'),
      waiters: get('fill.waiter'),
      shared: get('fill.shared'),
      uncoalesced: get('fill.uncoalesced'),
    },
  };
}
