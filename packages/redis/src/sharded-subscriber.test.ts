import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createRedis } from './index.ts';
import { ShardedSubscriber } from './sharded-subscriber.ts';

const connections: Array<ReturnType<typeof createRedis>> = [];
const connect = (subscriber = false) => {
  const redis = createRedis({ url: inject('redisUrl'), role: 'worker', name: 'sharded-subscriber-test', subscriber });
  connections.push(redis);
  return redis;
};
afterAll(() => connections.forEach((c) => c.disconnect()));

const channelCount = async (publisher: ReturnType<typeof createRedis>, channel: string) =>
  ((await publisher.call('PUBSUB', 'SHARDNUMSUB', channel)) as [string, number])[1];

describe('ShardedSubscriber', () => {
  it('subscribes a channel for its first handler, hands each message to every handler, and unsubscribes after the last', async () => {
    const publisher = connect();
    const subscriber = new ShardedSubscriber(connect(true));
    const channel = `test:{${randomUUID()}}:events`;
    const [a, b]: [string[], string[]] = [[], []];
    const removeA = await subscriber.listen(channel, (message) => a.push(message));
    const removeB = await subscriber.listen(channel, (message) => b.push(message));
    expect(subscriber.size).toBe(1);
    expect(await channelCount(publisher, channel)).toBe(1);

    expect(await publisher.spublish(channel, 'one')).toBe(1);
    await expect.poll(() => b.length).toBe(1);
    expect(a).toEqual(['one']);

    await removeA();
    await publisher.spublish(channel, 'two');
    await expect.poll(() => b.length).toBe(2);
    expect(a).toEqual(['one']);
    expect(await channelCount(publisher, channel)).toBe(1);

    await removeB();
    expect(subscriber.size).toBe(0);
    await expect.poll(() => channelCount(publisher, channel)).toBe(0);
    expect(await publisher.spublish(channel, 'three')).toBe(0);
  });

  it('keeps channels apart and resubscribes the ones with handlers', async () => {
    const publisher = connect();
    const subscriber = new ShardedSubscriber(connect(true));
    const [first, second] = [`test:{${randomUUID()}}:a`, `test:{${randomUUID()}}:b`];
    const got: string[] = [];
    await subscriber.listen(first, (message, channel) =>
      got.push(`${channel === first ? 'first' : 'other'}:${message}`),
    );
    const removeSecond = await subscriber.listen(second, (message) => got.push(`second:${message}`));
    await removeSecond();
    await subscriber.resubscribe();
    await publisher.spublish(second, 'x');
    await publisher.spublish(first, 'y');
    await expect.poll(() => got).toEqual(['first:y']);
  });
});
