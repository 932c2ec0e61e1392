import { describe, expect, it } from 'vitest';
import { startRedisServer } from '@sluice/redis-server';
import { createSimulator } from '@sluice/sim';
import { freePort } from '@sluice/redis-server';
import { freshPrefix, spawnApp, until } from './harness.ts';

/**
 * During a Redis outage every process keeps writing JSON log lines (issue 12, defect 8):
 * BullMQ's connection errors used to reach `console.error` as multi-line stack traces, since
 * its queues had no 'error' listener.
 */
describe('logs during a Redis outage', () => {
  it('API, classifier and executor write only JSON lines while Redis is down', { timeout: 90_000 }, async () => {
    const redis = await startRedisServer();
    const sim = createSimulator({ profile: 'fast' });
    const { url: simBase } = await sim.listen({ port: 0 });
    const env: NodeJS.ProcessEnv = {
      REDIS_URL: redis.url,
      SLUICE_REDIS_PREFIX: freshPrefix(),
      SLUICE_SIM_URL: `${simBase}/v1`,
      SLUICE_API_PORT: String(await freePort()),
      SLUICE_API_HOST: '127.0.0.1',
      SLUICE_LOG_LEVEL: 'info',
    };
    const apps = (['api', 'classifier', 'executor'] as const).map((kind) => ({ kind, ...spawnApp(kind, env) }));
    try {
      await until(
        async () => (await fetch(`http://127.0.0.1:${env.SLUICE_API_PORT}/readyz`).catch(() => undefined))?.ok,
        60_000,
        200,
      );
      await until(() => apps.every((a) => /consuming|ready|listening/i.test(a.output())), 30_000, 200);
      const before = apps.map((a) => a.output().length);
      await redis.stop();
      // Several reconnect attempts (capped at 2 s apart) and a request that needs Redis.
      await new Promise((r) => setTimeout(r, 6_000));
      const res = await fetch(`http://127.0.0.1:${env.SLUICE_API_PORT}/v1/usage`, {
        headers: { authorization: 'Bearer sk-sluice-x' },
      });
      expect(res.status).toBe(503);
      for (const [i, a] of apps.entries()) {
        const lines = a
          .output()
          .slice(before[i])
          .split('\n')
          .filter((l) => l.trim());
        const plain = lines.filter((l) => {
          try {
            return typeof JSON.parse(l) !== 'object';
          } catch {
            return true;
          }
        });
        expect(plain, `${a.kind} wrote non-JSON lines:\n${plain.slice(0, 5).join('\n')}`).toEqual([]);
      }
    } finally {
      for (const a of apps) a.child.kill('SIGKILL');
      await Promise.all(apps.map((a) => a.exited));
      await sim.close();
      await redis.stop();
    }
  });
});
