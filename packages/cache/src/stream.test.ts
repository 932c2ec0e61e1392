import { describe, expect, it } from 'vitest';
import { completionToChunks } from './stream.ts';
import { completion } from './test-helpers.ts';

describe('completionToChunks', () => {
  const text = 'Paris is the capital of France,  and its largest city.\n';

  it('replays content in order, role first, finish_reason last', () => {
    const chunks = completionToChunks(completion(text), { id: 'chatcmpl-new', created: 42 });
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: 'assistant', content: '' });
    const content = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(content).toBe(text);
    expect(chunks.length).toBeGreaterThan(3);
    const last = chunks.at(-1)!;
    expect(last.choices[0]!.finish_reason).toBe('stop');
    expect(last.choices[0]!.delta).toEqual({});
    for (const chunk of chunks) {
      expect(chunk).toMatchObject({
        id: 'chatcmpl-new',
        object: 'chat.completion.chunk',
        created: 42,
        model: 'gpt-4o-mini',
      });
      expect('usage' in chunk).toBe(false);
    }
    expect(chunks.slice(0, -1).every((c) => c.choices[0]!.finish_reason === null)).toBe(true);
  });

  it('adds a usage chunk with empty choices when asked, and usage: null elsewhere', () => {
    const chunks = completionToChunks(completion('Hi there.'), { includeUsage: true });
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual({ prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 });
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
  });

  it('replays tool calls', () => {
    const call = { id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } };
    const chunks = completionToChunks({
      ...completion(''),
      choices: [
        { index: 0, message: { role: 'assistant', content: null, tool_calls: [call] }, finish_reason: 'tool_calls' },
      ],
    });
    expect(chunks.map((c) => c.choices[0]!.delta.tool_calls).filter(Boolean)).toEqual([[{ index: 0, ...call }]]);
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe('tool_calls');
  });

  it('replays a refusal as its own delta', () => {
    const refused = {
      ...completion(''),
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: null, refusal: 'I cannot help with that.' },
          finish_reason: 'stop',
        },
      ],
    };
    const deltas = completionToChunks(refused).map((c) => c.choices[0]!.delta);
    expect(deltas).toEqual([{ role: 'assistant', content: '' }, { refusal: 'I cannot help with that.' }, {}]);
  });
});
