import { Tiktoken } from 'js-tiktoken/lite';
import o200k from 'js-tiktoken/ranks/o200k_base';
import cl100k from 'js-tiktoken/ranks/cl100k_base';

/** Tokenizer encodings Sluice ships (ranks bundled in `js-tiktoken`, nothing downloaded). */
export type Encoding = 'o200k_base' | 'cl100k_base';

const encoders = new Map<Encoding, Tiktoken>();

function encoder(encoding: Encoding): Tiktoken {
  let enc = encoders.get(encoding);
  if (!enc) {
    enc = new Tiktoken(encoding === 'o200k_base' ? o200k : cl100k);
    encoders.set(encoding, enc);
  }
  return enc;
}

/**
 * The tokenizer family for a model name. GPT-4o, GPT-4.1, o-series and the simulator's models
 * use o200k; GPT-4 / 3.5 use cl100k. Other families (Claude, Llama) have no public BPE in
 * js-tiktoken; o200k is used as an estimate for them (within ~10% on English text).
 */
export function encodingForModel(model: string): Encoding {
  const m = model.toLowerCase();
  if (/^(gpt-4(?!o|\.1)|gpt-3\.5|text-embedding-(ada|3))/.test(m)) return 'cl100k_base';
  return 'o200k_base';
}

/** Most texts whose counts one process remembers, per encoding. */
const MEMO_ENTRIES = 2_048;
/** Longest text remembered (chars): bounds the memo to ~8 MB per encoding. */
const MEMO_MAX_CHARS = 2_000;
const memos = new Map<Encoding, Map<string, number>>();

/**
 * Tokens in a piece of text for a model. Counts of short texts are remembered (least recently
 * used first out): one request's prompt is counted by the API (routing features, the
 * counterfactual of a cache hit) and by the executor (the limiter's estimate, the
 * counterfactual) with the same encoding, and BPE was 6–13 % of each process's CPU on the
 * cache-miss path before (CPU profiles of `bench:cluster`-style load).
 */
export function countTokens(text: string, model = 'gpt-4o'): number {
  if (!text) return 0;
  const encoding = encodingForModel(model);
  if (text.length > MEMO_MAX_CHARS) return encoder(encoding).encode(text, 'all').length;
  let memo = memos.get(encoding);
  if (!memo) memos.set(encoding, (memo = new Map()));
  let count = memo.get(text);
  if (count !== undefined) {
    // Re-insert: a Map iterates in insertion order, so the first key is the least recent.
    memo.delete(text);
  } else {
    count = encoder(encoding).encode(text, 'all').length;
    if (memo.size >= MEMO_ENTRIES) memo.delete(memo.keys().next().value!);
  }
  memo.set(text, count);
  return count;
}

/** A count of one text, carried to another process with the text (see {@link rememberTokenCount}). */
export interface TokenCount {
  readonly encoding: Encoding;
  readonly count: number;
}

/** {@link countTokens} of `text` for `model`, with the encoding it was counted in. */
export function tokenCountOf(text: string, model = 'gpt-4o'): TokenCount {
  return { encoding: encodingForModel(model), count: countTokens(text, model) };
}

/**
 * Remember a count another process made of `text` with {@link tokenCountOf} (it travels with a
 * job), so that counting the same text here answers from memory instead of running the
 * tokenizer again. Anything that is not such a count is ignored.
 */
export function rememberTokenCount(text: string, carried: unknown): void {
  if (!text || text.length > MEMO_MAX_CHARS || !carried || typeof carried !== 'object') return;
  const { encoding, count } = carried as Partial<TokenCount>;
  if ((encoding !== 'o200k_base' && encoding !== 'cl100k_base') || !Number.isSafeInteger(count) || count! < 0) return;
  let memo = memos.get(encoding);
  if (!memo) memos.set(encoding, (memo = new Map()));
  if (memo.has(text)) return;
  if (memo.size >= MEMO_ENTRIES) memo.delete(memo.keys().next().value!);
  memo.set(text, count!);
}

/** A message shape enough for counting. */
export interface CountableMessage {
  role: string;
  content?: unknown;
  name?: string;
  tool_calls?: unknown;
}

/** Text of a message's content (string or parts). */
export function messageText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((p) =>
        p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string'
          ? (p as { text: string }).text
          : '',
      )
      .join('\n');
  }
  return '';
}

/**
 * Prompt tokens of a chat request as OpenAI bills them: content tokens plus a fixed
 * overhead of 3 per message and 3 for the reply primer (OpenAI cookbook accounting).
 */
export function countChatTokens(messages: readonly CountableMessage[], model = 'gpt-4o'): number {
  let total = 3;
  for (const m of messages) {
    total += 3 + countTokens(messageText(m.content), model) + countTokens(m.role, model);
    if (m.name) total += 1 + countTokens(m.name, model);
    if (m.tool_calls) total += countTokens(JSON.stringify(m.tool_calls), model);
  }
  return total;
}
