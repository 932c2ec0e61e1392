import type { SluiceConfig } from '@sluice/config';
import type { CacheMode, CategoryName, ChatRequest } from '@sluice/queues';

/** The `cache` section of the Sluice configuration, field for field. */
export type CacheConfig = SluiceConfig['cache'];

/** Why a request skips the lookup entirely (`x-sluice-cache: bypass`). */
export type BypassReason = 'disabled' | 'conversation' | 'no-cache' | 'category-not-cached' | 'temperature';

/** Why an answer is not stored. */
export type StoreSkipReason =
  | 'disabled'
  | 'conversation'
  | 'no-store'
  | 'error'
  | 'not-a-completion'
  | 'finish-reason'
  | 'tool-calls'
  | 'refusal'
  | 'empty'
  | 'temperature'
  | 'category-not-cached';

/** Every {@link StoreSkipReason}. */
export const STORE_SKIP_REASONS: readonly StoreSkipReason[] = [
  'disabled',
  'conversation',
  'no-store',
  'error',
  'not-a-completion',
  'finish-reason',
  'tool-calls',
  'refusal',
  'empty',
  'temperature',
  'category-not-cached',
];

/** The parts of an OpenAI `chat.completion` object the cache reads. Other fields are kept as they are. */
export interface CompletionLike {
  id?: string;
  object?: string;
  created?: number;
  model?: string;
  choices?: Array<{
    index?: number;
    message?: {
      role?: string;
      content?: string | null;
      refusal?: string | null;
      tool_calls?: unknown[] | null;
      [k: string]: unknown;
    };
    finish_reason?: string | null;
    [k: string]: unknown;
  }>;
  usage?: {
    prompt_tokens?: number;
    completion_tokens?: number;
    total_tokens?: number;
    prompt_tokens_details?: object;
  } | null;
  [k: string]: unknown;
}

/** Seconds an answer in `category` may be served; 0 means never cached. Unknown categories are not cached. */
export function categoryTtlSeconds(config: CacheConfig, category: CategoryName): number {
  return config.ttlSeconds[category] ?? 0;
}

/** Input of {@link shouldLookup}. */
export interface LookupPolicyInput {
  request: ChatRequest;
  cacheMode?: CacheMode;
  /** The classifier's category; absent at the API's exact fast path (then only the entry's own expiry applies). */
  category?: CategoryName;
}

/**
 * Whether a request may be answered from the cache. `no-cache` skips the lookup (the answer
 * may still be stored); `no-store` does not forbid a lookup (RFC 9111: it forbids storing).
 */
export function shouldLookup(
  input: LookupPolicyInput,
  config: CacheConfig,
): { lookup: true } | { lookup: false; reason: BypassReason } {
  if (!config.enabled) return { lookup: false, reason: 'disabled' };
  // A stored conversation's request holds only its new turn: its answer depends on history
  // the cache scope cannot see.
  if (input.request.conversation_id) return { lookup: false, reason: 'conversation' };
  if (input.cacheMode === 'no-cache') return { lookup: false, reason: 'no-cache' };
  if (input.category !== undefined && categoryTtlSeconds(config, input.category) <= 0)
    return { lookup: false, reason: 'category-not-cached' };
  // Nothing above the temperature cap is ever stored, so there is nothing to find.
  if (typeof input.request.temperature === 'number' && input.request.temperature > config.maxTemperature)
    return { lookup: false, reason: 'temperature' };
  return { lookup: true };
}

/** Input of {@link shouldStore}. */
export interface StorePolicyInput {
  request: ChatRequest;
  completion: unknown;
  category: CategoryName;
  cacheMode?: CacheMode;
  /** The job failed (the completion, if any, is partial). */
  error?: unknown;
}

// Short answers that open like a refusal. OpenAI's `message.refusal` covers structured
// outputs; models refuse in plain text too, and a cached refusal would be served to every
// later asker of the same question.
const REFUSAL =
  /^\s*(?:i['’]?m sorry|i am sorry|sorry,? (?:but )?i|i can(?:['’]?t|not)|i['’]?m (?:not able|unable)|i am (?:not able|unable)|as an ai\b)/i;
const REFUSAL_MAX_CHARS = 400;

/**
 * Whether an answer may be stored, and if not, why. Never stored: a stored conversation's turn, errors, anything but
 * `finish_reason: "stop"` on every choice (truncated, filtered, tool calls), tool calls unless
 * `cacheToolCalls`, refusals, empty content, requests above `maxTemperature`, `no-store`,
 * and categories whose TTL is 0 (`time_sensitive` by default).
 */
export function shouldStore(
  input: StorePolicyInput,
  config: CacheConfig,
): { store: true } | { store: false; reason: StoreSkipReason } {
  const skip = (reason: StoreSkipReason) => ({ store: false as const, reason });
  if (!config.enabled) return skip('disabled');
  if (input.request.conversation_id) return skip('conversation');
  if (input.cacheMode === 'no-store') return skip('no-store');
  if (input.error !== undefined && input.error !== null) return skip('error');
  const completion = input.completion as CompletionLike | null | undefined;
  if (
    !completion ||
    typeof completion !== 'object' ||
    'error' in completion ||
    !Array.isArray(completion.choices) ||
    completion.choices.length === 0
  ) {
    return skip('not-a-completion');
  }
  if (categoryTtlSeconds(config, input.category) <= 0) return skip('category-not-cached');
  if (typeof input.request.temperature === 'number' && input.request.temperature > config.maxTemperature)
    return skip('temperature');
  for (const choice of completion.choices) {
    const message = choice?.message;
    if (!message || typeof message !== 'object') return skip('not-a-completion');
    const toolCalls = Array.isArray(message.tool_calls) && message.tool_calls.length > 0;
    if (toolCalls && !config.cacheToolCalls) return skip('tool-calls');
    const okFinish = choice.finish_reason === 'stop' || (toolCalls && choice.finish_reason === 'tool_calls');
    if (!okFinish) return skip('finish-reason');
    if (typeof message.refusal === 'string' && message.refusal.length > 0) return skip('refusal');
    const content = typeof message.content === 'string' ? message.content : '';
    if (!toolCalls && content.trim().length === 0) return skip('empty');
    if (content.length <= REFUSAL_MAX_CHARS && REFUSAL.test(content)) return skip('refusal');
  }
  return { store: true };
}

/** What {@link chooseHit} compares of a lookup. */
export interface HitCandidate {
  hit: boolean;
  kind: string;
  similarity?: number;
}

/**
 * Which of several lookups (the same request in several scopes, e.g. one per tier) to answer
 * from: an exact hit before any semantic one, then the most similar. Returns its index, or -1
 * when none hit. Ties keep the earlier lookup, so callers list scopes cheapest first.
 */
export function chooseHit(lookups: readonly HitCandidate[]): number {
  let best = -1;
  lookups.forEach((l, i) => {
    if (!l.hit) return;
    const current = lookups[best];
    if (
      !current ||
      (l.kind === 'exact' && current.kind !== 'exact') ||
      (l.kind === current.kind && (l.similarity ?? 0) > (current.similarity ?? 0))
    )
      best = i;
  });
  return best;
}
