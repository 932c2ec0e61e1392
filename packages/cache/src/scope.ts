import { createHash } from 'node:crypto';
import { messageText } from '@sluice/llm';
import type { ChatRequest, TierName } from '@sluice/queues';
import { CacheRequestError } from './errors.ts';
import { normalizeForExactMatch } from './text.ts';

/**
 * Request fields known not to change the answer. Everything else — including fields this
 * code has never heard of — is part of the namespace: an unknown field that does change the
 * output must not share entries with requests that lack it.
 *
 * `conversation_id` is deliberately *not* here: a request naming a server-side conversation
 * carries only its new turn in `messages`, so its answer depends on history the cache cannot
 * see. Scoping by it keeps conversations apart even if a caller forgets to bypass the cache.
 */
export const OUTPUT_NEUTRAL_FIELDS: ReadonlySet<string> = new Set([
  'model', // the resolved upstream model is a namespace component of its own
  'messages', // hashed separately (system prompt, context, last user message)
  'stream',
  'stream_options',
  'user',
  'metadata',
  'store',
  'prompt_cache_key',
  'safety_identifier',
]);

/** Who and what an entry is scoped to. */
export interface ScopeInput {
  tenant: string;
  /** Tier that answers (or answered) the request. */
  tier: TierName;
  /** Upstream model name that answers (or answered) it. */
  model: string;
  request: ChatRequest;
  /**
   * The tenant's cache-sharing group (the tenant record's `cacheShareGroup`). Tenants naming
   * the same non-empty group share entries; empty or absent keeps the tenant isolated.
   * @defaultValue isolated
   */
  shareGroup?: string;
}

/** Where a request's entry lives and how it is keyed. */
export interface CacheScope {
  /** `t.<tenant>` (isolated) or `g.<group>` (shared group). */
  readonly scope: string;
  /**
   * 32 hex chars: hash of scope, tier, model, system prompt, output-changing parameters and
   * conversation context. Entries are only ever compared within one namespace.
   */
  readonly namespace: string;
  /** 32 hex chars: hash of the namespace and the normalised last user message. */
  readonly entryId: string;
  /** `<namespace>.<entryId>`: the exact-match key (and stampede key) of this request. */
  readonly exactKey: string;
  /** Text of the last user message: what is embedded and verified. */
  readonly prompt: string;
  /**
   * False when only the exact level may answer: no user message, non-text content parts in
   * the last user message (an image is not in the text), or a prompt too long to compare.
   */
  readonly semanticEligible: boolean;
  /** Hashes of each component, for tests and debugging. */
  readonly parts: { readonly system: string; readonly params: string; readonly context: string };
}

const SAFE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** JSON with object keys sorted at every depth, `undefined` dropped: equal values, equal text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** True when content is a string or text-only parts (so `messageText` loses nothing). */
function isTextOnly(content: unknown): boolean {
  if (content === undefined || content === null || typeof content === 'string') return true;
  if (!Array.isArray(content)) return false;
  return content.every(
    (p) =>
      p &&
      typeof p === 'object' &&
      (p as { type?: unknown }).type === 'text' &&
      Object.keys(p).every((k) => k === 'type' || k === 'text'),
  );
}

/** A message reduced to what changes the answer; string content and text parts read the same. */
function canonicalMessage(message: Record<string, unknown>): unknown {
  const { content, ...rest } = message;
  return { ...rest, content: isTextOnly(content) ? messageText(content) : content };
}

function lastUserIndex(messages: readonly Record<string, unknown>[]): number {
  for (let i = messages.length - 1; i >= 0; i -= 1) if (messages[i]?.role === 'user') return i;
  return -1;
}

/**
 * The text the semantic level embeds and verifies for a request — its last user message —
 * or undefined when only the exact level applies (no user message, non-text parts such as
 * images, empty, or longer than `maxSemanticPromptChars`).
 */
export function semanticPrompt(request: ChatRequest, maxSemanticPromptChars = 2_000): string | undefined {
  if (!request || !Array.isArray(request.messages)) return undefined;
  const messages = request.messages as unknown as Record<string, unknown>[];
  const last = lastUserIndex(messages);
  if (last < 0) return undefined;
  const content = messages[last]!.content;
  if (!isTextOnly(content)) return undefined;
  const prompt = messageText(content);
  return prompt.trim().length > 0 && prompt.length <= maxSemanticPromptChars ? prompt : undefined;
}

/** Scope name of a tenant, or of its sharing group. */
export function scopeName(tenant: string, shareGroup?: string): string {
  if (shareGroup) return SAFE_NAME.test(shareGroup) ? `g.${shareGroup}` : `g#${sha256(shareGroup).slice(0, 24)}`;
  return SAFE_NAME.test(tenant) ? `t.${tenant}` : `t#${sha256(tenant).slice(0, 24)}`;
}

