import { createHash } from 'node:crypto';
import { countChatTokens, messageText } from '@sluice/llm';
import type { ChatMessage } from '@sluice/queues';
import { InvalidRoutingOptionsError } from '../errors.ts';
import { constraintsMessage, extractConstraints, mergeConstraints, type ConstraintBuffer } from './constraints.ts';

/** A stored rolling summary of a conversation's older messages. */
export interface StoredSummary {
  text: string;
  /** Absolute index one past the last message it covers (it covers messages `[0, coversUpTo)`). */
  coversUpTo: number;
  /** {@link coverHash} of the messages it covers: a summary of a different history is never used. */
  lastCoveredHash: string;
  /** ms since epoch. */
  updatedAt: number;
}

/** Options for {@link buildContext}. */
export interface BuildContextOptions {
  /** The whole conversation (system messages included), oldest first. */
  messages: readonly ChatMessage[];
  /** Input tokens the built context may use. Below it, the full history is sent unchanged. */
  maxInputTokens: number;
  /** Tokenizer family. @defaultValue `'gpt-4o'` */
  model?: string;
  /** Messages at the end always sent verbatim (the window starts at a user message at or before them). @defaultValue 6 */
  keepLastMessages?: number;
  /** Messages outside summary and minimal window before a summary update is requested. @defaultValue 8 */
  summarizeBatch?: number;
  /** The stored summary, if one is ready. */
  summary?: StoredSummary;
  /** The stored constraint buffer (merged with what the messages state). */
  constraints?: ConstraintBuffer;
  /** Absolute index of `messages[0]` (a stored conversation may have trimmed its head). @defaultValue 0 */
  offset?: number;
  /** System messages sent first that are not part of `messages` (a stored conversation's request-level system prompt). */
  system?: readonly ChatMessage[];
}

/** How the context was built. */
export type ContextMode = 'full' | 'summary' | 'window' | 'summary+window';

/** What {@link buildContext} returns. */
export interface BuiltContext {
  /** Messages to send upstream. */
  messages: ChatMessage[];
  mode: ContextMode;
  /** Prompt tokens of the full history, and of {@link BuiltContext.messages}. */
  fullTokens: number;
  tokens: number;
  /** The merged constraint buffer (store it). */
  constraints: ConstraintBuffer;
  /** Messages neither sent verbatim nor covered by the summary (0 when a summary is current). */
  dropped: number;
  /** Absolute message range to fold into the summary next (enqueue a summary job), if any. */
  summaryRequest?: { from: number; to: number };
}

/** A short, stable hash of one message (role and text), used to check a summary still fits the history. */
export function messageHash(message: ChatMessage): string {
  return createHash('sha1')
    .update(`${message.role}\n${messageText(message.content)}`)
    .digest('hex')
    .slice(0, 16);
}

/**
 * Fingerprint of the first `upTo` (absolute) messages a summary covers. With the whole
 * history at hand (`offset` 0) it hashes every covered message, so an edited history never
 * reuses a stale summary; a trimmed stored history can only check the last covered message.
 */
export function coverHash(messages: readonly ChatMessage[], offset: number, upTo: number): string {
  const last = upTo - 1 - offset;
  if (last < 0 || last >= messages.length) return '';
  if (offset > 0) return `m:${messageHash(messages[last]!)}`;
  const hash = createHash('sha1');
  for (let i = 0; i <= last; i++) hash.update(messageHash(messages[i]!));
  return `p:${hash.digest('hex').slice(0, 16)}`;
}

/** The system message that carries the rolling summary. */
export function summaryMessage(summary: StoredSummary): ChatMessage {
  return {
    role: 'system',
    content: `Summary of the earlier part of this conversation (its first ${summary.coversUpTo} messages). The hard constraints above take precedence over it:\n${summary.text}`,
  };
}

const isSystem = (m: ChatMessage) => m.role === 'system' || m.role === 'developer';

// Token counts of recent messages. A conversation's history is re-sent (or re-read from the
// store) on every turn, so without this each request re-tokenizes the whole conversation
// (measured: the 4 × 10 × 60-turn conversation tests went from 52 s to 9 s with it).
// Keyed by a hash, not the text, so the cache holds no prompt text.
const TOKEN_CACHE_SIZE = 20_000;
const tokenCache = new Map<string, number>();

function messageTokens(m: ChatMessage, model: string): number {
  if (m.tool_calls || m.name) return countChatTokens([m], model) - 3;
  const key = `${model}\n${m.role}\n${createHash('sha1').update(messageText(m.content)).digest('base64')}`;
  const hit = tokenCache.get(key);
  if (hit !== undefined) {
    tokenCache.delete(key);
    tokenCache.set(key, hit); // most recently used last
    return hit;
  }
  const tokens = countChatTokens([m], model) - 3;
  tokenCache.set(key, tokens);
  if (tokenCache.size > TOKEN_CACHE_SIZE) tokenCache.delete(tokenCache.keys().next().value!);
  return tokens;
}

