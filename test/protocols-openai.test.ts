import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintMessages } from '@sluice/sim';
import { startStack, until, type TestStack } from './harness.ts';

describe('OpenAI protocols beyond chat completions, through the official openai client', () => {
  let stack: TestStack;
  let client: OpenAI;
  beforeAll(async () => {
    stack = await startStack();
    client = new OpenAI({ baseURL: `${stack.apiUrl}/v1`, apiKey: await stack.key('acme'), maxRetries: 0 });
  });
  afterAll(() => stack.stop());

  it('lists auto, the tiers and every configured model, and retrieves one', async () => {
    const ids: string[] = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toEqual(['auto', 'router', 'small', 'large', 'sim-router', 'sim-small', 'sim-large', 'sim-embed']);
    const model = await client.models.retrieve('sim-large');
    expect(model).toMatchObject({ id: 'sim-large', object: 'model' });
    await expect(client.models.retrieve('gpt-nope')).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
  });

  it('answers responses.create with instructions and text input, and stores it for GET', async () => {
    const { data, response } = await client.responses
      .create({ model: 'auto', instructions: 'Answer briefly.', input: 'What is the capital of France?' })
      .withResponse();
    const jobId = response.headers.get('x-sluice-job-id')!;
    expect(data.id).toBe(`resp_${jobId}`);
    expect(data.object).toBe('response');
    expect(data.status).toBe('completed');
    expect(data.output[0]).toMatchObject({ type: 'message', role: 'assistant' });
    expect(data.output_text).toContain('[sim:');
    expect(data.usage!.input_tokens).toBeGreaterThan(0);
    expect(data.usage!.output_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-sluice-tier')).toBe('small');
    const again = await client.responses.retrieve(data.id);
    expect(again.output_text).toBe(data.output_text);
  });

  it('streams responses.create with the typed events, in order', async () => {
    const stream = await client.responses.create({
      model: 'auto',
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'Write a haiku about queues.' }] }],
      stream: true,
    });
    const types: string[] = [];
    let text = '';
    let completed: OpenAI.Responses.Response | undefined;
    const sequence: number[] = [];
    for await (const event of stream) {
      types.push(event.type);
      sequence.push(event.sequence_number);
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.completed') completed = event.response;
    }
    expect(types.slice(0, 4)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
    ]);
    expect(types.slice(-4)).toEqual([
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(types.filter((t) => t === 'response.output_text.delta').length).toBeGreaterThan(1);
    expect(sequence).toEqual(sequence.map((_, i) => i));
    expect(completed!.output_text).toBe(text);
    expect(text).toContain('[sim:');
  });

  it('carries previous_response_id across three turns in Sluice conversation memory', async () => {
    const turns = ['The parcel is blue.', 'What colour is the parcel?', 'Say it once more.'];
    const first = await client.responses.create({ model: 'auto', instructions: 'Be brief.', input: turns[0]! });
    const second = await client.responses.create({
      model: 'auto',
      instructions: 'Be brief.',
      input: turns[1]!,
      previous_response_id: first.id,
    });
    const third = await client.responses.create({
      model: 'auto',
      instructions: 'Be brief.',
      input: turns[2]!,
      previous_response_id: second.id,
    });
    expect(third.previous_response_id).toBe(second.id);
    // The simulator tags each reply with a fingerprint of the messages it was sent: the third
    // upstream call held the instructions and the whole history, though the client sent one turn.
    const history = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: turns[0] },
      { role: 'assistant', content: first.output_text },
      { role: 'user', content: turns[1] },
      { role: 'assistant', content: second.output_text },
      { role: 'user', content: turns[2] },
    ];
    expect(third.output_text.startsWith(`[sim:${fingerprintMessages(history)}]`)).toBe(true);
    expect(second.output_text.startsWith(`[sim:${fingerprintMessages(history.slice(0, 4))}]`)).toBe(true);
  });

  it('branches: two responses continuing the same one do not see each other', async () => {
    const root = await client.responses.create({ model: 'auto', input: 'Root turn.' });
    const a = await client.responses.create({ model: 'auto', input: 'Branch A.', previous_response_id: root.id });
    const b = await client.responses.create({ model: 'auto', input: 'Branch B.', previous_response_id: root.id });
    const base = [
      { role: 'user', content: 'Root turn.' },
      { role: 'assistant', content: root.output_text },
    ];
    expect(
      a.output_text.startsWith(`[sim:${fingerprintMessages([...base, { role: 'user', content: 'Branch A.' }])}]`),
    ).toBe(true);
    expect(
      b.output_text.startsWith(`[sim:${fingerprintMessages([...base, { role: 'user', content: 'Branch B.' }])}]`),
    ).toBe(true);
  });

  it('returns function calls as output items and takes function_call_output back', async () => {
    const tools: OpenAI.Responses.Tool[] = [
      {
        type: 'function',
        name: 'get_weather',
        description: 'Weather of a city',
        strict: true,
        parameters: {
          type: 'object',
          properties: { city: { type: 'string' } },
          required: ['city'],
          additionalProperties: false,
        },
      },
    ];
    const first = await client.responses.create({
      model: 'auto',
      input: 'Weather in Paris?',
      tools,
      tool_choice: 'required',
    });
    const call = first.output.find((o) => o.type === 'function_call');
    expect(call).toMatchObject({ type: 'function_call', name: 'get_weather', status: 'completed' });
    if (call?.type !== 'function_call') throw new Error('no function call');
    expect(JSON.parse(call.arguments)).toHaveProperty('city');
    const second = await client.responses.create({
      model: 'auto',
      previous_response_id: first.id,
      tools,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: '{"temp":21}' }],
    });
    expect(second.status).toBe('completed');
    expect(second.output_text).toContain('[sim:');
  });

  it('honours text.format json_schema', async () => {
    const r = await client.responses.create({
      model: 'auto',
      input: 'Give me a city.',
      text: {
        format: {
          type: 'json_schema',
          name: 'city',
          strict: true,
          schema: {
            type: 'object',
            properties: { name: { type: 'string' }, population: { type: 'integer' } },
            required: ['name', 'population'],
            additionalProperties: false,
          },
        },
      },
    });
    const parsed = JSON.parse(r.output_text) as { name: unknown; population: unknown };
    expect(typeof parsed.name).toBe('string');
    expect(Number.isInteger(parsed.population)).toBe(true);
  });

  it('answers bad Responses input with a 400 naming the field', async () => {
    await expect(
      client.responses.create({ model: 'auto', input: [{ type: 'item_reference', id: 'x' } as never] }),
    ).rejects.toMatchObject({ status: 400, param: 'input[0].type' });
    await expect(
      client.responses.create({ model: 'auto', input: 'x', tools: [{ type: 'web_search' } as never] }),
    ).rejects.toMatchObject({ status: 400, param: 'tools[0].type' });
  });

  it('rejects a previous_response_id of another tenant as not found', async () => {
    const mine = await client.responses.create({ model: 'auto', input: 'hello there' });
    const other = new OpenAI({ baseURL: `${stack.apiUrl}/v1`, apiKey: await stack.key('globex'), maxRetries: 0 });
    await expect(
      other.responses.create({ model: 'auto', input: 'hi', previous_response_id: mine.id }),
    ).rejects.toMatchObject({ status: 404, code: 'response_not_found', param: 'previous_response_id' });
    await expect(other.responses.retrieve(mine.id)).rejects.toMatchObject({ status: 404 });
  });

  it('does not store a response created with store: false', async () => {
    const r = await client.responses.create({ model: 'auto', input: 'ephemeral question', store: false });
    expect((r as unknown as { store: boolean }).store).toBe(false);
    await expect(client.responses.retrieve(r.id)).rejects.toMatchObject({ status: 404 });
  });
});

