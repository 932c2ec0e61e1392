import type { Redis } from '@sluice/redis';

/**
 * Milliseconds since the epoch. Every script takes "now" from the caller's clock as an
 * argument instead of calling Redis `TIME`, so tests can drive time by hand.
 */
export type Clock = () => number;

/** Options for {@link measureClockOffset}. */
export interface MeasureClockOffsetOptions {
  /** Round trips to sample; the one with the shortest round trip wins. @defaultValue 5 */
  samples?: number;
  /** Local clock to compare. @defaultValue `Date.now` */
  clock?: Clock;
}

/**
 * How far the Redis server's clock is ahead of this host's (ms; negative when behind),
 * estimated from the `TIME` round trip with the least delay.
 *
 * Executors on hosts whose clocks disagree by more than the limiter's safety margin can pass
 * `clock: () => Date.now() + offset` so every process stamps the shared windows with one time
 * base (Redis's) without a `TIME` call per acquisition.
 */
export async function measureClockOffset(redis: Redis, options: MeasureClockOffsetOptions = {}): Promise<number> {
  const samples = options.samples ?? 5;
  const clock = options.clock ?? Date.now;
  let best: { rtt: number; offset: number } | undefined;
  for (let i = 0; i < samples; i += 1) {
    const before = clock();
    const [seconds, micros] = await redis.time();
    const after = clock();
    const server = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const rtt = after - before;
    const offset = server - (before + rtt / 2);
    if (!best || rtt < best.rtt) best = { rtt, offset };
  }
  return Math.round(best?.offset ?? 0);
}
