/**
 * What package tests share: a clock moved by hand, a seeded random generator, the Redis 8 the
 * global setup started, and the configuration defaults as `@sluice/config` really has them
 * (never a copy that drifts from the schema).
 */
import { inject } from 'vitest';
import { loadConfig, type SluiceConfig } from '@sluice/config';
import { createRedis, type Redis } from '@sluice/redis';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the throwaway Redis 8 that `test/global-setup.ts` started. */
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

/** Deterministic PRNG (mulberry32), so a failing run can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The URL of the test run's Redis 8. */
export function testRedisUrl(): string {
  return inject('redisUrl');
}

/** The configuration every process gets with no environment: the schema's own defaults. */
export function configDefaults(): SluiceConfig {
  return loadConfig({ env: {} });
}

/** Connections a test opens, each as a separate process would have, closed together. */
export class TestConnections {
  readonly #connections: Redis[] = [];

  /** A new connection to the test run's Redis, named for `CLIENT LIST`. */
  connect(name: string): Redis {
    const redis = createRedis({ url: testRedisUrl(), role: 'worker', name });
    this.#connections.push(redis);
    return redis;
  }

  /** Disconnect every connection this opened. */
  close(): void {
    for (const connection of this.#connections) connection.disconnect();
    this.#connections.length = 0;
  }
}