describe('POST /v1/embeddings through the official openai client', () => {
  let stack: TestStack;
  let client: OpenAI;
  beforeAll(async () => {
    stack = await startStack();
    client = new OpenAI({ baseURL: `${stack.apiUrl}/v1`, apiKey: await stack.key('acme'), maxRetries: 0 });
  });
  afterAll(() => stack.stop());

  it('embeds a string and an array, float and base64, with dimensions, and answers repeats from the exact cache', async () => {
    const first = await client.embeddings
      .create({ model: 'sim-embed', input: ['alpha beta', 'gamma delta'], encoding_format: 'float' })
      .withResponse();
    expect(first.data.data).toHaveLength(2);
    expect(first.data.data[0]!.embedding).toHaveLength(stack.config.embeddings.dimensions);
    expect(first.data.usage.prompt_tokens).toBeGreaterThan(0);
    expect(first.response.headers.get('x-sluice-cache')).toBe('miss');
    expect(Number(first.response.headers.get('x-sluice-cost-usd'))).toBeGreaterThan(0);
    // The SDK's default asks for base64 and decodes it: the same vectors come back.
    const again = await client.embeddings.create({ model: 'sim-embed', input: 'gamma delta' }).withResponse();
    expect(again.response.headers.get('x-sluice-cache')).toBe('hit');
    expect(again.data.usage.prompt_tokens).toBe(0);
    expect(again.data.data[0]!.embedding).toEqual(first.data.data[1]!.embedding);
    // What the simulator itself answers for the same input, to float32 precision.
    const direct = await new OpenAI({ baseURL: stack.simUrl, apiKey: 'x' }).embeddings.create({
      model: 'sim-embed',
      input: 'alpha beta',
      encoding_format: 'float',
    });
    first.data.data[0]!.embedding.forEach((v, i) => expect(v).toBeCloseTo(direct.data[0]!.embedding[i]!, 6));
    const short = await client.embeddings.create({
      model: 'sim-embed',
      input: 'alpha beta',
      dimensions: 64,
      encoding_format: 'float',
    });
    expect(short.data[0]!.embedding).toHaveLength(64);
    const raw = await fetch(`${stack.apiUrl}/v1/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${client.apiKey}` },
      body: JSON.stringify({ model: 'auto', input: 'alpha beta', encoding_format: 'base64' }),
    });
    const b64 = ((await raw.json()) as { data: Array<{ embedding: string }> }).data[0]!.embedding;
    expect(typeof b64).toBe('string');
    expect(Buffer.from(b64, 'base64').length).toBe(4 * stack.config.embeddings.dimensions);
  });

  it('records the cost in the tenant ledger and keeps tenants apart in the cache', async () => {
    const other = new OpenAI({ baseURL: `${stack.apiUrl}/v1`, apiKey: await stack.key('globex'), maxRetries: 0 });
    await client.embeddings.create({ model: 'sim-embed', input: 'tenant scoped text' });
    const theirs = await other.embeddings.create({ model: 'sim-embed', input: 'tenant scoped text' }).withResponse();
    expect(theirs.response.headers.get('x-sluice-cache')).toBe('miss');
    const usage = async () =>
      (await (
        await fetch(`${stack.apiUrl}/v1/usage`, { headers: { authorization: `Bearer ${other.apiKey}` } })
      ).json()) as { embeddings: { requests: number; cost_usd: number; prompt_tokens: number } };
    const u = await until(async () => ((await usage()).embeddings.requests === 1 ? usage() : undefined));
    expect(u.embeddings.prompt_tokens).toBe(theirs.data.usage.prompt_tokens);
    expect(u.embeddings.cost_usd).toBeCloseTo((theirs.data.usage.prompt_tokens * 0.02) / 1e6, 12);
  });

  it('answers an unknown model 404 and bad input 400', async () => {
    await expect(client.embeddings.create({ model: 'nope', input: 'x' })).rejects.toMatchObject({
      status: 404,
      code: 'model_not_found',
    });
    await expect(client.embeddings.create({ model: 'sim-embed', input: [''] })).rejects.toMatchObject({
      status: 400,
      param: 'input[0]',
    });
  });
});
