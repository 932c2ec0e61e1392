import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintMessages } from '@sluice/sim';
import { startStack, type TestStack } from './harness.ts';

/** The shared cache through the whole stack: API fast path, executors, simulator stats. */
describe('cache through the gateway', () => {
  let stack: TestStack;
  let acme: OpenAI;
  let globex: OpenAI;
  const upstreamCalls = (model = 'sim-small') => stack.sim.stats().models[model]?.accepted ?? 0;

  beforeAll(async () => {
    stack = await startStack({ sim: { profile: 'fixed', latencyMs: 300 } });
    acme = new OpenAI({ baseURL: `${stack.apiUrl}/v1`, apiKey: await stack.key('acme'), maxRetries: 0 });
    globex = new OpenAI({ baseURL: `${stack.apiUrl}/v1`, apiKey: await stack.key('globex'), maxRetries: 0 });
  });
  afterAll(() => stack.stop());

  it('20 concurrent identical requests make exactly 1 upstream call', async () => {
    const before = upstreamCalls();
    const messages = [{ role: 'user' as const, content: 'What does a stampede guard do in a cache?' }];
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => acme.chat.completions.create({ model: 'auto', messages }).withResponse()),
    );
    expect(upstreamCalls() - before).toBe(1);
    const fp = fingerprintMessages(messages);
    for (const { data } of answers) expect(data.choices[0]!.message.content).toContain(`[sim:${fp}]`);
    const outcomes = answers.map(({ response }) => response.headers.get('x-sluice-cache')).sort();
    expect(outcomes.filter((o) => o === 'miss')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'hit')).toHaveLength(19);
  });

  it('answers a repeat from the exact level at the API and a rewording from the semantic level', async () => {
    const first = await acme.chat.completions
      .create({ model: 'auto', messages: [{ role: 'user', content: 'How do I reverse a list in Python?' }] })
      .withResponse();
    expect(first.response.headers.get('x-sluice-cache')).toBe('miss');
    const again = await acme.chat.completions
      .create({ model: 'auto', messages: [{ role: 'user', content: 'How do I reverse a list in Python?' }] })
      .withResponse();
    expect(again.response.headers.get('x-sluice-cache')).toBe('hit');
    expect(again.response.headers.get('x-sluice-cache-kind')).toBe('exact');
    expect(Number(again.response.headers.get('x-sluice-cost-usd'))).toBe(0);
    expect(again.data.choices[0]!.message.content).toBe(first.data.choices[0]!.message.content);
    const reworded = await acme.chat.completions
      .create({ model: 'auto', messages: [{ role: 'user', content: 'how do i reverse a list in python' }] })
      .withResponse();
    expect(reworded.response.headers.get('x-sluice-cache')).toBe('hit');
    expect(reworded.data.choices[0]!.message.content).toBe(first.data.choices[0]!.message.content);
  });

  it('never crosses tenants, models, system prompts or output-changing parameters', async () => {
    const content = 'Name three uses of a message queue.';
    const base = await acme.chat.completions
      .create({ model: 'auto', messages: [{ role: 'user', content }] })
      .withResponse();
    expect(base.response.headers.get('x-sluice-cache')).toBe('miss');
    const variants = [
      globex.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content }] }).withResponse(),
      acme.chat.completions.create({ model: 'large', messages: [{ role: 'user', content }] }).withResponse(),
      acme.chat.completions
        .create({
          model: 'auto',
          messages: [
            { role: 'system', content: 'Answer in French.' },
            { role: 'user', content },
          ],
        })
        .withResponse(),
      acme.chat.completions
        .create({ model: 'auto', messages: [{ role: 'user', content }], temperature: 0.2 })
        .withResponse(),
      acme.chat.completions
        .create({ model: 'auto', messages: [{ role: 'user', content }], response_format: { type: 'json_object' } })
        .withResponse(),
      acme.chat.completions
        .create({ model: 'auto', messages: [{ role: 'user', content }], max_tokens: 50 })
        .withResponse(),
    ];
    for (const { response } of await Promise.all(variants)) expect(response.headers.get('x-sluice-cache')).toBe('miss');
  });

  it('does not store truncated answers, honours no-store and no-cache', async () => {
    const long = [{ role: 'user' as const, content: 'Tell me everything about queues [[sim:long]]' }];
    await acme.chat.completions.create({ model: 'auto', messages: long, max_tokens: 20 });
    const second = await acme.chat.completions.create({ model: 'auto', messages: long, max_tokens: 20 }).withResponse();
    expect(second.data.choices[0]!.finish_reason).toBe('length');
    expect(second.response.headers.get('x-sluice-cache')).toBe('miss');

    const q = [{ role: 'user' as const, content: 'What is backpressure in a queueing system?' }];
    const noStore = await acme.chat.completions
      .create({ model: 'auto', messages: q }, { headers: { 'cache-control': 'no-store' } })
      .withResponse();
    expect(noStore.response.headers.get('x-sluice-cache')).toBe('miss');
    const afterNoStore = await acme.chat.completions
      .create({ model: 'auto', messages: q }, { headers: { 'cache-control': 'no-cache' } })
      .withResponse();
    expect(afterNoStore.response.headers.get('x-sluice-cache')).toBe('bypass');
    // no-cache skipped the lookup but stored, so a plain request now hits.
    const plain = await acme.chat.completions.create({ model: 'auto', messages: q }).withResponse();
    expect(plain.response.headers.get('x-sluice-cache')).toBe('hit');
  });

  it('replays a hit as a valid stream for the official client', async () => {
    const messages = [{ role: 'user' as const, content: 'Explain idempotency keys briefly.' }];
    const first = await acme.chat.completions.create({ model: 'auto', messages });
    const stream = await acme.chat.completions.create({
      model: 'auto',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null = null;
    let usage = false;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage ||= !!chunk.usage;
    }
    expect(text).toBe(first.choices[0]!.message.content);
    expect(finish).toBe('stop');
    expect(usage).toBe(true);
  });

  it('never serves a time-sensitive answer from the cache', async () => {
    const messages = [{ role: 'user' as const, content: 'What is the current price of bitcoin today?' }];
    await acme.chat.completions.create({ model: 'auto', messages });
    const again = await acme.chat.completions.create({ model: 'auto', messages }).withResponse();
    expect(again.response.headers.get('x-sluice-cache')).not.toBe('hit');
  });
});

