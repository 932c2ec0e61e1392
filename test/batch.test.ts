import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, type ConnectionOptions } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BATCH_POLL_QUEUE } from '@sluice/queues';
import { createKeys } from '@sluice/redis';
import { freePort, startRedisServer, type RunningRedis } from '@sluice/redis-server';
import { spawnApp, startStack, until, type TestStack } from './harness.ts';

/**
 * Deferrable jobs (`x-sluice-completion-window`) answered through the simulator's Batch API:
 * at the batch price, through the same job record, cache and ledger, with expired lines sent
 * again, late jobs falling back to a normal call, and nothing lost when the batcher is killed
 * mid-batch and Redis restarts.
 */

interface JobView {
  id: string;
  status: string;
  cost_usd: number | null;
  cache: string | null;
  result: {
    choices: Array<{ message: { content: string } }>;
    usage: { prompt_tokens: number; completion_tokens: number };
  } | null;
  error: { code: string } | null;
}

const FAST_BATCHES = {
  SLUICE_BATCH_TICK_MS: '100',
  SLUICE_BATCH_MAX_AGE_MS: '300',
  SLUICE_BATCH_POLL_MS: '250',
  SLUICE_BATCH_FALLBACK_MARGIN_MS: '60000',
};

function client(stack: TestStack, key: string) {
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  return {
    defer: async (content: string, extra: Record<string, string> = {}) => {
      const res = await fetch(`${stack.apiUrl}/v1/jobs`, {
        method: 'POST',
        headers: { ...headers, 'x-sluice-completion-window': '24h', ...extra },
        body: JSON.stringify({ model: 'small', messages: [{ role: 'user', content }] }),
      });
      expect(res.status).toBe(202);
      return ((await res.json()) as { id: string }).id;
    },
    job: async (id: string) => (await (await fetch(`${stack.apiUrl}/v1/jobs/${id}`, { headers })).json()) as JobView,
    usage: async () =>
      (
        (await (await fetch(`${stack.apiUrl}/v1/usage`, { headers })).json()) as {
          totals: { cost_usd: number; jobs: number };
        }
      ).totals,
    sync: async (content: string) => {
      const res = await fetch(`${stack.apiUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { ...headers, 'cache-control': 'no-store' },
        body: JSON.stringify({ model: 'small', messages: [{ role: 'user', content }] }),
      });
      expect(res.status).toBe(200);
      return {
        cost: Number(res.headers.get('x-sluice-cost-usd')),
        body: (await res.json()) as { usage: { prompt_tokens: number } },
      };
    },
  };
}

async function completed(
  api: ReturnType<typeof client>,
  ids: readonly string[],
  timeoutMs = 60_000,
): Promise<JobView[]> {
  return until(
    async () => {
      const jobs = await Promise.all(ids.map((id) => api.job(id)));
      return jobs.every((job) => job.status === 'completed' || job.status === 'failed') ? jobs : undefined;
    },
    timeoutMs,
    200,
  );
}

describe('deferrable jobs through the provider Batch API', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({
      batcher: true,
      env: FAST_BATCHES,
      sim: { profile: 'fast', batch: { processingMs: 1_500 } },
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it(
    'answers them at half the synchronous cost, readable at GET /v1/jobs/:id, and fills the cache',
    { timeout: 90_000 },
    async () => {
      const api = client(stack, await stack.key('batch-tenant'));
      const prompts = Array.from({ length: 30 }, (_, i) => `Summarise report number ${i} in one line.`);
      const ids = await Promise.all(prompts.map((p) => api.defer(p)));
      // Deferred, not answered at once: the batch takes at least the simulator's processing time.
      const early = await api.job(ids[0]!);
      expect(['queued', 'routed', 'batched']).toContain(early.status);

      const jobs = await completed(api, ids);
      expect(jobs.map((j) => j.status)).toEqual(prompts.map(() => 'completed'));
      for (const job of jobs) expect(job.result!.choices[0]!.message.content).toMatch(/^\[sim:/);

      // The same prompt answered synchronously (another tenant, no cache) costs twice as much.
      const other = client(stack, await stack.key('sync-tenant'));
      for (const [index, job] of jobs.slice(0, 5).entries()) {
        const sync = await other.sync(prompts[index]!);
        expect(sync.body.usage.prompt_tokens).toBe(job.result!.usage.prompt_tokens);
        expect(job.cost_usd! * 2).toBeCloseTo(sync.cost, 9);
      }
      const usage = await api.usage();
      expect(usage.jobs).toBe(30);
      expect(usage.cost_usd).toBeCloseTo(
        jobs.reduce((sum, j) => sum + j.cost_usd!, 0),
        9,
      );

      // Bull Board's view: the poll job of a provider batch lists the Sluice jobs in it.
      const pollQueue = new Queue(BATCH_POLL_QUEUE, {
        connection: stack.redis as unknown as ConnectionOptions,
        prefix: createKeys(stack.config.redis.prefix).bullPrefix,
      });
      try {
        const polls = await pollQueue.getJobs(['completed']);
        expect(polls.flatMap((p) => (p.data as { jobIds: string[] }).jobIds).sort()).toEqual([...ids].sort());
      } finally {
        await pollQueue.close();
      }

      // The answers went into the cache: the same question deferred again is a hit at once.
      const again = await api.defer(prompts[3]!);
      const hit = await until(async () => {
        const job = await api.job(again);
        return job.status === 'completed' ? job : undefined;
      }, 10_000);
      expect(hit.cache).toBe('hit');
      expect(hit.cost_usd).toBe(0);
    },
  );

  it('sends an expired batch again and refuses a window it cannot honour', { timeout: 90_000 }, async () => {
    const api = client(stack, await stack.key('expiry-tenant'));
    const ids = await Promise.all(
      Array.from({ length: 6 }, (_, i) => api.defer(`Expiry check ${i}`, { 'cache-control': 'no-store' })),
    );
    // The provider ends the first batch's window before it answered anything.
    const pollQueue = new Queue(BATCH_POLL_QUEUE, {
      connection: stack.redis as unknown as ConnectionOptions,
      prefix: createKeys(stack.config.redis.prefix).bullPrefix,
    });
    try {
      const first = await until(async () => {
        const jobs = await pollQueue.getJobs(['delayed', 'waiting', 'active']);
        return jobs.find((j) => ids.every((id) => (j.data as { jobIds: string[] }).jobIds.includes(id)));
      }, 20_000);
      const expired = await fetch(
        `${stack.simUrl.replace(/\/v1$/, '')}/sim/batches/${(first.data as { batchId: string }).batchId}/expire`,
        { method: 'POST' },
      );
      expect(((await expired.json()) as { status: string }).status).toBe('expired');
      const jobs = await completed(api, ids);
      expect(jobs.map((j) => j.status)).toEqual(ids.map(() => 'completed'));
      // A second provider batch answered them.
      const polls = await pollQueue.getJobs(['completed']);
      expect(polls.filter((p) => ids.some((id) => (p.data as { jobIds: string[] }).jobIds.includes(id))).length).toBe(
        2,
      );
    } finally {
      await pollQueue.close();
    }

    const headers = { authorization: `Bearer ${await stack.key('expiry-tenant')}`, 'content-type': 'application/json' };
    const body = JSON.stringify({ model: 'small', messages: [{ role: 'user', content: 'x' }] });
    const tooShort = await fetch(`${stack.apiUrl}/v1/jobs`, {
      method: 'POST',
      headers: { ...headers, 'x-sluice-completion-window': '10s' },
      body,
    });
    expect(tooShort.status).toBe(400);
    expect(((await tooShort.json()) as { error: { message: string; param: string } }).error).toMatchObject({
      param: 'x-sluice-completion-window',
      message: expect.stringContaining('between 1 minute and 24 hours'),
    });
    const sync = await fetch(`${stack.apiUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...headers, 'x-sluice-completion-window': '24h' },
      body,
    });
    expect(sync.status).toBe(400);
    expect(((await sync.json()) as { error: { message: string } }).error.message).toContain('POST /v1/jobs');
  });
});

