/**
 * OpenAI's Responses API ⇄ the chat job Sluice runs. Pure translation: no I/O. A Responses
 * request becomes a chat-completions request (instructions → system message, input items →
 * messages, function tools → chat tools, `text.format` → `response_format`); the job's
 * `chat.completion` becomes a `response` object, and its chunks become the typed SSE events
 * of a streamed response.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { ChatMessage, ChatRequest } from '@sluice/queues';
import { badRequest } from '../errors.ts';

const InputItem = Type.Object({ type: Type.Optional(Type.String({ maxLength: 64 })) }, { additionalProperties: true });

/** The `POST /v1/responses` body Sluice accepts (the fields it maps are checked further in {@link responsesToChat}). */
export const ResponsesRequestSchema = Type.Object(
  {
    model: Type.String({ minLength: 1, maxLength: 256 }),
    input: Type.Optional(Type.Union([Type.String(), Type.Array(InputItem, { maxItems: 2_000 })])),
    instructions: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    previous_response_id: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 128 }), Type.Null()])),
    store: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
    stream: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
    temperature: Type.Optional(Type.Union([Type.Number({ minimum: 0, maximum: 2 }), Type.Null()])),
    top_p: Type.Optional(Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()])),
    max_output_tokens: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 1_000_000 }), Type.Null()])),
    tools: Type.Optional(
      Type.Array(Type.Object({ type: Type.String({ maxLength: 64 }) }, { additionalProperties: true }), {
        maxItems: 128,
      }),
    ),
    tool_choice: Type.Optional(Type.Unknown()),
    parallel_tool_calls: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
    text: Type.Optional(
      Type.Union([
        Type.Object(
          {
            format: Type.Optional(
              Type.Object({ type: Type.String({ maxLength: 64 }) }, { additionalProperties: true }),
            ),
          },
          { additionalProperties: true },
        ),
        Type.Null(),
      ]),
    ),
    user: Type.Optional(Type.String({ maxLength: 256 })),
    metadata: Type.Optional(
      Type.Union([
        Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 512 }), { maxProperties: 16 }),
        Type.Null(),
      ]),
    ),
  },
  { additionalProperties: true },
);
/** A `POST /v1/responses` body. */
export type ResponsesRequest = Static<typeof ResponsesRequestSchema>;

type Part = Record<string, any>;

function partsToChat(content: unknown, param: string): ChatMessage['content'] {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw badRequest(`\`${param}\` must be a string or an array of content parts.`, param);
  const parts = content.map((p: Part, i) => {
    const at = `${param}[${i}]`;
    if (p?.type === 'input_text' || p?.type === 'output_text' || p?.type === 'text') {
      if (typeof p.text !== 'string') throw badRequest(`\`${at}.text\` must be a string.`, `${at}.text`);
      return { type: 'text', text: p.text };
    }
    if (p?.type === 'refusal') return { type: 'text', text: String(p.refusal ?? '') };
    if (p?.type === 'input_image') {
      const url = typeof p.image_url === 'string' ? p.image_url : undefined;
      if (!url)
        throw badRequest(`\`${at}.image_url\` is required (file_id images are not supported).`, `${at}.image_url`);
      return { type: 'image_url', image_url: { url, detail: p.detail ?? 'auto' } };
    }
    throw badRequest(
      `Unsupported content part type \`${String(p?.type)}\` at \`${at}\`: use input_text, output_text or input_image.`,
      `${at}.type`,
    );
  });
  // A single text part is sent as a plain string: identical prompts hash alike in the cache.
  return parts.length === 1 && parts[0]!.type === 'text' ? (parts[0] as { text: string }).text : parts;
}

const ROLES = new Set(['user', 'assistant', 'system', 'developer']);

