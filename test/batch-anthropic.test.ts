import Anthropic from '@anthropic-ai/sdk';
import { Queue, type ConnectionOptions } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnthropicBatchProvider, Batcher, batchRequest, PendingStore, type PollJobData } from '@sluice/batch';
import { JobStore } from '@sluice/jobs';
import { createLedger } from '@sluice/ledger';
import { BATCH_POLL_QUEUE, BATCH_QUEUE, createQueue, TIER_QUEUES, type CompletionJobData } from '@sluice/queues';
import { createKeys } from '@sluice/redis';
import { createLogger } from '@sluice/telemetry';
import { startStack, until, type TestStack } from './harness.ts';

/**
 * Deferrable jobs to a deployment that speaks Anthropic's Messages API, answered through
 * Anthropic's Message Batches (the simulator's `/v1/messages/batches`): at half the
 * synchronous price, readable at `GET /v1/jobs/:id`, expired requests sent again, and a
 * batch whose batcher died between claiming its jobs and recording it adopted, not sent twice.
 */

interface JobView {
  id: string;
  status: string;
  cost_usd: number | null;
  result: {
    choices: Array<{ message: { content: string } }>;
    usage: { prompt_tokens: number; completion_tokens: number };
  } | null;
}

const FAST_BATCHES = {
  SLUICE_BATCH_TICK_MS: '100',
  SLUICE_BATCH_MAX_AGE_MS: '300',
  SLUICE_BATCH_POLL_MS: '250',
  SLUICE_BATCH_FALLBACK_MARGIN_MS: '60000',
};

/** The small tier served by an Anthropic-shaped deployment that offers Message Batches. */
const DEPLOYMENTS = [
  { id: 'sim-router', tier: 'router' as const, model: 'sim-router' },
  { id: 'claude-small', tier: 'small' as const, model: 'sim-small', api: 'anthropic' as const, batch: true },
  { id: 'sim-large', tier: 'large' as const, model: 'sim-large' },
];

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
      expect(res.headers.get('x-sluice-model')).toBe('sim-small');
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

function pollQueueOf(stack: TestStack): Queue<PollJobData> {
  return new Queue<PollJobData>(BATCH_POLL_QUEUE, {
    connection: stack.redis as unknown as ConnectionOptions,
    prefix: createKeys(stack.config.redis.prefix).bullPrefix,
  });
}

/** The simulator's Message Batches, read with the official client. */
async function messageBatches(stack: TestStack): Promise<Anthropic.Messages.MessageBatch[]> {
  const anthropic = new Anthropic({ baseURL: stack.simUrl.replace(/\/v1$/, ''), apiKey: 'sim', maxRetries: 0 });
  return (await anthropic.messages.batches.list({ limit: 100 })).data;
}

