import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createKeys, createRedis } from '@sluice/redis';
import type { CompletionJobResult } from '@sluice/queues';
import { JobEventSubscriber, JobStore, type StoredJobEvent } from './index.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

const redis = createRedis({ url: inject('redisUrl'), role: 'worker', name: 'jobs-test' });
const sub = createRedis({ url: inject('redisUrl'), role: 'worker', name: 'jobs-test-sub', subscriber: true });
const keys = createKeys(`test-${randomUUID()}`);
const store = new JobStore({ redis, keys, ttlSeconds: 60 });
afterAll(() => {
  redis.disconnect();
  sub.disconnect();
});

const result: CompletionJobResult = {
  completion: { id: 'chatcmpl-x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'Blue, "quoted" \u00e9 \\ done.' }, finish_reason: 'stop' }] },
  tier: 'small',
  model: 'sim-small',
  deploymentId: 'cache',
  cache: 'hit',
  cacheKind: 'exact',
  cacheSimilarity: 1,
  costUsd: 0,
  attempt: 1,
};

describe('JobStore', () => {
  it('finishes with the event the client reads live and replays: the same JSON as before (payload sent once)', async () => {
    const id = `job-${randomUUID()}`;
    await store.create({ id, tenant: 'acme', stream: false, model: 'auto', createdAt: 1 });
    const live: StoredJobEvent[] = [];
    const unsubscribe = await new JobEventSubscriber({ subscriber: sub, keys }).subscribe(id, (e) => live.push(e));
    expect(await store.complete(id, result, 5)).toBe(true);
    expect(await store.complete(id, { ...result, model: 'other' }, 6)).toBe(false);
    const events = await store.events(id);
    expect(events.map((e) => e.event)).toEqual([{ type: 'done', result }]);
    const raw = await redis.xrange(keys.jobEvents(id), '-', '+');
    expect(raw[0]![1][1]).toBe(JSON.stringify({ type: 'done', result }));
    await expect.poll(() => live.length).toBe(1);
    expect(live[0]).toEqual(events[0]);
    await unsubscribe();
    const failed = `job-${randomUUID()}`;
    await store.create({ id: failed, tenant: 'acme', stream: false, model: 'auto', createdAt: 1 });
    const error = { message: 'nope', type: 'server_error', code: 'x', status: 500 };
    expect(await store.fail(failed, error)).toBe(true);
    expect((await store.events(failed)).map((e) => e.event)).toEqual([{ type: 'error', error }]);
    expect((await store.get(failed))?.error).toEqual(error);
  });

  it('records an accepted job, queued, with the TTL', async () => {
    const id = `job-${randomUUID()}`;
    await store.create({ id, tenant: 'acme', stream: true, model: 'sim-large', createdAt: 7 });
    expect(await store.get(id)).toMatchObject({ id, tenant: 'acme', status: 'queued', createdAt: 7, stream: true, model: 'sim-large' });
    expect(await redis.ttl(keys.job(id))).toBeGreaterThan(50);
  });

  it('records a job answered as it arrived: completed record with prompt and result, one done event, TTLs', async () => {
    const id = `job-${randomUUID()}`;
    await store.createAnswered({ id, tenant: 'acme', stream: true, model: 'auto', createdAt: 10, prompt: 'name a colour' }, result, 12);
    expect(await store.get(id)).toEqual({ id, tenant: 'acme', status: 'completed', createdAt: 10, finishedAt: 12, stream: true, model: 'auto', tier: undefined, category: undefined, result, error: undefined, prompt: 'name a colour' });
    expect((await store.events(id)).map((e) => e.event)).toEqual([{ type: 'done', result }]);
    expect(await redis.ttl(keys.job(id))).toBeGreaterThan(50);
    expect(await redis.ttl(keys.jobEvents(id))).toBeGreaterThan(50);
    // Finished: nothing else can finish it or append to it.
    expect(await store.complete(id, result)).toBe(false);
    expect(await store.append(id, { type: 'retry', attempt: 1, reason: 'x' })).toBe(false);
  });
});