/** Input items → chat messages (consecutive function calls become one assistant message). */
export function inputToMessages(input: ResponsesRequest['input']): ChatMessage[] {
  if (input === undefined) return [];
  if (typeof input === 'string') return [{ role: 'user', content: input }];
  const messages: ChatMessage[] = [];
  input.forEach((raw, i) => {
    const item = raw as Part;
    const at = `input[${i}]`;
    const type = item.type ?? 'message';
    if (type === 'message') {
      if (!ROLES.has(item.role))
        throw badRequest(
          `\`${at}.role\` must be user, assistant, system or developer, got \`${String(item.role)}\`.`,
          `${at}.role`,
        );
      messages.push({ role: item.role, content: partsToChat(item.content, `${at}.content`) });
    } else if (type === 'function_call') {
      if (typeof item.call_id !== 'string' || typeof item.name !== 'string' || typeof item.arguments !== 'string') {
        throw badRequest(`\`${at}\` (function_call) needs string \`call_id\`, \`name\` and \`arguments\`.`, at);
      }
      const call = { id: item.call_id, type: 'function', function: { name: item.name, arguments: item.arguments } };
      const last = messages.at(-1);
      if (
        last?.role === 'assistant' &&
        Array.isArray(last.tool_calls) &&
        (last.content === null || last.content === '')
      )
        last.tool_calls.push(call);
      else messages.push({ role: 'assistant', content: null, tool_calls: [call] });
    } else if (type === 'function_call_output') {
      if (typeof item.call_id !== 'string') throw badRequest(`\`${at}.call_id\` must be a string.`, `${at}.call_id`);
      const output = typeof item.output === 'string' ? item.output : JSON.stringify(item.output ?? '');
      messages.push({ role: 'tool', tool_call_id: item.call_id, content: output });
    } else if (type === 'reasoning') {
      // Reasoning items carry a model's hidden state; a chat upstream has nowhere to put them.
    } else {
      throw badRequest(
        `Unsupported input item type \`${String(type)}\` at \`${at}\`: use message, function_call or function_call_output.`,
        `${at}.type`,
      );
    }
  });
  return messages;
}

function toolsToChat(tools: ResponsesRequest['tools']): unknown[] | undefined {
  if (!tools?.length) return undefined;
  return tools.map((t: Part, i) => {
    if (t.type !== 'function')
      throw badRequest(
        `Unsupported tool type \`${String(t.type)}\` at \`tools[${i}]\`: Sluice serves function tools only.`,
        `tools[${i}].type`,
      );
    if (typeof t.name !== 'string' || !t.name)
      throw badRequest(`\`tools[${i}].name\` is required.`, `tools[${i}].name`);
    const fn: Part = { name: t.name };
    if (t.description != null) fn.description = t.description;
    if (t.parameters != null) fn.parameters = t.parameters;
    if (t.strict != null) fn.strict = t.strict;
    return { type: 'function', function: fn };
  });
}

function toolChoiceToChat(choice: unknown): unknown {
  if (choice === undefined || choice === null) return undefined;
  if (choice === 'auto' || choice === 'none' || choice === 'required') return choice;
  const c = choice as Part;
  if (c?.type === 'function' && typeof c.name === 'string') return { type: 'function', function: { name: c.name } };
  throw badRequest('`tool_choice` must be auto, none, required or {"type":"function","name":…}.', 'tool_choice');
}

function formatToChat(text: ResponsesRequest['text']): unknown {
  const format = text?.format as Part | undefined;
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json_object') return { type: 'json_object' };
  if (format.type === 'json_schema') {
    if (typeof format.name !== 'string' || typeof format.schema !== 'object' || format.schema === null) {
      throw badRequest('`text.format` of type json_schema needs a `name` and a `schema` object.', 'text.format');
    }
    const schema: Part = { name: format.name, schema: format.schema };
    if (format.strict != null) schema.strict = format.strict;
    if (format.description != null) schema.description = format.description;
    return { type: 'json_schema', json_schema: schema };
  }
  throw badRequest(
    `Unsupported \`text.format.type\` \`${String(format.type)}\`: use text, json_object or json_schema.`,
    'text.format.type',
  );
}

