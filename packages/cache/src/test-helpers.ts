import { randomUUID } from 'node:crypto';
import { createKeys, type Keys } from '@sluice/redis';
import { configDefaults, FakeClock, TestConnections } from '@sluice/testing';
import type { ChatRequest } from '@sluice/queues';
import { HashingEmbedder } from './hashing-embedder.ts';
import type { CacheConfig } from './policy.ts';
import type { ResponseCacheOptions } from './cache-types.ts';
import { ResponseCache } from './response-cache.ts';

/** The cache section of the configuration defaults (what a process without configuration uses). */
export const DEFAULT_CACHE_CONFIG: CacheConfig = configDefaults().cache;

/** A test's own prefix, clock and connections. */
export class CacheTestBed {
  readonly keys: Keys = createKeys(`test-${randomUUID()}`);
  readonly clock = new FakeClock();
  readonly embedder = new HashingEmbedder({ dimensions: 256 });
  readonly #connections = new TestConnections();
  readonly #caches: ResponseCache[] = [];

  /** A new connection, as a separate process would have. */
  connect() {
    return this.#connections.connect('cache-test');
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
    this.#connections.close();
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
    choices: [
      { index: 0, message: { role: 'assistant', content, refusal: null }, finish_reason: finishReason, logprobs: null },
    ],
    usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 },
    ...extra,
  };
}
