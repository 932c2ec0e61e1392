/**
 * A chat job served by a deployment with `"api": "anthropic"`: the chat request becomes a
 * Messages API request, Anthropic's message (or its stream) becomes an OpenAI
 * `chat.completion` (or its chunks), and Anthropic's usage, errors and rate-limit headers are
 * mapped onto what the limiter and the ledger read.
 */
import Anthropic, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from '@anthropic-ai/sdk';
import type { ResolvedDeployment } from '@sluice/config';
import type { ChatMessage, ChatRequest, JobUsage } from '@sluice/queues';
import { messageText } from './tokens.ts';
import {
  headersOf,
  toUpstreamError,
  UpstreamError,
  type CallOptions,
  type SdkErrorClasses,
  type UpstreamCompletion,
} from './upstream.ts';
import { pooledFetch } from './pooled-fetch.ts';

type Part = Record<string, any>;

/** `max_tokens` is required by Anthropic; this is sent when the client set none. */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 4_096;

function userBlocks(content: ChatMessage['content']): Part[] {
  if (typeof content === 'string') return content ? [{ type: 'text', text: content }] : [];
  if (!Array.isArray(content)) return [];
  return (content as Part[]).flatMap((p: Part): Part[] => {
    if (p.type === 'text') return [{ type: 'text', text: String(p.text ?? '') }];
    if (p.type === 'image_url') {
      const url = String(p.image_url?.url ?? '');
      const data = /^data:([^;]+);base64,(.*)$/s.exec(url);
      return [
        data
          ? { type: 'image', source: { type: 'base64', media_type: data[1], data: data[2] } }
          : { type: 'image', source: { type: 'url', url } },
      ];
    }
    return [];
  });
}

function parseArguments(args: unknown): unknown {
  try {
    return typeof args === 'string' && args ? JSON.parse(args) : {};
  } catch {
    return {};
  }
}

/** A chat request as Anthropic Messages API parameters (without `stream`). */
export function chatToAnthropic(request: ChatRequest, model: string): Anthropic.MessageCreateParamsNonStreaming {
  const system: string[] = [];
  const messages: Array<{ role: 'user' | 'assistant'; content: Part[] }> = [];
  const push = (role: 'user' | 'assistant', blocks: Part[]) => {
    if (!blocks.length) return;
    const last = messages.at(-1);
    // Anthropic wants turns to alternate; consecutive ones of a role (tool results, then text) merge.
    if (last?.role === role) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };
  for (const m of request.messages) {
    if (m.role === 'system' || m.role === 'developer') system.push(messageText(m.content));
    else if (m.role === 'user') push('user', userBlocks(m.content));
    else if (m.role === 'tool')
      push('user', [
        { type: 'tool_result', tool_use_id: String(m.tool_call_id ?? ''), content: messageText(m.content) },
      ]);
    else if (m.role === 'assistant') {
      const blocks: Part[] = [];
      const text = messageText(m.content);
      if (text) blocks.push({ type: 'text', text });
      for (const tc of (m.tool_calls ?? []) as Part[])
        blocks.push({
          type: 'tool_use',
          id: String(tc.id),
          name: String(tc.function?.name ?? ''),
          input: parseArguments(tc.function?.arguments),
        });
      push('assistant', blocks);
    }
  }
  const r = request as ChatRequest & Record<string, any>;
  const format = r.response_format as Part | undefined;
  if (format?.type === 'json_schema')
    system.push(
      `Answer with one JSON value only, no prose, matching this JSON schema:\n${JSON.stringify(format.json_schema?.schema ?? {})}`,
    );
  else if (format?.type === 'json_object') system.push('Answer with one JSON object only, no prose.');
  // Loosely typed: sampling fields (temperature, top_p) are not in every SDK version's types.
  const params: Part = {
    model,
    max_tokens: r.max_completion_tokens ?? r.max_tokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS,
    messages,
  };
  // The system prompt is the part most often repeated verbatim: marked for Anthropic's prompt
  // cache, a repeat is billed at the cache-read price (a no-op below the provider's minimum size).
  if (system.length)
    params.system = [{ type: 'text', text: system.join('\n\n'), cache_control: { type: 'ephemeral' } }];
  // Anthropic's temperature range is 0..1, OpenAI's 0..2.
  if (typeof r.temperature === 'number') params.temperature = Math.min(1, r.temperature);
  if (typeof r.top_p === 'number') params.top_p = r.top_p;
  if (r.stop) params.stop_sequences = Array.isArray(r.stop) ? r.stop : [r.stop];
  if (Array.isArray(r.tools) && r.tools.length) {
    params.tools = (r.tools as Part[]).map((t) => ({
      name: t.function?.name,
      ...(t.function?.description ? { description: t.function.description } : {}),
      input_schema: t.function?.parameters ?? { type: 'object' },
    }));
    const choice = r.tool_choice;
    if (choice === 'required') params.tool_choice = { type: 'any' };
    else if (choice === 'none') params.tool_choice = { type: 'none' };
    else if (choice && typeof choice === 'object' && (choice as Part).function?.name)
      params.tool_choice = { type: 'tool', name: (choice as Part).function.name };
    else if (choice === 'auto') params.tool_choice = { type: 'auto' };
  }
  if (typeof r.user === 'string' && r.user) params.metadata = { user_id: r.user };
  return params as Anthropic.MessageCreateParamsNonStreaming;
}

