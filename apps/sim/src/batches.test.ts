import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator } from './simulator.ts';
import type { Simulator } from './types.ts';

/**
 * The Batch API and the provider prompt cache, driven by the official `openai` client against
 * a listening simulator whose clock the test moves.
 */

let sim: Simulator;
let client: OpenAI;
let clock = Date.UTC(2026, 0, 1);

beforeAll(async () => {
  sim = createSimulator({ profile: 'fast', now: () => clock, batch: { processingMs: 10_000, expireAfterMs: 60_000 } });
  const { url } = await sim.listen({ port: 0 });
  client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'sim-test', maxRetries: 0 });
});

afterAll(async () => {
  await sim.close();
});

const line = (id: string, content: string, model = 'sim-small') =>
  JSON.stringify({
    custom_id: id,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model, messages: [{ role: 'user', content }] },
  });

async function upload(lines: string[]) {
  return client.files.create({ file: await toFile(Buffer.from(lines.join('\n')), 'input.jsonl'), purpose: 'batch' });
}

describe('Batch API', () => {
  it('answers every line as the synchronous endpoint would, once the processing time has passed', async () => {
    const file = await upload([line('a', 'What is 2+2?'), line('b', 'Name a colour.')]);
    expect(file.purpose).toBe('batch');
    const batch = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    expect(batch.request_counts?.total).toBe(2);

    clock += 5_000;
    const halfway = await client.batches.retrieve(batch.id);
    expect(halfway.status).toBe('in_progress');
    expect(halfway.request_counts).toEqual({ total: 2, completed: 1, failed: 0 });
    expect(halfway.output_file_id).toBeNull();

    clock += 5_000;
    const done = await client.batches.retrieve(batch.id);
    expect(done.status).toBe('completed');
    expect(done.error_file_id).toBeNull();
    const output = (await (await client.files.content(done.output_file_id!)).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(output.map((o) => o.custom_id).sort()).toEqual(['a', 'b']);
    const sync = await client.chat.completions.create({
      model: 'sim-small',
      messages: [{ role: 'user', content: 'What is 2+2?' }],
    });
    const a = output.find((o) => o.custom_id === 'a');
    expect(a.response.status_code).toBe(200);
    expect(a.response.body.choices[0].message.content).toBe(sync.choices[0]!.message.content);
    expect(a.response.body.usage.prompt_tokens).toBe(sync.usage!.prompt_tokens);
  });

  it('puts failed lines in the error file and expired ones with batch_expired', async () => {
    const file = await upload([
      line('ok', 'Hello'),
      line('bad', 'Hello', 'no-such-model'),
      line('boom', 'fail [[sim:error]]'),
      line('late', 'Hello again'),
      line('late2', 'Hi'),
      line('late3', 'Hey'),
    ]);
    const batch = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    clock += 5_000;
    // The provider ends the window with half the lines done.
    const response = await fetch(`${client.baseURL.replace(/\/v1$/, '')}/sim/batches/${batch.id}/expire`, {
      method: 'POST',
    });
    expect(response.status).toBe(200);
    const expired = await client.batches.retrieve(batch.id);
    expect(expired.status).toBe('expired');
    expect(expired.request_counts).toEqual({ total: 6, completed: 1, failed: 5 });
    const errors = (await (await client.files.content(expired.error_file_id!)).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const byId = Object.fromEntries(errors.map((e) => [e.custom_id, e]));
    expect(byId.bad.response.status_code).toBe(404);
    expect(byId.bad.response.body.error.code).toBe('model_not_found');
    expect(byId.boom.response.status_code).toBe(500);
    expect(byId.late.response).toBeNull();
    expect(byId.late.error.code).toBe('batch_expired');
  });

  it('expires a batch whose processing outlasts its window, and cancels on request', async () => {
    const slow = createSimulator({
      profile: 'fast',
      now: () => clock,
      batch: { processingMs: 100_000, expireAfterMs: 50_000 },
    });
    const { url } = await slow.listen({ port: 0 });
    try {
      const slowClient = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'sim-test', maxRetries: 0 });
      const file = await slowClient.files.create({
        file: await toFile(Buffer.from([line('1', 'a'), line('2', 'b')].join('\n')), 'in.jsonl'),
        purpose: 'batch',
      });
      const batch = await slowClient.batches.create({
        input_file_id: file.id,
        endpoint: '/v1/chat/completions',
        completion_window: '24h',
      });
      const other = await slowClient.batches.create({
        input_file_id: file.id,
        endpoint: '/v1/chat/completions',
        completion_window: '24h',
      });
      clock += 50_000;
      const expired = await slowClient.batches.retrieve(batch.id);
      expect(expired.status).toBe('expired');
      expect(expired.request_counts).toEqual({ total: 2, completed: 1, failed: 1 });
      const cancelled = await slowClient.batches.cancel(other.id);
      expect(cancelled.status).toBe('expired');
    } finally {
      await slow.close();
    }
  });

  it('refuses a malformed input file with a 400 naming the line', async () => {
    const file = await upload([
      line('x', 'hi'),
      '{"custom_id": "x", "method": "POST", "url": "/v1/chat/completions", "body": {}}',
    ]);
    await expect(
      client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' }),
    ).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining("'x' appears more than once"),
    });
    await expect(client.batches.retrieve('batch_missing')).rejects.toMatchObject({ status: 404 });
  });
});

describe('provider prompt cache', () => {
  const longSystem = `You are a meticulous assistant. ${'Follow the house style guide to the letter. '.repeat(160)}`;

  it('reports a repeated prefix of 1,024 tokens or more as cached_tokens, in 128-token steps', async () => {
    const ask = (question: string) =>
      client.chat.completions.create({
        model: 'sim-large',
        messages: [
          { role: 'system', content: longSystem },
          { role: 'user', content: question },
        ],
      });
    const first = await ask('What is the capital of France?');
    expect(first.usage!.prompt_tokens).toBeGreaterThan(1024);
    expect(first.usage!.prompt_tokens_details!.cached_tokens).toBe(0);
    const second = await ask('And of Spain?');
    const cached = second.usage!.prompt_tokens_details!.cached_tokens!;
    expect(cached).toBeGreaterThanOrEqual(1024);
    expect(cached % 128).toBe(0);
    expect(cached).toBeLessThan(second.usage!.prompt_tokens);
    // Another model has its own cache; a short prompt is never cached.
    const elsewhere = await client.chat.completions.create({
      model: 'sim-small',
      messages: [
        { role: 'system', content: longSystem },
        { role: 'user', content: 'Hi' },
      ],
    });
    expect(elsewhere.usage!.prompt_tokens_details!.cached_tokens).toBe(0);
    const short = await client.chat.completions.create({
      model: 'sim-large',
      messages: [{ role: 'user', content: 'Hi' }],
    });
    await client.chat.completions.create({ model: 'sim-large', messages: [{ role: 'user', content: 'Hi' }] });
    expect(short.usage!.prompt_tokens_details!.cached_tokens).toBe(0);
    // Past the cache's idle time, the prefix is gone.
    clock += 301_000;
    expect((await ask('And of Italy?')).usage!.prompt_tokens_details!.cached_tokens).toBe(0);
  });
});
