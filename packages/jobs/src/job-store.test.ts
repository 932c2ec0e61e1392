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
  completion: {
    id: 'chatcmpl-x',
    object: 'chat.completion',
    choices: [
      { index: 0, message: { role: 'assistant', content: 'Blue, "quoted" \u00e9 \\ done.' }, finish_reason: 'stop' },
    ],
  },
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
    expect(await store.get(id)).toMatchObject({
      id,
      tenant: 'acme',
      status: 'queued',
      createdAt: 7,
      stream: true,
      model: 'sim-large',
    });
    expect(await redis.ttl(keys.job(id))).toBeGreaterThan(50);
  });

  it('records a job answered as it arrived: completed record with prompt and result, one done event, TTLs', async () => {
    const id = `job-${randomUUID()}`;
    await store.createAnswered(
      { id, tenant: 'acme', stream: true, model: 'auto', createdAt: 10, prompt: 'name a colour' },
      result,
      12,
    );
    expect(await store.get(id)).toEqual({
      id,
      tenant: 'acme',
      status: 'completed',
      createdAt: 10,
      finishedAt: 12,
      stream: true,
      model: 'auto',
      tier: undefined,
      category: undefined,
      result,
      error: undefined,
      prompt: 'name a colour',
    });
    expect((await store.events(id)).map((e) => e.event)).toEqual([{ type: 'done', result }]);
    expect(await redis.ttl(keys.job(id))).toBeGreaterThan(50);
    expect(await redis.ttl(keys.jobEvents(id))).toBeGreaterThan(50);
    // Finished: nothing else can finish it or append to it.
    expect(await store.complete(id, result)).toBe(false);
    expect(await store.append(id, { type: 'retry', attempt: 1, reason: 'x' })).toBe(false);
    expect(await store.appendEvent(id, { type: 'retry', attempt: 1, reason: 'x' })).toBe('finished');
  });

  it('writes nothing for a job without a record: no hash without a TTL or a tenant is left behind', async () => {
    const id = `job-${randomUUID()}`;
    expect(
      await store.appendEvent(
        id,
        {
          type: 'routed',
          route: { tier: 'small', category: 'general', confidence: 1, reasons: [], strategy: 'pinned' },
        },
        'routed',
        { tier: 'small' },
      ),
    ).toBe('missing');
    expect(await store.append(id, { type: 'retry', attempt: 1, reason: 'x' }, 'running')).toBe(false);
    expect(await store.complete(id, result)).toBe(false);
    expect(await store.fail(id, { message: 'nope', type: 'server_error', code: 'x', status: 500 })).toBe(false);
    expect(await redis.exists(keys.job(id), keys.jobEvents(id))).toBe(0);
    await store.create({ id, tenant: 'acme', stream: false, model: 'auto', createdAt: 1 });
    expect(await store.appendEvent(id, { type: 'retry', attempt: 1, reason: 'x' }, 'running')).toBe('appended');
    expect(await store.status(id)).toBe('running');
  });
});

