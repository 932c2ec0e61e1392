import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mapAnthropicHeaders } from '@sluice/llm';
import { fingerprintMessages } from '@sluice/sim';
import { startStack, type TestStack } from './harness.ts';

describe('a tier served by an Anthropic Messages API deployment (the simulator speaks it)', () => {
  let stack: TestStack;
  let openai: OpenAI;
  beforeAll(async () => {
    stack = await startStack({
      overrides: {
        deployments: [
          { id: 'sim-router', tier: 'router', model: 'sim-router' },
          { id: 'claude-small', tier: 'small', model: 'sim-small', api: 'anthropic' },
          { id: 'sim-large', tier: 'large', model: 'sim-large' },
        ],
      },
    });
    openai = new OpenAI({ baseURL: `${stack.apiUrl}/v1`, apiKey: await stack.key('acme'), maxRetries: 0 });
  });
  afterAll(() => stack.stop());

  it('answers an OpenAI-shaped request through Claude-style upstream, plain and streamed', async () => {
    const messages = [
      { role: 'system' as const, content: 'You are terse.' },
      { role: 'user' as const, content: 'What is the capital of France?' },
    ];
    const before = stack.sim.stats().models['sim-small']?.accepted ?? 0;
    const { data, response } = await openai.chat.completions.create({ model: 'auto', messages }).withResponse();
    expect(response.headers.get('x-sluice-tier')).toBe('small');
    expect((stack.sim.stats().models['sim-small']?.accepted ?? 0) - before).toBe(1);
    // The simulator rebuilt the chat messages from the Messages request it got: same fingerprint.
    expect(data.choices[0]!.message.content!.startsWith(`[sim:${fingerprintMessages(messages)}]`)).toBe(true);
    expect(data.choices[0]!.finish_reason).toBe('stop');
    expect(data.usage!.prompt_tokens).toBeGreaterThan(0);
    expect(Number(response.headers.get('x-sluice-cost-usd'))).toBeGreaterThan(0);
    const stream = await openai.chat.completions.create({
      model: 'auto',
      messages: [{ role: 'user', content: 'Write a haiku about queues.' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      usage = chunk.usage ?? usage;
    }
    expect(
      text.startsWith(`[sim:${fingerprintMessages([{ role: 'user', content: 'Write a haiku about queues.' }])}]`),
    ).toBe(true);
    expect(usage!.completion_tokens).toBeGreaterThan(0);
  });

  it('maps tool calls both ways', async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        },
      },
    ];
    const r = await openai.chat.completions.create({
      model: 'small',
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools,
      tool_choice: 'required',
    });
    const call = r.choices[0]!.message.tool_calls![0]!;
    expect(r.choices[0]!.finish_reason).toBe('tool_calls');
    expect(call.type === 'function' && call.function.name).toBe('get_weather');
    const follow = await openai.chat.completions.create({
      model: 'small',
      tools,
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        r.choices[0]!.message,
        { role: 'tool', tool_call_id: call.id, content: '21 °C' },
      ],
    });
    expect(follow.choices[0]!.finish_reason).toBe('stop');
  });

  it("reports Anthropic's prompt-cache reads as cached tokens, to OpenAI and Anthropic clients", async () => {
    const messages = [
      { role: 'system' as const, content: 'A long and stable system prompt for the cache.' },
      { role: 'user' as const, content: 'Tell me about prompt caching.' },
    ];
    // no-cache: Sluice's own cache must not answer, so the upstream is asked twice.
    const first = await openai.chat.completions.create(
      { model: 'small', messages },
      { headers: { 'cache-control': 'no-cache' } },
    );
    expect(first.usage!.prompt_tokens_details?.cached_tokens).toBe(0);
    const second = await openai.chat.completions.create(
      { model: 'small', messages },
      { headers: { 'cache-control': 'no-cache' } },
    );
    expect(second.usage!.prompt_tokens_details?.cached_tokens).toBeGreaterThan(0);
    expect(second.usage!.prompt_tokens).toBe(first.usage!.prompt_tokens);
    const anthropic = new Anthropic({ baseURL: stack.apiUrl, apiKey: openai.apiKey, maxRetries: 0 });
    const third = await anthropic.messages.create(
      {
        model: 'small',
        max_tokens: 4096,
        system: messages[0]!.content,
        messages: [{ role: 'user', content: messages[1]!.content }],
      },
      { headers: { 'cache-control': 'no-cache' } },
    );
    expect(third.usage.cache_read_input_tokens).toBe(second.usage!.prompt_tokens_details!.cached_tokens);
    expect(third.usage.input_tokens + third.usage.cache_read_input_tokens!).toBe(second.usage!.prompt_tokens);
  });

  it("maps Anthropic's rate-limit headers onto the x-ratelimit-* ones the limiter learns from", () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const h = mapAnthropicHeaders(
      {
        'anthropic-ratelimit-requests-limit': '50',
        'anthropic-ratelimit-requests-remaining': '49',
        'anthropic-ratelimit-requests-reset': '2026-01-01T00:00:01.500Z',
        'anthropic-ratelimit-tokens-limit': '80000',
        'anthropic-ratelimit-tokens-remaining': '79000',
        'anthropic-ratelimit-tokens-reset': '2026-01-01T00:01:00Z',
        'retry-after': '2',
      },
      now,
    );
    expect(h).toMatchObject({
      'x-ratelimit-limit-requests': '50',
      'x-ratelimit-remaining-requests': '49',
      'x-ratelimit-reset-requests': '1.500s',
      'x-ratelimit-limit-tokens': '80000',
      'x-ratelimit-remaining-tokens': '79000',
      'x-ratelimit-reset-tokens': '60.000s',
      'retry-after': '2',
    });
  });
});
