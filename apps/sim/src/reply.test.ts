import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ChatCompletionRequest } from './chat-types.ts';
import { canonicalJson, fingerprintMessages, parseReplyFingerprint } from './fingerprint.ts';
import { DEFAULT_SIM_MODELS } from './models.ts';
import { REFUSAL_TEXT, fillerText, parseDirectives, planChatReply, replyWordCount } from './reply.ts';
import { countTokens } from './tokens.ts';

const small = DEFAULT_SIM_MODELS.find((model) => model.id === 'sim-small')!;

describe('fingerprintMessages', () => {
  it('is sha256 over the canonical role+content JSON, first 16 hex chars', () => {
    const messages = [{ role: 'user', content: 'hello' }];
    const expected = createHash('sha256').update('[{"content":"hello","role":"user"}]').digest('hex').slice(0, 16);
    expect(fingerprintMessages(messages)).toBe(expected);
  });

  it('ignores key order and fields other than role and content', () => {
    const a = fingerprintMessages([{ role: 'user', content: [{ type: 'text', text: 'hi' }] }]);
    const b = fingerprintMessages([
      { content: [{ text: 'hi', type: 'text' }], role: 'user', name: 'bob' } as { role: string; content: unknown },
    ]);
    expect(a).toBe(b);
  });

  it('changes with any role or content change', () => {
    const base = fingerprintMessages([{ role: 'user', content: 'hello' }]);
    expect(fingerprintMessages([{ role: 'system', content: 'hello' }])).not.toBe(base);
    expect(fingerprintMessages([{ role: 'user', content: 'hello ' }])).not.toBe(base);
    expect(
      fingerprintMessages([
        { role: 'system', content: 'x' },
        { role: 'user', content: 'hello' },
      ]),
    ).not.toBe(base);
  });

  it('canonicalJson sorts keys and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: [{ d: undefined, c: null }] })).toBe('{"a":[{"c":null}],"b":1}');
  });

  it('parseReplyFingerprint reads text and JSON replies only', () => {
    expect(parseReplyFingerprint('[sim:0123456789abcdef] Words.')).toBe('0123456789abcdef');
    expect(parseReplyFingerprint('{"fingerprint":"0123456789abcdef","answer":"x"}')).toBe('0123456789abcdef');
    expect(parseReplyFingerprint(REFUSAL_TEXT)).toBeNull();
    expect(parseReplyFingerprint(null)).toBeNull();
  });
});

describe('directives', () => {
  it('parses every directive and caps slow', () => {
    expect(parseDirectives('a [[sim:error]] [[sim:json]] [[sim:slow=250]]')).toEqual({
      error: true,
      refuse: false,
      long: false,
      tool: false,
      json: true,
      slowMs: 250,
    });
    expect(parseDirectives('[[sim:slow=999999999]]').slowMs).toBe(600_000);
    expect(parseDirectives('[[sim:slow=abc]] [sim:error]').slowMs).toBe(0);
  });

  it('reads directives from the last user message only', () => {
    const request: ChatCompletionRequest = {
      model: 'sim-small',
      messages: [
        { role: 'user', content: '[[sim:refuse]]' },
        { role: 'assistant', content: 'ok' },
        { role: 'user', content: 'now answer' },
      ],
    };
    expect(planChatReply(request, small).directives.refuse).toBe(false);
  });
});

describe('planChatReply', () => {
  const request = (content: string, extra: Partial<ChatCompletionRequest> = {}): ChatCompletionRequest => ({
    model: 'sim-small',
    messages: [{ role: 'user', content }],
    ...extra,
  });

  it('writes a tagged, deterministic reply of the fingerprint-derived length', () => {
    const plan = planChatReply(request('What is Redis?'), small);
    if (plan.choice.kind !== 'text') throw new Error('expected text');
    const fingerprint = fingerprintMessages([{ role: 'user', content: 'What is Redis?' }]);
    expect(plan.choice.content).toBe(
      `[sim:${fingerprint}] ${fillerText(fingerprint, replyWordCount(fingerprint, small))}`,
    );
    expect(plan.completionTokens).toBe(countTokens(plan.choice.content));
    expect(plan.finishReason).toBe('stop');
    expect(planChatReply(request('What is Redis?'), small)).toEqual(plan);
  });

  it('spreads reply lengths over the configured word range', () => {
    const lengths = new Set<number>();
    for (let index = 0; index < 200; index += 1) {
      const words = replyWordCount(fingerprintMessages([{ role: 'user', content: `q${index}` }]), small);
      expect(words).toBeGreaterThanOrEqual(20);
      expect(words).toBeLessThanOrEqual(120);
      lengths.add(words);
    }
    expect(lengths.size).toBeGreaterThan(50);
  });

  it('counts prompt tokens with chat framing', () => {
    const plan = planChatReply(request('hello world'), small);
    // 3 priming + 3 framing + "user" (1) + "hello world" (2)
    expect(plan.promptTokens).toBe(9);
  });

  it('truncates to max_tokens and reports length', () => {
    const plan = planChatReply(request('Explain.', { max_tokens: 7 }), small);
    expect(plan).toMatchObject({ completionTokens: 7, finishReason: 'length', maxTokens: 7, explicitMaxTokens: true });
  });

  it('uses the model default cap for [[sim:long]] when max_tokens is absent', () => {
    const plan = planChatReply(request('[[sim:long]]'), { ...small, defaultMaxTokens: 200 });
    expect(plan).toMatchObject({ completionTokens: 200, finishReason: 'length', explicitMaxTokens: false });
  });

  it('follows a json_schema response format', () => {
    const plan = planChatReply(
      request('Give me a person', {
        response_format: {
          type: 'json_schema',
          json_schema: {
            name: 'person',
            schema: {
              type: 'object',
              properties: {
                name: { type: 'string' },
                age: { type: 'integer', minimum: 18 },
                tags: { type: 'array', items: { type: 'string' } },
              },
            },
          },
        },
      }),
      small,
    );
    if (plan.choice.kind !== 'text') throw new Error('expected text');
    const fingerprint = fingerprintMessages([{ role: 'user', content: 'Give me a person' }]);
    expect(JSON.parse(plan.choice.content)).toEqual({
      name: `sim:${fingerprint}`,
      age: 18,
      tags: [`sim:${fingerprint}`],
    });
  });

  it('calls a tool when tool_choice requires it, even without the directive', () => {
    const plan = planChatReply(
      request('no directive', {
        tools: [
          { type: 'function', function: { name: 'a' } },
          {
            type: 'function',
            function: { name: 'b', parameters: { type: 'object', properties: { ok: { type: 'boolean' } } } },
          },
        ],
        tool_choice: { type: 'function', function: { name: 'b' } },
      }),
      small,
    );
    expect(plan.finishReason).toBe('tool_calls');
    if (plan.choice.kind !== 'tool_call') throw new Error('expected a tool call');
    expect(plan.choice.toolCall.function.name).toBe('b');
    expect(typeof (JSON.parse(plan.choice.toolCall.function.arguments) as { ok: unknown }).ok).toBe('boolean');
  });

  it('ignores [[sim:tool]] without tools', () => {
    expect(planChatReply(request('[[sim:tool]]'), small).choice.kind).toBe('text');
  });

  it('does not throw on special-token text in the prompt', () => {
    expect(planChatReply(request('<|endoftext|> <|im_start|>'), small).promptTokens).toBeGreaterThan(7);
  });
});
