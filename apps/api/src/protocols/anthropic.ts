/**
 * Anthropic's Messages API ⇄ OpenAI chat completions. Pure translation, used both ways: an
 * inbound `POST /v1/messages` becomes the chat job Sluice runs (and its answer a `message`),
 * and a chat job served by an `"api": "anthropic"` deployment becomes a Messages request
 * (and its `message` a `chat.completion`).
 */
import { Type, type Static } from '@sinclair/typebox';
import type { ChatMessage, ChatRequest } from '@sluice/queues';
import { badRequest } from '../errors.ts';

const Block = Type.Object({ type: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: true });

/** The `POST /v1/messages` body Sluice accepts (blocks are checked further in {@link messagesToChat}). */
export const MessagesRequestSchema = Type.Object(
  {
    model: Type.String({ minLength: 1, maxLength: 256 }),
    max_tokens: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
    messages: Type.Array(
      Type.Object(
        {
          role: Type.Union([Type.Literal('user'), Type.Literal('assistant')]),
          content: Type.Union([Type.String(), Type.Array(Block, { maxItems: 512 })]),
        },
        { additionalProperties: true },
      ),
      { minItems: 1 },
    ),
    system: Type.Optional(Type.Union([Type.String(), Type.Array(Block, { maxItems: 64 })])),
    stream: Type.Optional(Type.Boolean()),
    temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    top_p: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    top_k: Type.Optional(Type.Integer({ minimum: 0 })),
    stop_sequences: Type.Optional(Type.Array(Type.String(), { maxItems: 4 })),
    tools: Type.Optional(
      Type.Array(Type.Object({ name: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: true }), {
        maxItems: 128,
      }),
    ),
    tool_choice: Type.Optional(Type.Object({ type: Type.String({ maxLength: 16 }) }, { additionalProperties: true })),
    metadata: Type.Optional(
      Type.Object(
        { user_id: Type.Optional(Type.Union([Type.String({ maxLength: 256 }), Type.Null()])) },
        { additionalProperties: true },
      ),
    ),
  },
  { additionalProperties: true },
);
/** A `POST /v1/messages` body. */
export type MessagesRequest = Static<typeof MessagesRequestSchema>;

type Part = Record<string, any>;

function blockText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((b: Part) => (b?.type === 'text' && typeof b.text === 'string' ? b.text : '')).join('');
}

function imagePart(block: Part, at: string): Part {
  const source = block.source as Part | undefined;
  if (source?.type === 'base64' && typeof source.data === 'string' && typeof source.media_type === 'string')
    return { type: 'image_url', image_url: { url: `data:${source.media_type};base64,${source.data}` } };
  if (source?.type === 'url' && typeof source.url === 'string')
    return { type: 'image_url', image_url: { url: source.url } };
  throw badRequest(`\`${at}.source\` must be a base64 or url image source.`, `${at}.source`);
}

/** Anthropic messages → chat messages (tool results become `tool` messages, tool uses `tool_calls`). */
export function anthropicToChatMessages(
  system: MessagesRequest['system'],
  messages: MessagesRequest['messages'],
): ChatMessage[] {
  const out: ChatMessage[] = [];
  const systemText = blockText(system);
  if (systemText) out.push({ role: 'system', content: systemText });
  messages.forEach((m, i) => {
    const at = `messages[${i}]`;
    if (typeof m.content === 'string') {
      out.push({ role: m.role, content: m.content });
      return;
    }
    const parts: Part[] = [];
    const calls: Part[] = [];
    m.content.forEach((raw, j) => {
      const b = raw as Part;
      const bat = `${at}.content[${j}]`;
      if (b.type === 'text') {
        if (typeof b.text !== 'string') throw badRequest(`\`${bat}.text\` must be a string.`, `${bat}.text`);
        parts.push({ type: 'text', text: b.text });
      } else if (b.type === 'image' && m.role === 'user') {
        parts.push(imagePart(b, bat));
      } else if (b.type === 'tool_use' && m.role === 'assistant') {
        if (typeof b.id !== 'string' || typeof b.name !== 'string')
          throw badRequest(`\`${bat}\` (tool_use) needs string \`id\` and \`name\`.`, bat);
        calls.push({
          id: b.id,
          type: 'function',
          function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) },
        });
      } else if (b.type === 'tool_result' && m.role === 'user') {
        if (typeof b.tool_use_id !== 'string')
          throw badRequest(`\`${bat}.tool_use_id\` must be a string.`, `${bat}.tool_use_id`);
        const text = blockText(b.content);
        out.push({ role: 'tool', tool_call_id: b.tool_use_id, content: b.is_error ? `Error: ${text}` : text });
      } else if (b.type === 'thinking' || b.type === 'redacted_thinking') {
        // A model's hidden reasoning has no place in a chat request.
      } else {
        throw badRequest(
          `Unsupported content block type \`${String(b.type)}\` for role ${m.role} at \`${bat}\`.`,
          `${bat}.type`,
        );
      }
    });
    if (m.role === 'assistant') {
      const text = parts.map((p) => p.text ?? '').join('');
      if (calls.length) out.push({ role: 'assistant', content: text || null, tool_calls: calls });
      else out.push({ role: 'assistant', content: text });
    } else if (parts.length) {
      // One text block is sent as a string: identical prompts hash alike in the cache.
      out.push({ role: 'user', content: parts.length === 1 && parts[0]!.type === 'text' ? parts[0]!.text : parts });
    }
  });
  return out;
}

