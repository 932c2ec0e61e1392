import OpenAI, { type APIError, type RateLimitError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cosineSimilarity } from './embeddings.ts';
import { fingerprintMessages, parseReplyFingerprint } from './fingerprint.ts';
import { REFUSAL_TEXT } from './reply.ts';
import { createSimulator } from './simulator.ts';
import type { Simulator } from './types.ts';

/**
 * Wire-level tests: a real listening simulator on the `fast` profile, driven by the official
 * `openai` client, so the shapes are the ones the SDK parses. Tests that change a model use
 * their own `@suffix` variant so they do not disturb each other.
 */

let sim: Simulator;
let baseUrl: string;
let client: OpenAI;

beforeAll(async () => {
  sim = createSimulator({ profile: 'fast' });
  ({ url: baseUrl } = await sim.listen({ port: 0 }));
  client = new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey: 'sim-test', maxRetries: 0 });
});

afterAll(async () => {
  await sim.close();
});

const ask = (text: string): OpenAI.ChatCompletionMessageParam[] => [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: text },
];

/** Polls until `condition` holds; shared CI machines are too noisy for fixed sleeps. */
async function waitFor(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

describe('chat completions', () => {
  it('answers a non-streamed completion in OpenAI shape with the prompt fingerprint', async () => {
    const messages = ask('What is a queue?');
    const completion = await client.chat.completions.create({ model: 'sim-small', messages });

    expect(completion.object).toBe('chat.completion');
    expect(completion.id).toMatch(/^chatcmpl-/);
    expect(completion.model).toBe('sim-small');
    expect(Number.isInteger(completion.created)).toBe(true);
    expect(completion.choices).toHaveLength(1);
    const [choice] = completion.choices;
    expect(choice?.index).toBe(0);
    expect(choice?.finish_reason).toBe('stop');
    expect(choice?.logprobs).toBeNull();
    expect(choice?.message.role).toBe('assistant');
    expect(choice?.message.refusal).toBeNull();
    const content = choice?.message.content ?? '';
    expect(content.startsWith(`[sim:${fingerprintMessages(messages)}] `)).toBe(true);
    expect(parseReplyFingerprint(content)).toBe(fingerprintMessages(messages));
    const words = content.split(' ').length - 1;
    expect(words).toBeGreaterThanOrEqual(20);
    expect(words).toBeLessThanOrEqual(120);
    expect(completion.usage?.prompt_tokens).toBeGreaterThan(10);
    expect(completion.usage?.completion_tokens).toBeGreaterThan(words);
    expect(completion.usage?.total_tokens).toBe(
      (completion.usage?.prompt_tokens ?? 0) + (completion.usage?.completion_tokens ?? 0),
    );
  });

  it('is deterministic for one prompt and different for another', async () => {
    const first = await client.chat.completions.create({ model: 'sim-large', messages: ask('Explain BullMQ.') });
    const again = await client.chat.completions.create({ model: 'sim-large', messages: ask('Explain BullMQ.') });
    const other = await client.chat.completions.create({ model: 'sim-large', messages: ask('Explain Redis.') });
    const otherSystem = await client.chat.completions.create({
      model: 'sim-large',
      messages: [
        { role: 'system', content: 'You are verbose.' },
        { role: 'user', content: 'Explain BullMQ.' },
      ],
    });

    expect(again.choices[0]?.message.content).toBe(first.choices[0]?.message.content);
    expect(other.choices[0]?.message.content).not.toBe(first.choices[0]?.message.content);
    expect(parseReplyFingerprint(other.choices[0]?.message.content)).toBe(fingerprintMessages(ask('Explain Redis.')));
    expect(parseReplyFingerprint(otherSystem.choices[0]?.message.content)).not.toBe(
      parseReplyFingerprint(first.choices[0]?.message.content),
    );
  });

  it('streams role, content deltas, a finish chunk and a usage chunk matching the non-streamed answer', async () => {
    const messages = ask('Stream me something.');
    const plain = await client.chat.completions.create({ model: 'sim-small', messages });
    const stream = await client.chat.completions.create({
      model: 'sim-small',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);

    expect(chunks.length).toBeGreaterThan(4);
    expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk')).toBe(true);
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    const content = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    expect(content).toBe(plain.choices[0]?.message.content);

    const usageChunk = chunks.at(-1);
    const finishChunk = chunks.at(-2);
    expect(finishChunk?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.slice(0, -2).every((chunk) => chunk.choices[0]?.finish_reason === null)).toBe(true);
    expect(usageChunk?.choices).toEqual([]);
    expect(usageChunk?.usage).toEqual(plain.usage);
  });

  it('omits the usage chunk without include_usage', async () => {
    const stream = await client.chat.completions.create({
      model: 'sim-router',
      messages: ask('No usage please.'),
      stream: true,
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.some((chunk) => chunk.usage != null)).toBe(false);
  });

  it('truncates at max_tokens with finish_reason length, streamed or not', async () => {
    const messages = ask('Tell me everything.');
    const full = await client.chat.completions.create({ model: 'sim-small', messages });
    const capped = await client.chat.completions.create({ model: 'sim-small', messages, max_tokens: 15 });
    expect(capped.choices[0]?.finish_reason).toBe('length');
    expect(capped.usage?.completion_tokens).toBe(15);
    const cappedContent = capped.choices[0]?.message.content ?? '';
    expect(cappedContent.length).toBeLessThan((full.choices[0]?.message.content ?? '').length);
    expect(full.choices[0]?.message.content?.startsWith(cappedContent)).toBe(true);

    const stream = await client.chat.completions.create({
      model: 'sim-small',
      messages,
      max_completion_tokens: 15,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe(cappedContent);
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('length');
    expect(chunks.at(-1)?.usage?.completion_tokens).toBe(15);
  });

  it('returns n identical choices and bills each', async () => {
    const one = await client.chat.completions.create({ model: 'sim-small', messages: ask('Twice.') });
    const two = await client.chat.completions.create({ model: 'sim-small', messages: ask('Twice.'), n: 2 });
    expect(two.choices.map((choice) => choice.index)).toEqual([0, 1]);
    expect(two.choices[1]?.message.content).toBe(one.choices[0]?.message.content);
    expect(two.usage?.completion_tokens).toBe(2 * (one.usage?.completion_tokens ?? 0));
  });
});

describe('prompt directives', () => {
  it('[[sim:refuse]] answers with the refusal text', async () => {
    const completion = await client.chat.completions.create({
      model: 'sim-small',
      messages: ask('Do it [[sim:refuse]]'),
    });
    expect(completion.choices[0]?.message.content).toBe(REFUSAL_TEXT);
    expect(completion.choices[0]?.finish_reason).toBe('stop');
  });

  it('[[sim:long]] runs into the cap', async () => {
    const completion = await client.chat.completions.create({
      model: 'sim-small',
      messages: ask('Go on [[sim:long]]'),
      max_tokens: 300,
    });
    expect(completion.choices[0]?.finish_reason).toBe('length');
    expect(completion.usage?.completion_tokens).toBe(300);
  });

  it('[[sim:tool]] calls the given tool with schema-shaped JSON arguments', async () => {
    const messages = ask('Weather in Paris? [[sim:tool]]');
    const completion = await client.chat.completions.create({
      model: 'sim-small',
      messages,
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            parameters: {
              type: 'object',
              properties: { city: { type: 'string' }, days: { type: 'integer', minimum: 1 } },
              required: ['city'],
            },
          },
        },
      ],
    });
    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe('tool_calls');
    expect(choice?.message.content).toBeNull();
    const call = choice?.message.tool_calls?.[0];
    expect(call?.type).toBe('function');
    if (call?.type !== 'function') throw new Error('expected a function call');
    expect(call.function.name).toBe('get_weather');
    expect(JSON.parse(call.function.arguments)).toEqual({ city: `sim:${fingerprintMessages(messages)}`, days: 1 });
  });

  it('[[sim:tool]] streams the tool call in deltas', async () => {
    const stream = await client.chat.completions.create({
      model: 'sim-small',
      messages: ask('Look it up [[sim:tool]]'),
      tools: [
        {
          type: 'function',
          function: { name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } } },
        },
      ],
      stream: true,
    });
    let name = '';
    let args = '';
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta;
      name += delta?.tool_calls?.[0]?.function?.name ?? '';
      args += delta?.tool_calls?.[0]?.function?.arguments ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(name).toBe('lookup');
    expect(Object.keys(JSON.parse(args) as object)).toEqual(['q']);
    expect(finish).toBe('tool_calls');
  });

  it('[[sim:json]] and response_format json_object give JSON carrying the fingerprint', async () => {
    const directive = ask('Data please [[sim:json]]');
    const viaDirective = await client.chat.completions.create({ model: 'sim-small', messages: directive });
    const parsed = JSON.parse(viaDirective.choices[0]?.message.content ?? '') as {
      fingerprint: string;
      answer: string;
    };
    expect(parsed.fingerprint).toBe(fingerprintMessages(directive));
    expect(parsed.answer.length).toBeGreaterThan(0);

    const format = ask('Data please');
    const viaFormat = await client.chat.completions.create({
      model: 'sim-small',
      messages: format,
      response_format: { type: 'json_object' },
    });
    expect(parseReplyFingerprint(viaFormat.choices[0]?.message.content)).toBe(fingerprintMessages(format));
  });

  it('[[sim:error]] answers 500 server_error', async () => {
    const error = await rejection(
      client.chat.completions.create({ model: 'sim-small', messages: ask('Break [[sim:error]]') }),
    );
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect((error as APIError).status).toBe(500);
    expect((error as APIError).type).toBe('server_error');
  });

  it('[[sim:slow=MS]] adds latency', async () => {
    const started = performance.now();
    await client.chat.completions.create({ model: 'sim-small', messages: ask('Take your time [[sim:slow=250]]') });
    expect(performance.now() - started).toBeGreaterThanOrEqual(240);
  });
});

