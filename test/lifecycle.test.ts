import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobStore } from '@sluice/jobs';
import { createKeys } from '@sluice/redis';
import { spawnApp, startStack, until, type TestStack } from './harness.ts';

/**
 * Each test boots one or two executor processes with tsx; on the shared 2-core CI machine a
 * boot alone took 10-20 s under load (two sequential boots failed the 30 s default).
 */
const SPAWN_TIMEOUT_MS = 120_000;

/**
 * Jobs survive the absence and the shutdown of executors. Executors here are real processes
 * started like `pnpm start` does, so SIGTERM is a real signal.
 */
describe('job lifecycle across executor processes', () => {
  let stack: TestStack;
  let client: OpenAI;
  let store: JobStore;
  beforeAll(async () => {
    stack = await startStack({ executor: false });
    client = new OpenAI({
      baseURL: `${stack.apiUrl}/v1`,
      apiKey: await stack.key('acme'),
      maxRetries: 0,
      timeout: 60_000,
    });
    store = new JobStore({ redis: stack.redis, keys: createKeys(stack.config.redis.prefix), ttlSeconds: 3600 });
  });
  afterAll(() => stack.stop());

  const doneEvents = async (jobId: string) => (await store.events(jobId)).filter((e) => e.event.type === 'done').length;

  it('a job submitted while no executor runs completes once one starts', { timeout: SPAWN_TIMEOUT_MS }, async () => {
    const pending = client.chat.completions
      .create({ model: 'auto', messages: [{ role: 'user', content: 'queued before any executor' }] })
      .withResponse();
    await new Promise((r) => setTimeout(r, 1_000));
    const executor = spawnApp('executor', stack.env);
    try {
      const { data, response } = await pending;
      expect(data.choices[0]!.message.content).toContain('[sim:');
      expect(await doneEvents(response.headers.get('x-sluice-job-id')!)).toBe(1);
    } finally {
      executor.child.kill('SIGTERM');
      await executor.exited;
    }
  });

  it(
    'an executor stopped with SIGTERM mid-job finishes it; the client gets exactly one answer',
    { timeout: SPAWN_TIMEOUT_MS },
    async () => {
      const executor = spawnApp('executor', stack.env);
      const pending = client.chat.completions
        .create({ model: 'small', messages: [{ role: 'user', content: 'slow one [[sim:slow=1500]]' }] })
        .withResponse();
      const jobId = await until(async () => {
        const ids = await stack.redis.keys(`${stack.config.redis.prefix}:{job:*}`);
        for (const key of ids) {
          const id = /\{job:([^}]+)\}$/.exec(key)?.[1];
          if (id && (await store.status(id)) === 'running') return id;
        }
        return undefined;
      }, 60_000);
      executor.child.kill('SIGTERM');
      const { data, response } = await pending;
      expect(response.headers.get('x-sluice-job-id')).toBe(jobId);
      expect(data.choices[0]!.message.content).toContain('[sim:');
      expect(await executor.exited).toBe(0);
      expect(await doneEvents(jobId)).toBe(1);
    },
  );

  it(
    'an executor whose drain time runs out hands the job back; another executor completes it once',
    { timeout: SPAWN_TIMEOUT_MS },
    async () => {
      const first = spawnApp('executor', { ...stack.env, SLUICE_DRAIN_TIMEOUT_MS: '300' });
      const pending = client.chat.completions
        .create({ model: 'small', messages: [{ role: 'user', content: 'handed back [[sim:slow=3000]]' }] })
        .withResponse();
      await until(async () => (await stack.sim.stats()).models['sim-small']?.inFlight, 60_000);
      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);
      const second = spawnApp('executor', stack.env);
      try {
        const { data, response } = await pending;
        const jobId = response.headers.get('x-sluice-job-id')!;
        expect(data.choices[0]!.message.content).toContain('[sim:');
        expect(await doneEvents(jobId)).toBe(1);
        const attempts = (await store.events(jobId)).filter((e) => e.event.type === 'attempt');
        expect(attempts.length).toBe(2);
      } finally {
        second.child.kill('SIGTERM');
        await second.exited;
      }
    },
  );
});
