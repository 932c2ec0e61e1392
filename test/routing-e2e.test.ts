import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintMessages } from '@sluice/sim';
import { startStack, until, type TestStack } from './harness.ts';

const SIMPLE = 'What is the capital of France?';
const COMPLEX =
  'Design a distributed, multi-region rate limiter for an API gateway: compare token bucket and sliding window approaches, analyse the consistency trade-offs across regions, and prove that your design never admits more than the global limit under clock skew. Walk through it step by step.';

async function api<T = any>(
  stack: TestStack,
  key: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${stack.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

/** Nano-dollars: costs are rounded to 1e-9 USD, so sums compare exactly as integers. */
const nano = (usd: number) => Math.round(usd * 1e9);
const price = (input: number, output: number, p: number, c: number) =>
  Math.round(((p * input + c * output) / 1e6) * 1e9);

describe('routing through the stack (rules, knn)', () => {
  let stack: TestStack;
  let key: string;
  let client: OpenAI;
  beforeAll(async () => {
    stack = await startStack({ env: { SLUICE_ROUTING_STRATEGY: 'rules,knn' } });
    key = await stack.key('acme');
    client = new OpenAI({ baseURL: `${stack.apiUrl}/v1`, apiKey: key, maxRetries: 0 });
  });
  afterAll(() => stack.stop());

  it('sends a simple prompt to small and a complex one to large; POST /v1/route shows strategy and reasons', async () => {
    const simple = await client.chat.completions
      .create({ model: 'auto', messages: [{ role: 'user', content: SIMPLE }] })
      .withResponse();
    expect(simple.response.headers.get('x-sluice-tier')).toBe('small');
    expect(simple.response.headers.get('x-sluice-model')).toBe('sim-small');
    const complex = await client.chat.completions
      .create({ model: 'auto', messages: [{ role: 'user', content: COMPLEX }] })
      .withResponse();
    expect(complex.response.headers.get('x-sluice-tier')).toBe('large');
    expect(complex.response.headers.get('x-sluice-model')).toBe('sim-large');

    const job = await api(stack, key, 'GET', `/v1/jobs/${complex.response.headers.get('x-sluice-job-id')}`);
    expect(job.body).toMatchObject({ tier: 'large', category: 'reasoning' });

    const dry = await api(stack, key, 'POST', '/v1/route', {
      model: 'auto',
      messages: [{ role: 'user', content: COMPLEX }],
    });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ tier: 'large', category: 'reasoning', strategy: 'rules', cascade: false });
    expect(dry.body.confidence).toBeGreaterThanOrEqual(0.7);
    expect(dry.body.reasons.length).toBeGreaterThan(0);
    const pinned = await api(stack, key, 'POST', '/v1/route', {
      model: 'small',
      messages: [{ role: 'user', content: COMPLEX }],
    });
    expect(pinned.body).toMatchObject({ tier: 'small', strategy: 'pinned' });
  });
});

