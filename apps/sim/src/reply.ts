import type { ChatCompletionRequest, ChatMessage, ChatToolCall, FinishReason } from './chat-types.ts';
import { fingerprintMessages } from './fingerprint.ts';
import { sampleFromSchema } from './json-sample.ts';
import { countChatPromptTokens, decodeTokens, encodeTokens } from './tokens.ts';
import type { SimModelOptions } from './types.ts';

/** The exact content of a `[[sim:refuse]]` reply. */
export const REFUSAL_TEXT = "I'm sorry, but I can't help with that.";

/** Longest extra latency `[[sim:slow=MS]]` may ask for, so one prompt cannot pin a socket for hours. */
export const MAX_SLOW_MS = 600_000;

/**
 * Test directives read from the last user message of a chat request.
 *
 * - `[[sim:error]]`: answer 500 `server_error`.
 * - `[[sim:refuse]]`: content is {@link REFUSAL_TEXT}, finish `stop`.
 * - `[[sim:long]]`: a reply longer than the completion cap, so it ends with finish `length`.
 * - `[[sim:tool]]`: when the request has `tools`, call the first (or the `tool_choice`) tool.
 * - `[[sim:json]]`: content is a JSON object `{"fingerprint": …, "answer": …}`.
 * - `[[sim:slow=MS]]`: add MS milliseconds before the first token.
 */
export interface ChatDirectives {
  error: boolean;
  refuse: boolean;
  long: boolean;
  tool: boolean;
  json: boolean;
  slowMs: number;
}

/** Reads the directives out of message text. */
export function parseDirectives(text: string): ChatDirectives {
  const slow = /\[\[sim:slow=(\d{1,9})\]\]/.exec(text);
  return {
    error: text.includes('[[sim:error]]'),
    refuse: text.includes('[[sim:refuse]]'),
    long: text.includes('[[sim:long]]'),
    tool: text.includes('[[sim:tool]]'),
    json: text.includes('[[sim:json]]'),
    slowMs: slow === null ? 0 : Math.min(MAX_SLOW_MS, Number(slow[1])),
  };
}

/** Plain text of a message's content (text parts joined by newlines). */
export function messageText(message: ChatMessage): string {
  const { content } = message;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) => (typeof part.text === 'string' ? part.text : ''))
    .filter((text) => text.length > 0)
    .join('\n');
}

/** What one choice of a planned reply carries. */
export type PlannedChoice =
  { kind: 'text'; content: string; tokens: number[] } | { kind: 'tool_call'; toolCall: ChatToolCall; tokens: number[] };

/** A fully worked-out chat reply: everything but the timing. */
export interface ChatReplyPlan {
  fingerprint: string;
  promptTokens: number;
  directives: ChatDirectives;
  /** Completion cap in force: `max_completion_tokens`, `max_tokens`, or the model default. */
  maxTokens: number;
  /** Whether `max_tokens`/`max_completion_tokens` was given (it then counts for the token limit). */
  explicitMaxTokens: boolean;
  choice: PlannedChoice;
  finishReason: FinishReason;
  /** Completion tokens of one choice. */
  completionTokens: number;
}

/** Plans the deterministic reply to a validated chat request. */
export function planChatReply(request: ChatCompletionRequest, model: SimModelOptions): ChatReplyPlan {
  const fingerprint = fingerprintMessages(request.messages);
  const lastUser = [...request.messages].reverse().find((message) => message.role === 'user');
  const directives = parseDirectives(lastUser === undefined ? '' : messageText(lastUser));
  const requestedMax = request.max_completion_tokens ?? request.max_tokens ?? undefined;
  const maxTokens = requestedMax ?? model.defaultMaxTokens;
  const promptTokens = countChatPromptTokens(request.messages, request.tools);
  const base = { fingerprint, promptTokens, directives, maxTokens, explicitMaxTokens: requestedMax !== undefined };

  const tool = chooseTool(request, directives);
  if (tool !== undefined) {
    const args = JSON.stringify(sampleFromSchema(tool.function.parameters ?? { type: 'object' }, fingerprint) ?? {});
    const { text, tokens, truncated } = capTokens(args, maxTokens);
    const toolCall: ChatToolCall = {
      id: `call_${fingerprint}`,
      type: 'function',
      function: { name: tool.function.name, arguments: text },
    };
    return {
      ...base,
      choice: { kind: 'tool_call', toolCall, tokens },
      finishReason: truncated ? 'length' : 'tool_calls',
      completionTokens: tokens.length,
    };
  }

  const natural = composeContent(request, model, fingerprint, directives, maxTokens);
  const { text, tokens, truncated } = capTokens(natural, maxTokens);
  return {
    ...base,
    choice: { kind: 'text', content: text, tokens },
    finishReason: truncated ? 'length' : 'stop',
    completionTokens: tokens.length,
  };
}

