import { describe, expect, it } from 'vitest';
import { Cluster, Redis as Standalone } from 'ioredis';
import { createRedis, parseRedisUrl, RedisUrlError } from './index.ts';

describe('REDIS_URL', () => {
  it('names one server with redis:// or rediss://', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6379/2')).toEqual({ kind: 'standalone', url: 'redis://127.0.0.1:6379/2' });
    expect(parseRedisUrl('rediss://u:p@cache.example:6380').kind).toBe('standalone');
  });

  it('names cluster seed nodes with redis+cluster://, credentials and TLS included', () => {
    expect(parseRedisUrl('redis+cluster://10.0.0.1:7000,10.0.0.2:7001')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
      ],
      username: undefined,
      password: undefined,
      tls: false,
    });
    expect(parseRedisUrl('rediss+cluster://svc:s%40cret@[::1]:7000/')).toEqual({
      kind: 'cluster',
      nodes: [{ host: '::1', port: 7000 }],
      username: 'svc',
      password: 's@cret',
      tls: true,
    });
    expect(parseRedisUrl('redis+cluster://:only-password@h:1')).toMatchObject({
      username: undefined,
      password: 'only-password',
    });
  });

  it('rejects what it cannot use, without echoing a password', () => {
    expect(() => parseRedisUrl('http://h:1')).toThrow(RedisUrlError);
    expect(() => parseRedisUrl('redis+cluster://h')).toThrow(/host:port, got `h`/);
    expect(() => parseRedisUrl('redis+cluster://h:70000')).toThrow(/host:port/);
    expect(() => parseRedisUrl('redis+cluster://')).toThrow(/at least one/);
    const message = (() => {
      try {
        parseRedisUrl('redis+cluster://user:hunter2@nohostport');
        return 'accepted';
      } catch (error) {
        return (error as Error).message;
      }
    })();
    expect(message).toMatch(/host:port, got `nohostport`/);
    expect(message).not.toContain('hunter2');
    // No scheme at all: nothing of the value is echoed (it may be credentials and a host).
    expect(() => parseRedisUrl('user:hunter2@h:6379')).toThrow(/got no scheme$/);
  });

  it('gives a Cluster client for a cluster URL and a single connection otherwise', () => {
    const single = createRedis({ url: 'redis://127.0.0.1:1', role: 'request' });
    const cluster = createRedis({ url: 'redis+cluster://127.0.0.1:1', role: 'worker' });
    try {
      expect(single).toBeInstanceOf(Standalone);
      expect(cluster).toBeInstanceOf(Cluster);
    } finally {
      single.disconnect();
      cluster.disconnect();
    }
  });
});
