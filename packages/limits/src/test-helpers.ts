import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { createKeys, createRedis, type Keys, type Redis } from '@sluice/redis';
import { createLimits, type Limiter, type LimitsOptions } from './limiter.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/** A clock tests move by hand; starts at a fixed, realistic epoch time. */
export class FakeClock {
  now = Date.UTC(2025, 0, 15, 12, 0, 0);
  readonly read = (): number => this.now;
  advance(ms: number): void {
    this.now += ms;
  }
}

/** A test's own Redis connections and key prefix; `close()` ends the connections. */
export class TestRedis {
  readonly keys: Keys = createKeys(`t${randomUUID().replaceAll('-', '')}`);
  readonly clock = new FakeClock();
  readonly #connections: Redis[] = [];

  /** A new connection, as a separate process would have. */
  connect(): Redis {
    const redis = createRedis({ url: inject('redisUrl'), role: 'worker', name: 'limits-test' });
    this.#connections.push(redis);
    return redis;
  }

  /** A limiter on its own connection, sharing this test's prefix and clock. */
  limiter(options: Partial<LimitsOptions> = {}): Limiter {
    return createLimits({ redis: this.connect(), keys: this.keys, clock: this.clock.read, ...options });
  }

  close(): void {
    for (const c of this.#connections) c.disconnect();
  }
}

/** Deterministic PRNG (mulberry32) so a failing run can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
