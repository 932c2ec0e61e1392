import { createHash } from 'node:crypto';
import { encodeTokens } from './tokens.ts';
import type { CountableMessage } from './tokens.ts';

/** OpenAI caches prompts from this many tokens on. */
export const PROMPT_CACHE_MIN_TOKENS = 1024;
/** …and in steps of this many tokens beyond the minimum. */
export const PROMPT_CACHE_STEP_TOKENS = 128;

/** Options for {@link PromptCache}. */
export interface PromptCacheOptions {
  /**
   * How long a prefix stays cached after it was last used (ms). OpenAI documents 5–10
   * minutes of inactivity.
   * @defaultValue 300_000
   */
  ttlMs?: number;
  /**
   * Prefixes kept at most; the least recently used go first.
   * @defaultValue 100_000
   */
  maxEntries?: number;
}

/**
 * The provider-side prompt cache OpenAI applies to every request, as the simulator models it:
 * a prompt of at least 1,024 tokens whose first tokens match a recent prompt's reports the
 * matched prefix, in 128-token steps, as `usage.prompt_tokens_details.cached_tokens`. Prefixes
 * are compared on the token sequence of tools, then each message's role and content, so a
 * change anywhere ends the cached prefix at that point, as it does upstream.
 */
export class PromptCache {
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  /** Prefix hash → last use (ms); Map order is recency order. */
  readonly #entries = new Map<string, number>();

  constructor(options: PromptCacheOptions = {}) {
    this.#ttlMs = options.ttlMs ?? 300_000;
    this.#maxEntries = options.maxEntries ?? 100_000;
  }

  /**
   * Cached tokens of a prompt of `promptTokens` tokens sent to `model` at `now`, and records its prefixes
   * for the requests after it. Prompts under the minimum are neither served nor stored.
   */
  lookupAndStore(
    model: string,
    messages: readonly CountableMessage[],
    tools: unknown,
    promptTokens: number,
    now: number,
  ): number {
    if (promptTokens < PROMPT_CACHE_MIN_TOKENS) return 0;
    const tokens = encodeTokens(renderPrompt(messages, tools));
    // Chained hashes, one per step boundary: linear in the prompt, however long it is. Each
    // model has its own cache, as each upstream model does.
    const chain = createHash('sha1').update(model);
    let previous = 0;
    let cached = 0;
    for (let boundary = PROMPT_CACHE_MIN_TOKENS; boundary <= tokens.length; boundary += PROMPT_CACHE_STEP_TOKENS) {
      chain.update(Int32Array.from(tokens.slice(previous, boundary)));
      const digest = chain.copy().digest('base64');
      previous = boundary;
      const seen = this.#entries.get(digest);
      // A chained hash stands for the whole prefix up to its boundary, so the longest match wins.
      if (seen !== undefined && now - seen <= this.#ttlMs) cached = boundary;
      this.#entries.delete(digest);
      this.#entries.set(digest, now);
    }
    while (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value as string);
    // The prompt's own count frames messages differently from the rendering; never report more than it.
    return Math.min(cached, promptTokens);
  }
}

/** The text whose tokens prefixes are compared on. */
function renderPrompt(messages: readonly CountableMessage[], tools: unknown): string {
  let text = Array.isArray(tools) && tools.length > 0 ? `${JSON.stringify(tools)}\n` : '';
  for (const message of messages) {
    const content = typeof message.content === 'string' ? message.content : JSON.stringify(message.content ?? null);
    text += `<|${message.role}|>${content}${message.tool_calls === undefined ? '' : JSON.stringify(message.tool_calls)}\n`;
  }
  return text;
}
