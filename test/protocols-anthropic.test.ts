import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintMessages } from '@sluice/sim';
import { startStack, type TestStack } from './harness.ts';

describe('Anthropic Messages API inbound, through the official @anthropic-ai/sdk', () => {
  let stack: TestStack;
  let client: Anthropic;
  beforeAll(async () => {
    stack = await startStack();
    client = new Anthropic({ baseURL: stack.apiUrl, apiKey: await stack.key('acme'), maxRetries: 0 });
  });
  afterAll(() => stack.stop());

  it('answers messages.create with the system prompt and content blocks, routed like a chat job', async () => {
    const { data, response } = await client.messages
      .create({
        model: 'auto',
        max_tokens: 200,
        system: 'Answer briefly.',
        messages: [{ role: 'user', content: [{ type: 'text', text: 'What is the capital of France?' }] }],
      })
      .withResponse();
    const jobId = response.headers.get('x-sluice-job-id')!;
    expect(data).toMatchObject({
      id: `msg_${jobId}`,
      type: 'message',
      role: 'assistant',
      model: 'sim-small',
      stop_reason: 'end_turn',
    });
    const text = data.content[0]!.type === 'text' ? data.content[0]!.text : '';
    // The upstream got the system prompt as a system message and the block as the user turn.
    expect(
      text.startsWith(
        `[sim:${fingerprintMessages([
          { role: 'system', content: 'Answer briefly.' },
          { role: 'user', content: 'What is the capital of France?' },
        ])}]`,
      ),
    ).toBe(true);
    expect(data.usage.input_tokens).toBeGreaterThan(0);
    expect(data.usage.output_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-sluice-tier')).toBe('small');
  });

  it('answers an identical request from the exact cache', async () => {
    const body = {
      model: 'auto',
      max_tokens: 1024,
      messages: [{ role: 'user' as const, content: 'How do I reverse a list in Python?' }],
    };
    const first = await client.messages.create(body).withResponse();
    expect(first.response.headers.get('x-sluice-cache')).toBe('miss');
    const second = await client.messages.create(body).withResponse();
    expect(second.response.headers.get('x-sluice-cache')).toBe('hit');
    expect(second.data.content).toEqual(first.data.content);
  });

  it('sends ping after message_start on the wire', async () => {
    const res = await fetch(`${stack.apiUrl}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': client.apiKey!, 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({
        model: 'auto',
        max_tokens: 50,
        stream: true,
        messages: [{ role: 'user', content: 'Say hi.' }],
      }),
    });
    const events = [...(await res.text()).matchAll(/^event: (\S+)$/gm)].map((m) => m[1]);
    expect(events.slice(0, 3)).toEqual(['message_start', 'ping', 'content_block_start']);
    expect(events.at(-1)).toBe('message_stop');
  });

  it('streams with Anthropic event types and the SDK assembles the message', async () => {
    const stream = client.messages.stream({
      model: 'auto',
      max_tokens: 200,
      messages: [{ role: 'user', content: 'Write a haiku about queues.' }],
    });
    const types: string[] = [];
    let text = '';
    stream.on('streamEvent', (e) => types.push(e.type));
    stream.on('text', (t) => (text += t));
    const final = await stream.finalMessage();
    expect(types[0]).toBe('message_start');
    expect(types).toContain('content_block_start');
    expect(types.filter((t) => t === 'content_block_delta').length).toBeGreaterThan(1);
    expect(types.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(final.content[0]).toEqual({ type: 'text', text, citations: undefined });
    expect(text).toContain('[sim:');
    expect(final.stop_reason).toBe('end_turn');
    expect(final.usage.output_tokens).toBeGreaterThan(0);
  });

  it('calls a tool and takes the tool_result back, plain and streamed', async () => {
    const tools: Anthropic.Tool[] = [
      {
        name: 'get_weather',
        description: 'Weather of a city',
        input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      },
    ];
    const first = await client.messages.create({
      model: 'auto',
      max_tokens: 200,
      tools,
      tool_choice: { type: 'any' },
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
    });
    expect(first.stop_reason).toBe('tool_use');
    const use = first.content.find((b) => b.type === 'tool_use');
    if (use?.type !== 'tool_use') throw new Error('no tool_use block');
    expect(use.name).toBe('get_weather');
    expect(typeof (use.input as { city: unknown }).city).toBe('string');
    const second = await client.messages.create({
      model: 'auto',
      max_tokens: 200,
      tools,
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '21 °C and sunny' }] },
      ],
    });
    expect(second.stop_reason).toBe('end_turn');
    const streamed = await client.messages
      .stream({
        model: 'auto',
        max_tokens: 200,
        tools,
        tool_choice: { type: 'tool', name: 'get_weather' },
        messages: [{ role: 'user', content: 'Weather in Rome?' }],
      })
      .finalMessage();
    const streamedUse = streamed.content.find((b) => b.type === 'tool_use');
    expect(streamedUse).toMatchObject({ type: 'tool_use', name: 'get_weather' });
    expect(typeof (streamedUse as { input: { city: unknown } }).input.city).toBe('string');
  });

  it('answers errors in Anthropic shape: bad key, bad body', async () => {
    const bad = new Anthropic({ baseURL: stack.apiUrl, apiKey: 'sk-wrong', maxRetries: 0 });
    await expect(
      bad.messages.create({ model: 'auto', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
    ).rejects.toMatchObject({ status: 401, error: { type: 'error', error: { type: 'authentication_error' } } });
    const res = await fetch(`${stack.apiUrl}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': client.apiKey!, 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      type: 'error',
      error: { type: 'invalid_request_error', message: 'Missing required parameter: `max_tokens`.' },
    });
  });
});