describe('rate limits', () => {
  it('answers 429 with retry-after and x-ratelimit headers once rpm is used up, and does not count it as accepted', async () => {
    const model = 'sim-small@rpm';
    sim.updateModel(model, { rpm: 2 });
    const first = await client.chat.completions.create({ model, messages: ask('one') }).withResponse();
    expect(first.response.headers.get('x-ratelimit-limit-requests')).toBe('2');
    expect(first.response.headers.get('x-ratelimit-remaining-requests')).toBe('1');
    expect(first.response.headers.get('x-ratelimit-reset-requests')).toMatch(/^(\d+ms|[\d.]+s|\d+m[\d.]+s)$/);
    expect(Number(first.response.headers.get('x-ratelimit-limit-tokens'))).toBeGreaterThan(0);
    expect(Number(first.response.headers.get('x-ratelimit-remaining-tokens'))).toBeLessThan(
      Number(first.response.headers.get('x-ratelimit-limit-tokens')),
    );
    expect(first.response.headers.get('x-ratelimit-reset-tokens')).not.toBeNull();
    await client.chat.completions.create({ model, messages: ask('two') });

    const error = await rejection(client.chat.completions.create({ model, messages: ask('three') }));
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const rateError = error as RateLimitError;
    expect(rateError.status).toBe(429);
    expect(rateError.type).toBe('requests');
    expect(rateError.code).toBe('rate_limit_exceeded');
    expect(rateError.param).toBeNull();
    expect(rateError.message).toContain('Rate limit reached for requests');
    const retryAfter = Number(rateError.headers?.get('retry-after'));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(Number(rateError.headers?.get('retry-after-ms'))).toBeGreaterThan(50_000);
    expect(rateError.headers?.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(rateError.headers?.get('x-ratelimit-limit-requests')).toBe('2');

    const stats = sim.stats().models[model];
    expect(stats).toMatchObject({ requests: 3, accepted: 2, rateLimited: 1, maxAcceptedIn60s: 2 });
    // The base model is a separate deployment with its own window.
    expect(sim.stats().models['sim-small']?.rateLimited).toBe(0);
  });

  it('answers 429 type tokens when tpm would be exceeded', async () => {
    const model = 'sim-small@tpm';
    sim.updateModel(model, { tpm: 100 });
    await client.chat.completions.create({ model, messages: ask('short'), max_tokens: 40 });
    const error = await rejection(
      client.chat.completions.create({ model, messages: ask('short again'), max_tokens: 40 }),
    );
    expect((error as APIError).status).toBe(429);
    expect((error as APIError).type).toBe('tokens');
    expect((error as APIError).message).toContain('Rate limit reached for tokens');
  });

  it('answers 429 beyond maxConcurrency', async () => {
    const model = 'sim-small@conc';
    sim.updateModel(model, { maxConcurrency: 1 });
    const slow = client.chat.completions.create({ model, messages: ask('hold on [[sim:slow=300]]') });
    await waitFor(() => sim.stats().models[model]?.inFlight === 1);
    const error = await rejection(client.chat.completions.create({ model, messages: ask('me too') }));
    expect((error as APIError).status).toBe(429);
    expect(Number((error as APIError).headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await slow;
    expect(sim.stats().models[model]).toMatchObject({ accepted: 1, rateLimited: 1, inFlight: 0, maxInFlight: 1 });
  });
});

describe('faults and run-time changes', () => {
  it('PATCH /sim/models/:id makes a deployment fail with 5xx and later recover', async () => {
    const model = 'sim-large@b';
    const patch = async (body: unknown): Promise<Response> =>
      fetch(`${baseUrl}/sim/models/${encodeURIComponent(model)}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    const broken = await patch({ faults: { errorRate: 1 } });
    expect(broken.status).toBe(200);
    expect(((await broken.json()) as { faults: { errorRate: number } }).faults.errorRate).toBe(1);
    const current = (await (await fetch(`${baseUrl}/sim/models/${encodeURIComponent(model)}`)).json()) as {
      id: string;
      faults: { errorRate: number };
    };
    expect(current).toMatchObject({ id: model, faults: { errorRate: 1 } });

    for (let attempt = 0; attempt < 3; attempt += 1) {
      const error = await rejection(client.chat.completions.create({ model, messages: ask(`fail ${attempt}`) }));
      expect((error as APIError).status).toBe(500);
      expect((error as APIError).type).toBe('server_error');
    }
    // The other deployment of the tier is unaffected.
    const healthy = await client.chat.completions.create({ model: 'sim-large', messages: ask('fine?') });
    expect(healthy.choices[0]?.finish_reason).toBe('stop');

    expect((await patch({ faults: { errorRate: 0 } })).status).toBe(200);
    const recovered = await client.chat.completions.create({ model, messages: ask('recovered?') });
    expect(recovered.choices[0]?.finish_reason).toBe('stop');
    expect(sim.stats().models[model]).toMatchObject({ requests: 4, accepted: 4, errors: 3 });
  });

  it('rejects an invalid patch with a message naming the value', async () => {
    const response = await fetch(`${baseUrl}/sim/models/sim-small`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ faults: { errorRate: 2 } }),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { message: string } };
    expect(body.error.message).toBe('Expected `patch.faults.errorRate` to be a number in [0, 1], got `2`');
  });

  it('timeoutRate holds the request until the client gives up', async () => {
    const model = 'sim-small@hang';
    sim.updateModel(model, { faults: { timeoutRate: 1 } });
    const error = await rejection(client.chat.completions.create({ model, messages: ask('hello?') }, { timeout: 200 }));
    expect(error).toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    // The simulator notices the disconnect and frees the slot.
    await waitFor(() => sim.stats().models[model]?.inFlight === 0);
    expect(sim.stats().models[model]).toMatchObject({ accepted: 1, timeouts: 1, inFlight: 0 });
  });

  it('dropStreamRate cuts a stream after some chunks and a plain request before its body', async () => {
    const model = 'sim-small@drop';
    sim.updateModel(model, { faults: { dropStreamRate: 1 } });
    const stream = await client.chat.completions.create({ model, messages: ask('stream then die'), stream: true });
    let received = 0;
    const streamError = await rejection(
      (async () => {
        for await (const chunk of stream) received += chunk.choices.length;
      })(),
    );
    expect(streamError).toBeInstanceOf(Error);
    expect(received).toBeGreaterThan(1);

    const plainError = await rejection(client.chat.completions.create({ model, messages: ask('plain then die') }));
    expect(plainError).toBeInstanceOf(OpenAI.APIConnectionError);
    expect(sim.stats().models[model]?.dropped).toBe(2);
  });
});

describe('embeddings', () => {
  it('returns unit vectors through the SDK default (base64) path, similar texts closer than unrelated ones', async () => {
    const response = await client.embeddings.create({
      model: 'sim-embed',
      input: ['How do I reset my password?', 'How can I reset my password?', 'Best pizza toppings in Naples'],
    });
    expect(response.object).toBe('list');
    expect(response.model).toBe('sim-embed');
    expect(response.data.map((item) => item.index)).toEqual([0, 1, 2]);
    const [a, b, c] = response.data.map((item) => item.embedding);
    expect(a).toHaveLength(256);
    const norm = Math.sqrt((a ?? []).reduce((sum, value) => sum + value * value, 0));
    expect(norm).toBeCloseTo(1, 5);
    const similar = cosineSimilarity(a ?? [], b ?? []);
    const unrelated = cosineSimilarity(a ?? [], c ?? []);
    expect(similar).toBeGreaterThan(0.6);
    expect(similar).toBeGreaterThan(unrelated + 0.3);
    expect(response.usage.prompt_tokens).toBeGreaterThan(10);
    expect(response.usage.total_tokens).toBe(response.usage.prompt_tokens);
  });

  it('gives the same numbers as floats and honours dimensions', async () => {
    const [viaBase64, viaFloat, short] = await Promise.all([
      client.embeddings.create({ model: 'sim-embed', input: 'queue worker' }),
      client.embeddings.create({ model: 'sim-embed', input: 'queue worker', encoding_format: 'float' }),
      client.embeddings.create({ model: 'sim-embed', input: 'queue worker', dimensions: 64 }),
    ]);
    expect(viaFloat.data[0]?.embedding).toEqual(viaBase64.data[0]?.embedding);
    expect(short.data[0]?.embedding).toHaveLength(64);
    expect(Math.hypot(...(short.data[0]?.embedding ?? []))).toBeCloseTo(1, 5);
  });

  it('counts embedding calls in stats', async () => {
    const before = sim.stats().models['sim-embed']?.accepted ?? 0;
    await client.embeddings.create({ model: 'sim-embed', input: 'count me' });
    expect(sim.stats().models['sim-embed']?.accepted).toBe(before + 1);
  });
});

describe('errors and admin endpoints', () => {
  it('answers 400 in OpenAI format for a bad body', async () => {
    const error = await rejection(client.chat.completions.create({ model: 'sim-small', messages: [] }));
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as APIError).param).toBe('messages');
    expect((error as APIError).type).toBe('invalid_request_error');

    const missing = await fetch(`${baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({
      error: {
        message: "Missing required parameter: 'model'.",
        type: 'invalid_request_error',
        param: 'model',
        code: null,
      },
    });

    const badJson = await fetch(`${baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"model":',
    });
    expect(badJson.status).toBe(400);

    const badType = await rejection(
      client.chat.completions.create({
        model: 'sim-small',
        messages: ask('x'),
        max_tokens: 'many' as unknown as number,
      }),
    );
    expect((badType as APIError).param).toBe('max_tokens');
  });

  it('answers 404 model_not_found for an unknown model', async () => {
    const error = await rejection(client.chat.completions.create({ model: 'gpt-nope', messages: ask('hi') }));
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as APIError).error).toEqual({
      message: 'The model `gpt-nope` does not exist or you do not have access to it.',
      type: 'invalid_request_error',
      param: 'model',
      code: 'model_not_found',
    });
    const unknownBase = await rejection(client.chat.completions.create({ model: 'sim-huge@b', messages: ask('hi') }));
    expect((unknownBase as APIError).status).toBe(404);
  });

  it('lists models in OpenAI list shape', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual(expect.arrayContaining(['sim-router', 'sim-small', 'sim-large', 'sim-embed']));
    const one = await client.models.retrieve('sim-large');
    expect(one).toMatchObject({ id: 'sim-large', object: 'model', owned_by: 'sluice-sim' });
  });

  it('serves and resets stats over HTTP', async () => {
    await client.chat.completions.create({ model: 'sim-router', messages: ask('stats') });
    const stats = (await (await fetch(`${baseUrl}/sim/stats`)).json()) as {
      models: Record<string, { accepted: number }>;
      startedAt: string;
    };
    expect(stats.models['sim-router']?.accepted).toBeGreaterThan(0);
    expect(Number.isNaN(Date.parse(stats.startedAt))).toBe(false);

    const reset = await fetch(`${baseUrl}/sim/stats/reset`, { method: 'POST' });
    expect(reset.status).toBe(200);
    expect(sim.stats().models['sim-router']).toMatchObject({
      requests: 0,
      accepted: 0,
      maxAcceptedIn60s: 0,
      completionTokens: 0,
    });
  });
});

describe('lifecycle and profiles', () => {
  it('close() ends held requests promptly and is idempotent', async () => {
    const local = createSimulator({ profile: 'fast', models: [{ id: 'sim-small', faults: { timeoutRate: 1 } }] });
    const { url } = await local.listen({ port: 0 });
    const localClient = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'sim-test', maxRetries: 0 });
    const pending = rejection(
      localClient.chat.completions.create({ model: 'sim-small', messages: ask('never answered') }),
    );
    await waitFor(() => local.stats().models['sim-small']?.inFlight === 1);

    const started = performance.now();
    await Promise.all([local.close(), local.close()]);
    await local.close();
    expect(performance.now() - started).toBeLessThan(2000);
    expect(await pending).toBeInstanceOf(OpenAI.APIConnectionError);
  });

  it('fixed profile answers in the configured total latency', async () => {
    const fixed = createSimulator({ profile: 'fixed', latencyMs: 150 });
    const { url } = await fixed.listen({ port: 0 });
    try {
      expect(fixed.getModel('sim-large')).toMatchObject({ ttftMs: 150, perTokenMs: 0, jitter: 0 });
      const fixedClient = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'sim-test', maxRetries: 0 });
      const started = performance.now();
      await fixedClient.chat.completions.create({ model: 'sim-large', messages: ask('benchmark') });
      const elapsed = performance.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(145);
      expect(elapsed).toBeLessThan(1000);
    } finally {
      await fixed.close();
    }
  });
});