function toolChoiceToChat(choice: MessagesRequest['tool_choice']): unknown {
  if (!choice) return undefined;
  const c = choice as Part;
  if (c.type === 'auto') return 'auto';
  if (c.type === 'any') return 'required';
  if (c.type === 'none') return 'none';
  if (c.type === 'tool' && typeof c.name === 'string') return { type: 'function', function: { name: c.name } };
  throw badRequest('`tool_choice.type` must be auto, any, tool (with a name) or none.', 'tool_choice');
}

/** The chat request an inbound Messages request runs as. */
export function messagesToChat(body: MessagesRequest): ChatRequest {
  const request: ChatRequest = {
    model: body.model,
    messages: anthropicToChatMessages(body.system, body.messages),
    max_tokens: body.max_tokens,
  };
  if (body.stream === true) request.stream = true;
  if (body.temperature !== undefined) request.temperature = body.temperature;
  if (body.top_p !== undefined) request.top_p = body.top_p;
  if (body.stop_sequences?.length) request.stop = body.stop_sequences;
  if (body.tools?.length) {
    request.tools = body.tools.map((t: Part, i) => {
      if (t.type !== undefined && t.type !== 'custom')
        throw badRequest(
          `Unsupported tool type \`${String(t.type)}\` at \`tools[${i}]\`: Sluice serves client tools (name, description, input_schema) only.`,
          `tools[${i}].type`,
        );
      return {
        type: 'function',
        function: {
          name: t.name,
          ...(t.description ? { description: t.description } : {}),
          parameters: t.input_schema ?? { type: 'object' },
        },
      };
    });
  }
  const toolChoice = toolChoiceToChat(body.tool_choice);
  if (toolChoice !== undefined) request.tool_choice = toolChoice;
  if (typeof body.metadata?.user_id === 'string') request.user = body.metadata.user_id;
  return request;
}

const STOP_REASONS: Record<string, string> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  function_call: 'tool_use',
  content_filter: 'refusal',
};

/** A chat `finish_reason` as Anthropic's `stop_reason`. */
export const stopReason = (finish: string | null | undefined): string => STOP_REASONS[finish ?? 'stop'] ?? 'end_turn';

function parseArguments(args: unknown): unknown {
  if (typeof args !== 'string' || !args) return {};
  try {
    return JSON.parse(args);
  } catch {
    // A truncated call (max tokens) still reaches the client, as its raw text.
    return { _raw: args };
  }
}

/** Anthropic's usage from a chat usage (cached prompt tokens are reads). */
export function anthropicUsage(usage: Part | undefined): Part {
  const cached = usage?.prompt_tokens_details?.cached_tokens ?? 0;
  return {
    input_tokens: Math.max(0, (usage?.prompt_tokens ?? 0) - cached),
    output_tokens: usage?.completion_tokens ?? 0,
    cache_creation_input_tokens: usage?.prompt_tokens_details?.cache_write_tokens ?? 0,
    cache_read_input_tokens: cached,
  };
}