const FINISH: Record<string, string> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
  pause_turn: 'stop',
};

/** Anthropic's `stop_reason` as a chat `finish_reason`. */
export const finishReason = (stop: string | null | undefined): string => FINISH[stop ?? 'end_turn'] ?? 'stop';

/**
 * Anthropic usage as chat usage: the prompt counts every input token (uncached, written to
 * and read from the prompt cache), and the details keep the cache reads and writes.
 */
export function anthropicToChatUsage(u: Part | undefined): JobUsage & Record<string, unknown> {
  const read = Number(u?.cache_read_input_tokens ?? 0);
  const write = Number(u?.cache_creation_input_tokens ?? 0);
  const prompt = Number(u?.input_tokens ?? 0) + read + write;
  const completion = Number(u?.output_tokens ?? 0);
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: read, cache_write_tokens: write },
  };
}

/** An Anthropic message as an OpenAI `chat.completion`. */
export function anthropicToCompletion(message: Part, id: string, model: string): UpstreamCompletion['completion'] {
  const blocks = (message.content ?? []) as Part[];
  const text = blocks
    .filter((b) => b.type === 'text')
    .map((b) => String(b.text ?? ''))
    .join('');
  const calls = blocks
    .filter((b) => b.type === 'tool_use')
    .map((b) => ({
      id: String(b.id),
      type: 'function',
      function: { name: String(b.name), arguments: JSON.stringify(b.input ?? {}) },
    }));
  const msg: UpstreamCompletion['completion']['choices'][number]['message'] = {
    role: 'assistant',
    content: calls.length && !text ? null : text,
    refusal: null,
  };
  if (calls.length) msg.tool_calls = calls;
  return {
    id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: msg, finish_reason: finishReason(message.stop_reason), logprobs: null }],
    usage: anthropicToChatUsage(message.usage),
  };
}

/**
 * Anthropic's `anthropic-ratelimit-*` headers as the `x-ratelimit-*` ones the limiter learns
 * from (resets from RFC 3339 times to durations); every other header is kept.
 */
export function mapAnthropicHeaders(headers: Record<string, string>, now = Date.now()): Record<string, string> {
  const out = { ...headers };
  for (const kind of ['requests', 'tokens'] as const) {
    const limit = headers[`anthropic-ratelimit-${kind}-limit`];
    if (limit === undefined) continue;
    out[`x-ratelimit-limit-${kind}`] = limit;
    const remaining = headers[`anthropic-ratelimit-${kind}-remaining`];
    if (remaining !== undefined) out[`x-ratelimit-remaining-${kind}`] = remaining;
    const reset = Date.parse(headers[`anthropic-ratelimit-${kind}-reset`] ?? '');
    if (Number.isFinite(reset)) out[`x-ratelimit-reset-${kind}`] = `${Math.max(0, (reset - now) / 1000).toFixed(3)}s`;
  }
  return out;
}

const ANTHROPIC_ERRORS: SdkErrorClasses = {
  APIError,
  APIUserAbortError,
  APIConnectionTimeoutError,
  APIConnectionError,
};

/** Calls Anthropic Messages API deployments with the official SDK (SDK retries off: Sluice decides). */
export class AnthropicUpstream {
  readonly #clients = new Map<string, Anthropic>();