describe('deferrable jobs to an Anthropic deployment, through Message Batches', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({
      batcher: true,
      env: FAST_BATCHES,
      overrides: { deployments: DEPLOYMENTS },
      sim: { profile: 'fast', batch: { processingMs: 1_500 } },
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('answers them at half the synchronous price, each readable at GET /v1/jobs/:id', { timeout: 90_000 }, async () => {
    const api = client(stack, await stack.key('claude-batch-tenant'));
    const prompts = Array.from({ length: 12 }, (_, i) => `Classify support ticket number ${i} in one word.`);
    const ids = await Promise.all(prompts.map((p) => api.defer(p)));
    const jobs = await completed(api, ids);
    expect(jobs.map((j) => j.status)).toEqual(prompts.map(() => 'completed'));
    for (const job of jobs) expect(job.result!.choices[0]!.message.content).toMatch(/^\[sim:/);

    // Through Anthropic's Message Batches, not OpenAI's Batch API.
    const pollQueue = pollQueueOf(stack);
    try {
      const polls = await pollQueue.getJobs(['completed']);
      expect(polls.flatMap((p) => p.data.jobIds).sort()).toEqual([...ids].sort());
      for (const poll of polls) expect(poll.data.batchId).toMatch(/^msgbatch_/);
    } finally {
      await pollQueue.close();
    }
    const batches = await messageBatches(stack);
    expect(batches.reduce((sum, b) => sum + b.request_counts.succeeded, 0)).toBe(12);
    const openaiBatches = (await (await fetch(`${stack.simUrl}/batches`)).json()) as { data: unknown[] };
    expect(openaiBatches.data).toEqual([]);

    // The same prompts called synchronously on the same deployment (another tenant, no cache) cost twice as much.
    const other = client(stack, await stack.key('claude-sync-tenant'));
    let syncTotal = 0;
    for (const [index, job] of jobs.entries()) {
      const sync = await other.sync(prompts[index]!);
      expect(sync.body.usage.prompt_tokens).toBe(job.result!.usage.prompt_tokens);
      expect(job.cost_usd! * 2).toBeCloseTo(sync.cost, 9);
      syncTotal += sync.cost;
    }
    const usage = await api.usage();
    expect(usage.jobs).toBe(12);
    expect(usage.cost_usd).toBeGreaterThan(0);
    expect(usage.cost_usd * 2).toBeCloseTo(syncTotal, 9);
  });

  it('sends the requests of an expired Message Batch again', { timeout: 90_000 }, async () => {
    const api = client(stack, await stack.key('claude-expiry-tenant'));
    const ids = await Promise.all(
      Array.from({ length: 6 }, (_, i) => api.defer(`Anthropic expiry check ${i}`, { 'cache-control': 'no-store' })),
    );
    const pollQueue = pollQueueOf(stack);
    try {
      const first = await until(async () => {
        const polls = await pollQueue.getJobs(['delayed', 'waiting', 'active']);
        return polls.find((p) => ids.every((id) => p.data.jobIds.includes(id)));
      }, 20_000);
      // The provider ends the batch's window before it answered anything.
      const expired = await fetch(`${stack.simUrl.replace(/\/v1$/, '')}/sim/batches/${first.data.batchId}/expire`, {
        method: 'POST',
      });
      const ended = (await expired.json()) as Anthropic.Messages.MessageBatch;
      expect(ended.processing_status).toBe('ended');
      expect(ended.request_counts.expired).toBe(6);

      const jobs = await completed(api, ids);
      expect(jobs.map((j) => j.status)).toEqual(ids.map(() => 'completed'));
      for (const job of jobs) expect(job.result!.choices[0]!.message.content).toMatch(/^\[sim:/);
      // A second Message Batch answered them.
      // The job records are final before BullMQ marks the poll job that delivered them completed.
      const polls = await until(async () => {
        const done = (await pollQueue.getJobs(['completed'])).filter((p) =>
          ids.some((id) => p.data.jobIds.includes(id)),
        );
        return done.length >= 2 ? done : undefined;
      }, 10_000);
      expect(polls.length).toBe(2);
      expect(new Set(polls.map((p) => p.data.batchId)).size).toBe(2);
      const sync = await client(stack, await stack.key('claude-expiry-sync')).sync('Anthropic expiry check 0');
      const job0 = jobs.find((j) => j.id === ids[0])!;
      expect(job0.cost_usd! * 2).toBeCloseTo(sync.cost, 9);
    } finally {
      await pollQueue.close();
    }
  });
});

describe('a batcher killed between claiming jobs and recording their Message Batch', () => {
  let stack: TestStack;
  beforeAll(async () => {
    // No batcher in the stack: the test plays the one that died and the one that recovers.
    stack = await startStack({
      env: FAST_BATCHES,
      overrides: { deployments: DEPLOYMENTS },
      sim: { profile: 'fast', batch: { processingMs: 1_500 } },
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it(
    'adopts the batch it submitted (ended or running), puts back jobs it never sent, and sends nothing twice',
    { timeout: 90_000 },
    async () => {
      const { config, redis } = stack;
      const keys = createKeys(config.redis.prefix);
      const deployment = config.deployments.find((d) => d.id === 'claude-small')!;
      const queueOptions = { connection: redis, keys };
      const tierQueues = {
        router: createQueue(TIER_QUEUES.router, queueOptions),
        small: createQueue(TIER_QUEUES.small, queueOptions),
        large: createQueue(TIER_QUEUES.large, queueOptions),
      };
      const pollQueue = pollQueueOf(stack);
      const batchQueue = createQueue(BATCH_QUEUE, queueOptions);
      const batcher = new Batcher({
        config,
        redis,
        keys,
        store: new JobStore({ redis, keys, ttlSeconds: config.queues.resultTtlSeconds }),
        ledger: createLedger({
          redis,
          keys,
          retentionDays: config.ledger.retentionDays,
          markerTtlSeconds: 2 * config.queues.resultTtlSeconds,
        }),
        logger: createLogger({ serviceName: 'test', logLevel: 'silent' }),
        tierQueues,
        pollQueue,
        tuning: { claimTimeoutMs: 1, maxAgeMs: 1, pollIntervalMs: 250, fallbackMarginMs: 60_000 },
      });
      try {
        const api = client(stack, await stack.key('claude-crash-tenant'));
        const ids: string[] = [];
        for (let i = 0; i < 8; i++)
          ids.push(await api.defer(`Crash-safe Anthropic job ${i}`, { 'cache-control': 'no-store' }));
        // The classifier routed them to the batch queue; take them in, as a batcher's intake does.
        const routed = await until(async () => {
          const jobs = await batchQueue.getJobs(['waiting', 'prioritized']);
          return jobs.length === 8 ? jobs : undefined;
        }, 20_000);
        for (const job of routed) expect(await batcher.intake(job.data as CompletionJobData)).toBe('deferred');

        // What a batcher does before it records a batch, three times, dying each time before the record:
        // A submitted and already ended, B submitted and still running, C claimed but never sent.
        const pending = new PendingStore(redis, keys, config.queues.resultTtlSeconds);
        const provider = new AnthropicBatchProvider(deployment);
        const claimAndSubmit = async (claimId: string, size: number, send: boolean) => {
          const jobs = await pending.claim(deployment.id, size, claimId, Date.now());
          expect(jobs.length).toBe(size);
          return send
            ? provider.submit(
                jobs.map((job) => batchRequest(job, deployment)),
                claimId,
              )
            : undefined;
        };
        const batchA = await claimAndSubmit('claude-small-lost-a', 3, true);
        await until(
          async () => ((await provider.retrieve(batchA!)).status === 'ended' ? true : undefined),
          10_000,
          100,
        );
        const batchB = await claimAndSubmit('claude-small-lost-b', 3, true);
        await claimAndSubmit('claude-small-lost-c', 2, false);
        expect((await provider.retrieve(batchB!)).status).toBe('in_progress');

        // A batcher that comes up later recovers the three claims in one round.
        await batcher.tick();
        expect((await pollQueue.getJob('claude-small-lost-a'))!.data.batchId).toBe(batchA);
        expect((await pollQueue.getJob('claude-small-lost-b'))!.data.batchId).toBe(batchB);
        expect(await pollQueue.getJob('claude-small-lost-c')).toBeUndefined();
        const polls = await pollQueue.getJobs(['delayed', 'waiting']);
        expect(polls.length).toBe(3);
        const resent = polls.find((p) => p.data.batchId !== batchA && p.data.batchId !== batchB)!;
        expect(resent.data.jobIds.length).toBe(2);

        // Polled to the end: every job answered once, at the batch price.
        for (const poll of polls) {
          await until(async () => ((await batcher.poll(poll.data)).done ? true : undefined), 20_000, 250);
        }
        const jobs = await completed(api, ids, 20_000);
        expect(jobs.map((j) => j.status)).toEqual(ids.map(() => 'completed'));
        const sync = await client(stack, await stack.key('claude-crash-sync')).sync('Crash-safe Anthropic job 0');
        expect(jobs[0]!.cost_usd! * 2).toBeCloseTo(sync.cost, 9);
        expect((await api.usage()).jobs).toBe(8);
        // Three Message Batches of 8 requests in all: nothing was sent twice.
        const batches = await messageBatches(stack);
        expect(batches.length).toBe(3);
        expect(batches.reduce((sum, b) => sum + b.request_counts.succeeded, 0)).toBe(8);
      } finally {
        await Promise.allSettled([
          pollQueue.close(),
          batchQueue.close(),
          ...Object.values(tierQueues).map((q) => q.close()),
        ]);
      }
    },
  );
});