/**
 * Build a token-budgeted context. Under `maxInputTokens` the history is sent as is. Over it:
 * the system messages, then the constraint buffer (every hard constraint the user stated,
 * verbatim, as a system message), then the rolling summary when one is ready and still
 * matches the history, then as many of the latest messages as fit (never fewer than
 * `keepLastMessages`, starting at a user turn so a tool result never loses its call).
 * Without a summary this is the plain window: nothing waits for one. When enough messages
 * have fallen out of the window, it asks for the summary to be extended (`summaryRequest`,
 * from where the current summary stops: updates are incremental).
 */
export function buildContext(options: BuildContextOptions): BuiltContext {
  const { messages, maxInputTokens } = options;
  const model = options.model ?? 'gpt-4o';
  const keepLast = options.keepLastMessages ?? 6;
  const summarizeBatch = options.summarizeBatch ?? 8;
  const offset = options.offset ?? 0;
  if (!Number.isInteger(maxInputTokens) || maxInputTokens < 1)
    throw new InvalidRoutingOptionsError(
      `Expected \`maxInputTokens\` to be an integer ≥ 1, got \`${String(maxInputTokens)}\``,
    );
  if (!Number.isInteger(keepLast) || keepLast < 1)
    throw new InvalidRoutingOptionsError(
      `Expected \`keepLastMessages\` to be an integer ≥ 1, got \`${String(keepLast)}\``,
    );

  const constraints = mergeConstraints(options.constraints ?? {}, extractConstraints(messages, { offset }));
  const extraSystem = options.system ?? [];
  // Each message's tokens once: countChatTokens of a list is 3 (reply primer) plus the sum
  // of each message's own count minus that primer.
  const tokensOf = messages.map((m) => messageTokens(m, model));
  const fullTokens = countChatTokens(extraSystem, model) + tokensOf.reduce((a, b) => a + b, 0);
  if (fullTokens <= maxInputTokens) {
    // The history itself says every constraint verbatim; nothing to add.
    return {
      messages: [...extraSystem, ...messages],
      mode: 'full',
      fullTokens,
      tokens: fullTokens,
      constraints,
      dropped: 0,
    };
  }

  const system = [...extraSystem, ...messages.filter(isSystem)];
  // Conversation messages with their absolute index.
  const turns = messages.map((m, i) => ({ m, at: offset + i, tokens: tokensOf[i]! })).filter(({ m }) => !isSystem(m));
  const end = offset + messages.length;
  const startsTurn = (k: number) => turns[k]!.m.role === 'user';

  const summary = options.summary;
  const summaryFits =
    !!summary &&
    summary.coversUpTo > offset &&
    coverHash(messages, offset, summary.coversUpTo) === summary.lastCoveredHash;
  const covered = summaryFits ? summary!.coversUpTo : offset; // absolute

  const constraintMsg = constraintsMessage(constraints);
  const summaryMsg = summaryFits ? summaryMessage(summary!) : undefined;
  const head = [...system, ...(constraintMsg ? [constraintMsg] : []), ...(summaryMsg ? [summaryMsg] : [])];
  const available = maxInputTokens - countChatTokens(head, model);

  // The minimal window: the last `keepLast` messages, widened back to a user message.
  let minimal = Math.max(0, turns.length - keepLast);
  while (minimal > 0 && !startsTurn(minimal)) minimal--;
  // Grow the window back from the minimal one while it fits and stays after the summary.
  let used = 3; // the reply primer, counted once
  for (let k = turns.length - 1; k >= minimal; k--) used += turns[k]!.tokens;
  let start = minimal;
  for (let k = minimal - 1; k >= 0 && turns[k]!.at >= covered; k--) {
    used += turns[k]!.tokens;
    if (used > available) break;
    if (startsTurn(k)) start = k;
  }
  // Never start the window before what the summary covers.
  while (start < turns.length && turns[start]!.at < covered) start++;

  const window = turns.slice(start).map(({ m }) => m);
  const windowStart = turns[start]?.at ?? end;
  const built = [...head, ...window];
  const dropped = turns.filter(({ at }) => at >= covered && at < windowStart).length;
  const minimalStart = turns[minimal]?.at ?? end;
  const outside = turns.filter(({ at }) => at >= covered && at < minimalStart).length;
  // Ask for an update once a batch has gathered, or at once when messages are being dropped
  // (their content is otherwise lost until the summary catches up).
  const summaryRequest =
    outside > 0 && (outside >= summarizeBatch || dropped > 0) ? { from: covered, to: minimalStart } : undefined;
  return {
    messages: built,
    mode: summaryFits ? (dropped > 0 ? 'summary+window' : 'summary') : 'window',
    fullTokens,
    tokens: countChatTokens(head, model) + turns.slice(start).reduce((sum, t) => sum + t.tokens, 0),
    constraints,
    dropped,
    summaryRequest,
  };
}
