/**
 * Work that follows an answer already published: the limiter learning from the call, the
 * permit's release, throughput and tenant counters, the cache store. Each is started right
 * after the upstream returns (so its commands go out on the process's connection before the
 * job's finish, in order, where order matters) and awaited only here: `drain()` on shutdown,
 * so a closing executor still settles what it answered. A failure is logged by whoever
 * tracked the promise; settling never fails a job whose answer is already paid for.
 */
export interface Settling {
  /** Track a settling step; its rejection must already be handled. */
  track(step: Promise<unknown>): void;
  /** Steps not yet settled. */
  readonly pending: number;
  /** Resolves once every tracked step (including those tracked while waiting) has settled. */
  drain(): Promise<void>;
}

/** A process's {@link Settling}. */
export function createSettling(): Settling {
  const steps = new Set<Promise<unknown>>();
  return {
    track(step) {
      const tracked = step.then(
        () => undefined,
        () => undefined,
      );
      steps.add(tracked);
      void tracked.then(() => steps.delete(tracked));
    },
    get pending() {
      return steps.size;
    },
    async drain() {
      while (steps.size > 0) await Promise.all([...steps]);
    },
  };
}
