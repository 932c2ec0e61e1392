import { Tiktoken } from 'js-tiktoken/lite';
import o200kBase from 'js-tiktoken/ranks/o200k_base';

let encoder: Tiktoken | undefined;

/**
 * The shared `o200k_base` encoder (GPT-4o's). Building it parses the bundled ranks and takes
 * about a second, so it is built once per process, on first use or on {@link warmTokenizer}.
 */
function getEncoder(): Tiktoken {
  encoder ??= new Tiktoken(o200kBase);
  return encoder;
}

/** Builds the encoder now, so the first request does not pay for it. */
export function warmTokenizer(): void {
  getEncoder();
}

/**
 * Token ids of `text`. Special-token text such as `<|endoftext|>` is encoded as ordinary text:
 * js-tiktoken throws on it by default, and user input must never cause a 5xx.
 */
export function encodeTokens(text: string): number[] {
  return getEncoder().encode(text, [], []);
}

/** Text of token ids. */
export function decodeTokens(tokens: readonly number[]): string {
  return getEncoder().decode([...tokens]);
}

/** Number of tokens in `text`. */
export function countTokens(text: string): number {
  return text.length === 0 ? 0 : encodeTokens(text).length;
}

/** Per-message framing overhead of the chat format (OpenAI cookbook, gpt-4o family). */
const TOKENS_PER_MESSAGE = 3;
/** Every reply is primed with `<|start|>assistant<|message|>`. */
const TOKENS_REPLY_PRIMING = 3;
/** What OpenAI bills for a low-detail image part. */
const TOKENS_PER_IMAGE = 85;

/** A chat message as the token counter reads it. */
export interface CountableMessage {
  role: string;
  name?: unknown;
  content?: unknown;
  tool_calls?: unknown;
}

/**
 * Prompt tokens of a chat request, counted the way OpenAI documents for its chat format:
 * content and role of each message plus framing, plus the serialised tool definitions.
 */
export function countChatPromptTokens(messages: readonly CountableMessage[], tools?: unknown): number {
  let total = TOKENS_REPLY_PRIMING;
  for (const message of messages) {
    total += TOKENS_PER_MESSAGE + countTokens(message.role);
    if (typeof message.name === 'string') total += 1 + countTokens(message.name);
    if (typeof message.content === 'string') {
      total += countTokens(message.content);
    } else if (Array.isArray(message.content)) {
      for (const part of message.content as unknown[]) total += countContentPart(part);
    }
    if (message.tool_calls !== undefined) total += countTokens(JSON.stringify(message.tool_calls));
  }
  if (Array.isArray(tools) && tools.length > 0) total += countTokens(JSON.stringify(tools));
  return total;
}

function countContentPart(part: unknown): number {
  if (typeof part !== 'object' || part === null) return 0;
  const { type, text } = part as { type?: unknown; text?: unknown };
  if (typeof text === 'string') return countTokens(text);
  return type === 'image_url' ? TOKENS_PER_IMAGE : 0;
}
