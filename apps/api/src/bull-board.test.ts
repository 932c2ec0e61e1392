import { describe, expect, it } from 'vitest';
import { redactJobData, redactReturnValue } from './bull-board.ts';

const SECRET = 'my account number is 4411-2299';

describe('Bull Board redaction', () => {
  it('keeps what operators need and replaces every prompt-bearing field by its size', () => {
    const data = {
      id: 'job1',
      tenant: 'acme',
      priority: 5,
      acceptedAt: 1,
      stream: false,
      cacheMode: 'default',
      request: {
        model: 'auto',
        temperature: 0.2,
        max_tokens: 64,
        messages: [
          { role: 'system', content: 'You are terse.' },
          { role: 'user', content: SECRET },
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 't1', function: { name: 'lookup', arguments: SECRET } }],
          },
          { role: 'tool', tool_call_id: 't1', content: [{ type: 'text', text: SECRET }] },
        ],
        tools: [{ type: 'function', function: { name: 'lookup', description: SECRET } }],
        response_format: { type: 'json_schema', json_schema: { name: SECRET } },
        user: 'end-user-42',
        some_future_field: SECRET,
      },
      embedding: [0.1, 0.2, 0.3],
      route: { tier: 'small', category: 'factual', confidence: 0.9, reasons: ['short'], strategy: 'rules' },
      context: { messages: [{ role: 'user', content: SECRET }], mode: 'window', fullTokens: 900, tokens: 300 },
      summary: { conversation: { tenant: 'acme', id: 'c1' }, from: 0, to: 4, previousSummary: SECRET, coverHash: 'h' },
      routingCalls: [
        {
          purpose: 'routing',
          tier: 'router',
          model: 'r',
          deploymentId: 'r',
          promptTokens: 9,
          completionTokens: 1,
          costUsd: 0.000001,
        },
      ],
    };
    const redacted = redactJobData(data) as typeof data;
    expect(JSON.stringify(redacted)).not.toContain('4411');
    expect(JSON.stringify(redacted)).not.toContain('end-user-42');
    expect(redacted).toMatchObject({
      id: 'job1',
      tenant: 'acme',
      priority: 5,
      route: data.route,
      routingCalls: data.routingCalls,
    });
    expect(redacted.request).toMatchObject({
      model: 'auto',
      temperature: 0.2,
      max_tokens: 64,
      some_future_field: '[redacted: 30 chars]',
      tools: '[redacted: 1 items]',
    });
    expect(redacted.request.messages).toEqual([
      { role: 'system', content: '[redacted: 14 chars]' },
      { role: 'user', content: '[redacted: 30 chars]' },
      { role: 'assistant', content: 'null', tool_calls: '[redacted: 1 items]' },
      { role: 'tool', tool_call_id: 't1', content: '[redacted: 1 items]' },
    ]);
    expect(redacted.embedding).toBe('[3 numbers]');
    expect(redacted.context).toMatchObject({
      mode: 'window',
      fullTokens: 900,
      messages: [{ role: 'user', content: '[redacted: 30 chars]' }],
    });
    expect(redacted.summary).toMatchObject({ from: 0, to: 4, previousSummary: '[redacted: 30 chars]' });
    // The stored job is not touched.
    expect(data.request.messages[1]!.content).toBe(SECRET);
  });

  it('redacts the answer of a result and keeps its bookkeeping', () => {
    const value = {
      completion: {
        id: 'chatcmpl-1',
        model: 'sim-small',
        choices: [{ index: 0, message: { role: 'assistant', content: SECRET }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 },
      },
      tier: 'small',
      cache: 'miss',
      costUsd: 0.00001,
    };
    const redacted = redactReturnValue(value) as typeof value;
    expect(JSON.stringify(redacted)).not.toContain('4411');
    expect(redacted).toMatchObject({
      tier: 'small',
      cache: 'miss',
      costUsd: 0.00001,
      completion: {
        usage: value.completion.usage,
        choices: [{ finish_reason: 'stop', message: { role: 'assistant', content: '[redacted: 30 chars]' } }],
      },
    });
    expect(redactReturnValue(undefined)).toBeUndefined();
    expect(redactJobData(null)).toBeNull();
  });
});
