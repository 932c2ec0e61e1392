import { describe, expect, it } from 'vitest';
import {
  completionToResponse,
  outputToMessage,
  responsesToChat as translate,
  ResponsesStreamTranslator,
} from './responses.ts';

// Bodies as clients send them (the schema's static type does not list every item field).
const responsesToChat = translate as (body: Record<string, unknown>) => ReturnType<typeof translate>;

const completion = (message: Record<string, unknown>, finish = 'stop') => ({
  choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: finish }],
  usage: { prompt_tokens: 10, completion_tokens: 5 },
});

describe('Responses API ⇄ chat translation', () => {
  it('maps instructions, items, function calls and outputs, tools, tool_choice and text.format', () => {
    const chat = responsesToChat({
      model: 'auto',
      instructions: 'Be brief.',
      input: [
        { role: 'user', content: [{ type: 'input_text', text: 'Weather?' }] },
        { type: 'function_call', call_id: 'c1', name: 'w', arguments: '{"city":"Paris"}' },
        { type: 'function_call', call_id: 'c2', name: 'w', arguments: '{"city":"Rome"}' },
        { type: 'function_call_output', call_id: 'c1', output: '21' },
        { type: 'function_call_output', call_id: 'c2', output: { temp: 25 } },
      ],
      tools: [{ type: 'function', name: 'w', parameters: { type: 'object' }, strict: true }],
      tool_choice: { type: 'function', name: 'w' },
      text: { format: { type: 'json_schema', name: 'x', schema: { type: 'object' }, strict: true } },
      max_output_tokens: 100,
    });
    expect(chat.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Weather?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'c1', type: 'function', function: { name: 'w', arguments: '{"city":"Paris"}' } },
          { id: 'c2', type: 'function', function: { name: 'w', arguments: '{"city":"Rome"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'c1', content: '21' },
      { role: 'tool', tool_call_id: 'c2', content: '{"temp":25}' },
    ]);
    expect(chat.tools).toEqual([
      { type: 'function', function: { name: 'w', parameters: { type: 'object' }, strict: true } },
    ]);
    expect(chat.tool_choice).toEqual({ type: 'function', function: { name: 'w' } });
    expect(chat.response_format).toEqual({
      type: 'json_schema',
      json_schema: { name: 'x', schema: { type: 'object' }, strict: true },
    });
    expect(chat.max_completion_tokens).toBe(100);
  });

  it('names the bad field', () => {
    expect(() => responsesToChat({ model: 'auto', input: [{ role: 'robot', content: 'x' }] })).toThrow(
      expect.objectContaining({ status: 400, param: 'input[0].role' }),
    );
    expect(() =>
      responsesToChat({ model: 'auto', input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'f' }] }] }),
    ).toThrow(expect.objectContaining({ param: 'input[0].content[0].type' }));
    expect(() => responsesToChat({ model: 'auto', instructions: 'only this' })).toThrow(
      expect.objectContaining({ param: 'input' }),
    );
  });

  it('builds the response object and the assistant turn it adds', () => {
    const echo = { jobId: 'J', createdAt: 1, model: 'sim-small', body: { model: 'auto' }, store: true };
    const r = completionToResponse(
      echo,
      completion({ content: 'Hi', tool_calls: [{ id: 'c9', function: { name: 'w', arguments: '{}' } }] }, 'tool_calls'),
    );
    expect(r).toMatchObject({
      id: 'resp_J',
      status: 'completed',
      output_text: 'Hi',
      usage: { input_tokens: 10, output_tokens: 5, total_tokens: 15 },
    });
    expect(r.output.map((o: { type: string; id: string }) => [o.type, o.id])).toEqual([
      ['message', 'msg_J'],
      ['function_call', 'fc_J_0'],
    ]);
    expect(outputToMessage(r.output)).toEqual({
      role: 'assistant',
      content: 'Hi',
      tool_calls: [{ id: 'c9', type: 'function', function: { name: 'w', arguments: '{}' } }],
    });
    expect(completionToResponse(echo, completion({ content: 'cut' }, 'length'))).toMatchObject({
      status: 'incomplete',
      incomplete_details: { reason: 'max_output_tokens' },
    });
  });

  it('streams text then a function call as typed events with increasing sequence numbers', () => {
    const t = new ResponsesStreamTranslator({
      jobId: 'J',
      createdAt: 1,
      model: 'm',
      body: { model: 'auto' },
      store: true,
    });
    const chunk = (delta: Record<string, unknown>) => ({ choices: [{ index: 0, delta }] });
    const events = [
      ...t.start(),
      ...t.chunk(chunk({ role: 'assistant', content: '' })),
      ...t.chunk(chunk({ content: 'Hel' })),
      ...t.chunk(chunk({ content: 'lo' })),
      ...t.chunk(chunk({ tool_calls: [{ index: 0, id: 'c1', function: { name: 'w', arguments: '{"a"' } }] })),
      ...t.chunk(chunk({ tool_calls: [{ index: 0, function: { arguments: ':1}' } }] })),
      ...t.finish(
        completion(
          { content: 'Hello', tool_calls: [{ id: 'c1', function: { name: 'w', arguments: '{"a":1}' } }] },
          'tool_calls',
        ),
      ),
    ];
    expect(events.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    expect(events.find((e) => e.type === 'response.function_call_arguments.done')).toMatchObject({
      arguments: '{"a":1}',
      name: 'w',
      output_index: 1,
    });
    const done = events.at(-1) as unknown as { response: { output: Array<{ id: string }> } };
    expect(done.response.output.map((o) => o.id)).toEqual(['msg_J', 'fc_J_0']);
  });
});
