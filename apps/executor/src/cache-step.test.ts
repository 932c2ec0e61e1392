import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '@sluice/config';
import { createResponseCache, type ResponseCache } from '@sluice/cache';
import { createRedis } from '@sluice/redis';
import type { CompletionJobData } from '@sluice/queues';
import { createCachingCaller } from './cache-step.ts';
import type { UpstreamCaller } from './upstream-call.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

const prefix = `test-${randomUUID()}`;
const config = loadConfig({
  env: { HOME: '/nonexistent' },
  overrides: { redis: { prefix, url: inject('redisUrl') }, cache: { enabled: true, semantic: false } } as never,
});
const redis = createRedis({ url: inject('redisUrl'), role: 'worker', name: 'cache-step-test' });
afterAll(() => redis.disconnect());
const silent = { debug() {}, info() {}, warn() {}, error() {} } as never;
const cache: ResponseCache = createResponseCache({ redis, config, logger: silent });

const completion = (content: string) => ({
  id: 'chatcmpl-up',
  object: 'chat.completion',
  model: 'sim-small',
  choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
});

function attempt(data: CompletionJobData): Parameters<UpstreamCaller>[0] {
  return {
    job: { data } as never,
    worker: {} as never,
    token: undefined,
    attempt: 1,
    tier: 'small',
    signal: new AbortController().signal,
    begin: async () => true,
  };
}

const job = (text: string): CompletionJobData => ({
  id: randomUUID(),
  tenant: 'acme',
  acceptedAt: Date.now(),
  request: { model: 'auto', messages: [{ role: 'user', content: text }] },
  stream: false,
  priority: 5,
  cacheMode: 'default',
  route: { tier: 'small', category: 'general' } as never,
});

const fillLocks = async () => (await redis.keys(`${prefix}:*fill*`)).length;

describe('the executor cache step', () => {
  it('takes the stampede guard with the lookup: a miss leads and stores, then an executor hit gives the guard back', async () => {
    let calls = 0;
    const inner: UpstreamCaller = async () => {
      calls++;
      return {
        completion: completion('Blue.') as never,
        headers: {},
        deployment: config.deployments.find((d) => d.tier === 'small')!,
      };
    };
    const settled: Promise<unknown>[] = [];
    const caller = createCachingCaller({
      cache,
      config,
      inner,
      logger: silent,
      settling: { track: (p) => void settled.push(p), defer() {}, published() {}, pending: 0, drain: async () => {} },
    });
    const text = `Name a colour of the sky ${randomUUID()}`;
    const first = await caller(attempt(job(text)));
    expect(first?.cacheOutcome).toBe('miss');
    await Promise.all(settled);
    expect(calls).toBe(1);
    expect(await fillLocks()).toBe(0);
    const second = await caller(attempt(job(text)));
    expect(second?.cache?.kind).toBe('exact');
    expect(calls).toBe(1);
    // The guard taken with the lookup was given back at once: no lock left for a waiter to wait on.
    await expect.poll(fillLocks).toBe(0);
  });

  it('does not search the semantic level again right after the API searched the same scope, and does later or for another category', async () => {
    const seen: Array<boolean | undefined> = [];
    const watched = new Proxy(cache, {
      get(target, name) {
        if (name === 'lookup')
          return (input: Parameters<ResponseCache['lookup']>[0]) => (seen.push(input.semantic), target.lookup(input));
        const value = Reflect.get(target, name, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const inner: UpstreamCaller = async () => ({
      completion: completion('Green.') as never,
      headers: {},
      deployment: config.deployments.find((d) => d.tier === 'small')!,
    });
    const caller = createCachingCaller({ cache: watched, config, inner, logger: silent, recentLookupMs: 1_000 });
    const looked = (at: number, category: 'general' | 'code' = 'general') => ({
      ...job(`Name a colour ${randomUUID()}`),
      cacheLooked: { at, category, tiers: ['small' as const, 'large' as const] },
    });
    await caller(attempt(looked(Date.now())));
    await caller(attempt(looked(Date.now() - 5_000)));
    await caller(attempt(looked(Date.now(), 'code')));
    await caller(attempt(job(`Name a colour ${randomUUID()}`)));
    expect(seen).toEqual([false, true, true, true]);
  });
});