describe('cascade and cost ledger through the stack', () => {
  let stack: TestStack;
  let key: string;
  let client: OpenAI;
  const accepted = (model: string) => stack.sim.stats().models[model]?.accepted ?? 0;
  beforeAll(async () => {
    // Nobody is ever confident enough: every prompt no strategy leans large for cascades.
    stack = await startStack({
      env: {
        SLUICE_ROUTING_STRATEGY: 'rules',
        SLUICE_ROUTING_THRESHOLD: '0.99',
        SLUICE_ROUTING_LOW_CONFIDENCE: 'cascade',
      },
    });
    key = await stack.key('cascade-co');
    client = new OpenAI({ baseURL: `${stack.apiUrl}/v1`, apiKey: key, maxRetries: 0 });
  });
  afterAll(() => stack.stop());

  const schemaFormat = {
    type: 'json_schema' as const,
    json_schema: {
      name: 'city',
      schema: {
        type: 'object',
        properties: { city: { type: 'string' }, country: { type: 'string' } },
        required: ['city', 'country'],
        additionalProperties: false,
      },
    },
  };

  it('keeps a small answer that passes the quality gate (one call, small price)', async () => {
    const dry = await api(stack, key, 'POST', '/v1/route', {
      model: 'auto',
      messages: [{ role: 'user', content: 'List three colours of the rainbow.' }],
    });
    expect(dry.body).toMatchObject({ tier: 'small', cascade: true });
    expect(dry.body.reasons.join(' ')).toMatch(/cascade/);
    const before = { small: accepted('sim-small'), large: accepted('sim-large') };
    const { data, response } = await client.chat.completions
      .create({
        model: 'auto',
        messages: [{ role: 'user', content: 'List three colours of the rainbow.' }],
        response_format: schemaFormat,
      })
      .withResponse();
    expect(response.headers.get('x-sluice-tier')).toBe('small');
    expect(accepted('sim-small') - before.small).toBe(1);
    expect(accepted('sim-large') - before.large).toBe(0);
    const usage = data.usage!;
    expect(nano(Number(response.headers.get('x-sluice-cost-usd')))).toBe(
      price(0.15, 0.6, usage.prompt_tokens, usage.completion_tokens),
    );
  });

  it('escalates to large when the small answer fails the gate, and costs both calls', async () => {
    // The small model now cuts every answer off at 8 tokens (finish_reason: length): the
    // gate fails it; the large model answers in full.
    stack.sim.updateModel('sim-small', { defaultMaxTokens: 8 });
    try {
      const messages = [
        { role: 'user' as const, content: 'Name the largest city in Canada and its country, as JSON.' },
      ];
      const before = { small: stack.sim.stats().models['sim-small']!, large: stack.sim.stats().models['sim-large']! };
      const snapshot = {
        smallAccepted: before.small.accepted,
        smallPrompt: before.small.promptTokens,
        smallCompletion: before.small.completionTokens,
        largeAccepted: before.large.accepted,
      };
      const { data, response } = await client.chat.completions
        .create({ model: 'auto', messages, response_format: schemaFormat })
        .withResponse();
      expect(response.headers.get('x-sluice-tier')).toBe('large');
      expect(response.headers.get('x-sluice-model')).toBe('sim-large');
      expect(data.choices[0]!.finish_reason).toBe('stop');
      expect(JSON.parse(data.choices[0]!.message.content!)).toMatchObject({
        city: expect.any(String),
        country: expect.any(String),
      });
      const after = stack.sim.stats().models;
      expect(after['sim-small']!.accepted - snapshot.smallAccepted).toBe(1);
      expect(after['sim-large']!.accepted - snapshot.largeAccepted).toBe(1);

      const jobId = response.headers.get('x-sluice-job-id')!;
      const job = await api(stack, key, 'GET', `/v1/jobs/${jobId}`);
      // Both calls are in the job's cost: the small call's tokens (as the simulator counted
      // them) at small prices, the large call's at large prices.
      const smallPrompt = after['sim-small']!.promptTokens - snapshot.smallPrompt;
      const smallCompletion = after['sim-small']!.completionTokens - snapshot.smallCompletion;
      expect(smallCompletion).toBe(8);
      const expected =
        price(0.15, 0.6, smallPrompt, smallCompletion) +
        price(2.5, 10, data.usage!.prompt_tokens, data.usage!.completion_tokens);
      expect(nano(job.body.cost_usd)).toBe(expected);
      expect(nano(Number(response.headers.get('x-sluice-cost-usd')))).toBe(expected);
      expect(job.body.tier).toBe('large');
      // The escalation taught the kNN set that this prompt needs large.
      await until(async () => (await stack.api.context.knn.size()).learned >= 1);
    } finally {
      stack.sim.updateModel('sim-small', { defaultMaxTokens: 4096 });
    }
  });

  it('streams the large answer of an escalated cascade, never the discarded small one', async () => {
    stack.sim.updateModel('sim-small', { defaultMaxTokens: 8 });
    try {
      const messages = [{ role: 'user' as const, content: 'Give me a short synonym for happy.' }];
      const stream = await client.chat.completions.create({ model: 'auto', messages, stream: true }).withResponse();
      let text = '';
      for await (const chunk of stream.data) text += chunk.choices[0]?.delta?.content ?? '';
      expect(stream.response.headers.get('x-sluice-tier')).toBe('large');
      // One answer, the large model's: it starts with the fingerprint of what large received.
      expect(text.startsWith(`[sim:${fingerprintMessages(messages)}]`)).toBe(true);
      expect(text.split('[sim:').length).toBe(2);
    } finally {
      stack.sim.updateModel('sim-small', { defaultMaxTokens: 4096 });
    }
  });

  it('GET /v1/usage totals match the sum of the jobs’ own cost_usd exactly (cache hits, cascades, both tiers)', async () => {
    const tenantKey = await stack.key('ledger-co');
    const c = new OpenAI({ baseURL: `${stack.apiUrl}/v1`, apiKey: tenantKey, maxRetries: 0 });
    const jobIds: string[] = [];
    const run = async (content: string, extra: Record<string, unknown> = {}) => {
      const { response } = await c.chat.completions
        .create({ model: 'auto', messages: [{ role: 'user', content }], ...extra } as never)
        .withResponse();
      jobIds.push(response.headers.get('x-sluice-job-id')!);
      return response;
    };
    await run('What is the capital of Italy?'); // cascade, passes on small
    await run(COMPLEX); // large
    expect((await run('What is the capital of Italy?')).headers.get('x-sluice-cache')).toBe('hit'); // exact hit at the API
    expect((await run('what is the capital of italy')).headers.get('x-sluice-cache')).toBe('hit'); // semantic hit in the executor
    await run('Translate "good morning" into German.', { stream: true });
    stack.sim.updateModel('sim-small', { defaultMaxTokens: 8 });
    try {
      expect((await run('Name a famous painting by Vermeer.')).headers.get('x-sluice-tier')).toBe('large'); // escalated cascade
    } finally {
      stack.sim.updateModel('sim-small', { defaultMaxTokens: 4096 });
    }
    for (let i = 0; i < 4; i++) await run(`Spell the number ${i + 11} in words.`, { temperature: 1.5 }); // bypass: too hot to cache

    const jobs = await Promise.all(
      jobIds.map(async (id) => (await api(stack, tenantKey, 'GET', `/v1/jobs/${id}`)).body),
    );
    for (const job of jobs) expect(job.status).toBe('completed');
    const sum = jobs.reduce((total, job) => total + nano(job.cost_usd), 0);
    const usage = await until(async () => {
      const u = (await api(stack, tenantKey, 'GET', '/v1/usage')).body;
      return u.totals.jobs === jobIds.length ? u : undefined;
    });
    expect(usage.totals.cost_nano_usd).toBe(sum);
    expect(nano(usage.totals.cost_usd)).toBe(sum);
    expect(usage.by_cache.hit.jobs).toBe(2);
    expect(usage.by_cache.hit.cost_nano_usd).toBe(0);
    expect(usage.by_cache.hit.counterfactual_nano_usd).toBeGreaterThan(0);
    expect(usage.by_cache.hit.jobs + usage.by_cache.miss.jobs + usage.by_cache.bypass.jobs).toBe(jobIds.length);
    expect(
      usage.by_cache.hit.cost_nano_usd + usage.by_cache.miss.cost_nano_usd + usage.by_cache.bypass.cost_nano_usd,
    ).toBe(sum);
    expect(
      usage.by_tier.small.cost_nano_usd + usage.by_tier.large.cost_nano_usd + usage.by_tier.router.cost_nano_usd,
    ).toBe(sum);
    expect(usage.totals.escalations).toBe(1);
    expect(usage.totals.upstream_calls).toBe(jobIds.length - 2 + 1); // hits make no call, the cascade two
    expect(usage.totals.counterfactual_nano_usd).toBeGreaterThan(sum);
    expect(usage.totals.saved_usd).toBeGreaterThan(0);
    // Another tenant sees only its own figures; a bad range is a 400 naming the parameter.
    const other = (await api(stack, key, 'GET', '/v1/usage')).body;
    expect(other.totals.jobs).toBeLessThan(10);
    const bad = await api(stack, tenantKey, 'GET', '/v1/usage?from=2026-02-30');
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe('from');
    const future = await api(stack, tenantKey, 'GET', '/v1/usage?from=2099-01-01&to=2099-01-02');
    expect(future.body.totals.jobs).toBe(0);
  });
});