/**
 * Compute the namespace and exact key of a request. The namespace covers the tenant (or
 * sharing group), tier, model, system/developer prompts, every output-changing parameter and
 * the conversation before the last user message; the exact key adds that message.
 *
 * @param maxSemanticPromptChars - prompts longer than this are exact-only.
 * @throws {@link CacheRequestError} when the request has no `messages` array.
 */
export function computeScope(input: ScopeInput, maxSemanticPromptChars = 2_000): CacheScope {
  return scopeFor(requestScope(input, maxSemanticPromptChars), input.tier, input.model);
}

/**
 * The scopes of one request for several answering tiers (an `auto` request is looked up in
 * both): what does not depend on the tier and model — the system prompt, the parameters, the
 * context and the prompt — is hashed once. Inputs that are not one request are scoped one
 * by one.
 */
export function computeScopes(inputs: readonly ScopeInput[], maxSemanticPromptChars = 2_000): CacheScope[] {
  const first = inputs[0];
  if (!first) return [];
  const same = inputs.every(
    (i) => i.request === first.request && i.tenant === first.tenant && i.shareGroup === first.shareGroup,
  );
  if (!same) return inputs.map((i) => computeScope(i, maxSemanticPromptChars));
  const request = requestScope(first, maxSemanticPromptChars);
  return inputs.map((i) => scopeFor(request, i.tier, i.model));
}

/** The tier- and model-independent part of a request's scope. */
interface RequestScope {
  scope: string;
  parts: CacheScope['parts'];
  lastUser: number;
  normalized: string;
  prompt: string;
  semanticEligible: boolean;
}

function requestScope(input: Omit<ScopeInput, 'tier' | 'model'>, maxSemanticPromptChars: number): RequestScope {
  const { request } = input;
  if (!request || !Array.isArray(request.messages))
    throw new CacheRequestError('Expected a chat request with a `messages` array');
  if (!input.tenant) throw new CacheRequestError('Expected a non-empty `tenant`');
  const messages = request.messages as unknown as Record<string, unknown>[];
  const lastUser = lastUserIndex(messages);

  const system: unknown[] = [];
  const context: unknown[] = [];
  messages.forEach((message, i) => {
    const role = message.role;
    if (role === 'system' || role === 'developer') {
      system.push(canonicalMessage(message));
      // Position marker: the same system prompt placed elsewhere in the conversation is a
      // different conversation.
      context.push({ role, system: true });
    } else if (i === lastUser) {
      // Everything about the last user message except its text (e.g. `name`) is context.
      const { content: _content, ...rest } = message;
      context.push({ ...rest, last: true });
    } else {
      context.push(canonicalMessage(message));
    }
  });

  const params: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(request)) {
    // `null` means "unset" in the OpenAI API, the same as leaving the field out.
    if (!OUTPUT_NEUTRAL_FIELDS.has(key) && value !== undefined && value !== null) params[key] = value;
  }

  const content = lastUser >= 0 ? messages[lastUser]!.content : undefined;
  const textOnly = isTextOnly(content);
  const prompt = textOnly ? messageText(content) : '';
  return {
    scope: scopeName(input.tenant, input.shareGroup),
    parts: {
      system: sha256(canonicalJson(system)),
      params: sha256(canonicalJson(params)),
      context: sha256(canonicalJson(context)),
    },
    lastUser,
    normalized: textOnly ? normalizeForExactMatch(prompt) : canonicalJson(content),
    prompt,
    semanticEligible: lastUser >= 0 && textOnly && prompt.trim().length > 0 && prompt.length <= maxSemanticPromptChars,
  };
}

function scopeFor(request: RequestScope, tier: TierName, model: string): CacheScope {
  const { scope, parts } = request;
  const namespace = sha256(canonicalJson({ v: 1, scope, tier, model, ...parts })).slice(0, 32);
  const entryId = sha256(`${namespace}\n${request.lastUser >= 0 ? 'u' : '-'}\n${request.normalized}`).slice(0, 32);
  return {
    scope,
    namespace,
    entryId,
    exactKey: `${namespace}.${entryId}`,
    prompt: request.prompt,
    semanticEligible: request.semanticEligible,
    parts,
  };
}

const EXACT_KEY = /^([0-9a-f]{32})\.([0-9a-f]{32})$/;

/** Split an exact key into namespace and entry id. @throws {@link CacheRequestError} for anything else. */
export function parseExactKey(exactKey: string): { namespace: string; entryId: string } {
  const match = EXACT_KEY.exec(exactKey);
  if (!match)
    throw new CacheRequestError(
      `Expected an exact key \`<namespace>.<entryId>\` (32 hex chars each), got \`${exactKey}\``,
    );
  return { namespace: match[1]!, entryId: match[2]! };
}