  #client(d: ResolvedDeployment): Anthropic {
    let c = this.#clients.get(d.id);
    if (!c) {
      // The SDK appends `/v1/messages` to its base URL; deployments name the `/v1` root.
      c = new Anthropic({
        baseURL: d.baseUrl.replace(/\/v1\/?$/, ''),
        apiKey: d.apiKey || 'sluice-no-key',
        maxRetries: 0,
        timeout: d.timeoutMs,
        fetch: pooledFetch(),
      });
      this.#clients.set(d.id, c);
    }
    return c;
  }

  /** One chat completion on an Anthropic deployment; streams (and relays chunks) with `onChunk`. */
  async complete(
    deployment: ResolvedDeployment,
    request: ChatRequest,
    options: CallOptions,
    seen: { model?: string; id?: string },
  ): Promise<UpstreamCompletion> {
    const params = chatToAnthropic(request, deployment.model);
    let headers: Record<string, string> = {};
    try {
      if (!options.onChunk) {
        const { data, response } = await this.#client(deployment)
          .messages.create(params, { signal: options.signal })
          .withResponse();
        headers = mapAnthropicHeaders(headersOf(response.headers as Headers));
        seen.model = data.model;
        seen.id = data.id;
        return {
          completion: anthropicToCompletion(data as unknown as Part, options.completionId, deployment.model),
          headers,
        };
      }
      const { data: stream, response } = await this.#client(deployment)
        .messages.create({ ...params, stream: true }, { signal: options.signal })
        .withResponse();
      headers = mapAnthropicHeaders(headersOf(response.headers as Headers));
      const created = Math.floor(Date.now() / 1000);
      const base = { id: options.completionId, object: 'chat.completion.chunk', created, model: deployment.model };
      const chunk = (delta: Part, finish: string | null = null) => ({
        ...base,
        choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
      });
      const message: Part = { content: [] as Part[], stop_reason: null, usage: {} };
      const toolIndex = new Map<number, number>();
      let stopped = false;
      await options.onChunk(chunk({ role: 'assistant', content: '' }));
      for await (const event of stream as AsyncIterable<Part>) {
        if (event.type === 'message_start') {
          seen.model = event.message?.model;
          seen.id = event.message?.id;
          message.usage = { ...event.message?.usage };
        } else if (event.type === 'content_block_start') {
          const block = { ...event.content_block } as Part;
          if (block.type === 'tool_use') {
            block.partial = '';
            toolIndex.set(event.index, toolIndex.size);
            await options.onChunk(
              chunk({
                tool_calls: [
                  {
                    index: toolIndex.get(event.index),
                    id: block.id,
                    type: 'function',
                    function: { name: block.name, arguments: '' },
                  },
                ],
              }),
            );
          }
          message.content[event.index] = block;
        } else if (event.type === 'content_block_delta') {
          const block = message.content[event.index] as Part | undefined;
          if (event.delta?.type === 'text_delta' && block) {
            block.text = String(block.text ?? '') + event.delta.text;
            await options.onChunk(chunk({ content: event.delta.text }));
          } else if (event.delta?.type === 'input_json_delta' && block) {
            block.partial += event.delta.partial_json;
            await options.onChunk(
              chunk({
                tool_calls: [{ index: toolIndex.get(event.index), function: { arguments: event.delta.partial_json } }],
              }),
            );
          }
        } else if (event.type === 'content_block_stop') {
          const block = message.content[event.index] as Part | undefined;
          if (block?.type === 'tool_use') block.input = parseArguments(block.partial || '{}');
        } else if (event.type === 'message_delta') {
          message.stop_reason = event.delta?.stop_reason ?? message.stop_reason;
          for (const [k, v] of Object.entries(event.usage ?? {}))
            if (v !== null && v !== undefined) message.usage[k] = v;
        } else if (event.type === 'message_stop') {
          stopped = true;
        }
      }
      if (!stopped)
        throw new UpstreamError(
          'The upstream stream ended before the answer was complete',
          'stream_dropped',
          deployment.id,
          undefined,
          undefined,
          headers,
        );
      const completion = anthropicToCompletion(message, options.completionId, deployment.model);
      await options.onChunk(chunk({}, completion.choices[0]!.finish_reason));
      await options.onChunk({ ...base, choices: [], usage: completion.usage });
      return { completion, headers };
    } catch (error) {
      throw toUpstreamError(error, deployment.id, headers, { sdk: ANTHROPIC_ERRORS, mapHeaders: mapAnthropicHeaders });
    }
  }
}