/** The Anthropic `message` of a finished chat job. */
export function completionToMessage(jobId: string, completion: Part, model: string): Part {
  const choice = completion.choices?.[0] ?? {};
  const message = choice.message ?? {};
  const content: Part[] = [];
  if (typeof message.content === 'string' && message.content) content.push({ type: 'text', text: message.content });
  for (const tc of (message.tool_calls ?? []) as Part[])
    content.push({
      type: 'tool_use',
      id: tc.id,
      name: tc.function?.name ?? '',
      input: parseArguments(tc.function?.arguments),
    });
  if (!content.length) content.push({ type: 'text', text: '' });
  return {
    id: `msg_${jobId}`,
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: stopReason(choice.finish_reason),
    stop_sequence: null,
    usage: anthropicUsage(completion.usage),
  };
}

/** One Anthropic SSE event (`event:` is its `type`). */
export interface AnthropicStreamEvent {
  type: string;
  [field: string]: unknown;
}

/**
 * Turns a job's chat chunks into Anthropic's stream: `message_start`, `ping`, per block
 * `content_block_start` / `content_block_delta` (text_delta, input_json_delta) /
 * `content_block_stop`, then `message_delta` (stop reason, usage) and `message_stop`.
 */
export class AnthropicStreamTranslator {
  #block = -1;
  #openKind: 'text' | 'tool' | undefined;
  #toolBlocks = new Map<number, number>();

  constructor(
    private readonly jobId: string,
    private readonly model: string,
  ) {}

  /** The opening events (input tokens are known at the end; `message_delta` carries them). */
  start(): AnthropicStreamEvent[] {
    return [
      {
        type: 'message_start',
        message: {
          id: `msg_${this.jobId}`,
          type: 'message',
          role: 'assistant',
          model: this.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: 0, output_tokens: 0 },
        },
      },
      { type: 'ping' },
    ];
  }

  #close(): AnthropicStreamEvent[] {
    if (this.#openKind === undefined) return [];
    this.#openKind = undefined;
    return [{ type: 'content_block_stop', index: this.#block }];
  }

  /** Events for one `chat.completion.chunk`. */
  chunk(chunk: Part): AnthropicStreamEvent[] {
    const delta = chunk.choices?.[0]?.delta;
    if (!delta) return [];
    const events: AnthropicStreamEvent[] = [];
    if (typeof delta.content === 'string' && delta.content) {
      if (this.#openKind !== 'text') {
        events.push(...this.#close());
        this.#block += 1;
        this.#openKind = 'text';
        events.push({ type: 'content_block_start', index: this.#block, content_block: { type: 'text', text: '' } });
      }
      events.push({
        type: 'content_block_delta',
        index: this.#block,
        delta: { type: 'text_delta', text: delta.content },
      });
    }
    for (const tc of (delta.tool_calls ?? []) as Part[]) {
      const index = typeof tc.index === 'number' ? tc.index : 0;
      if (!this.#toolBlocks.has(index)) {
        events.push(...this.#close());
        this.#block += 1;
        this.#openKind = 'tool';
        this.#toolBlocks.set(index, this.#block);
        events.push({
          type: 'content_block_start',
          index: this.#block,
          content_block: {
            type: 'tool_use',
            id: tc.id ?? `toolu_${this.jobId}_${index}`,
            name: tc.function?.name ?? '',
            input: {},
          },
        });
      }
      const args = tc.function?.arguments;
      if (typeof args === 'string' && args)
        events.push({
          type: 'content_block_delta',
          index: this.#toolBlocks.get(index)!,
          delta: { type: 'input_json_delta', partial_json: args },
        });
    }
    return events;
  }

  /** The closing events, from the finished completion (stop reason, usage). */
  finish(completion: Part): AnthropicStreamEvent[] {
    const events = this.#close();
    if (this.#block < 0) {
      // Nothing was streamed (an empty answer): Anthropic still sends one block.
      events.push(
        { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
        { type: 'content_block_stop', index: 0 },
      );
    }
    const usage = anthropicUsage(completion.usage);
    events.push({
      type: 'message_delta',
      delta: { stop_reason: stopReason(completion.choices?.[0]?.finish_reason), stop_sequence: null },
      usage,
    });
    events.push({ type: 'message_stop' });
    return events;
  }
}

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  415: 'invalid_request_error',
  429: 'rate_limit_error',
  529: 'overloaded_error',
};

/** Anthropic's error type for an HTTP status. */
export const anthropicErrorType = (status: number): string =>
  ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');

/** Anthropic's error body `{type:"error", error:{type, message}}`. */
export function anthropicError(
  status: number,
  message: string,
): { type: 'error'; error: { type: string; message: string } } {
  return { type: 'error', error: { type: anthropicErrorType(status), message } };
}
