/**
 * Work that follows an answer already published: the limiter learning from the call, the
 * permit's release, throughput and tenant counters, the cache store.
 *
 * - {@link Settling.track}: a step already started (the cache store, sent before the job's
 *   finish on the same connection because a caller that gets the answer and asks again must
 *   find the entry); awaited only by `drain()`.
 * - {@link Settling.defer}: a step the answer does not need at all (release, learning,
 *   counters): held until the job's answer is sent ({@link Settling.published}), then started
 *   with every other job's deferred steps of the last `groupCommitMs`, in one macrotask, so
 *   their commands leave the process together (group commit) instead of one job at a time, and
 *   none of them runs in Redis ahead of a finish.
 *
 * A failure is logged by whoever made the step; settling never fails a job whose answer is
 * already paid for. `drain()` on shutdown starts what is still held and waits for everything.
 */
export interface Settling {
  /** Track a settling step; its rejection must already be handled. */
  track(step: Promise<unknown>): void;
  /** Hold `step` (its rejection handled) until `published(jobId)`, or `drain()`. */
  defer(jobId: string, step: () => Promise<unknown>): void;
  /** The job's answer (or failure) has been sent: its deferred steps go with the next group. Idempotent. */
  published(jobId: string): void;
  /** Steps not yet settled (held ones included). */
  readonly pending: number;
  /** Starts every held step, then resolves once every step (including those added while waiting) has settled. */
  drain(): Promise<void>;
}

/** Options for {@link createSettling}. */
export interface SettlingOptions {
  /**
   * How long released steps wait for others to go out with (ms); 0: the next macrotask.
   * A permit's release waits this much longer, which only errs on the safe side of a limit.
   * @defaultValue 2
   */
  groupCommitMs?: number;
}

/** A process's {@link Settling}. */
export function createSettling(options: SettlingOptions = {}): Settling {
  const groupCommitMs = options.groupCommitMs ?? 2;
  if (!Number.isFinite(groupCommitMs) || groupCommitMs < 0)
    throw new Error(`Expected \`groupCommitMs\` to be a number ≥ 0, got \`${groupCommitMs}\``);
  const steps = new Set<Promise<unknown>>();
  const held = new Map<string, Array<() => Promise<unknown>>>();
  let group: Array<() => Promise<unknown>> = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const track = (step: Promise<unknown>) => {
    const tracked = step.then(
      () => undefined,
      () => undefined,
    );
    steps.add(tracked);
    void tracked.then(() => steps.delete(tracked));
  };
  const start = (step: () => Promise<unknown>) => {
    try {
      track(step());
    } catch {
      // A step that throws synchronously has nothing to settle.
    }
  };
  const flush = () => {
    timer = undefined;
    const batch = group;
    group = [];
    for (const step of batch) start(step);
  };
  const release = (jobId: string) => {
    const mine = held.get(jobId);
    if (!mine) return;
    held.delete(jobId);
    group.push(...mine);
    timer ??= setTimeout(flush, groupCommitMs);
  };
  return {
    track,
    defer(jobId, step) {
      const mine = held.get(jobId);
      if (mine) mine.push(step);
      else held.set(jobId, [step]);
    },
    published: release,
    get pending() {
      let n = steps.size + group.length;
      for (const mine of held.values()) n += mine.length;
      return n;
    },
    async drain() {
      while (steps.size > 0 || group.length > 0 || held.size > 0) {
        for (const jobId of [...held.keys()]) release(jobId);
        if (timer) clearTimeout(timer);
        flush();
        await Promise.all([...steps]);
      }
    },
  };
}
