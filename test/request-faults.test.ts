import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobStore } from '@sluice/jobs';
import { isUpstreamError, UpstreamClient, type UpstreamError } from '@sluice/llm';
import { completionJobOptions, createQueue, TIER_QUEUES, type CompletionJobData } from '@sluice/queues';
import { createKeys } from '@sluice/redis';
import { startStack, until, type TestStack } from './harness.ts';

/**
 * Failures caused by the request itself (issue 12, defect 2): they fail the job at once with
 * a 4xx reason, are not retried, and never count against the deployment's circuit.
 */
describe('request faults', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.stop());

  const failure = async (promise: Promise<unknown>): Promise<UpstreamError> => {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isUpstreamError(error)).toBe(true);
    return error as UpstreamError;
  };

  it("a request that cannot be built to send is the request's fault, not a dropped stream", async () => {
    const upstream = new UpstreamClient();
    const deployment = stack.config.deployments.find((d) => d.tier === 'small')!;
    const request = { model: 'small', messages: [{ role: 'user' as const, content: 'x' }], poison: 10n } as never;
    for (const onChunk of [undefined, () => {}]) {
      const error = await failure(upstream.complete(deployment, request, { completionId: 'chatcmpl-x', onChunk }));
      expect(error.kind).toBe('bad_request');
      // Nothing reached the upstream, so it has no status; the client gets a 400.
      expect(error.upstreamStatus).toBeUndefined();
      expect(error.status).toBe(400);
      expect(error.requestFault).toBe(true);
      expect(error.retryable).toBe(false);
      expect(error.message).toMatch(/could not be sent upstream/);
    }
  });

  it("the upstream's 400 is a request fault; its 5xx is not", async () => {
    const upstream = new UpstreamClient();
    const deployment = stack.config.deployments.find((d) => d.tier === 'small')!;
    const bad = await failure(
      upstream.complete(
        deployment,
        {
          model: 'small',
          messages: [{ role: 'user', content: 'x' }],
          response_format: { type: 'json_schema' },
        } as never,
        { completionId: 'chatcmpl-y' },
      ),
    );
    expect(bad).toMatchObject({ kind: 'bad_request', upstreamStatus: 400, status: 400 });
    expect(bad.requestFault).toBe(true);
    expect(bad.message).toMatch(/Missing required parameter: 'response_format\.json_schema'/);
    const sick = await failure(
      upstream.complete(
        deployment,
        { model: 'small', messages: [{ role: 'user', content: 'x [[sim:error]]' }] },
        { completionId: 'chatcmpl-z' },
      ),
    );
    // The upstream's 500 reaches a client as the gateway's 502.
    expect(sick).toMatchObject({ kind: 'server_error', upstreamStatus: 500, status: 502, retryable: true });
    expect(sick.requestFault).toBe(false);
  });

  it(
    'a job the upstream refuses fails at once with its 400, one upstream call, no circuit failure',
    { timeout: 30_000 },
    async () => {
      // As an older API (or another producer) could have queued it: past ingest's checks.
      const keys = createKeys(stack.config.redis.prefix);
      const store = new JobStore({ redis: stack.redis, keys, ttlSeconds: 600 });
      const queue = createQueue(TIER_QUEUES.small, { connection: stack.redis, keys });
      const id = `poison-${Date.now()}`;
      const data: CompletionJobData = {
        id,
        tenant: 'acme',
        acceptedAt: Date.now(),
        request: {
          model: 'small',
          messages: [{ role: 'user', content: 'json please' }],
          response_format: { type: 'json_schema' },
        },
        stream: false,
        priority: 5,
        cacheMode: 'no-store',
        pinnedTier: 'small',
        route: { tier: 'small', category: 'general', confidence: 1, reasons: [], strategy: 'pinned' },
      };
      try {
        await store.create({ id, tenant: 'acme', stream: false, model: 'small', createdAt: data.acceptedAt });
        await queue.add('completion', data, completionJobOptions(id, 5, stack.config.queues));
        const record = await until(async () => {
          const r = await store.get(id);
          return r?.status === 'failed' ? r : undefined;
        }, 20_000);
        expect(record.error).toMatchObject({
          status: 400,
          type: 'invalid_request_error',
          code: 'upstream_bad_request',
        });
        const job = await until(() => queue.getJob(id).then((j) => (j?.finishedOn ? j : undefined)));
        expect(await job.getState()).toBe('failed');
        expect(job.attemptsMade).toBe(1);
        // One run, one upstream call: no retry, no failover.
        expect(
          (await store.events(id))
            .filter((e) => e.event.type === 'attempt' || e.event.type === 'retry')
            .map((e) => e.event.type),
        ).toEqual(['attempt']);
        const circuit = await stack.redis.hgetall(keys.family('limit', 'sim-small', 'circuit'));
        expect(Number(circuit.failures ?? 0)).toBe(0);
        expect(circuit.state ?? 'closed').toBe('closed');
      } finally {
        await queue.close();
      }
    },
  );
});