/**
 * The chat request a Responses request runs as. `history` is prepended (a chain rebuilt from
 * stored responses); with `conversationId` Sluice's conversation memory holds the history and
 * only the new turn is sent.
 */
export function responsesToChat(body: ResponsesRequest, options: { conversationId?: string } = {}): ChatRequest {
  const messages: ChatMessage[] = [];
  if (typeof body.instructions === 'string' && body.instructions)
    messages.push({ role: 'system', content: body.instructions });
  messages.push(...inputToMessages(body.input));
  if (!messages.some((m) => m.role !== 'system' && m.role !== 'developer'))
    throw badRequest('`input` must hold at least one message or function_call_output item.', 'input');
  const request: ChatRequest = { model: body.model, messages };
  if (body.stream === true) request.stream = true;
  if (body.temperature != null) request.temperature = body.temperature;
  if (body.top_p != null) request.top_p = body.top_p;
  if (body.max_output_tokens != null) request.max_completion_tokens = body.max_output_tokens;
  const tools = toolsToChat(body.tools);
  if (tools) request.tools = tools;
  const toolChoice = toolChoiceToChat(body.tool_choice);
  if (toolChoice !== undefined) request.tool_choice = toolChoice;
  if (body.parallel_tool_calls != null && tools)
    (request as Record<string, unknown>).parallel_tool_calls = body.parallel_tool_calls;
  const format = formatToChat(body.text);
  if (format) request.response_format = format;
  if (body.user) request.user = body.user;
  if (options.conversationId) request.conversation_id = options.conversationId;
  return request;
}

/** The ids of a response's parts, derived from the job id so that streamed and final objects agree. */
export const responseIds = {
  response: (jobId: string) => `resp_${jobId}`,
  message: (jobId: string) => `msg_${jobId}`,
  functionCall: (jobId: string, index: number) => `fc_${jobId}_${index}`,
  /** The job id inside a response id, or undefined when it is not one of Sluice's. */
  jobOf: (responseId: string) => (/^resp_([A-Za-z0-9_-]{1,64})$/.exec(responseId) ?? [])[1],
};

/** What a response object echoes of its request. */
export interface ResponseEcho {
  jobId: string;
  createdAt: number;
  model: string;
  body: ResponsesRequest;
  store: boolean;
}

function usageOf(completion: Part): Part {
  const u = completion.usage ?? {};
  const input = u.prompt_tokens ?? 0;
  const output = u.completion_tokens ?? 0;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: u.prompt_tokens_details?.cached_tokens ?? 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: u.completion_tokens_details?.reasoning_tokens ?? 0 },
    total_tokens: input + output,
  };
}

/** The response's shell: everything but `output`, `status` and `usage`. */
function shell(echo: ResponseEcho): Part {
  const { body } = echo;
  return {
    id: responseIds.response(echo.jobId),
    object: 'response',
    created_at: echo.createdAt,
    status: 'in_progress',
    background: false,
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    metadata: body.metadata ?? {},
    model: echo.model,
    output: [],
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: { effort: null, summary: null },
    service_tier: 'default',
    store: echo.store,
    temperature: body.temperature ?? 1,
    text: { format: body.text?.format ?? { type: 'text' } },
    tool_choice: body.tool_choice ?? 'auto',
    tools: body.tools ?? [],
    top_p: body.top_p ?? 1,
    truncation: 'disabled',
    usage: null,
    user: body.user ?? null,
  };
}

/** Output items of a finished `chat.completion`: one message (if any text), then each function call. */
export function completionOutput(jobId: string, completion: Part): Part[] {
  const message = completion.choices?.[0]?.message ?? {};
  const output: Part[] = [];
  const refusal = typeof message.refusal === 'string' && message.refusal ? message.refusal : undefined;
  if ((typeof message.content === 'string' && message.content) || refusal || !message.tool_calls?.length) {
    const content = refusal
      ? [{ type: 'refusal', refusal }]
      : [
          {
            type: 'output_text',
            text: typeof message.content === 'string' ? message.content : '',
            annotations: [],
            logprobs: [],
          },
        ];
    output.push({ type: 'message', id: responseIds.message(jobId), status: 'completed', role: 'assistant', content });
  }
  (message.tool_calls ?? []).forEach((tc: Part, i: number) => {
    output.push({
      type: 'function_call',
      id: responseIds.functionCall(jobId, i),
      call_id: tc.id ?? `call_${jobId}_${i}`,
      name: tc.function?.name ?? '',
      arguments: tc.function?.arguments ?? '',
      status: 'completed',
    });
  });
  return output;
}

