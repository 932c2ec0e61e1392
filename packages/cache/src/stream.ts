import type { CompletionLike } from './policy.ts';

/** One OpenAI `chat.completion.chunk` object, as sent in an SSE `data:` line. */
export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  system_fingerprint?: string | null;
  choices: Array<{
    index: number;
    delta: { role?: 'assistant'; content?: string | null; tool_calls?: unknown[]; refusal?: string | null };
    logprobs: null;
    finish_reason: string | null;
  }>;
  /** Present (as `null`, or the totals on the last chunk) only when usage was asked for. */
  usage?: CompletionLike['usage'];
}

/** Options for {@link completionToChunks}. */
export interface CompletionToChunksOptions {
  /** Add the final usage chunk (`stream_options.include_usage`), and `usage: null` on the others, as OpenAI does. @defaultValue false */
  includeUsage?: boolean;
  /** Words per content chunk. @defaultValue 4 */
  wordsPerChunk?: number;
  /** Completion id to send (a replayed hit usually gets the new job's id). @defaultValue the completion's `id` */
  id?: string;
  /** Unix seconds to send. @defaultValue the completion's `created` */
  created?: number;
  /** Model name to send. @defaultValue the completion's `model` */
  model?: string;
}

/** Split text into pieces of about `words` words; joined back they equal the input exactly. */
function splitWords(text: string, words: number): string[] {
  const pieces = text.match(/\s*\S+/g);
  if (!pieces) return text ? [text] : [];
  const out: string[] = [];
  for (let i = 0; i < pieces.length; i += words) out.push(pieces.slice(i, i + words).join(''));
  const trailing = text.slice(out.join('').length);
  if (trailing) out[out.length - 1] += trailing;
  return out;
}

/**
 * Turn a finished `chat.completion` into the `chat.completion.chunk` objects a streaming call
 * would have produced, so a cache hit for a `stream: true` request replays as OpenAI SSE:
 * per choice a role chunk, content chunks of a few words (or tool-call chunks), a final chunk
 * with `finish_reason`, then, when asked, one usage chunk with empty `choices`. Also used for
 * a job that finished before its streaming client attached. Each is sent
 * as `data: <json>\n\n`, followed by `data: [DONE]\n\n`.
 */
export function completionToChunks(
  completion: CompletionLike,
  options: CompletionToChunksOptions = {},
): ChatCompletionChunk[] {
  const wordsPerChunk = Math.max(1, Math.floor(options.wordsPerChunk ?? 4));
  const base = {
    id: options.id ?? completion.id ?? 'chatcmpl-cache',
    object: 'chat.completion.chunk' as const,
    created: options.created ?? completion.created ?? 0,
    model: options.model ?? completion.model ?? '',
    ...('system_fingerprint' in completion
      ? { system_fingerprint: (completion.system_fingerprint as string | null) ?? null }
      : {}),
    ...(options.includeUsage ? { usage: null } : {}),
  };
  const chunks: ChatCompletionChunk[] = [];
  const push = (
    index: number,
    delta: ChatCompletionChunk['choices'][number]['delta'],
    finishReason: string | null = null,
  ) => chunks.push({ ...base, choices: [{ index, delta, logprobs: null, finish_reason: finishReason }] });

  (completion.choices ?? []).forEach((choice, position) => {
    const index = choice.index ?? position;
    const message = choice.message ?? {};
    push(index, { role: 'assistant', content: '' });
    const content = typeof message.content === 'string' ? message.content : '';
    for (const piece of splitWords(content, wordsPerChunk)) push(index, { content: piece });
    if (typeof message.refusal === 'string' && message.refusal) push(index, { refusal: message.refusal });
    const toolCalls = Array.isArray(message.tool_calls) ? message.tool_calls : [];
    toolCalls.forEach((call, callIndex) => {
      const c = call as { id?: string; type?: string; function?: { name?: string; arguments?: string } };
      push(index, {
        tool_calls: [
          {
            index: callIndex,
            id: c.id,
            type: c.type ?? 'function',
            function: { name: c.function?.name, arguments: c.function?.arguments ?? '' },
          },
        ],
      });
    });
    push(index, {}, choice.finish_reason ?? 'stop');
  });

  if (options.includeUsage) chunks.push({ ...base, choices: [], usage: completion.usage ?? null });
  return chunks;
}