function chooseTool(request: ChatCompletionRequest, directives: ChatDirectives) {
  const tools = request.tools ?? [];
  const choice = request.tool_choice;
  if (tools.length === 0 || choice === 'none') return undefined;
  if (typeof choice === 'object') return tools.find((tool) => tool.function.name === choice.function.name) ?? tools[0];
  return directives.tool || choice === 'required' ? tools[0] : undefined;
}

function composeContent(
  request: ChatCompletionRequest,
  model: SimModelOptions,
  fingerprint: string,
  directives: ChatDirectives,
  maxTokens: number,
): string {
  if (directives.refuse) return REFUSAL_TEXT;
  const format = request.response_format;
  if (format?.type === 'json_schema' && format.json_schema?.schema !== undefined) {
    return JSON.stringify(sampleFromSchema(format.json_schema.schema, fingerprint));
  }
  // Every word is at least one token, so cap + 16 words always overflows the cap.
  const words = directives.long ? maxTokens + 16 : replyWordCount(fingerprint, model);
  const filler = fillerText(fingerprint, words);
  if (directives.json || format?.type === 'json_object') return JSON.stringify({ fingerprint, answer: filler });
  return `[sim:${fingerprint}] ${filler}`;
}

function capTokens(text: string, maxTokens: number): { text: string; tokens: number[]; truncated: boolean } {
  const tokens = encodeTokens(text);
  if (tokens.length <= maxTokens) return { text, tokens, truncated: false };
  const kept = tokens.slice(0, maxTokens);
  return { text: decodeTokens(kept), tokens: kept, truncated: true };
}

/** Natural reply length in words, in `[minReplyWords, maxReplyWords]`, fixed by the fingerprint. */
export function replyWordCount(
  fingerprint: string,
  model: Pick<SimModelOptions, 'minReplyWords' | 'maxReplyWords'>,
): number {
  const span = model.maxReplyWords - model.minReplyWords + 1;
  return model.minReplyWords + (Number.parseInt(fingerprint.slice(0, 8), 16) % span);
}

const VOCABULARY = [
  'the',
  'queue',
  'model',
  'answer',
  'request',
  'token',
  'latency',
  'cache',
  'worker',
  'route',
  'simple',
  'careful',
  'quick',
  'steady',
  'small',
  'large',
  'useful',
  'clear',
  'exact',
  'shared',
  'returns',
  'handles',
  'measures',
  'keeps',
  'sends',
  'reads',
  'writes',
  'checks',
  'builds',
  'counts',
  'a',
  'each',
  'every',
  'this',
  'that',
  'one',
  'its',
  'their',
  'our',
  'some',
  'budget',
  'limit',
  'stream',
  'chunk',
  'reply',
  'prompt',
  'vector',
  'window',
  'server',
  'client',
  'with',
  'for',
  'from',
  'into',
  'over',
  'under',
  'before',
  'after',
  'while',
  'because',
  'fast',
  'slow',
  'cheap',
  'costly',
  'stable',
  'fresh',
  'stale',
  'busy',
  'idle',
  'ready',
  'and',
  'or',
  'then',
  'so',
  'yet',
  'also',
  'still',
  'again',
  'often',
  'rarely',
] as const;

/**
 * Deterministic filler of exactly `words` words, seeded by the fingerprint: sentences of 4 to
 * 14 words, capitalised and full-stopped. Plain ASCII, so any token prefix decodes cleanly.
 */
export function fillerText(fingerprint: string, words: number): string {
  const next = seededRandom(fingerprint);
  const out: string[] = [];
  let sentenceLeft = 0;
  for (let index = 0; index < words; index += 1) {
    let word: string = VOCABULARY[Math.floor(next() * VOCABULARY.length)]!;
    if (sentenceLeft === 0) {
      sentenceLeft = 4 + Math.floor(next() * 11);
      word = word[0]!.toUpperCase() + word.slice(1);
    }
    sentenceLeft -= 1;
    out.push(sentenceLeft === 0 || index === words - 1 ? `${word}.` : word);
  }
  return out.join(' ');
}

/** sfc32 seeded from the 64 fingerprint bits: tiny, fast, and well distributed. */
function seededRandom(fingerprint: string): () => number {
  const high = Number.parseInt(fingerprint.slice(0, 8), 16) | 0;
  const low = Number.parseInt(fingerprint.slice(8, 16), 16) | 0;
  let a = high;
  let b = low;
  let c = high ^ 0x9e3779b9;
  let d = low ^ 0x85ebca6b;
  const next = (): number => {
    a |= 0;
    b |= 0;
    c |= 0;
    d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  // sfc32 needs a few rounds before its output stops echoing the seed.
  for (let round = 0; round < 12; round += 1) next();
  return next;
}
