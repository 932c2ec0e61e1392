import { countTokens } from '@sluice/llm';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { loadConfig } from '@sluice/config';
import { createKeys, createRedis, type Redis } from '@sluice/redis';
import {
  counterfactualCost,
  createLedger,
  isInvalidUsageRangeError,
  ledgerIncrements,
  sumUsd,
  toNanoUsd,
  usageDays,
  type LedgerEntry,
} from './index.ts';

const DAY = Date.parse('2026-03-10T12:00:00Z');

const entry = (overrides: Partial<LedgerEntry> = {}): LedgerEntry => ({
  tenant: 'acme',
  jobId: randomUUID(),
  finishedAt: DAY,
  tier: 'small',
  cache: 'miss',
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

describe('ledger (Redis)', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = createRedis({ url: inject('redisUrl'), role: 'worker' });
  });
  afterAll(async () => {
    await redis.quit();
  });
  const ledger = () => createLedger({ redis, keys: createKeys(`test-${randomUUID()}`), now: () => DAY });

  it('counts a job once however often it is recorded', async () => {
    const l = ledger();
    const e = entry();
    expect(await l.record(e)).toBe(true);
    expect(await l.record(e)).toBe(false);
    const usage = await l.usage('acme', { from: '2026-03-10', to: '2026-03-10' });
    expect(usage.totals.jobs).toBe(1);
    expect(usage.totals.cost_nano_usd).toBe(45_000);
    expect(usage.totals.counterfactual_nano_usd).toBe(750_000);
    expect(usage.totals.saved_usd).toBeCloseTo(0.000705, 12);
  });

  it('reads a day hash written with stored totals (before they were derived) the same, mixed with new jobs', async () => {
    const keys = createKeys(`test-${randomUUID()}`);
    const l = createLedger({ redis, keys, now: () => DAY });
    const old = entry();
    // What the ledger wrote for a job before totals were derived: its parts and the totals.
    const fields = new Map(ledgerIncrements(old));
    for (const [total, value] of [
      ['jobs', 1],
      ['cost_nusd', 45_000],
      ['counterfactual_nusd', 750_000],
      ['prompt_tokens', 100],
      ['completion_tokens', 50],
      ['calls', 1],
    ] as const)
      fields.set(total, value);
    for (const [field, value] of fields)
      await redis.hincrby(keys.family('ledger', 'acme', 'day', '2026-03-10'), field, value);
    expect(await l.record(entry({ cache: 'hit', calls: [] }))).toBe(true);
    expect(await l.record(entry())).toBe(true);
    const usage = await l.usage('acme', { from: '2026-03-10', to: '2026-03-10' });
    expect(usage.totals).toMatchObject({
      jobs: 3,
      cost_nano_usd: 90_000,
      counterfactual_nano_usd: 2_250_000,
      prompt_tokens: 200,
      completion_tokens: 100,
      upstream_calls: 2,
    });
    expect(usage.days).toEqual([
      { date: '2026-03-10', jobs: 3, cost_usd: 0.00009, counterfactual_usd: 0.00225, saved_usd: 0.00216 },
    ]);
    // The new writes add only the parts.
    expect([...ledgerIncrements(entry()).keys()]).not.toContain('jobs');
  });

  it('sums exactly in nano-dollars, by tier (per call) and by cache outcome, tenant by tenant', async () => {
    const l = ledger();
    const costs = [0.1, 0.2, 0.000000001, 0.333333333, 1e-9 * 7];
    for (const c of costs)
      await l.record(
        entry({
          calls: [
            {
              purpose: 'answer',
              tier: 'large',
              model: 'sim-large',
              deploymentId: 'sim-large',
              promptTokens: 1,
              completionTokens: 1,
              costUsd: c,
            },
          ],
          tier: 'large',
        }),
      );
    // A cascade: small call plus large call, both costed.
    await l.record(
      entry({
        tier: 'large',
        escalated: true,
        calls: [
          {
            purpose: 'cascade-small',
            tier: 'small',
            model: 'sim-small',
            deploymentId: 'sim-small',
            promptTokens: 10,
            completionTokens: 5,
            costUsd: 0.0000045,
          },
          {
            purpose: 'answer',
            tier: 'large',
            model: 'sim-large',
            deploymentId: 'sim-large',
            promptTokens: 10,
            completionTokens: 20,
            costUsd: 0.000225,
          },
        ],
      }),
    );
    // A cache hit costs nothing and spends no tokens.
    await l.record(
      entry({
        cache: 'hit',
        calls: [
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
      }),
    );
    await l.record(entry({ tenant: 'globex' }));
    await l.record(
      entry({
        kind: 'summary',
        tier: 'router',
        calls: [
          {
            purpose: 'answer',
            tier: 'router',
            model: 'sim-router',
            deploymentId: 'sim-router',
            promptTokens: 500,
            completionTokens: 100,
            costUsd: 0.00009,
          },
        ],
      }),
    );

    const usage = await l.usage('acme', { from: '2026-03-01', to: '2026-03-31' });
    const expected = [...costs, 0.0000045, 0.000225, 0].reduce((s, c) => s + toNanoUsd(c), 0);
    expect(usage.totals.jobs).toBe(7);
    expect(usage.totals.cost_nano_usd).toBe(expected);
    expect(usage.totals.cost_usd).toBe(sumUsd([...costs, 0.0000045, 0.000225]));
    expect(usage.totals.escalations).toBe(1);
    expect(usage.totals.upstream_calls).toBe(7);
    expect(usage.by_tier.small.cost_nano_usd).toBe(4_500);
    expect(usage.by_tier.small.calls).toBe(1);
    expect(usage.by_tier.small.jobs).toBe(1);
    expect(usage.by_tier.large.jobs).toBe(6);
    expect(
      usage.by_tier.small.cost_nano_usd + usage.by_tier.large.cost_nano_usd + usage.by_tier.router.cost_nano_usd,
    ).toBe(expected);
    expect(usage.by_cache.hit).toMatchObject({ jobs: 1, cost_nano_usd: 0, prompt_tokens: 0 });
    expect(usage.by_cache.miss.jobs).toBe(6);
    expect(usage.summaries).toMatchObject({ jobs: 1, cost_nano_usd: 90_000, prompt_tokens: 500 });
    expect(usage.spend_usd).toBe((expected + 90_000) / 1e9);
    expect(usage.days).toHaveLength(31);
    expect(usage.days.find((d) => d.date === '2026-03-10')!.jobs).toBe(7);
    expect((await l.usage('globex', { from: '2026-03-10', to: '2026-03-10' })).totals.jobs).toBe(1);
    expect((await l.usage('acme', { from: '2026-03-11', to: '2026-03-12' })).totals.jobs).toBe(0);
  });

  it('keeps every key it writes under a TTL', async () => {
    const prefix = `test-${randomUUID()}`;
    const l = createLedger({ redis, keys: createKeys(prefix), retentionDays: 3, markerTtlSeconds: 60 });
    await l.record(entry());
    const keys = await redis.keys(`${prefix}:*`);
    expect(keys.length).toBe(2);
    for (const k of keys) expect(await redis.ttl(k)).toBeGreaterThan(0);
  });
});