describe('a deferrable job whose window closes before its batch answers', () => {
  let stack: TestStack;
  beforeAll(async () => {
    // Batches take 10 minutes here, and a job this close to its deadline falls back.
    stack = await startStack({
      batcher: true,
      env: { ...FAST_BATCHES, SLUICE_BATCH_FALLBACK_MARGIN_MS: '115000' },
      sim: { profile: 'fast', batch: { processingMs: 600_000 } },
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('falls back to a normal call at the synchronous price', { timeout: 60_000 }, async () => {
    const api = client(stack, await stack.key('late-tenant'));
    const id = await api.defer('A report that cannot wait for the batch', {
      'x-sluice-completion-window': '2m',
      'cache-control': 'no-store',
    });
    const [job] = await completed(api, [id], 30_000);
    expect(job!.status).toBe('completed');
    const sync = await client(stack, await stack.key('late-sync')).sync('A report that cannot wait for the batch');
    expect(job!.cost_usd).toBeCloseTo(sync.cost, 9);
  });
});

describe('the batcher killed mid-batch, and Redis restarted (AOF on)', () => {
  let redis: RunningRedis;
  let dataDir: string;
  let port: number;
  let stack: TestStack;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sluice-batch-restart-'));
    port = await freePort();
    redis = await startRedisServer({ port, dataDir });
    stack = await startStack({
      env: { ...FAST_BATCHES, REDIS_URL: redis.url, SLUICE_BATCH_POLL_MS: '500' },
      sim: { profile: 'fast', batch: { processingMs: 4_000 } },
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await redis?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('loses no job: every one completes once, at the batch price', { timeout: 180_000 }, async () => {
    const env = { ...stack.env, ...FAST_BATCHES, REDIS_URL: redis.url, SLUICE_BATCH_POLL_MS: '500' };
    let batcher = spawnApp('batcher', env);
    const api = client(stack, await stack.key('crash-tenant'));
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push(await api.defer(`Crash-safe job ${i}`, { 'cache-control': 'no-store' }));
    const pollQueue = new Queue(BATCH_POLL_QUEUE, {
      connection: stack.redis as unknown as ConnectionOptions,
      prefix: createKeys(stack.config.redis.prefix).bullPrefix,
    });
    try {
      // Killed once a provider batch is in flight.
      await until(
        async () => ((await pollQueue.getJobCounts('delayed', 'waiting', 'active')).delayed ?? 0) > 0,
        30_000,
      );
      batcher.child.kill('SIGKILL');
      await batcher.exited;
    } finally {
      await pollQueue.close();
    }
    await redis.stop();
    await new Promise((r) => setTimeout(r, 500));
    redis = await startRedisServer({ port, dataDir });
    batcher = spawnApp('batcher', env);
    try {
      const jobs = await completed(api, ids, 120_000);
      expect(jobs.map((j) => j.status)).toEqual(ids.map(() => 'completed'));
      const sample = await client(stack, await stack.key('crash-sync')).sync('Crash-safe job 0');
      expect(jobs[0]!.cost_usd! * 2).toBeCloseTo(sample.cost, 9);
      const usage = await api.usage();
      expect(usage.jobs).toBe(40);
    } finally {
      batcher.child.kill('SIGTERM');
      await batcher.exited;
    }
  });
});
