import { RATE_WINDOW_MS } from './rate-limiter.ts';
import { TimeWindow } from './time-window.ts';
import type { SimModelStats } from './types.ts';

type Counter = Exclude<keyof SimModelStats, 'maxAcceptedIn60s' | 'inFlight' | 'maxInFlight'>;

/**
 * Counters of one model. `maxAcceptedIn60s` is exact: each acceptance at `t` counts the
 * acceptances in `(t - 60s, t]`, which covers every window that could hold a new maximum
 * (a window's count only rises at an acceptance).
 */
export class ModelStatsRecorder {
  #counters: Record<Counter, number> = zeroCounters();
  #accepted = new TimeWindow<{ at: number }>(RATE_WINDOW_MS);
  #maxAcceptedIn60s = 0;
  #inFlight = 0;
  #maxInFlight = 0;

  /** Adds `amount` to a plain counter. */
  add(counter: Counter, amount = 1): void {
    this.#counters[counter] += amount;
  }

  /** Records an acceptance at `now` and updates the 60-second maximum. */
  accept(now: number): void {
    this.#counters.accepted += 1;
    this.#accepted.prune(now);
    this.#accepted.push({ at: now });
    this.#maxAcceptedIn60s = Math.max(this.#maxAcceptedIn60s, this.#accepted.size);
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  enter(): void {
    this.#inFlight += 1;
    this.#maxInFlight = Math.max(this.#maxInFlight, this.#inFlight);
  }

  leave(): void {
    this.#inFlight = Math.max(0, this.#inFlight - 1);
  }

  /** Zeroes counters; requests still in flight stay counted in `inFlight`. */
  reset(): void {
    this.#counters = zeroCounters();
    this.#accepted.clear();
    this.#maxAcceptedIn60s = 0;
    this.#maxInFlight = this.#inFlight;
  }

  snapshot(): SimModelStats {
    return {
      ...this.#counters,
      maxAcceptedIn60s: this.#maxAcceptedIn60s,
      inFlight: this.#inFlight,
      maxInFlight: this.#maxInFlight,
    };
  }
}

function zeroCounters(): Record<Counter, number> {
  return {
    requests: 0,
    accepted: 0,
    rateLimited: 0,
    errors: 0,
    timeouts: 0,
    dropped: 0,
    promptTokens: 0,
    completionTokens: 0,
  };
}
