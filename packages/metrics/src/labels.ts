import { PRIORITY } from '@sluice/queues';

/** `priority` label values: the named priorities, and `other` for any numeric one in between. */
export type PriorityLabel = keyof typeof PRIORITY | 'other';

const BY_VALUE = new Map<number, PriorityLabel>(
  Object.entries(PRIORITY).map(([name, value]) => [value, name as PriorityLabel]),
);

/**
 * The `priority` label of a BullMQ priority. Clients may send any integer 1..1000, so the
 * label keeps the named ones (`interactive`, `default`, `batch`) and folds the rest into
 * `other`: a label per number would be up to a thousand series per queue.
 */
export function priorityLabel(priority: number | undefined): PriorityLabel {
  return BY_VALUE.get(priority ?? PRIORITY.default) ?? 'other';
}

/** The named priorities, for reading queue depth per priority. */
export const NAMED_PRIORITIES: ReadonlyArray<readonly [PriorityLabel, number]> = Object.freeze(
  Object.entries(PRIORITY).map(([name, value]) => [name as PriorityLabel, value] as const),
);

/** `result` of `sluice_cache_lookups_total`. */
export type CacheLookupResult = 'hit' | 'miss' | 'rejected' | 'bypass';
/** `kind` of `sluice_cache_lookups_total`: which level answered or refused; `none` for misses and bypasses. */
export type CacheLookupKind = 'exact' | 'semantic' | 'none';
