import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobStore } from '@sluice/jobs';
import { createLimits, type Limiter } from '@sluice/limits';
import { TIER_QUEUES, createQueue } from '@sluice/queues';
import { createKeys, createRedis, type Redis } from '@sluice/redis';
import { startStack, until, type TestStack } from './harness.ts';

const SIM_DEPLOYMENTS = [
  { id: 'sim-router', tier: 'router' as const, model: 'sim-router' },
  { id: 'sim-large', tier: 'large' as const, model: 'sim-large' },
];

const post = (stack: TestStack, key: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${stack.apiUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

/**
 * The global limiter wired into the executor and the API: parking without spending an
 * attempt, failover and the shared circuit, tenant quotas, backpressure.
 */
describe('upstream limits', () => {
  describe('a job that gets no permit', () => {
    let stack: TestStack;
    let redis: Redis;
    let limits: Limiter;
    beforeAll(async () => {
      stack = await startStack({
        env: { SLUICE_KEEP_COMPLETED: '100' },
        overrides: {
          deployments: [...SIM_DEPLOYMENTS, { id: 'sim-small', tier: 'small', model: 'sim-small', maxConcurrency: 1 }],
        },
      });
      // The test's own connection, standing in for another executor process.
      redis = createRedis({ url: stack.config.redis.url, role: 'worker' });
      limits = createLimits({ redis, keys: createKeys(stack.config.redis.prefix) });
    });
    afterAll(async () => {
      redis.disconnect();
      await stack.stop();
    });

    it(
      'waits (held in its executor up to SLUICE_PERMIT_HOLD_MS, then parked in the queue) without spending an attempt, keeps its priority, and runs once a permit frees',
      { timeout: 60_000 },
      async () => {
        const deployment = stack.config.deployments.find((d) => d.id === 'sim-small')!;
        // Hold the deployment's only concurrency slot, as a call in another process would.
        const held = await limits.acquire(deployment, { promptTokens: 1 });
        expect(held.granted).toBe(true);
        const key = await stack.key('parker');
        const res = await post(
          stack,
          key,
          '/v1/jobs',
          { model: 'small', messages: [{ role: 'user', content: 'wait for a permit' }] },
          { 'x-sluice-priority': 'batch', 'cache-control': 'no-store' },
        );
        expect(res.status).toBe(202);
        const jobId = ((await res.json()) as { id: string }).id;
        const queue = createQueue(TIER_QUEUES.small, {
          connection: redis,
          keys: createKeys(stack.config.redis.prefix),
        });
        try {
          // Held, parked and picked up again several times: every start is counted, no attempt is.
          const parked = await until(async () => {
            const job = await queue.getJob(jobId);
            return job && job.attemptsStarted >= 3 ? job : undefined;
          }, 30_000);
          expect(parked.attemptsMade).toBe(0);
          expect(parked.priority).toBe(10);
          expect(['delayed', 'prioritized', 'active']).toContain(await parked.getState());
          const store = new JobStore({ redis, keys: createKeys(stack.config.redis.prefix), ttlSeconds: 3600 });
          expect((await store.events(jobId)).filter((e) => e.event.type === 'attempt')).toHaveLength(0);
          expect((await stack.sim.stats()).models['sim-small']?.requests ?? 0).toBe(0);

          if (held.granted) await limits.release(held.lease);
          const record = await until(async () => {
            const r = await store.get(jobId);
            return r?.status === 'completed' ? r : undefined;
          }, 30_000);
          expect(record.result?.attempt).toBe(1);
          expect((await store.events(jobId)).filter((e) => e.event.type === 'attempt')).toHaveLength(1);
          // The result is delivered before BullMQ acknowledges the job (ledger and bookkeeping run
          // in between): wait for the acknowledgement, which is slower on a loaded machine.
          // The state first, then the job: a job read before its state could predate the
          // acknowledgement that the state then reports (a stale attemptsMade of 0).
          const done = await until(
            async () => ((await queue.getJobState(jobId)) === 'completed' ? queue.getJob(jobId) : undefined),
            10_000,
          );
          // BullMQ counts the completing attempt: one attempt in all, the parks spent none.
          expect(done.attemptsMade).toBe(1);
        } finally {
          await queue.close();
        }
      },
    );
  });

  describe('a job pinned to a saturated deployment', () => {
    let stack: TestStack;
    let redis: Redis;
    let limits: Limiter;
    beforeAll(async () => {
      stack = await startStack({
        overrides: {
          deployments: [
            ...SIM_DEPLOYMENTS,
            // One request per minute: once it is spent, a permit is a minute away.
            { id: 'sim-small', tier: 'small', model: 'sim-small', rpm: 1 },
            { id: 'sim-small-b', tier: 'small', model: 'sim-small@b' },
          ],
        },
      });
      redis = createRedis({ url: stack.config.redis.url, role: 'worker' });
      limits = createLimits({ redis, keys: createKeys(stack.config.redis.prefix) });
    });
    afterAll(async () => {
      redis.disconnect();
      await stack.stop();
    });

    it(
      'waits alone, without spending an attempt, while the tier’s other deployment serves the rest',
      { timeout: 60_000 },
      async () => {
        const saturated = stack.config.deployments.find((d) => d.id === 'sim-small')!;
        stack.sim.getModel('sim-small@b');
        // Another process spends the minute's only permit.
        expect((await limits.acquire(saturated, { promptTokens: 1 })).granted).toBe(true);
        const key = await stack.key('pinned');
        const store = new JobStore({ redis, keys: createKeys(stack.config.redis.prefix), ttlSeconds: 3600 });
        const queue = createQueue(TIER_QUEUES.small, {
          connection: redis,
          keys: createKeys(stack.config.redis.prefix),
        });
        try {
          const res = await post(
            stack,
            key,
            '/v1/jobs',
            { model: 'sim-small', messages: [{ role: 'user', content: 'pinned' }] },
            { 'x-sluice-priority': 'batch', 'cache-control': 'no-store' },
          );
          expect(res.status).toBe(202);
          const pinnedId = ((await res.json()) as { id: string }).id;
          await until(async () => ((await queue.getJob(pinnedId))?.attemptsStarted ?? 0) >= 1, 20_000);

          // BullMQ's rate limit would pause the whole tier queue for the minute; the job that
          // any deployment of the tier can serve must not wait for it.
          const other = await fetch(`${stack.apiUrl}/v1/chat/completions`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${key}`,
              'content-type': 'application/json',
              'cache-control': 'no-store',
            },
            body: JSON.stringify({ model: 'small', messages: [{ role: 'user', content: 'unpinned' }] }),
            signal: AbortSignal.timeout(15_000),
          });
          expect(other.status).toBe(200);
          expect(other.headers.get('x-sluice-model')).toBe('sim-small@b');

          // The pinned job waits alone (delayed), with its priority and no attempt spent.
          const parked = await until(async () => {
            const job = await queue.getJob(pinnedId);
            return job && (await job.getState()) === 'delayed' ? job : undefined;
          }, 5_000);
          expect(parked.attemptsMade).toBe(0);
          expect(parked.priority).toBe(10);
          expect((await store.events(pinnedId)).filter((e) => e.event.type === 'attempt')).toHaveLength(0);
          expect((await store.get(pinnedId))?.status).not.toBe('completed');
          expect((await stack.sim.stats()).models['sim-small']?.requests ?? 0).toBe(0);
        } finally {
          await queue.close();
        }
      },
    );
  });

  describe('a deployment answering only 5xx', () => {
    let stack: TestStack;
    let limits: Limiter;
    let client: OpenAI;
    beforeAll(async () => {
      stack = await startStack({
        env: { SLUICE_CIRCUIT_OPEN_MS: '3000' },
        overrides: {
          deployments: [
            ...SIM_DEPLOYMENTS,
            { id: 'sim-small', tier: 'small', model: 'sim-small' },
            { id: 'sim-small-b', tier: 'small', model: 'sim-small@b' },
          ],
        },
      });
      limits = createLimits({ redis: stack.redis, keys: createKeys(stack.config.redis.prefix) });
      client = new OpenAI({
        baseURL: `${stack.apiUrl}/v1`,
        apiKey: await stack.key('failover'),
        maxRetries: 0,
        timeout: 60_000,
      });
    });
    afterAll(() => stack.stop());

    const ask = async (i: number) => {
      const { data, response } = await client.chat.completions
        .create(
          { model: 'small', messages: [{ role: 'user', content: `failover question ${i} ${Math.random()}` }] },
          { headers: { 'cache-control': 'no-store' } },
        )
        .withResponse();
      return { data, model: response.headers.get('x-sluice-model'), jobId: response.headers.get('x-sluice-job-id')! };
    };

    it(
      'moves traffic to the other deployment, opens the circuit, and closes it after recovery',
      { timeout: 90_000 },
      async () => {
        const broken = stack.config.deployments.find((d) => d.id === 'sim-small')!;
        // The variant copies its base's settings when first used: create it healthy first.
        stack.sim.getModel('sim-small@b');
        stack.sim.updateModel('sim-small', { faults: { errorRate: 1 } });
        expect(stack.sim.getModel('sim-small@b')?.faults.errorRate ?? 0).toBe(0);
        const store = new JobStore({
          redis: stack.redis,
          keys: createKeys(stack.config.redis.prefix),
          ttlSeconds: 3600,
        });

        const answers = [];
        for (let i = 0; i < 30; i++) answers.push(await ask(i));
        // Every request was answered, by the healthy deployment, in its first attempt: failing
        // over inside a run spends no attempt.
        expect(answers.every((a) => a.model === 'sim-small@b')).toBe(true);
        for (const a of answers.slice(0, 10)) expect((await store.get(a.jobId))?.result?.attempt).toBe(1);
        const stats = (await stack.sim.stats()).models;
        expect(stats['sim-small']?.errors ?? 0).toBeGreaterThanOrEqual(5);
        // Five consecutive failures open the circuit; after that the broken deployment is skipped.
        expect(stats['sim-small']!.errors).toBeLessThan(12);
        const open = await limits.state(broken);
        expect(open.circuit).toBe('open');
        expect(open.circuitOpens).toBeGreaterThanOrEqual(1);
        const errorsWhileOpen = stats['sim-small']!.errors;
        for (let i = 0; i < 5; i++) await ask(100 + i);
        if ((await limits.state(broken)).circuit === 'open')
          expect((await stack.sim.stats()).models['sim-small']!.errors).toBe(errorsWhileOpen);

        // Recovery: after the open period one probe goes through, succeeds, and closes it.
        stack.sim.updateModel('sim-small', { faults: { errorRate: 0 } });
        await until(
          async () => {
            await ask(200);
            return (await limits.state(broken)).circuit === 'closed';
          },
          30_000,
          200,
        );
        const models = new Set<string | null>();
        for (let i = 0; i < 30; i++) models.add((await ask(300 + i)).model);
        expect(models.has('sim-small')).toBe(true);
        expect((await stack.sim.stats()).models['sim-small']!.accepted).toBeGreaterThan(0);
      },
    );
  });

  describe('a deployment that times out, and a job that runs out of attempts', () => {
    let stack: TestStack;
    let client: OpenAI;
    let key: string;
    beforeAll(async () => {
      stack = await startStack({
        env: { SLUICE_JOB_ATTEMPTS: '2', SLUICE_JOB_BACKOFF_MS: '200' },
        overrides: {
          deployments: [
            { id: 'sim-router', tier: 'router', model: 'sim-router' },
            { id: 'sim-small', tier: 'small', model: 'sim-small', timeoutMs: 1_000 },
            { id: 'sim-small-b', tier: 'small', model: 'sim-small@b' },
            { id: 'sim-large', tier: 'large', model: 'sim-large' },
          ],
        },
      });
      key = await stack.key('timeouts');
      client = new OpenAI({ baseURL: `${stack.apiUrl}/v1`, apiKey: key, maxRetries: 0, timeout: 60_000 });
    });
    afterAll(() => stack.stop());

    it('a call that times out moves to the other deployment within the same attempt', { timeout: 60_000 }, async () => {
      stack.sim.getModel('sim-small@b');
      stack.sim.updateModel('sim-small', { faults: { timeoutRate: 1 } });
      const store = new JobStore({ redis: stack.redis, keys: createKeys(stack.config.redis.prefix), ttlSeconds: 3600 });
      // The picker spreads calls over both deployments; ask until one met the timeout.
      for (let i = 0; i < 20 && !(stack.sim.stats().models['sim-small']?.timeouts ?? 0); i++) {
        const { data, response } = await client.chat.completions
          .create(
            { model: 'small', messages: [{ role: 'user', content: `timeout question ${i}` }] },
            { headers: { 'cache-control': 'no-store' } },
          )
          .withResponse();
        expect(response.headers.get('x-sluice-model')).toBe('sim-small@b');
        expect(data.choices[0]!.message.content).toContain('[sim:');
        expect((await store.get(response.headers.get('x-sluice-job-id')!))?.result?.attempt).toBe(1);
      }
      expect(stack.sim.stats().models['sim-small']?.timeouts ?? 0).toBeGreaterThanOrEqual(1);
    });

    it(
      'a job whose every attempt fails ends failed with the upstream reason, for the client and in Bull Board',
      { timeout: 60_000 },
      async () => {
        stack.sim.updateModel('sim-large', { faults: { errorRate: 1 } });
        const res = await post(
          stack,
          key,
          '/v1/jobs',
          { model: 'large', messages: [{ role: 'user', content: 'this will fail' }] },
          { 'cache-control': 'no-store' },
        );
        expect(res.status).toBe(202);
        const jobId = ((await res.json()) as { id: string }).id;
        const view = await until(
          async () => {
            const r = await fetch(`${stack.apiUrl}/v1/jobs/${jobId}`, { headers: { authorization: `Bearer ${key}` } });
            const body = (await r.json()) as { status: string; error: { message: string; code: string } | null };
            return body.status === 'failed' ? body : undefined;
          },
          30_000,
          100,
        );
        expect(view.error?.message).toMatch(/^Upstream answered 500/);
        expect(view.error?.code).toBe('upstream_server_error');
        expect(stack.sim.stats().models['sim-large']?.errors).toBe(2);
        // What Bull Board shows: the failed job with the same reason, two attempts spent.
        const queue = createQueue(TIER_QUEUES.large, {
          connection: stack.redis,
          keys: createKeys(stack.config.redis.prefix),
        });
        try {
          // The state first, then the job (read the other way round, the job could predate it).
          const job = await until(
            async () => ((await queue.getJobState(jobId)) === 'failed' ? queue.getJob(jobId) : undefined),
            10_000,
          );
          expect(job.failedReason).toMatch(/Upstream answered 500/);
          expect(job.attemptsMade).toBe(2);
        } finally {
          await queue.close();
        }
      },
    );
  });

  describe('tenant quotas', () => {
    let stack: TestStack;
    beforeAll(async () => {
      stack = await startStack();
    });
    afterAll(() => stack.stop());

    it('answers 429 naming the requests-per-minute quota, with retry-after', async () => {
      const key = await stack.key('rpm-tenant');
      await stack.tenants.upsertTenant('rpm-tenant', { rpm: 2 });
      const body = { model: 'small', messages: [{ role: 'user', content: 'quota' }] };
      expect((await post(stack, key, '/v1/jobs', body)).status).toBe(202);
      expect((await post(stack, key, '/v1/jobs', body)).status).toBe(202);
      const refused = await post(stack, key, '/v1/jobs', body);
      expect(refused.status).toBe(429);
      const error = ((await refused.json()) as { error: { message: string; code: string; type: string } }).error;
      expect(error.message).toBe('tenant rpm-tenant exceeded its quota of 2 requests per minute');
      expect(error.code).toBe('quota_exceeded');
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      // Another tenant is not affected.
      expect((await post(stack, await stack.key('other-tenant'), '/v1/jobs', body)).status).toBe(202);
    });

    it(
      "answers 429 naming the tokens-per-day quota once the executor recorded the day's usage",
      { timeout: 60_000 },
      async () => {
        const key = await stack.key('token-tenant');
        await stack.tenants.upsertTenant('token-tenant', { tokensPerDay: 20 });
        const client = new OpenAI({ baseURL: `${stack.apiUrl}/v1`, apiKey: key, maxRetries: 0 });
        const first = await client.chat.completions.create({
          model: 'small',
          messages: [{ role: 'user', content: 'spend some tokens' }],
        });
        expect(first.usage!.total_tokens).toBeGreaterThan(20);
        const refused = await post(stack, key, '/v1/chat/completions', {
          model: 'small',
          messages: [{ role: 'user', content: 'and more' }],
        });
        expect(refused.status).toBe(429);
        const error = ((await refused.json()) as { error: { message: string } }).error;
        expect(error.message).toBe('tenant token-tenant exceeded its quota of 20 tokens per day');
        expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      },
    );
  });

  describe('backpressure', () => {
    let stack: TestStack;
    beforeAll(async () => {
      stack = await startStack({
        executor: false,
        env: { SLUICE_BACKPRESSURE_MAX_WAIT_MS: '2000', SLUICE_BACKPRESSURE_MIN_THROUGHPUT: '1' },
      });
    });
    afterAll(() => stack.stop());

    it(
      'answers 429 with retry-after when the expected wait exceeds the bound, and accepts again once the queue drains',
      { timeout: 90_000 },
      async () => {
        const key = await stack.key('flood');
        let accepted = 0;
        let refused: Response | undefined;
        for (let i = 0; i < 20 && !refused; i++) {
          const res = await post(stack, key, '/v1/jobs', {
            model: 'small',
            messages: [{ role: 'user', content: `flood ${i}` }],
          });
          if (res.status === 202) accepted++;
          else refused = res;
          // Past the API's 250 ms reuse of a queue reading, so each request sees the last one.
          await new Promise((r) => setTimeout(r, 300));
        }
        // No executor runs, so throughput is the 1 job/s floor: 2 s of patience is 2 waiting jobs.
        expect(refused?.status).toBe(429);
        expect(accepted).toBe(3);
        const error = ((await refused!.json()) as { error: { message: string; code: string } }).error;
        expect(error.code).toBe('overloaded');
        expect(error.message).toMatch(/expected wait \(\d+ s\) exceeds 2 s/);
        expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

        const executor = await stack.startExecutor();
        try {
          await until(
            async () =>
              (
                await post(stack, key, '/v1/jobs', {
                  model: 'small',
                  messages: [{ role: 'user', content: 'after the drain' }],
                })
              ).status === 202,
            60_000,
            500,
          );
        } finally {
          await executor.close();
        }
      },
    );
  });

  describe("backpressure bounded by the caller's patience", () => {
    let stack: TestStack;
    beforeAll(async () => {
      // The operator's bound is far away: only the callers' own waits refuse here.
      stack = await startStack({
        env: { SLUICE_BACKPRESSURE_MAX_WAIT_MS: '600000', SLUICE_BACKPRESSURE_MIN_THROUGHPUT: '1' },
      });
    });
    afterAll(() => stack.stop());

    it(
      "refuses a job its caller would give up on (the SDK's timeout, x-sluice-max-wait-ms) and still serves cache hits while the queue is long",
      { timeout: 90_000 },
      async () => {
        const key = await stack.key('patient');
        // The openai SDK sends a per-request timeout as x-stainless-timeout (seconds).
        const client = new OpenAI({ baseURL: `${stack.apiUrl}/v1`, apiKey: key, maxRetries: 0, timeout: 20_000 });
        const cachedQuestion = {
          model: 'small',
          messages: [{ role: 'user' as const, content: 'What is the capital of France?' }],
        };
        await client.chat.completions.create(cachedQuestion);
        await until(
          async () =>
            (await client.chat.completions.create(cachedQuestion).withResponse()).response.headers.get(
              'x-sluice-cache',
            ) === 'hit',
          20_000,
          200,
        );

        // No executor from here: six queued jobs at the 1 job/s floor are a 6 s expected wait.
        await stack.executor!.close();
        for (let i = 0; i < 6; i++)
          expect(
            (
              await post(stack, key, '/v1/jobs', {
                model: 'small',
                messages: [{ role: 'user', content: `backlog ${i}` }],
              })
            ).status,
          ).toBe(202);
        await new Promise((r) => setTimeout(r, 300));

        // 6 s > 3 s (three quarters of the 4 s timeout): refused at once, not queued for nobody.
        const refused = await client.chat.completions
          .create({ model: 'small', messages: [{ role: 'user', content: 'a new question' }] }, { timeout: 4_000 })
          .then(
            () => undefined,
            (error: unknown) => error as InstanceType<typeof OpenAI.APIError>,
          );
        expect(refused?.status).toBe(429);
        expect((refused?.error as { code?: string } | undefined)?.code).toBe('overloaded');
        expect(refused?.message).toMatch(/expected wait \(\d+ s\) exceeds 3 s/);
        expect(Number(refused?.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);

        // The same bound from Sluice's own header, on an async submit; a patient caller is accepted.
        const job = { model: 'small', messages: [{ role: 'user', content: 'async with a deadline' }] };
        expect((await post(stack, key, '/v1/jobs', job, { 'x-sluice-max-wait-ms': '2000' })).status).toBe(429);
        expect((await post(stack, key, '/v1/jobs', job, { 'x-sluice-max-wait-ms': '60000' })).status).toBe(202);
        const bad = await post(stack, key, '/v1/jobs', job, { 'x-sluice-max-wait-ms': 'soon' });
        expect(bad.status).toBe(400);
        expect(((await bad.json()) as { error: { param: string } }).error.param).toBe('x-sluice-max-wait-ms');

        // A cache hit does not queue: served at once while new jobs are refused.
        const hit = await client.chat.completions.create(cachedQuestion).withResponse();
        expect(hit.response.headers.get('x-sluice-cache')).toBe('hit');
      },
    );
  });
});
