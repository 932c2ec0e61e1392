/**
 * A process-local line of jobs waiting for an upstream permit of one tier.
 *
 * Why: when a tier has no permit, handing each denied job back to BullMQ costs a fetch and a
 * hand-back per job per retry. With paced permits (a few per second) BullMQ handed every
 * executor up to its concurrency in jobs at each resume and took all but a few back: about
 * 28 fetches and 5× the Redis commands per job during a backlog (`pnpm bench:storm`). A job
 * whose permit is near instead waits here, in the process that already holds it: one job at
 * a time asks the limiter (the head of the line, by priority then acceptance), each grant
 * lets the next ask at once, each denial sets when the head asks again. So a process sends
 * one limiter call per retry interval while the tier is blocked, whatever the line's length.
 *
 * A job waits here only as long as `holdMs` (and its own deadline) allows; otherwise it is told
 * to park (go back to the queue as a delayed job), so a long block, such as a provider
 * cooldown, does not keep jobs in worker slots that higher-priority work may need.
 */
export interface PermitLineOptions {
  /** Longest a job waits in the line before it parks instead. */
  holdMs: number;
  /** @defaultValue `Date.now` */
  clock?: () => number;
}

/**
 * What a waiter is told: ask the limiter now (it holds the turn), or park for `ms`, because
 * - `blocked`: the tier's soonest permit is further away than any job is held;
 * - `held`: this job was held as long as it may (the line is longer than the process can
 *   serve within the hold bound, or its deadline comes first);
 * - `closed`: the process is shutting down.
 */
export type LineTurn = { kind: 'ask' } | { kind: 'park'; ms: number; reason: 'blocked' | 'held' | 'closed' };

/** One job in the line. */
export interface LineEntry {
  /** BullMQ priority: lower goes first. */
  priority: number;
  /** When the API accepted the job (ms): first come, first asked within a priority. */
  acceptedAt: number;
  /** The latest time this job may still be waiting (its permit deadline), ms. */
  deadline: number;
  /**
   * When the job first joined the line (ms): a job that asked and was refused joins again
   * and keeps its hold bound from then, so it parks after `holdMs` in all. @defaultValue now
   */
  joinedAt?: number;
  /** Leaves the line (rejecting with the signal's reason) when aborted. */
  signal?: AbortSignal;
}

interface Waiter extends LineEntry {
  seq: number;
  /** Latest time this waiter stays (its hold bound or its deadline, whichever is sooner). */
  leaveAt: number;
  resolve(turn: LineTurn): void;
  reject(reason: unknown): void;
  onAbort?: () => void;
}

/**
 * The line of one tier in one process. Not shared across processes: each executor process
 * has its own, and the global limiter stays the only arbiter of permits.
 */
export class PermitLine {
  readonly #holdMs: number;
  readonly #clock: () => number;
  #blockedUntil = 0;
  #waiters: Waiter[] = [];
  /** A waiter holds the turn: it is asking the limiter and will report with granted/denied. */
  #asking = false;
  #timer: NodeJS.Timeout | undefined;
  #seq = 0;
  #closed = false;
  #lastDenialAt = Number.NEGATIVE_INFINITY;

  constructor(options: PermitLineOptions) {
    this.#holdMs = options.holdMs;
    this.#clock = options.clock ?? Date.now;
  }

  /** Jobs waiting in the line (not counting one that is asking). */
  get length(): number {
    return this.#waiters.length;
  }

  /** Whether a denial came within the last hold bound: the tier's permits are what limits it. */
  congested(): boolean {
    return this.#clock() - this.#lastDenialAt <= this.#holdMs;
  }

