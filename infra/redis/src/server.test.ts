import { describe, expect, it, inject } from 'vitest';
import { Redis } from 'ioredis';

describe('provisioned Redis', () => {
  it('is Redis 8 with vector sets, AOF on and noeviction', async () => {
    const redis = new Redis(inject('redisUrl'));
    try {
      const info = await redis.info('server');
      expect(Number(/redis_version:(\d+)/.exec(info)?.[1])).toBeGreaterThanOrEqual(8);
      await redis.call('VADD', 'test:vs', 'VALUES', '3', '1', '0', '0', 'a');
      await redis.call('VADD', 'test:vs', 'VALUES', '3', '0', '1', '0', 'b');
      const sim = (await redis.call('VSIM', 'test:vs', 'VALUES', '3', '1', '0.1', '0', 'COUNT', '1')) as string[];
      expect(sim).toEqual(['a']);
      expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      expect(await redis.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
    } finally {
      await redis.del('test:vs');
      redis.disconnect();
    }
  });
});
