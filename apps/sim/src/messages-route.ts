import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ChatCompletionRequest, ChatMessage, ChatTool } from './chat-types.ts';
import {
  BATCH_TOKEN_HEADER,
  destroyConnection,
  holdUntilAbort,
  responseId,
  rollFault,
  type SimContext,
} from './context.ts';
import { SimInjectedFaultError, SimInvalidRequestError } from './errors.ts';
import { sampleLatency, sleep } from './latency.ts';
import { admit, type Admission } from './model-registry.ts';
import { planChatReply } from './reply.ts';

/** An Anthropic Messages request, as far as the simulator reads it. */
interface MessagesBody {
  model: string;
  max_tokens: number;
  system?: string | Array<{ type: string; text?: string; cache_control?: unknown }>;
  messages: Array<{ role: 'user' | 'assistant'; content: string | Array<Record<string, any>> }>;
  stream?: boolean;
  tools?: Array<{ name: string; description?: string; input_schema?: Record<string, unknown> }>;
  tool_choice?: { type: string; name?: string };
}

const BLOCK = { type: 'object', required: ['type'], properties: { type: { type: 'string' } } } as const;

/** `POST /v1/messages` body (the fields the simulator uses; the rest is accepted and ignored). */
const MESSAGES_BODY_SCHEMA = {
  type: 'object',
  required: ['model', 'max_tokens', 'messages'],
  properties: {
    model: { type: 'string', minLength: 1 },
    max_tokens: { type: 'integer', minimum: 1 },
    system: { anyOf: [{ type: 'string' }, { type: 'array', items: BLOCK }] },
    messages: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['role', 'content'],
        properties: {
          role: { type: 'string', enum: ['user', 'assistant'] },
          content: { anyOf: [{ type: 'string' }, { type: 'array', items: BLOCK }] },
        },
      },
    },
    stream: { type: 'boolean' },
    tools: { type: 'array', items: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } },
    tool_choice: {
      type: 'object',
      required: ['type'],
      properties: { type: { type: 'string', enum: ['auto', 'any', 'tool', 'none'] } },
    },
  },
} as const;

const textOf = (content: unknown): string =>
  typeof content === 'string'
    ? content
    : Array.isArray(content)
      ? content.map((b: Record<string, any>) => (b?.type === 'text' ? String(b.text ?? '') : '')).join('')
      : '';

/**
 * The chat request the reply is planned from: the system prompt as a system message, text
 * blocks as content, tool uses as tool calls and tool results as tool messages, so a reply's
 * `[sim:…]` fingerprint is the one of the equivalent chat messages.
 */
export function messagesToChatRequest(body: MessagesBody): ChatCompletionRequest {
  const messages: ChatMessage[] = [];
  const system = textOf(body.system);
  if (system) messages.push({ role: 'system', content: system });
  for (const m of body.messages) {
    if (typeof m.content === 'string') {
      messages.push({ role: m.role, content: m.content });
      continue;
    }
    for (const b of m.content)
      if (b.type === 'tool_result')
        messages.push({ role: 'tool', tool_call_id: String(b.tool_use_id), content: textOf(b.content) });
    const text = textOf(m.content);
    const calls = m.content
      .filter((b) => b.type === 'tool_use')
      .map((b) => ({
        id: String(b.id),
        type: 'function' as const,
        function: { name: String(b.name), arguments: JSON.stringify(b.input ?? {}) },
      }));
    if (m.role === 'assistant')
      messages.push(
        calls.length
          ? { role: 'assistant', content: text || null, tool_calls: calls }
          : { role: 'assistant', content: text },
      );
    else if (text) messages.push({ role: 'user', content: text });
  }
  const tools: ChatTool[] | undefined = body.tools?.map((t) => ({
    type: 'function',
    function: { name: t.name, description: t.description, parameters: t.input_schema },
  }));
  const choice = body.tool_choice;
  const toolChoice = !choice
    ? undefined
    : choice.type === 'any'
      ? 'required'
      : choice.type === 'tool' && choice.name
        ? { type: 'function' as const, function: { name: choice.name } }
        : (choice.type as 'auto' | 'none');
  return {
    model: body.model,
    messages,
    max_tokens: body.max_tokens,
    ...(tools?.length ? { tools } : {}),
    ...(toolChoice && tools?.length ? { tool_choice: toolChoice } : {}),
  } as ChatCompletionRequest;
}

function parseDuration(text: string): number {
  let ms = 0;
  for (const [, n, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g))
    ms += Number(n) * (unit === 'h' ? 3_600_000 : unit === 'm' ? 60_000 : unit === 's' ? 1_000 : 1);
  return ms;
}

