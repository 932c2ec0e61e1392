import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobStore } from '@sluice/jobs';
import {
  completionJobOptions,
  createQueue,
  PRIORITY,
  ROUTE_QUEUE,
  TIER_QUEUES,
  type CompletionJobData,
} from '@sluice/queues';
import { createKeys } from '@sluice/redis';
import { startStack, until, type TestStack } from './harness.ts';

/**
 * A routing job whose job record is missing is never dropped silently. The API writes the
 * record before it enqueues; on a Redis Cluster the two live on different shards, and a
 * classifier that took a job before its record was visible used to return without a word
 * (the job lost, its client waiting for good).
 */
describe('classifier: a routing job without its job record', () => {
  let stack: TestStack;
  let store: JobStore;
  let routeQueue: ReturnType<typeof createQueue>;
  let smallQueue: ReturnType<typeof createQueue>;
  beforeAll(async () => {
    // Three quick attempts: 0.3 s base backoff (jittered), so the whole retry ladder is ~1 s.
    stack = await startStack({ env: { SLUICE_JOB_ATTEMPTS: '3', SLUICE_JOB_BACKOFF_MS: '300' } });
    const keys = createKeys(stack.config.redis.prefix);
    store = new JobStore({ redis: stack.redis, keys, ttlSeconds: 3600 });
    routeQueue = createQueue(ROUTE_QUEUE, { connection: stack.redis, keys });
    smallQueue = createQueue(TIER_QUEUES.small, { connection: stack.redis, keys });
  });
  afterAll(async () => {
    await routeQueue.close();
    await smallQueue.close();
    await stack.stop();
  });

  const job = (id: string): CompletionJobData => ({
    id,
    tenant: 'acme',
    acceptedAt: Date.now(),
    request: { model: 'small', messages: [{ role: 'user', content: `record race ${id}` }] },
    stream: false,
    priority: PRIORITY.default,
    cacheMode: 'no-store',
    pinnedTier: 'small',
  });

  it(
    'a record that appears after the job was taken: the retry routes it and it completes',
    { timeout: 30_000 },
    async () => {
      const id = `late-${Date.now()}`;
      await routeQueue.add('completion', job(id), completionJobOptions(id, PRIORITY.default, stack.config.queues));
      // The classifier sees the job first (its first attempt fails), then the record appears.
      await until(async () => ((await routeQueue.getJob(id))?.attemptsMade ?? 0) >= 1, 10_000, 10);
      await store.create({ id, tenant: 'acme', stream: false, model: 'small', createdAt: Date.now() });
      const record = await until(async () => {
        const r = await store.get(id);
        return r && (r.status === 'completed' || r.status === 'failed') ? r : undefined;
      }, 20_000);
      expect(record.status).toBe('completed');
      expect(record.result?.tier).toBe('small');
      expect(JSON.stringify(record.result?.completion)).toContain('[sim:');
    },
  );

  it(
    'a record that never appears: the job fails on the queue with the reason, after every attempt',
    { timeout: 30_000 },
    async () => {
      const id = `orphan-${Date.now()}`;
      await routeQueue.add('completion', job(id), completionJobOptions(id, PRIORITY.default, stack.config.queues));
      // The state first, then the job (read the other way round, the job could predate it).
      const failed = await until(
        async () => ((await routeQueue.getJobState(id)) === 'failed' ? routeQueue.getJob(id) : undefined),
        20_000,
      );
      expect(failed.attemptsMade).toBe(3);
      expect(failed.failedReason).toMatch(/job record of .* does not exist/);
      // On one Redis the routed event and the tier enqueue go together, so the job reached its
      // tier too: the executor retried it and failed it with the same reason, it did not
      // complete it without a word.
      const tierFailed = await until(
        async () => ((await smallQueue.getJobState(id)) === 'failed' ? smallQueue.getJob(id) : undefined),
        20_000,
      );
      expect(tierFailed.failedReason).toMatch(/job record of .* does not exist/);
      // No half-written record is left behind (one without a tenant nobody could read).
      expect(await stack.redis.exists(createKeys(stack.config.redis.prefix).job(id))).toBe(0);
    },
  );
});
