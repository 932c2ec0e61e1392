import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import type { CompletionJobResult } from '@sluice/queues';
import { createKeys, createRedis, type Redis } from '@sluice/redis';
import { createOpsStats, jobIncrements } from './ops-stats.ts';

const result = (overrides: Partial<CompletionJobResult> = {}): CompletionJobResult => ({
  completion: { id: 'chatcmpl-x', choices: [] },
  tier: 'small',
  model: 'sim-small',
  deploymentId: 'sim-small',
  cache: 'miss',
  costUsd: 0.000045,
  attempt: 1,
  calls: [
    {
      purpose: 'answer',
      tier: 'small',
      model: 'sim-small',
      deploymentId: 'sim-small',
      promptTokens: 100,
      completionTokens: 50,
      costUsd: 0.000045,
    },
  ],
  counterfactual: { promptTokens: 100, completionTokens: 50, costUsd: 0.00075 },
  ...overrides,
});

describe('jobIncrements', () => {
  it('counts money in nano-dollars per call, tokens of billed calls only, tier and cache outcome', () => {
    const inc = jobIncrements(
      result({
        calls: [
          {
            purpose: 'routing',
            tier: 'router',
            model: 'r',
            deploymentId: 'r',
            promptTokens: 10,
            completionTokens: 1,
            costUsd: 0.0000011,
          },
          {
            purpose: 'answer',
            tier: 'small',
            model: 'sim-small',
            deploymentId: 'cache',
            promptTokens: 0,
            completionTokens: 0,
            costUsd: 0,
          },
        ],
        cache: 'hit',
        cacheKind: 'semantic',
      }),
    );
    expect(Object.fromEntries(inc)).toEqual({
      jobs: 1,
      cost_nusd: 1100,
      counterfactual_nusd: 750_000,
      prompt_tokens: 10,
      completion_tokens: 1,
      'tier:small:jobs': 1,
      'cache:hit:jobs': 1,
      'cache:hit:semantic': 1,
    });
  });

  it('keeps summary jobs apart from the jobs', () => {
    expect(Object.fromEntries(jobIncrements(result(), 'summary'))).toEqual({
      'summary:jobs': 1,
      'summary:cost_nusd': 45_000,
    });
  });
});

describe('ops stats (Redis)', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = createRedis({ url: inject('redisUrl'), role: 'worker' });
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('adds to the minute bucket and the totals, and reads both back', async () => {
    let now = Date.parse('2026-03-10T12:00:30Z');
    const keys = createKeys(`test-${randomUUID()}`);
    const stats = createOpsStats({ redis, keys, clock: () => now, flushMs: 60_000 });
    stats.recordJob(result());
    stats.recordJob(result({ cache: 'hit', cacheKind: 'exact', costUsd: 0, calls: [] }));
    stats.recordUpstream429('sim-small');
    // Nothing is written until the flush: one write per interval, not one per event.
    expect((await stats.read()).totals.jobs).toBe(0);
    await stats.flush();
    now += 60_000;
    stats.recordUpstream429('sim-small');
    stats.recordUpstream429('sim-large');
    stats.recordHeldBack('cooldown');
    stats.recordClient429();
    await stats.close();
    stats.recordClient429();
    await stats.flush();

    const snapshot = await stats.read({ minutes: 3 });
    expect(snapshot.totals).toMatchObject({
      jobs: 2,
      costNanoUsd: 45_000,
      counterfactualNanoUsd: 1_500_000,
      promptTokens: 100,
      completionTokens: 50,
      byTier: { router: 0, small: 2, large: 0 },
      cache: { hit: 1, miss: 1, bypass: 0, exact: 1, semantic: 0 },
      upstream429: 3,
      upstream429ByDeployment: { 'sim-small': 2, 'sim-large': 1 },
      heldBack: 1,
      heldBackByReason: { cooldown: 1 },
      client429: 1,
    });
    expect(snapshot.totals.savedUsd).toBeCloseTo(0.001455, 12);
    expect(snapshot.minutes.map((m) => [m.minute, m.jobs, m.upstream429])).toEqual([
      [Date.parse('2026-03-10T11:59:00Z'), 0, 0],
      [Date.parse('2026-03-10T12:00:00Z'), 2, 1],
      [Date.parse('2026-03-10T12:01:00Z'), 0, 2],
    ]);
    // Every key has a TTL: nothing grows without bound.
    const written = await redis.keys(`${keys.family('ops', 'stats')}*`);
    expect(written.length).toBe(3);
    for (const key of written) expect(await redis.ttl(key)).toBeGreaterThan(0);
  });

  it('keeps what a failed write carried for the next one, and reports the failure', async () => {
    const keys = createKeys(`test-${randomUUID()}`);
    const errors: unknown[] = [];
    let fail = true;
    const flaky = new Proxy(redis, {
      get: (target, prop) =>
        prop === 'evalsha' && fail
          ? () => Promise.reject(new Error('connection lost'))
          : Reflect.get(target, prop, target),
    });
    const stats = createOpsStats({ redis: flaky, keys, flushMs: 60_000, onError: (e) => errors.push(e) });
    stats.recordClient429();
    await stats.flush();
    expect(errors).toHaveLength(1);
    fail = false;
    stats.recordClient429();
    await stats.close();
    expect((await stats.read()).totals.client429).toBe(2);
  });

  it('validates its options', () => {
    expect(() => createOpsStats({ redis, keys: createKeys('x'), retentionMinutes: 0 })).toThrow(/retentionMinutes/);
    expect(() => createOpsStats({ redis, keys: createKeys('x'), flushMs: -1 })).toThrow(/flushMs/);
  });
});