/** OpenAI-style `x-ratelimit-*` headers as Anthropic's `anthropic-ratelimit-*` (resets as RFC 3339 times). */
export function anthropicRateLimitHeaders(headers: Record<string, unknown>, now: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kind of ['requests', 'tokens'] as const) {
    const limit = headers[`x-ratelimit-limit-${kind}`];
    if (limit === undefined) continue;
    out[`anthropic-ratelimit-${kind}-limit`] = String(limit);
    out[`anthropic-ratelimit-${kind}-remaining`] = String(headers[`x-ratelimit-remaining-${kind}`] ?? '');
    out[`anthropic-ratelimit-${kind}-reset`] = new Date(
      now + parseDuration(String(headers[`x-ratelimit-reset-${kind}`] ?? '0s')),
    ).toISOString();
  }
  return out;
}

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  529: 'overloaded_error',
};

/** Errors of Anthropic's routes in Anthropic's shape, with Anthropic's rate-limit headers (an `onSend` hook). */
export function anthropicShape(ctx: SimContext) {
  return async (_request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const headers = reply.getHeaders();
    const mapped = anthropicRateLimitHeaders(headers, ctx.now());
    for (const name of Object.keys(headers)) if (name.startsWith('x-ratelimit-')) reply.removeHeader(name);
    reply.headers(mapped);
    if (reply.statusCode < 400 || typeof payload !== 'string') return payload;
    try {
      const body = JSON.parse(payload) as { error?: { message?: string } };
      const type = ERROR_TYPES[reply.statusCode] ?? (reply.statusCode >= 500 ? 'api_error' : 'invalid_request_error');
      return JSON.stringify({ type: 'error', error: { type, message: body.error?.message ?? 'error' } });
    } catch {
      return payload;
    }
  };
}

/** Prompts seen with `cache_control`, per model: the second time, the cached prefix is read. */
const promptCache = new Map<string, Set<string>>();
const PROMPT_CACHE_CAP = 10_000;

function hasCacheControl(body: MessagesBody): boolean {
  const blocks = [
    ...(Array.isArray(body.system) ? body.system : []),
    ...body.messages.flatMap((m) => (Array.isArray(m.content) ? m.content : [])),
  ];
  return blocks.some((b) => b && typeof b === 'object' && 'cache_control' in b && b.cache_control);
}

/**
 * Registers `POST /v1/messages`: Anthropic's Messages API on the same models, latency, rate
 * limits and faults as the chat route. Requests whose blocks carry `cache_control` report
 * prompt caching: the first writes the prompt (cache_creation_input_tokens), a repeat reads it
 * (cache_read_input_tokens).
 */