describe('ledger helpers', () => {
  it('validates usage ranges with messages naming the parameter', () => {
    expect(usageDays({}, DAY)).toHaveLength(30);
    expect(usageDays({ from: '2026-02-27', to: '2026-03-01' }, DAY)).toEqual([
      '2026-02-27',
      '2026-02-28',
      '2026-03-01',
    ]);
    for (const [range, param] of [
      [{ from: '2026-13-01' }, 'from'],
      [{ to: 'yesterday' }, 'to'],
      [{ from: '2026-03-02', to: '2026-03-01' }, 'from'],
      [{ from: '2020-01-01', to: '2026-01-01' }, 'from'],
    ] as const) {
      try {
        usageDays(range, DAY);
        expect.unreachable();
      } catch (error) {
        expect(isInvalidUsageRangeError(error)).toBe(true);
        expect((error as { param: string }).param).toBe(param);
      }
    }
  });

  it('prices the counterfactual on the large tier with the full context', () => {
    const config = loadConfig({ env: { SLUICE_SIM_URL: 'http://127.0.0.1:1/v1' } });
    const messages = [{ role: 'user', content: 'hello there' }];
    const c = counterfactualCost({ deployments: config.deployments, messages, completionTokens: 100 });
    expect(c.promptTokens).toBeGreaterThan(3);
    expect(c.costUsd).toBe(Math.round(((c.promptTokens * 2.5 + 100 * 10) / 1e6) * 1e9) / 1e9);
    expect(
      counterfactualCost({ deployments: config.deployments, promptTokens: 1_000_000, completionTokens: 0 }).costUsd,
    ).toBe(2.5);
  });

  it('does not count what the provider prompt cache would have discounted anyway as a saving', () => {
    const config = loadConfig({ env: { SLUICE_SIM_URL: 'http://127.0.0.1:1/v1' } });
    const history = Array.from({ length: 40 }, (_, i) => ({
      role: i % 2 ? 'assistant' : 'user',
      content: `turn ${i}: ${'some words of the conversation '.repeat(12)}`,
    }));
    const messages = [...history, { role: 'user', content: 'and now?' }];
    const c = counterfactualCost({ deployments: config.deployments, messages, completionTokens: 10 });
    expect(c.promptTokens).toBeGreaterThan(2000);
    // Everything before the newest message, in the provider's 128-token steps, at sim-large's cached rate.
    expect(c.cachedTokens).toBeGreaterThan(c.promptTokens - 140);
    expect((c.cachedTokens! - 1024) % 128).toBe(0);
    expect(c.costUsd).toBe(
      Math.round((((c.promptTokens - c.cachedTokens!) * 2.5 + c.cachedTokens! * 1.25 + 10 * 10) / 1e6) * 1e9) / 1e9,
    );
    // A short prompt is never cached; what the real call had cached counts at least.
    expect(
      counterfactualCost({ deployments: config.deployments, messages: history.slice(0, 2), completionTokens: 10 })
        .cachedTokens,
    ).toBeUndefined();
    const single = counterfactualCost({
      deployments: config.deployments,
      messages: [{ role: 'user', content: 'word '.repeat(2000) }],
      completionTokens: 0,
      cachedTokens: 1152,
    });
    expect(single.cachedTokens).toBe(1152);
  });

  it('counts tool definitions and response_format as prompt tokens of the counterfactual', () => {
    const config = loadConfig({ env: { SLUICE_SIM_URL: 'http://127.0.0.1:1/v1' } });
    const messages = [{ role: 'user', content: 'hello there' }];
    const tools = [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'Weather of a city',
          parameters: { type: 'object', properties: { city: { type: 'string' } } },
        },
      },
    ];
    const responseFormat = {
      type: 'json_schema',
      json_schema: { name: 'city', schema: { type: 'object', properties: { name: { type: 'string' } } } },
    };
    const bare = counterfactualCost({ deployments: config.deployments, messages, completionTokens: 0 }).promptTokens;
    const large = config.deployments.find((d) => d.tier === 'large')!.model;
    const withTools = counterfactualCost({
      deployments: config.deployments,
      messages,
      tools,
      responseFormat,
      completionTokens: 0,
    }).promptTokens;
    expect(withTools).toBe(
      bare + countTokens(JSON.stringify(tools), large) + countTokens(JSON.stringify(responseFormat), large),
    );
  });

  it('writes integer increments only', () => {
    for (const v of ledgerIncrements(
      entry({
        calls: [
          {
            purpose: 'answer',
            tier: 'small',
            model: 'm',
            deploymentId: 'd',
            promptTokens: 3,
            completionTokens: 4,
            costUsd: 0.1 + 0.2,
          },
        ],
      }),
    ).values())
      expect(Number.isInteger(v)).toBe(true);
  });
});