describe('feedback teaches kNN routing through the stack', () => {
  let stack: TestStack;
  let key: string;
  beforeAll(async () => {
    stack = await startStack({ env: { SLUICE_ROUTING_STRATEGY: 'knn', SLUICE_ROUTING_THRESHOLD: '0.3' } });
    key = await stack.key('acme');
  });
  afterAll(() => stack.stop());

  it('POST /v1/feedback (inadequate) changes a later kNN decision for that prompt to large', async () => {
    const prompt = 'Suggest a name for a small bakery in a seaside town.';
    const body = { model: 'auto', messages: [{ role: 'user', content: prompt }] };
    const before = await api(stack, key, 'POST', '/v1/route', body);
    expect(before.body).toMatchObject({ tier: 'small', strategy: 'knn' });
    const res = await fetch(`${stack.apiUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.headers.get('x-sluice-tier')).toBe('small');
    const jobId = res.headers.get('x-sluice-job-id')!;

    // Only the job's own tenant may rate it; bad ratings are 400s naming the field.
    const stranger = await stack.key('globex');
    expect((await api(stack, stranger, 'POST', '/v1/feedback', { job_id: jobId, rating: 'inadequate' })).status).toBe(
      404,
    );
    const invalid = await api(stack, key, 'POST', '/v1/feedback', { job_id: jobId, rating: 'meh' });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.param).toBe('rating');

    const feedback = await api(stack, key, 'POST', '/v1/feedback', { job_id: jobId, rating: 'inadequate' });
    expect(feedback.status).toBe(200);
    expect(feedback.body).toMatchObject({ recorded: true, tier: 'large' });

    const after = await api(stack, key, 'POST', '/v1/route', body);
    expect(after.body).toMatchObject({ tier: 'large', strategy: 'knn' });
    expect(after.body.reasons.join(' ')).toMatch(/learned/);
    // And the real path follows it.
    const again = await fetch(`${stack.apiUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'cache-control': 'no-cache' },
      body: JSON.stringify(body),
    });
    expect(again.headers.get('x-sluice-tier')).toBe('large');
  });
});
