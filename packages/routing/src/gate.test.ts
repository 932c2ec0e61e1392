import { describe, expect, it } from 'vitest';
import { qualityGate, type GateCompletion } from './index.ts';

const answer = (
  content: string | null,
  finish_reason = 'stop',
  extra: Record<string, unknown> = {},
): GateCompletion => ({
  choices: [{ finish_reason, message: { content, ...extra } }],
});

describe('qualityGate', () => {
  const plain = {};

  it('passes a plain good answer', () => {
    expect(qualityGate(plain, answer('Paris is the capital of France.'))).toEqual({
      pass: true,
      check: 'ok',
      reason: 'ok',
    });
  });

  it('fails empty, cut-off and filtered answers', () => {
    expect(qualityGate(plain, answer('  '))).toMatchObject({ pass: false, check: 'empty' });
    expect(qualityGate(plain, { choices: [] })).toMatchObject({ pass: false, check: 'empty' });
    expect(qualityGate(plain, answer('The proof goes as follows. First', 'length'))).toMatchObject({
      pass: false,
      check: 'truncated',
    });
    expect(qualityGate(plain, answer('', 'content_filter'))).toMatchObject({ pass: false, check: 'filtered' });
  });

  it('fails refusals and admitted uncertainty, not a long answer that mentions a hedge late', () => {
    expect(qualityGate(plain, answer("I'm sorry, but I can't help with that request."))).toMatchObject({
      pass: false,
      check: 'refusal',
    });
    expect(qualityGate(plain, answer('As an AI language model, I do not have opinions.'))).toMatchObject({
      pass: false,
      check: 'refusal',
    });
    expect(qualityGate(plain, answer(null, 'stop', { refusal: 'I cannot assist with that.' }))).toMatchObject({
      pass: false,
      check: 'refusal',
    });
    expect(qualityGate(plain, answer("I'm not sure, but it might be around 1850."))).toMatchObject({
      pass: false,
      check: 'uncertain',
    });
    const long = `${'The algorithm works in three phases. '.repeat(30)}If you are not sure which to pick, start with the first. I don't know of a faster method.`;
    expect(qualityGate(plain, answer(long)).pass).toBe(true);
  });

  it('checks json_object responses', () => {
    const request = { response_format: { type: 'json_object' } };
    expect(qualityGate(request, answer('{"a": 1}')).pass).toBe(true);
    expect(qualityGate(request, answer('```json\n{"a": 1}\n```'))).toMatchObject({ pass: false, check: 'json' });
    expect(qualityGate(request, answer('[1, 2]'))).toMatchObject({ pass: false, check: 'json' });
  });

  it('checks json_schema responses: required keys, types, enums, items, additionalProperties', () => {
    const request = {
      response_format: {
        type: 'json_schema',
        json_schema: {
          name: 'person',
          strict: true,
          schema: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'age', 'tags', 'role'],
            properties: {
              name: { type: 'string' },
              age: { type: 'integer', minimum: 0 },
              tags: { type: 'array', items: { type: 'string' } },
              role: { type: 'string', enum: ['admin', 'user'] },
              nickname: { type: ['string', 'null'] },
            },
          },
        },
      },
    };
    const good = { name: 'Ada', age: 36, tags: ['math'], role: 'admin', nickname: null };
    expect(qualityGate(request, answer(JSON.stringify(good))).pass).toBe(true);
    const cases: [unknown, RegExp][] = [
      [{ ...good, age: undefined }, /missing required key `age`/],
      [{ ...good, age: '36' }, /\$\.age should be integer, got string/],
      [{ ...good, age: 36.5 }, /\$\.age should be integer, got number/],
      [{ ...good, tags: ['a', 2] }, /\$\.tags\[1\] should be string/],
      [{ ...good, role: 'root' }, /\$\.role should be one of/],
      [{ ...good, extra: true }, /unexpected key `extra`/],
    ];
    for (const [value, why] of cases) {
      const verdict = qualityGate(request, answer(JSON.stringify(value)));
      expect(verdict.check).toBe('schema');
      expect(verdict.reason).toMatch(why);
    }
  });

  it('checks tool calls: required but missing, or arguments that are not JSON', () => {
    const tools = [{ type: 'function', function: { name: 'lookup' } }];
    expect(qualityGate({ tools, tool_choice: 'required' }, answer('I would look it up.'))).toMatchObject({
      pass: false,
      check: 'tool_call',
    });
    const call = (args: string) =>
      answer(null, 'tool_calls', { tool_calls: [{ function: { name: 'lookup', arguments: args } }] });
    expect(qualityGate({ tools }, call('{"q": "x"}')).pass).toBe(true);
    expect(qualityGate({ tools }, call('{"q": '))).toMatchObject({ pass: false, check: 'tool_call' });
  });
});