  /** Ms until the tier's soonest permit as last reported by a denial (0 when not blocked). */
  blockedMs(): number {
    return Math.max(0, this.#blockedUntil - this.#clock());
  }

  /**
   * Whether a job may ask the limiter directly, without the line: the tier is not blocked,
   * nobody waits and nobody holds the turn. Otherwise it must {@link wait}.
   */
  open(): boolean {
    return !this.#closed && this.#waiters.length === 0 && !this.#asking && this.blockedMs() === 0;
  }

  /**
   * Record a denial of every deployment of the tier, from a direct ask: the soonest permit
   * comes in `retryAfterMs`.
   */
  block(retryAfterMs: number): void {
    this.#lastDenialAt = this.#clock();
    this.#blockedUntil = Math.max(this.#blockedUntil, this.#clock() + retryAfterMs);
    this.#schedule();
  }

  /**
   * Wait for this job's turn to ask the limiter. Resolves `ask` when the job is the head of
   * the line, the tier's block has passed and nobody else holds the turn (the caller then
   * holds it and must call {@link granted} or {@link denied}), or `park` when the block
   * outlasts the job's hold bound or its deadline. Rejects with the signal's reason on abort.
   */
  wait(entry: LineEntry): Promise<LineTurn> {
    const now = this.#clock();
    const leaveAt = Math.min((entry.joinedAt ?? now) + this.#holdMs, entry.deadline);
    if (this.#closed) return Promise.resolve({ kind: 'park', ms: 1, reason: 'closed' });
    if (this.#blockedUntil > leaveAt)
      return Promise.resolve({ kind: 'park', ms: this.#blockedUntil - now, reason: this.#parkReason(now) });
    if (entry.signal?.aborted) return Promise.reject(entry.signal.reason);
    return new Promise<LineTurn>((resolve, reject) => {
      const waiter: Waiter = { ...entry, seq: this.#seq++, leaveAt, resolve, reject };
      if (entry.signal) {
        waiter.onAbort = () => {
          this.#remove(waiter);
          reject(entry.signal!.reason);
        };
        entry.signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.#insert(waiter);
      this.#pump();
    });
  }

  /** The turn holder got a permit: the next job asks at once. */
  granted(): void {
    this.#asking = false;
    this.#blockedUntil = 0;
    this.#pump();
  }

  /** The turn holder was refused by every deployment: the next ask comes in `retryAfterMs`. */
  denied(retryAfterMs: number): void {
    this.#lastDenialAt = this.#clock();
    this.#asking = false;
    this.#blockedUntil = this.#clock() + retryAfterMs;
    this.#pump();
  }

  /** The turn holder stopped without a verdict (it left, failed or was cancelled). */
  release(): void {
    this.#asking = false;
    this.#pump();
  }

  /** Every waiter parks now (shutdown: jobs go back to the queue for other processes). */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) this.#settle(w, { kind: 'park', ms: 1, reason: 'closed' });
  }

  /** Why a job parks now that the block outlasts its bound (see {@link LineTurn}). */
  #parkReason(now: number): 'blocked' | 'held' {
    return this.#blockedUntil - now > this.#holdMs ? 'blocked' : 'held';
  }

  #insert(waiter: Waiter): void {
    const after = (a: Waiter, b: Waiter) =>
      a.priority > b.priority ||
      (a.priority === b.priority && (a.acceptedAt > b.acceptedAt || (a.acceptedAt === b.acceptedAt && a.seq > b.seq)));
    let i = this.#waiters.length;
    while (i > 0 && after(this.#waiters[i - 1]!, waiter)) i--;
    this.#waiters.splice(i, 0, waiter);
  }

  #remove(waiter: Waiter): void {
    const i = this.#waiters.indexOf(waiter);
    if (i >= 0) this.#waiters.splice(i, 1);
  }

  #settle(waiter: Waiter, turn: LineTurn): void {
    if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
    waiter.resolve(turn);
  }

  /** Release whoever must park, then hand the turn to the head if it is due. */
  #pump(): void {
    const now = this.#clock();
    // Waiters whose bound comes before the block ends park now, not at their bound: waiting
    // on could not get them a permit.
    if (this.#blockedUntil > now) {
      const keep: Waiter[] = [];
      for (const w of this.#waiters) {
        if (w.leaveAt < this.#blockedUntil)
          this.#settle(w, { kind: 'park', ms: this.#blockedUntil - now, reason: this.#parkReason(now) });
        else keep.push(w);
      }
      this.#waiters = keep;
    }
    if (this.#asking || this.#waiters.length === 0) return;
    if (this.#blockedUntil > now) {
      this.#schedule();
      return;
    }
    const head = this.#waiters.shift()!;
    this.#asking = true;
    this.#settle(head, { kind: 'ask' });
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    if (this.#waiters.length === 0 || this.#closed) return;
    this.#timer = setTimeout(() => this.#pump(), Math.max(1, this.#blockedUntil - this.#clock()));
    this.#timer.unref();
  }
}

/** One process's permit lines, one per tier, created on first use. */
export class PermitLines {
  readonly #options: PermitLineOptions;
  readonly #lines = new Map<string, PermitLine>();
  #closed = false;

  constructor(options: PermitLineOptions) {
    this.#options = options;
  }

  /** The line of `tier` (closed already if the process is shutting down). */
  for(tier: string): PermitLine {
    let line = this.#lines.get(tier);
    if (!line) {
      line = new PermitLine(this.#options);
      if (this.#closed) line.close();
      this.#lines.set(tier, line);
    }
    return line;
  }

  /** Jobs waiting in each tier's line right now (for a gauge). */
  lengths(): Record<string, number> {
    return Object.fromEntries([...this.#lines].map(([tier, line]) => [tier, line.length]));
  }

  /** Shutting down: every waiter parks, and so does every job that comes later. */
  close(): void {
    this.#closed = true;
    for (const line of this.#lines.values()) line.close();
  }
}
