/**
 * A FIFO of timestamped entries that keeps only those inside a sliding window `(now - windowMs, now]`.
 * Entries must be pushed in time order. Removal advances a head index instead of shifting the
 * array, so pruning is O(expired) and pushing is amortised O(1) even at thousands of requests per
 * second.
 */
export class TimeWindow<T extends { at: number }> {
  /** Window length in milliseconds. */
  readonly windowMs: number;
  #entries: T[] = [];
  #head = 0;

  constructor(windowMs: number) {
    this.windowMs = windowMs;
  }

  /** Drops entries that are no longer inside the window ending at `now`. */
  prune(now: number): void {
    const cutoff = now - this.windowMs;
    while (this.#head < this.#entries.length && this.#entries[this.#head]!.at <= cutoff) this.#head += 1;
    // Compact once the dead prefix dominates, so memory tracks the live window, not history.
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Appends an entry; `entry.at` must not be older than the newest entry. */
  push(entry: T): void {
    this.#entries.push(entry);
  }

  /** Live entries, oldest first (call {@link prune} first). */
  get size(): number {
    return this.#entries.length - this.#head;
  }

  /** The `index`-th live entry, oldest first. */
  at(index: number): T | undefined {
    return this.#entries[this.#head + index];
  }

  /** The most recent entry, if any. */
  newest(): T | undefined {
    return this.size === 0 ? undefined : this.#entries[this.#entries.length - 1];
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let index = this.#head; index < this.#entries.length; index += 1) yield this.#entries[index]!;
  }

  /** Drops every entry. */
  clear(): void {
    this.#entries = [];
    this.#head = 0;
  }
}
