import { describe, expect, it } from 'vitest';
import {
  anthropicError,
  AnthropicStreamTranslator,
  completionToMessage,
  messagesToChat as translate,
} from './anthropic.ts';

// Bodies as clients send them (the schema's static type does not list every block field).
const messagesToChat = translate as (body: Record<string, unknown>) => ReturnType<typeof translate>;

describe('Anthropic Messages (inbound) ⇄ chat translation', () => {
  it('maps system, blocks, tool use, tool results (before the text of their turn) and tool_choice', () => {
    const chat = messagesToChat({
      model: 'auto',
      max_tokens: 50,
      system: [{ type: 'text', text: 'Be brief.' }],
      stop_sequences: ['END'],
      tools: [{ name: 'w', description: 'weather', input_schema: { type: 'object' } }],
      tool_choice: { type: 'any' },
      messages: [
        { role: 'user', content: 'Weather?' },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Looking.' },
            { type: 'tool_use', id: 't1', name: 'w', input: { city: 'Paris' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: '21' }] },
            { type: 'text', text: 'Thanks' },
          ],
        },
      ],
    });
    expect(chat.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Weather?' },
      {
        role: 'assistant',
        content: 'Looking.',
        tool_calls: [{ id: 't1', type: 'function', function: { name: 'w', arguments: '{"city":"Paris"}' } }],
      },
      { role: 'tool', tool_call_id: 't1', content: '21' },
      { role: 'user', content: 'Thanks' },
    ]);
    expect(chat).toMatchObject({
      max_tokens: 50,
      stop: ['END'],
      tool_choice: 'required',
      tools: [{ type: 'function', function: { name: 'w', description: 'weather', parameters: { type: 'object' } } }],
    });
    expect(() =>
      messagesToChat({ model: 'auto', max_tokens: 5, messages: [{ role: 'user', content: [{ type: 'document' }] }] }),
    ).toThrow(expect.objectContaining({ status: 400, param: 'messages[0].content[0].type' }));
  });

  it('answers a message with text and tool_use blocks, stop reason and usage', () => {
    const m = completionToMessage(
      'J',
      {
        choices: [
          {
            message: { content: 'Hi', tool_calls: [{ id: 't', function: { name: 'w', arguments: '{"a":1}' } }] },
            finish_reason: 'tool_calls',
          },
        ],
        usage: { prompt_tokens: 12, completion_tokens: 3, prompt_tokens_details: { cached_tokens: 10 } },
      },
      'm',
    );
    expect(m).toEqual({
      id: 'msg_J',
      type: 'message',
      role: 'assistant',
      model: 'm',
      content: [
        { type: 'text', text: 'Hi' },
        { type: 'tool_use', id: 't', name: 'w', input: { a: 1 } },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 2, output_tokens: 3, cache_creation_input_tokens: 0, cache_read_input_tokens: 10 },
    });
    expect(anthropicError(429, 'slow down')).toEqual({
      type: 'error',
      error: { type: 'rate_limit_error', message: 'slow down' },
    });
  });

  it('streams Anthropic events: blocks open and close in order', () => {
    const t = new AnthropicStreamTranslator('J', 'm');
    const chunk = (delta: Record<string, unknown>) => ({ choices: [{ index: 0, delta }] });
    const events = [
      ...t.start(),
      ...t.chunk(chunk({ content: 'Hi' })),
      ...t.chunk(chunk({ tool_calls: [{ index: 0, id: 't', function: { name: 'w', arguments: '{}' } }] })),
      ...t.finish({ choices: [{ finish_reason: 'tool_calls' }], usage: { prompt_tokens: 4, completion_tokens: 2 } }),
    ];
    expect(events.map((e) => e.type)).toEqual([
      'message_start',
      'ping',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(events[5]).toMatchObject({ index: 1, content_block: { type: 'tool_use', id: 't', name: 'w', input: {} } });
    expect(events[8]).toMatchObject({
      delta: { stop_reason: 'tool_use' },
      usage: { input_tokens: 4, output_tokens: 2 },
    });
  });
});