describe('JobEventSubscriber with a reply channel', () => {
  const waitFor = async (check: () => boolean) => expect.poll(check, { timeout: 5_000 }).toBe(true);

  it('delivers a job recorded with the channel without a subscription per job, and other listeners see nothing of it', async () => {
    const connection = createRedis({
      url: inject('redisUrl'),
      role: 'worker',
      name: 'jobs-test-reply',
      subscriber: true,
    });
    const replyChannel = keys.family('reply', randomUUID());
    const subscriber = new JobEventSubscriber({ subscriber: connection, keys, store, replyChannel });
    await subscriber.start();
    try {
      const id = `job-${randomUUID()}`;
      const other = `job-${randomUUID()}`;
      const live: StoredJobEvent[] = [];
      const elsewhere: StoredJobEvent[] = [];
      const unsubscribe = subscriber.listen(id, (e) => live.push(e));
      const unsubscribeOther = subscriber.listen(other, (e) => elsewhere.push(e));
      await store.create({ id, tenant: 'acme', stream: false, model: 'auto', createdAt: 1, reply: replyChannel });
      expect(await redis.hget(keys.job(id), 'reply')).toBe(replyChannel);
      expect(await store.append(id, { type: 'retry', attempt: 1, reason: 'r' })).toBe(true);
      expect(await store.complete(id, result, 5)).toBe(true);
      await waitFor(() => live.length === 2);
      expect(live).toEqual(await store.events(id));
      expect(elsewhere).toEqual([]);
      // Nothing went to the job's own channel: nobody subscribes to it in this mode.
      expect(Number(((await redis.call('PUBSUB', 'SHARDNUMSUB', keys.jobChannel(id))) as [string, number])[1])).toBe(0);
      expect(subscriber.size).toBe(2);
      await unsubscribe();
      await unsubscribeOther();
      expect(subscriber.size).toBe(0);
    } finally {
      connection.disconnect();
    }
  });

  it('attaches a late caller to a reply-channel job (log, then live), and falls back to the own channel for a job without one', async () => {
    const first = createRedis({ url: inject('redisUrl'), role: 'worker', name: 'jobs-test-reply-a', subscriber: true });
    const second = createRedis({
      url: inject('redisUrl'),
      role: 'worker',
      name: 'jobs-test-reply-b',
      subscriber: true,
    });
    const a = new JobEventSubscriber({
      subscriber: first,
      keys,
      store,
      replyChannel: keys.family('reply', randomUUID()),
    });
    const b = new JobEventSubscriber({
      subscriber: second,
      keys,
      store,
      replyChannel: keys.family('reply', randomUUID()),
    });
    await Promise.all([a.start(), b.start()]);
    try {
      const id = `job-${randomUUID()}`;
      const seenA: StoredJobEvent[] = [];
      const seenB: StoredJobEvent[] = [];
      const offA = a.listen(id, (e) => seenA.push(e));
      await store.create({ id, tenant: 'acme', stream: false, model: 'auto', createdAt: 1, reply: a.replyChannel });
      const offB = await b.subscribe(id, (e) => seenB.push(e));
      await b.subscribe(id, () => {}).then((off) => off());
      expect((await redis.hget(keys.job(id), 'reply'))?.split(' ')).toEqual([a.replyChannel, b.replyChannel]);
      expect(await store.complete(id, result, 5)).toBe(true);
      await waitFor(() => seenA.length === 1 && seenB.length === 1);
      expect(seenB).toEqual(seenA);
      await offA();
      await offB();

      const own = `job-${randomUUID()}`;
      await store.create({ id: own, tenant: 'acme', stream: false, model: 'auto', createdAt: 1 });
      const seenOwn: StoredJobEvent[] = [];
      const offOwn = await b.subscribe(own, (e) => seenOwn.push(e));
      expect(await redis.hget(keys.job(own), 'reply')).toBeNull();
      expect(await store.complete(own, result, 5)).toBe(true);
      await waitFor(() => seenOwn.length === 1);
      expect(seenOwn[0]!.event).toEqual({ type: 'done', result });
      await offOwn();
    } finally {
      first.disconnect();
      second.disconnect();
    }
  });

  it('reads back from the log what was published while its connection was down', async () => {
    const connection = createRedis({
      url: inject('redisUrl'),
      role: 'worker',
      name: 'jobs-test-reply-drop',
      subscriber: true,
    });
    const replyChannel = keys.family('reply', randomUUID());
    const subscriber = new JobEventSubscriber({ subscriber: connection, keys, store, replyChannel });
    await subscriber.start();
    try {
      const id = `job-${randomUUID()}`;
      const live: StoredJobEvent[] = [];
      subscriber.listen(id, (e) => live.push(e));
      await store.create({ id, tenant: 'acme', stream: false, model: 'auto', createdAt: 1, reply: replyChannel });
      const closed = new Promise((resolve) => connection.once('close', resolve));
      // Drop the subscriber's connection from the server side; ioredis reconnects by itself.
      const clients = String(await redis.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
      const line = clients.split('\n').find((l) => l.includes('name=jobs-test-reply-drop'));
      await redis.call('CLIENT', 'KILL', 'ID', /id=(\d+)/.exec(line!)![1]!);
      await closed;
      expect(await store.complete(id, result, 5)).toBe(true);
      await waitFor(() => live.length === 1);
      expect(live[0]!.event).toEqual({ type: 'done', result });
    } finally {
      connection.disconnect();
    }
  });
});
