import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator } from './simulator.ts';
import type { Simulator } from './types.ts';

/**
 * Anthropic's Message Batches, driven by the official `@anthropic-ai/sdk` client against a
 * listening simulator whose clock the test moves.
 */

let sim: Simulator;
let url: string;
let client: Anthropic;
let clock = Date.UTC(2026, 0, 1);

beforeAll(async () => {
  sim = createSimulator({ profile: 'fast', now: () => clock, batch: { processingMs: 10_000, expireAfterMs: 60_000 } });
  ({ url } = await sim.listen({ port: 0 }));
  client = new Anthropic({ baseURL: url, apiKey: 'sim-test', maxRetries: 0 });
});

afterAll(async () => {
  await sim.close();
});

const request = (custom_id: string, content: string, model = 'sim-small') => ({
  custom_id,
  params: { model, max_tokens: 256, messages: [{ role: 'user' as const, content }] },
});

async function results(id: string) {
  const lines: Anthropic.Messages.MessageBatchIndividualResponse[] = [];
  for await (const line of await client.messages.batches.results(id)) lines.push(line);
  return Object.fromEntries(lines.map((l) => [l.custom_id, l.result]));
}

describe('Message Batches', () => {
  it('answers every request as /v1/messages would, once the processing time has passed', async () => {
    const created = await client.messages.batches.create({
      requests: [request('a', 'What is 2+2?'), request('b', 'Name a colour.')],
    });
    expect(created.id).toMatch(/^msgbatch_/);
    expect(created.type).toBe('message_batch');
    expect(created.processing_status).toBe('in_progress');
    expect(created.request_counts).toEqual({ processing: 2, succeeded: 0, errored: 0, canceled: 0, expired: 0 });
    expect(created.results_url).toBeNull();
    expect(Date.parse(created.expires_at) - Date.parse(created.created_at)).toBe(60_000);
    // Not available yet: the SDK itself refuses without a results_url.
    await expect(client.messages.batches.results(created.id)).rejects.toThrow(/results_url/);

    clock += 5_000;
    // Counts stay `processing` until the whole batch ends, as Anthropic documents.
    expect((await client.messages.batches.retrieve(created.id)).request_counts.processing).toBe(2);

    clock += 5_000;
    const ended = await client.messages.batches.retrieve(created.id);
    expect(ended.processing_status).toBe('ended');
    expect(ended.request_counts).toEqual({ processing: 0, succeeded: 2, errored: 0, canceled: 0, expired: 0 });
    expect(ended.ended_at).toBe(new Date(Date.parse(created.created_at) + 10_000).toISOString());
    expect(ended.results_url).toBe(`${url}/v1/messages/batches/${created.id}/results`);

    const byId = await results(created.id);
    const sync = await client.messages.create({
      model: 'sim-small',
      max_tokens: 256,
      messages: [{ role: 'user', content: 'What is 2+2?' }],
    });
    const a = byId.a!;
    expect(a.type).toBe('succeeded');
    if (a.type !== 'succeeded') throw new Error('unreachable');
    expect(a.message.content).toEqual(sync.content);
    expect(a.message.usage.input_tokens).toBe(sync.usage.input_tokens);
    expect(a.message.usage.output_tokens).toBe(sync.usage.output_tokens);
    expect(byId.b!.type).toBe('succeeded');
  });

  it('ends refused requests errored with the Messages API error, and unfinished ones expired', async () => {
    const created = await client.messages.batches.create({
      requests: [
        request('ok', 'Hello'),
        request('bad', 'Hello', 'no-such-model'),
        request('boom', 'fail [[sim:error]]'),
        request('late', 'Hello again'),
        request('late2', 'Hi'),
        request('late3', 'Hey'),
      ],
    });
    clock += 5_000;
    // The provider ends the window with half the requests done.
    const expired = await fetch(`${url}/sim/batches/${created.id}/expire`, { method: 'POST' });
    expect(expired.status).toBe(200);
    const ended = await client.messages.batches.retrieve(created.id);
    expect(ended.processing_status).toBe('ended');
    expect(ended.request_counts).toEqual({ processing: 0, succeeded: 1, errored: 2, canceled: 0, expired: 3 });
    const byId = await results(created.id);
    expect(byId.ok!.type).toBe('succeeded');
    const bad = byId.bad!;
    expect(bad.type === 'errored' && bad.error.error.type).toBe('not_found_error');
    const boom = byId.boom!;
    expect(boom.type === 'errored' && boom.error.error.type).toBe('api_error');
    expect([byId.late!.type, byId.late2!.type, byId.late3!.type]).toEqual(['expired', 'expired', 'expired']);
  });

  it('cancels: answered requests keep their results, the rest end canceled', async () => {
    const created = await client.messages.batches.create({
      requests: [request('c1', 'One'), request('c2', 'Two'), request('c3', 'Three'), request('c4', 'Four')],
    });
    clock += 5_000;
    const canceling = await client.messages.batches.cancel(created.id);
    expect(canceling.processing_status).toBe('canceling');
    expect(canceling.cancel_initiated_at).toBe(new Date(clock).toISOString());
    const ended = await client.messages.batches.retrieve(created.id);
    expect(ended.processing_status).toBe('ended');
    expect(ended.request_counts).toEqual({ processing: 0, succeeded: 2, errored: 0, canceled: 2, expired: 0 });
    const byId = await results(created.id);
    expect(Object.values(byId).map((r) => r.type)).toEqual(['succeeded', 'succeeded', 'canceled', 'canceled']);
  });

  it('lists newest first and pages with after_id', async () => {
    const first = await client.messages.batches.create({ requests: [request('l1', 'List me')] });
    const second = await client.messages.batches.create({ requests: [request('l2', 'List me too')] });
    const page = await client.messages.batches.list({ limit: 2 });
    expect(page.data.map((b) => b.id)).toEqual([second.id, first.id]);
    expect(page.has_more).toBe(true);
    expect(page.last_id).toBe(first.id);
    const next = await client.messages.batches.list({ limit: 100, after_id: first.id });
    expect(next.data.length).toBe(3);
    expect(next.has_more).toBe(false);
    expect(next.data.every((b) => b.type === 'message_batch')).toBe(true);
  });

  it('refuses malformed batches with 400s in Anthropic shape, and calls without a key with 401', async () => {
    const badId = client.messages.batches.create({ requests: [request('has space', 'x')] });
    await expect(badId).rejects.toMatchObject({
      status: 400,
      error: {
        type: 'error',
        error: { type: 'invalid_request_error', message: expect.stringContaining('requests.0.custom_id') },
      },
    });
    const dup = client.messages.batches.create({ requests: [request('same', 'x'), request('same', 'y')] });
    await expect(dup).rejects.toMatchObject({
      status: 400,
      error: { error: { message: expect.stringContaining('unique') } },
    });
    const noTokens = client.messages.batches.create({
      requests: [
        { custom_id: 'n', params: { model: 'sim-small', messages: [{ role: 'user', content: 'x' }] } as never },
      ],
    });
    await expect(noTokens).rejects.toMatchObject({
      status: 400,
      error: { error: { message: 'requests.0.params.max_tokens: Field required' } },
    });
    await expect(client.messages.batches.create({ requests: [] })).rejects.toMatchObject({ status: 400 });
    await expect(client.messages.batches.retrieve('msgbatch_nope')).rejects.toMatchObject({
      status: 404,
      error: { error: { type: 'not_found_error' } },
    });

    const noKey = await fetch(`${url}/v1/messages/batches`, { headers: { 'anthropic-version': '2023-06-01' } });
    expect(noKey.status).toBe(401);
    expect(await noKey.json()).toEqual({
      type: 'error',
      error: { type: 'authentication_error', message: 'x-api-key header is required' },
    });
    expect(noKey.headers.get('request-id')).toMatch(/^req-/);
    const noVersion = await fetch(`${url}/v1/messages/batches`, { headers: { 'x-api-key': 'k' } });
    expect(noVersion.status).toBe(400);
    expect(((await noVersion.json()) as { error: { message: string } }).error.message).toBe(
      'anthropic-version: header is required',
    );
  });

  it('answers batch requests without the per-request latency or rate limit', async () => {
    const limited = createSimulator({
      profile: 'fast',
      now: () => clock,
      batch: { processingMs: 0 },
      models: [{ id: 'tight', kind: 'chat', rpm: 1 }],
    });
    const { url: limitedUrl } = await limited.listen({ port: 0 });
    try {
      const c = new Anthropic({ baseURL: limitedUrl, apiKey: 'sim-test', maxRetries: 0 });
      const created = await c.messages.batches.create({
        requests: Array.from({ length: 5 }, (_, i) => request(`r${i}`, `Question ${i}`, 'tight')),
      });
      const ended = await c.messages.batches.retrieve(created.id);
      expect(ended.request_counts.succeeded).toBe(5);
    } finally {
      await limited.close();
    }
  });
});
