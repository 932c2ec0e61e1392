import { incrementExpiring, type Redis } from '@sluice/redis';
import type { Keys } from '@sluice/redis';
import type { Clock } from './clock.ts';
import { BackpressureError, LimitsConfigError } from './errors.ts';
import { encodeKeyPart } from './keys.ts';
import { expectId, expectInteger } from './validate.ts';

/** Input of {@link estimateWaitMs}. */
export interface WaitEstimateInput {
  /** Jobs waiting ahead of a new one. */
  queued: number;
  /** Jobs completed per second (from a {@link ThroughputMeter}). */
  throughputPerSec: number;
  /**
   * Throughput assumed when the measured one is lower, e.g. while the meter is still empty
   * after a start (the deployments' combined rpm / 60 is a fair floor). @defaultValue 0
   */
  minThroughputPerSec?: number;
}

/**
 * Expected wait of a job entering a queue behind `queued` others (Little's law:
 * queued ÷ throughput). `0` for an empty queue; `Infinity` when jobs wait and nothing completes.
 */
export function estimateWaitMs(input: WaitEstimateInput): number {
  const queued = Math.max(0, input.queued);
  if (queued === 0) return 0;
  const throughput = Math.max(input.throughputPerSec, input.minThroughputPerSec ?? 0);
  if (!(throughput > 0)) return Number.POSITIVE_INFINITY;
  return Math.ceil((queued / throughput) * 1000);
}

/** Input of {@link checkBackpressure}. */
export interface BackpressureInput extends WaitEstimateInput {
  /** Longest expected wait at which a new job is still accepted (ms). */
  maxWaitMs: number;
}

/**
 * Accept a new job, returning its expected wait, or throw a {@link BackpressureError} (429)
 * whose `retryAfterMs` is when the queue should have drained to the bound.
 */
export function checkBackpressure(input: BackpressureInput): { expectedWaitMs: number } {
  expectInteger('maxWaitMs', input.maxWaitMs, 1);
  const expectedWaitMs = estimateWaitMs(input);
  if (expectedWaitMs <= input.maxWaitMs) return { expectedWaitMs };
  // Nothing completing: ask for one bound's worth of patience rather than forever.
  const retryAfterMs = Number.isFinite(expectedWaitMs)
    ? Math.max(1000, Math.ceil(expectedWaitMs - input.maxWaitMs))
    : input.maxWaitMs;
  throw new BackpressureError(expectedWaitMs, input.maxWaitMs, retryAfterMs);
}

/** Options for {@link createThroughputMeter}. */
export interface ThroughputMeterOptions {
  redis: Redis;
  keys: Keys;
  /** What is counted, e.g. `completions` or `tier-small`. */
  name: string;
  /** Sliding window the rate is averaged over, in whole seconds (ms). @defaultValue 60000 */
  windowMs?: number;
  /** @defaultValue `Date.now` */
  clock?: Clock;
}

/** Events per second over a sliding window, counted in Redis and shared by every process. */
export interface ThroughputMeter {
  readonly name: string;
  /** Count `count` events now (e.g. one finished job). */
  record(count?: number): Promise<void>;
  /**
   * Events per second over the window's complete seconds (the current, partial second is
   * left out so a rate read early in a second is not biased low).
   */
  ratePerSecond(): Promise<number>;
}

class RedisThroughputMeter implements ThroughputMeter {
  readonly name: string;
  readonly #redis: Redis;
  readonly #keys: Keys;
  readonly #clock: Clock;
  readonly #seconds: number;

  constructor(options: ThroughputMeterOptions) {
    this.name = expectId('name', options.name);
    const windowMs = options.windowMs ?? 60_000;
    expectInteger('windowMs', windowMs, 1000);
    if (windowMs % 1000 !== 0)
      throw new LimitsConfigError(`Expected \`windowMs\` to be whole seconds, got \`${windowMs}\``);
    this.#seconds = windowMs / 1000;
    this.#redis = options.redis;
    this.#keys = options.keys;
    this.#clock = options.clock ?? Date.now;
  }

  #key(second: number): string {
    return this.#keys.family('meter', encodeKeyPart(this.name), String(second));
  }

  async record(count = 1): Promise<void> {
    expectInteger('count', count, 1);
    const key = this.#key(Math.floor(this.#clock() / 1000));
    // One counter per second that expires on its own: no sweeper, and a reader sums at most
    // window-many small keys (one MGET, one slot thanks to the hash tag).
    await incrementExpiring(this.#redis, key, count, (this.#seconds + 5) * 1000);
  }

  async ratePerSecond(): Promise<number> {
    const current = Math.floor(this.#clock() / 1000);
    const keys = Array.from({ length: this.#seconds }, (_, i) => this.#key(current - this.#seconds + i));
    const values = await this.#redis.mget(...keys);
    const total = values.reduce((sum, v) => sum + Number(v ?? 0), 0);
    return total / this.#seconds;
  }
}

/** Create a shared throughput meter. Keys: `<prefix>:{meter:<name>}:<epoch second>`. */
export function createThroughputMeter(options: ThroughputMeterOptions): ThroughputMeter {
  return new RedisThroughputMeter(options);
}
