import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createRedis } from './index.ts';

// patches/ioredis@6.0.0.patch: a pipeline finds its client's custom commands on a prototype
// shared by the client's pipelines instead of copying them onto itself. These fail on an
// unpatched ioredis (the first) or on a patch that serves stale commands (the others).
const redis = createRedis({ url: inject('redisUrl'), role: 'worker', name: 'pipeline-patch-test', pipelining: true });
afterAll(() => redis.disconnect());

type Scripted = Record<string, (...args: unknown[]) => unknown>;

describe('ioredis pipelines with custom commands (patched)', () => {
  it('runs a defined command in a pipeline, a multi and an auto-pipelined batch without copying it onto each', async () => {
    const name = `echoKey${randomUUID().slice(0, 8)}`;
    redis.defineCommand(name, { numberOfKeys: 1, lua: "return redis.call('SET', KEYS[1], ARGV[1])" });
    const key = `patch-${randomUUID()}`;
    const pipeline = redis.pipeline();
    expect(Object.hasOwn(pipeline, name)).toBe(false);
    (pipeline as unknown as Scripted)[name]!(key, 'one');
    pipeline.get(key);
    expect(await pipeline.exec()).toEqual([
      [null, 'OK'],
      [null, 'one'],
    ]);

    const multi = redis.multi();
    (multi as unknown as Scripted)[name]!(key, 'two');
    multi.get(key);
    expect(await multi.exec()).toEqual([
      [null, 'OK'],
      [null, 'two'],
    ]);

    // Auto-pipelining sends these together through one pipeline of the client's.
    const scripted = redis as unknown as Scripted;
    const [set, got] = await Promise.all([scripted[name]!(key, 'three'), redis.get(key)]);
    expect(set).toBe('OK');
    expect(got).toBe('three');
  });

  it('sees a command defined after the client made its first pipelines', async () => {
    redis.pipeline();
    const name = `later${randomUUID().slice(0, 8)}`;
    redis.defineCommand(name, { numberOfKeys: 0, lua: "return 'later'" });
    const pipeline = redis.pipeline();
    (pipeline as unknown as Scripted)[name]!();
    expect(await pipeline.exec()).toEqual([[null, 'later']]);
  });
});