export function registerMessagesRoute(app: FastifyInstance, ctx: SimContext): void {
  app.post(
    '/v1/messages',
    { schema: { body: MESSAGES_BODY_SCHEMA }, onSend: anthropicShape(ctx) },
    async (request, reply) => {
      const body = request.body as MessagesBody;
      const chat = messagesToChatRequest(body);
      if (!chat.messages.some((m) => m.role === 'user' || m.role === 'tool'))
        throw new SimInvalidRequestError('messages: the first message must use the "user" role', { param: 'messages' });
      const runtime = ctx.registry.require(body.model);
      const model = runtime.options;
      if (model.kind !== 'chat')
        throw new SimInvalidRequestError(`model: ${body.model} is not a chat model`, { param: 'model', status: 404 });
      runtime.stats.add('requests');
      ctx.onChatRequest?.(chat);
      const plan = planChatReply(chat, model);
      if (plan.promptTokens > model.contextWindow)
        throw new SimInvalidRequestError(
          `prompt is too long: ${plan.promptTokens} tokens > ${model.contextWindow} maximum`,
          { param: 'messages' },
        );
      // A request of a Message Batch (replayed in process by the batch runner): the batch API has
      // its own limits and no per-request latency, so it skips admission, timing and connection faults.
      const inBatch = request.headers[BATCH_TOKEN_HEADER] === ctx.batchToken;
      const admission: Admission = inBatch
        ? { headers: {}, release: () => undefined }
        : admit(
            runtime,
            plan.promptTokens + (plan.explicitMaxTokens ? plan.maxTokens : plan.completionTokens),
            ctx.now(),
          );
      const tracked = ctx.tracker.begin(reply.raw);
      try {
        runtime.stats.add('promptTokens', plan.promptTokens);
        const id = responseId('msg');
        const headers: Record<string, string> = { ...admission.headers, 'request-id': id };
        const rolled = plan.directives.error ? 'error' : rollFault(model.faults, ctx.random);
        const fault = inBatch && rolled !== 'error' ? undefined : rolled;
        if (fault === 'error') {
          runtime.stats.add('errors');
          throw new SimInjectedFaultError('Internal server error', { headers });
        }
        if (fault === 'timeout') {
          runtime.stats.add('timeouts');
          await holdUntilAbort(reply, tracked);
          return reply;
        }
        let cacheRead = 0;
        let cacheWrite = 0;
        if (hasCacheControl(body)) {
          const seen = promptCache.get(runtime.id) ?? new Set<string>();
          promptCache.set(runtime.id, seen);
          const cached = Math.floor(plan.promptTokens * 0.9);
          if (seen.has(plan.fingerprint)) cacheRead = cached;
          else {
            cacheWrite = cached;
            if (seen.size >= PROMPT_CACHE_CAP) seen.clear();
            seen.add(plan.fingerprint);
          }
        }
        const usage = {
          input_tokens: plan.promptTokens - cacheRead - cacheWrite,
          output_tokens: plan.completionTokens,
          cache_creation_input_tokens: cacheWrite,
          cache_read_input_tokens: cacheRead,
        };
        const stopReason =
          plan.finishReason === 'length' ? 'max_tokens' : plan.finishReason === 'tool_calls' ? 'tool_use' : 'end_turn';
        const content =
          plan.choice.kind === 'text'
            ? [{ type: 'text', text: plan.choice.content }]
            : [
                {
                  type: 'tool_use',
                  id: `toolu_${plan.fingerprint}`,
                  name: plan.choice.toolCall.function.name,
                  input: JSON.parse(plan.choice.toolCall.function.arguments || '{}') as unknown,
                },
              ];
        const latency = inBatch
          ? { ttftMs: 0, perTokenMs: 0 }
          : sampleLatency(model, ctx.random, plan.directives.slowMs);
        const message = {
          id,
          type: 'message',
          role: 'assistant',
          model: runtime.id,
          content,
          stop_reason: stopReason,
          stop_sequence: null,
          usage,
        };
        if (!body.stream) {
          if (
            !(await sleep(latency.ttftMs + latency.perTokenMs * plan.completionTokens, tracked.signal)) ||
            fault === 'drop'
          ) {
            destroyConnection(reply);
            return reply;
          }
          runtime.stats.add('completionTokens', plan.completionTokens);
          return reply.code(200).headers(headers).send(message);
        }
        // The stream: headers go out now (no onSend on a hijacked reply), so they are mapped here.
        reply.hijack();
        const raw = reply.raw;
        if (!(await sleep(latency.ttftMs, tracked.signal))) {
          raw.destroy();
          return reply;
        }
        const mapped = anthropicRateLimitHeaders(headers, ctx.now());
        const plain = Object.fromEntries(Object.entries(headers).filter(([k]) => !k.startsWith('x-ratelimit-')));
        raw.writeHead(200, {
          ...plain,
          ...mapped,
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache',
        });
        const send = (event: Record<string, unknown>) =>
          raw.write(`event: ${String(event.type)}\ndata: ${JSON.stringify(event)}\n\n`);
        send({
          type: 'message_start',
          message: { ...message, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } },
        });
        send({ type: 'ping' });
        const block = content[0]! as Record<string, unknown>;
        send({
          type: 'content_block_start',
          index: 0,
          content_block: block.type === 'text' ? { type: 'text', text: '' } : { ...block, input: {} },
        });
        const full = block.type === 'text' ? String(block.text) : JSON.stringify(block.input);
        const pieces = full.match(/\S+\s*|\s+/g) ?? [];
        const perPiece = pieces.length ? (latency.perTokenMs * plan.completionTokens) / pieces.length : 0;
        const dropAfter = fault === 'drop' ? Math.floor(pieces.length / 2) : Number.POSITIVE_INFINITY;
        for (let i = 0; i < pieces.length; i++) {
          if (i >= dropAfter) {
            raw.destroy();
            return reply;
          }
          if (!(await sleep(perPiece, tracked.signal))) {
            raw.destroy();
            return reply;
          }
          send({
            type: 'content_block_delta',
            index: 0,
            delta:
              block.type === 'text'
                ? { type: 'text_delta', text: pieces[i] }
                : { type: 'input_json_delta', partial_json: pieces[i] },
          });
        }
        send({ type: 'content_block_stop', index: 0 });
        send({
          type: 'message_delta',
          delta: { stop_reason: stopReason, stop_sequence: null },
          usage: { output_tokens: plan.completionTokens },
        });
        send({ type: 'message_stop' });
        runtime.stats.add('completionTokens', plan.completionTokens);
        raw.end();
        return reply;
      } finally {
        admission.release();
        tracked.finish();
      }
    },
  );
}
