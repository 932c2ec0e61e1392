import { describe, expect, it } from 'vitest';
import { checkChatRequest } from './chat-request-check.ts';
import type { ChatRequest } from './payload.ts';

const req = (fields: Record<string, unknown>) =>
  ({ model: 'auto', messages: [{ role: 'user', content: 'hi' }], ...fields }) as ChatRequest;
const call = { id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } };

describe('checkChatRequest', () => {
  it('accepts the shapes the openai SDK sends', () => {
    expect(checkChatRequest(req({}))).toBeUndefined();
    expect(checkChatRequest(req({ stream: true, stream_options: { include_usage: true } }))).toBeUndefined();
    expect(
      checkChatRequest(
        req({
          tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' }, strict: true } }],
          tool_choice: 'required',
        }),
      ),
    ).toBeUndefined();
    expect(
      checkChatRequest(
        req({
          tools: [{ type: 'custom', custom: { name: 'grammar' } }],
          tool_choice: { type: 'custom', custom: { name: 'grammar' } },
        }),
      ),
    ).toBeUndefined();
    expect(
      checkChatRequest(
        req({
          response_format: {
            type: 'json_schema',
            json_schema: { name: 'x', schema: { type: 'object' }, strict: null },
          },
        }),
      ),
    ).toBeUndefined();
    const parts = [
      { type: 'text', text: 'look' },
      { type: 'image_url', image_url: { url: 'data:image/png;base64,AA==' } },
      { type: 'input_audio', input_audio: { data: 'AA==', format: 'wav' } },
    ];
    expect(checkChatRequest(req({ messages: [{ role: 'user', content: parts }] }))).toBeUndefined();
    const roundTrip = [
      { role: 'user', content: 'x' },
      { role: 'assistant', content: null, tool_calls: [call] },
      { role: 'tool', tool_call_id: 'call_1', content: 'r' },
    ];
    expect(checkChatRequest(req({ messages: roundTrip }))).toBeUndefined();
  });

  it("names the first problem with OpenAI's wording and code", () => {
    expect(checkChatRequest(req({ stream_options: { include_usage: true } }))).toEqual({
      message: "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
      param: 'stream_options',
      code: 'invalid_value',
    });
    expect(checkChatRequest(req({ response_format: { type: 'json_schema' } }))).toEqual({
      message: "Missing required parameter: 'response_format.json_schema'.",
      param: 'response_format.json_schema',
      code: 'missing_required_parameter',
    });
    expect(
      checkChatRequest(req({ tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: 42 })),
    ).toMatchObject({
      param: 'tool_choice',
      code: 'invalid_type',
      message: "Invalid type for 'tool_choice': expected one of a string or an object, but got an integer instead.",
    });
    expect(
      checkChatRequest(
        req({ tools: Array.from({ length: 129 }, (_, i) => ({ type: 'function', function: { name: `f${i}` } })) }),
      ),
    ).toMatchObject({ param: 'tools', code: 'invalid_value' });
    expect(
      checkChatRequest(
        req({
          messages: [
            { role: 'user', content: 'x' },
            { role: 'assistant', tool_calls: [call] },
          ],
        }),
      ),
    ).toMatchObject({ param: 'messages[1].tool_calls' });
  });

  it('does not check the order of tool messages when Sluice holds the earlier turns (conversation_id)', () => {
    const continued = req({
      conversation_id: 'c1',
      messages: [{ role: 'tool', tool_call_id: 'call_9', content: 'r' }],
    });
    expect(checkChatRequest(continued)).toBeUndefined();
    expect(checkChatRequest(continued, { continuesConversation: false })).toMatchObject({
      param: 'messages[0].tool_call_id',
    });
  });
});