/** The `response` object of a finished job. */
export function completionToResponse(echo: ResponseEcho, completion: Part): Part {
  const finish = completion.choices?.[0]?.finish_reason;
  const output = completionOutput(echo.jobId, completion);
  const text = output
    .filter((o) => o.type === 'message')
    .flatMap((o) => o.content.filter((c: Part) => c.type === 'output_text').map((c: Part) => c.text))
    .join('');
  return {
    ...shell(echo),
    status: finish === 'length' ? 'incomplete' : 'completed',
    incomplete_details:
      finish === 'length'
        ? { reason: 'max_output_tokens' }
        : finish === 'content_filter'
          ? { reason: 'content_filter' }
          : null,
    output,
    output_text: text,
    usage: usageOf(completion),
  };
}

/** The assistant message a response's output adds to a conversation (what the next turn continues). */
export function outputToMessage(output: readonly Part[]): ChatMessage {
  const text = output
    .filter((o) => o.type === 'message')
    .flatMap((o) => o.content.map((c: Part) => c.text ?? c.refusal ?? ''))
    .join('');
  const calls = output
    .filter((o) => o.type === 'function_call')
    .map((o) => ({ id: o.call_id, type: 'function', function: { name: o.name, arguments: o.arguments } }));
  return calls.length
    ? { role: 'assistant', content: text || null, tool_calls: calls }
    : { role: 'assistant', content: text };
}

/** One typed SSE event of a streamed response. */
export interface ResponseStreamEvent {
  type: string;
  sequence_number: number;
  [field: string]: unknown;
}

/**
 * Turns a job's chat chunks into the Responses API's stream: `response.created`,
 * `response.in_progress`, per output item `response.output_item.added`, (text)
 * `response.content_part.added` / `response.output_text.delta` / `…done`, (function calls)
 * `response.function_call_arguments.delta` / `…done`, `response.output_item.done`, and
 * `response.completed` carrying the final response object.
 */
export class ResponsesStreamTranslator {
  #seq = 0;
  #items: Array<
    | { kind: 'message'; text: string }
    | { kind: 'function_call'; index: number; callId: string; name: string; arguments: string }
  > = [];
  #open: number | undefined;
  #toolSlots = new Map<number, number>();

  constructor(private readonly echo: ResponseEcho) {}

  #event(type: string, fields: Record<string, unknown>): ResponseStreamEvent {
    return { type, sequence_number: this.#seq++, ...fields };
  }

  /** The opening events. */
  start(): ResponseStreamEvent[] {
    const response = shell(this.echo);
    return [this.#event('response.created', { response }), this.#event('response.in_progress', { response })];
  }

  #itemObject(at: number, status: 'in_progress' | 'completed'): Part {
    const item = this.#items[at]!;
    const jobId = this.echo.jobId;
    if (item.kind === 'message') {
      const content =
        status === 'completed' ? [{ type: 'output_text', text: item.text, annotations: [], logprobs: [] }] : [];
      return { type: 'message', id: responseIds.message(jobId), status, role: 'assistant', content };
    }
    return {
      type: 'function_call',
      id: responseIds.functionCall(jobId, item.index),
      call_id: item.callId,
      name: item.name,
      arguments: status === 'completed' ? item.arguments : '',
      status,
    };
  }

