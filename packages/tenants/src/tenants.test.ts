import { randomUUID } from 'node:crypto';
import { describe, expect, it, inject } from 'vitest';
import { Redis } from 'ioredis';
import { createTenantStore, hashApiKey } from './index.ts';

describe('tenant store', () => {
  it('creates keys stored hashed, authenticates them, and revokes them', async () => {
    const prefix = `t${randomUUID().replaceAll('-', '')}`;
    const store = await createTenantStore({ redisUrl: inject('redisUrl'), prefix, authCacheMs: 0 });
    const raw = new Redis(inject('redisUrl'));
    try {
      const key = await store.createKey('acme');
      expect(key).toMatch(/^sk-sluice-[A-Za-z0-9]{40}$/);
      expect((await store.authenticate(key))?.name).toBe('acme');
      expect(await store.authenticate('sk-sluice-wrong')).toBeUndefined();
      const stored = await raw.keys(`${prefix}:apikey:*`);
      expect(stored).toEqual([`${prefix}:apikey:${hashApiKey(key)}`]);
      expect(JSON.stringify(await raw.hgetall(stored[0]!))).not.toContain(key);
      expect(await raw.type(`${prefix}:tenant:acme`)).toBe('hash');
      expect(await store.revokeKey(key)).toBe(true);
      expect(await store.authenticate(key)).toBeUndefined();
      await expect(store.upsertTenant('bad name!', {})).rejects.toThrow(/Tenant name/);
    } finally {
      raw.disconnect();
      await store.close();
    }
  });
});
