import { createHash } from 'node:crypto';

/** A chat message as far as the fingerprint is concerned: only `role` and `content` count. */
export interface FingerprintMessage {
  role: string;
  content?: unknown;
}

/**
 * JSON with object keys sorted at every level and no whitespace, so two equal values always
 * serialise to the same bytes whatever order their keys were built in. `undefined` object
 * members are dropped, as `JSON.stringify` does.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item)).join(',')}]`;
  const entries = Object.keys(value)
    .sort()
    .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
    .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
  return `{${entries.join(',')}}`;
}

/**
 * The simulator's fingerprint of a prompt: the first 16 hex characters of SHA-256 over the
 * canonical JSON of `[{ role, content }]` for every message (a missing `content` counts as
 * `null`). Every simulated chat reply starts with `[sim:<fingerprint>] `, so a test or load
 * test can tell which exact prompt an answer was produced for, and so spot an answer served
 * for a different prompt (e.g. a wrong cache hit).
 */
export function fingerprintMessages(messages: readonly FingerprintMessage[]): string {
  const canonical = canonicalJson(
    messages.map((message) => ({ role: message.role, content: message.content ?? null })),
  );
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

const TAG_PATTERN = /^\[sim:([0-9a-f]{16})\]/;
const JSON_PATTERN = /^\{"fingerprint":"([0-9a-f]{16})"/;

/**
 * Reads the fingerprint back out of a simulated reply: the `[sim:…]` tag of text replies or
 * the leading `"fingerprint"` member of JSON-mode replies. Returns `null` for anything else
 * (refusals, tool calls, replies truncated before the tag).
 */
export function parseReplyFingerprint(content: string | null | undefined): string | null {
  if (typeof content !== 'string') return null;
  return TAG_PATTERN.exec(content)?.[1] ?? JSON_PATTERN.exec(content)?.[1] ?? null;
}
