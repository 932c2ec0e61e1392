import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createTenantStore, type TenantStore } from '@sluice/tenants';
import { freshPrefix, ROOT } from './harness.ts';

const run = promisify(execFile);

describe('operator CLI: tenants set, keys list, keys revoke', () => {
  const prefix = freshPrefix();
  const env = {
    ...process.env,
    REDIS_URL: inject('redisUrl'),
    SLUICE_REDIS_PREFIX: prefix,
    SLUICE_LOG_LEVEL: 'silent',
  };
  const sluice = async (...args: string[]) => {
    try {
      const { stdout } = await run(
        process.execPath,
        ['--import', 'tsx', join(ROOT, 'apps/cli/src/index.ts'), ...args],
        { cwd: ROOT, env },
      );
      return { code: 0, out: stdout };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, out: `${e.stdout}${e.stderr}` };
    }
  };
  let store: TenantStore;
  beforeAll(async () => {
    store = await createTenantStore({ redisUrl: inject('redisUrl'), prefix });
  });
  afterAll(() => store.close());

  it("sets a tenant's quotas and refuses bad values", { timeout: 60_000 }, async () => {
    const set = await sluice('tenants', 'set', 'acme', '--rpm', '120', '--tokens-per-day', '50000');
    expect(set.code).toBe(0);
    expect(set.out).toContain('Tenant acme: rpm 120, tokens per day 50000');
    expect(await store.getTenant('acme')).toMatchObject({ rpm: 120, tokensPerDay: 50_000 });
    const bad = await sluice('tenants', 'set', 'acme', '--rpm', 'lots');
    expect(bad.code).toBe(2);
    expect(bad.out).toContain('--rpm must be an integer');
  });

  it('lists keys without the keys themselves and revokes one by id', { timeout: 60_000 }, async () => {
    const a = await store.createKey('acme', 'ci');
    const b = await store.createKey('globex');
    const listed = await sluice('keys', 'list');
    expect(listed.code).toBe(0);
    expect(listed.out).not.toContain(a);
    expect(listed.out).not.toContain(b);
    const rows = listed.out
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split('\t'));
    expect(rows.map((r) => r[1]).sort()).toEqual(['acme', 'globex']);
    const acmeRow = rows.find((r) => r[1] === 'acme')!;
    expect(acmeRow[2]).toBe('ci');
    expect(acmeRow[4]).toBe('active');
    const onlyGlobex = await sluice('keys', 'list', '--tenant', 'globex');
    expect(onlyGlobex.out).not.toContain('acme');
    const revoked = await sluice('keys', 'revoke', acmeRow[0]!);
    expect(revoked.code).toBe(0);
    expect(revoked.out).toContain('Revoked key');
    // A fresh store has no auth cache: the key is refused at once.
    const fresh = await createTenantStore({ redisUrl: inject('redisUrl'), prefix });
    expect(await fresh.authenticate(a)).toBeUndefined();
    expect(await fresh.authenticate(b)).toMatchObject({ name: 'globex' });
    await fresh.close();
    const none = await sluice('keys', 'revoke', 'ffffffffffff');
    expect(none.code).toBe(2);
    expect(none.out).toContain('No API key');
  });
});
