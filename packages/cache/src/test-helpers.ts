import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { createKeys, createRedis, type Keys, type Redis } from '@sluice/redis';
import type { ChatRequest } from '@sluice/queues';
import { HashingEmbedder } from './hashing-embedder.ts';
import type { CacheConfig } from './policy.ts';
import { ResponseCache, type ResponseCacheOptions } from './response-cache.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/** The configuration defaults of `@sluice/config`'s cache section. */
export const DEFAULT_CACHE_CONFIG: CacheConfig = {
  enabled: true,
  semantic: true,
  threshold: 0.9,
  thresholdByCategory: {},
  ttlSeconds: { time_sensitive: 0, factual: 3_600, general: 604_800, creative: 604_800, code: 604_800, reasoning: 604_800 },
  maxTemperature: 1,
  namespaceCap: 50_000,
  cacheToolCalls: false,
};

/** A clock tests move by hand. */
export class FakeClock {
  now = Date.UTC(2025, 0, 15, 12, 0, 0);
  readonly read = (): number => this.now;
  advance(ms: number): void {
    this.now += ms;
  }
}

/** A test's own prefix, clock and connections. */
export class CacheTestBed {
  readonly keys: Keys = createKeys(`test-${randomUUID()}`);
  readonly clock = new FakeClock();
  readonly embedder = new HashingEmbedder({ dimensions: 256 });
  readonly #connections: Redis[] = [];
  readonly #caches: ResponseCache[] = [];

  /** A new connection, as a separate process would have. */
  connect(): Redis {
    const redis = createRedis({ url: inject('redisUrl'), role: 'worker', name: 'cache-test' });
    this.#connections.push(redis);
    return redis;
  }

  /** A cache on its own connection (a "process"), sharing this test's prefix and clock. */
  cache(config: Partial<CacheConfig> = {}, options: Partial<ResponseCacheOptions> = {}): ResponseCache {
    const cache = new ResponseCache({
      redis: this.connect(),
      keys: this.keys,
      embedder: this.embedder,
      config: { ...DEFAULT_CACHE_CONFIG, ...config },
      clock: this.clock.read,
      ...options,
    });
    this.#caches.push(cache);
    return cache;
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.#caches.map((c) => c.close()));
    for (const c of this.#connections) c.disconnect();
  }
}

/** A one-turn chat request. */
export function ask(text: string, extra: Partial<ChatRequest> = {}): ChatRequest {
  return { model: 'auto', messages: [{ role: 'user', content: text }], ...extra };
}

/** A finished completion as the upstream returns it. */
export function completion(content: string, finishReason = 'stop', extra: Record<string, unknown> = {}) {
  return {
    id: 'chatcmpl-test',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: 'gpt-4o-mini',
    choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, finish_reason: finishReason, logprobs: null }],
    usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 },
    ...extra,
  };
}
