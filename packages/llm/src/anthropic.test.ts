import { describe, expect, it } from 'vitest';
import { anthropicToChatUsage, anthropicToCompletion, chatToAnthropic } from './anthropic.ts';

describe('chat → Anthropic upstream translation', () => {
  it('puts system prompts in a cached system block, merges tool results into one user turn, maps tools and limits', () => {
    const params = chatToAnthropic(
      {
        model: 'auto',
        temperature: 1.5,
        max_tokens: 99,
        stop: 'END',
        tools: [{ type: 'function', function: { name: 'w', parameters: { type: 'object' } } }],
        tool_choice: 'required',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Weather in Paris and Rome?' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'a', type: 'function', function: { name: 'w', arguments: '{"city":"Paris"}' } },
              { id: 'b', type: 'function', function: { name: 'w', arguments: '{"city":"Rome"}' } },
            ],
          },
          { role: 'tool', tool_call_id: 'a', content: '21' },
          { role: 'tool', tool_call_id: 'b', content: '25' },
        ],
      },
      'claude-x',
    ) as unknown as Record<string, unknown>;
    expect(params).toMatchObject({
      model: 'claude-x',
      max_tokens: 99,
      temperature: 1,
      stop_sequences: ['END'],
      tool_choice: { type: 'any' },
      tools: [{ name: 'w', input_schema: { type: 'object' } }],
    });
    expect(params.system).toEqual([{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }]);
    expect(params.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Weather in Paris and Rome?' }] },
      {
        role: 'assistant',
        content: [
          { type: 'tool_use', id: 'a', name: 'w', input: { city: 'Paris' } },
          { type: 'tool_use', id: 'b', name: 'w', input: { city: 'Rome' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'a', content: '21' },
          { type: 'tool_result', tool_use_id: 'b', content: '25' },
        ],
      },
    ]);
  });

  it('counts every input token in the prompt and keeps cache reads and writes in the details', () => {
    expect(
      anthropicToChatUsage({
        input_tokens: 5,
        output_tokens: 7,
        cache_read_input_tokens: 100,
        cache_creation_input_tokens: 20,
      }),
    ).toEqual({
      prompt_tokens: 125,
      completion_tokens: 7,
      total_tokens: 132,
      prompt_tokens_details: { cached_tokens: 100, cache_write_tokens: 20 },
    });
    const c = anthropicToCompletion(
      {
        content: [{ type: 'tool_use', id: 't', name: 'w', input: { a: 1 } }],
        stop_reason: 'tool_use',
        usage: { input_tokens: 1, output_tokens: 2 },
      },
      'chatcmpl-J',
      'm',
    );
    expect(c.choices[0]).toMatchObject({
      finish_reason: 'tool_calls',
      message: {
        content: null,
        tool_calls: [{ id: 't', type: 'function', function: { name: 'w', arguments: '{"a":1}' } }],
      },
    });
  });
});