describe('cache administration', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.stop());
  const admin = {
    authorization: `Basic ${Buffer.from('admin:test-admin-pw').toString('base64')}`,
    'content-type': 'application/json',
  };

  it('counts hits and misses, and purges a tenant so its next request misses', async () => {
    const client = new OpenAI({ baseURL: `${stack.apiUrl}/v1`, apiKey: await stack.key('acme'), maxRetries: 0 });
    const messages = [{ role: 'user' as const, content: 'What is a dead letter queue?' }];
    await client.chat.completions.create({ model: 'auto', messages });
    const hit = await client.chat.completions.create({ model: 'auto', messages }).withResponse();
    expect(hit.response.headers.get('x-sluice-cache')).toBe('hit');
    expect((await fetch(`${stack.apiUrl}/admin/cache/stats`)).status).toBe(401);
    // The store was counted by the executor, which writes its counts once a second.
    const stats = async () =>
      (await (await fetch(`${stack.apiUrl}/admin/cache/stats`, { headers: admin })).json()) as {
        hits: { total: number };
        stores: number;
      };
    await expect.poll(async () => (await stats()).stores, { timeout: 5_000 }).toBeGreaterThanOrEqual(1);
    expect((await stats()).hits.total).toBeGreaterThanOrEqual(1);
    const bad = await fetch(`${stack.apiUrl}/admin/cache/purge`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({}),
    });
    expect(bad.status).toBe(400);
    const purge = await fetch(`${stack.apiUrl}/admin/cache/purge`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ tenant: 'acme' }),
    });
    expect(purge.status).toBe(200);
    expect(((await purge.json()) as { entries: number }).entries).toBeGreaterThanOrEqual(1);
    const after = await client.chat.completions.create({ model: 'auto', messages }).withResponse();
    expect(after.response.headers.get('x-sluice-cache')).toBe('miss');
  });
});
