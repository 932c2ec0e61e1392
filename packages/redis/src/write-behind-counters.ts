/** Counter increments by key, then by field: what one write sends. */
export type CounterBatch = Map<string, Map<string, number>>;

/** Options for {@link WriteBehindCounters}. */
export interface WriteBehindCountersOptions {
  /**
   * Sends one batch (one pipeline or one script, typically) and resolves with the increments
   * it could not write, if any; those are kept for the next write. A throw keeps the whole
   * batch and is reported to `onError`.
   */
  write(batch: CounterBatch): Promise<CounterBatch | undefined | void>;
  /**
   * How long increments are added up before they are written. 0 writes each addition at once.
   * @defaultValue 1000
   */
  flushMs?: number;
  /** Wait before writing again what a failed write kept. @defaultValue max(flushMs, 1000) */
  retryMs?: number;
  /** Told about a write that threw (its increments are kept). @defaultValue ignore */
  onError?(error: unknown): void;
}

/**
 * Counters that must never fail or slow the request that bumps them: increments are added up
 * in the process and written in the background, one write at a time and in order, so a batch
 * never overtakes the one before it. A failed write keeps its increments for the next one,
 * so Redis away for a while loses nothing while the process lives; what the process holds
 * when it is killed (at most `flushMs` of counts) is lost, which is why only statistics use
 * this and the ledger, which bills, writes at once.
 */
export class WriteBehindCounters {
  readonly #write: WriteBehindCountersOptions['write'];
  readonly #flushMs: number;
  readonly #retryMs: number;
  readonly #onError: (error: unknown) => void;
  #pending: CounterBatch = new Map();
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(options: WriteBehindCountersOptions) {
    const flushMs = options.flushMs ?? 1_000;
    if (!(Number.isFinite(flushMs) && flushMs >= 0))
      throw new TypeError(`Expected \`flushMs\` to be a number ≥ 0, got \`${String(options.flushMs)}\``);
    const retryMs = options.retryMs ?? Math.max(flushMs, 1_000);
    if (!(Number.isFinite(retryMs) && retryMs > 0))
      throw new TypeError(`Expected \`retryMs\` to be a number > 0, got \`${String(options.retryMs)}\``);
    this.#write = options.write;
    this.#flushMs = flushMs;
    this.#retryMs = retryMs;
    this.#onError = options.onError ?? (() => {});
  }

  /** Adds `by` to `field` of `key`. After {@link close}, the addition is written at once. */
  add(key: string, field: string, by = 1): void {
    this.#merge(key, field, by);
    this.#schedule();
  }

  /** Adds several fields of one key (one schedule for all of them). */
  addAll(key: string, increments: Iterable<readonly [string, number]>): void {
    for (const [field, by] of increments) this.#merge(key, field, by);
    this.#schedule();
  }

  /** Increments added and not yet written (fields across keys). */
  get pending(): number {
    let count = 0;
    for (const fields of this.#pending.values()) count += fields.size;
    return count;
  }

  /** Writes what has been added so far. Never rejects: a failed write keeps its increments. */
  flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#writing = this.#writing.then(() => this.#writeOnce());
    return this.#writing;
  }

  /** Writes what is pending; later additions are written at once instead of added up. */
  close(): Promise<void> {
    this.#closed = true;
    return this.flush();
  }

  async #writeOnce(): Promise<void> {
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    let unwritten: CounterBatch | undefined | void;
    try {
      unwritten = await this.#write(batch);
    } catch (error) {
      unwritten = batch;
      this.#onError(error);
    }
    if (!unwritten || unwritten.size === 0) return;
    for (const [key, fields] of unwritten) for (const [field, by] of fields) this.#merge(key, field, by);
    if (!this.#closed) this.#timer ??= setTimeout(() => void this.flush(), this.#retryMs).unref();
  }

  #merge(key: string, field: string, by: number): void {
    let fields = this.#pending.get(key);
    if (!fields) this.#pending.set(key, (fields = new Map()));
    fields.set(field, (fields.get(field) ?? 0) + by);
  }

  #schedule(): void {
    if (this.#flushMs === 0 || this.#closed) void this.flush();
    else this.#timer ??= setTimeout(() => void this.flush(), this.#flushMs).unref();
  }
}