  #close(): ResponseStreamEvent[] {
    if (this.#open === undefined) return [];
    const at = this.#open;
    this.#open = undefined;
    const item = this.#items[at]!;
    const itemId =
      item.kind === 'message'
        ? responseIds.message(this.echo.jobId)
        : responseIds.functionCall(this.echo.jobId, item.index);
    const events: ResponseStreamEvent[] = [];
    if (item.kind === 'message') {
      const part = { type: 'output_text', text: item.text, annotations: [], logprobs: [] };
      events.push(
        this.#event('response.output_text.done', {
          item_id: itemId,
          output_index: at,
          content_index: 0,
          text: item.text,
          logprobs: [],
        }),
      );
      events.push(
        this.#event('response.content_part.done', { item_id: itemId, output_index: at, content_index: 0, part }),
      );
    } else {
      events.push(
        this.#event('response.function_call_arguments.done', {
          item_id: itemId,
          output_index: at,
          name: item.name,
          arguments: item.arguments,
        }),
      );
    }
    events.push(
      this.#event('response.output_item.done', { output_index: at, item: this.#itemObject(at, 'completed') }),
    );
    return events;
  }

  /** Events for one `chat.completion.chunk`. */
  chunk(chunk: Part): ResponseStreamEvent[] {
    const delta = chunk.choices?.[0]?.delta;
    if (!delta) return [];
    const events: ResponseStreamEvent[] = [];
    const jobId = this.echo.jobId;
    if (typeof delta.content === 'string' && delta.content) {
      let at = this.#open;
      if (at === undefined || this.#items[at]!.kind !== 'message') {
        events.push(...this.#close());
        at = this.#items.push({ kind: 'message', text: '' }) - 1;
        this.#open = at;
        events.push(
          this.#event('response.output_item.added', { output_index: at, item: this.#itemObject(at, 'in_progress') }),
        );
        events.push(
          this.#event('response.content_part.added', {
            item_id: responseIds.message(jobId),
            output_index: at,
            content_index: 0,
            part: { type: 'output_text', text: '', annotations: [], logprobs: [] },
          }),
        );
      }
      (this.#items[at] as { text: string }).text += delta.content;
      events.push(
        this.#event('response.output_text.delta', {
          item_id: responseIds.message(jobId),
          output_index: at,
          content_index: 0,
          delta: delta.content,
          logprobs: [],
        }),
      );
    }
    for (const tc of (delta.tool_calls ?? []) as Part[]) {
      const index = typeof tc.index === 'number' ? tc.index : 0;
      let at = this.#toolSlots.get(index);
      if (at === undefined) {
        events.push(...this.#close());
        at =
          this.#items.push({
            kind: 'function_call',
            index,
            callId: tc.id ?? `call_${jobId}_${index}`,
            name: tc.function?.name ?? '',
            arguments: '',
          }) - 1;
        this.#toolSlots.set(index, at);
        this.#open = at;
        events.push(
          this.#event('response.output_item.added', { output_index: at, item: this.#itemObject(at, 'in_progress') }),
        );
      }
      const item = this.#items[at] as { arguments: string };
      const args = tc.function?.arguments;
      if (typeof args === 'string' && args) {
        item.arguments += args;
        events.push(
          this.#event('response.function_call_arguments.delta', {
            item_id: responseIds.functionCall(jobId, index),
            output_index: at,
            delta: args,
          }),
        );
      }
    }
    return events;
  }

  /** The closing events: open items done, then `response.completed` with the final object. */
  finish(completion: Part): ResponseStreamEvent[] {
    const events = this.#close();
    const response = completionToResponse(this.echo, completion);
    events.push(
      this.#event(response.status === 'incomplete' ? 'response.incomplete' : 'response.completed', { response }),
    );
    return events;
  }

  /** A failure after the stream began: `response.failed` with the error. */
  fail(error: { message: string; code: string }): ResponseStreamEvent[] {
    const events = this.#close();
    events.push(
      this.#event('response.failed', {
        response: { ...shell(this.echo), status: 'failed', error: { code: error.code, message: error.message } },
      }),
    );
    return events;
  }
}
