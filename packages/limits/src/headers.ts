/**
 * Response headers as the `openai` SDK (a `Headers` object), `fetch`, or Node's `http`
 * (a plain object, names lower-cased) hand them over.
 */
export type HeaderSource =
  | { get(name: string): string | null | undefined }
  | Readonly<Record<string, string | readonly string[] | number | null | undefined>>;

/** What an upstream's rate-limit headers say. Absent headers are `undefined`. */
export interface RateLimitHeaders {
  /** `x-ratelimit-limit-requests`: the provider's request limit per minute. */
  limitRequests?: number;
  /** `x-ratelimit-remaining-requests`. */
  remainingRequests?: number;
  /** `x-ratelimit-reset-requests`, in ms. */
  resetRequestsMs?: number;
  /** `x-ratelimit-limit-tokens`: the provider's token limit per minute. */
  limitTokens?: number;
  /** `x-ratelimit-remaining-tokens`. */
  remainingTokens?: number;
  /** `x-ratelimit-reset-tokens`, in ms. */
  resetTokensMs?: number;
  /** `retry-after-ms`, else `retry-after` (seconds or an HTTP date), in ms. */
  retryAfterMs?: number;
}

/** The value of one header, case-insensitively; the first value of a repeated header. */
export function readHeader(source: HeaderSource | undefined, name: string): string | undefined {
  if (!source) return undefined;
  const lower = name.toLowerCase();
  if (typeof (source as { get?: unknown }).get === 'function') {
    const value = (source as { get(name: string): string | null | undefined }).get(lower);
    return value ?? undefined;
  }
  const record = source as Readonly<Record<string, unknown>>;
  let value = record[lower];
  if (value === undefined) {
    const key = Object.keys(record).find((k) => k.toLowerCase() === lower);
    value = key === undefined ? undefined : record[key];
  }
  if (Array.isArray(value)) value = value[0];
  if (value === null || value === undefined) return undefined;
  return String(value);
}

const DURATION_PART = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;

/**
 * Parse a reset duration as OpenAI writes it (`120ms`, `1s`, `17.28s`, `6m0s`, `1h2m3s`) or
 * a bare number of seconds. Returns ms, or `undefined` when unreadable.
 */
export function parseResetDuration(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  if (/^\d+(?:\.\d+)?$/.test(trimmed)) return Math.ceil(Number(trimmed) * 1000);
  let total = 0;
  let consumed = 0;
  for (const match of trimmed.matchAll(DURATION_PART)) {
    if (match.index !== consumed) return undefined;
    consumed += match[0].length;
    const value = Number(match[1]);
    const unit = match[2];
    total += unit === 'h' ? value * 3_600_000 : unit === 'm' ? value * 60_000 : unit === 's' ? value * 1000 : value;
  }
  return consumed === trimmed.length && consumed > 0 ? Math.ceil(total) : undefined;
}

/**
 * How long the upstream asks us to wait: `retry-after-ms` (OpenAI's precise variant), else
 * `retry-after` as seconds or an HTTP date. Returns ms (≥ 0), or `undefined` when absent.
 */
export function parseRetryAfter(headers: HeaderSource | undefined, now: number): number | undefined {
  const precise = readHeader(headers, 'retry-after-ms');
  if (precise !== undefined && Number.isFinite(Number(precise)) && precise.trim() !== '') {
    return Math.max(0, Math.ceil(Number(precise)));
  }
  const value = readHeader(headers, 'retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(?:\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function readCount(headers: HeaderSource | undefined, name: string): number | undefined {
  const value = readHeader(headers, name)?.trim();
  if (!value || !/^\d+(?:\.\d+)?$/.test(value)) return undefined;
  return Number(value);
}

/** Read every rate-limit header an upstream sent. */
export function parseRateLimitHeaders(headers: HeaderSource | undefined, now: number): RateLimitHeaders {
  const result: RateLimitHeaders = {};
  const set = <K extends keyof RateLimitHeaders>(key: K, value: number | undefined) => {
    if (value !== undefined) result[key] = value;
  };
  set('limitRequests', readCount(headers, 'x-ratelimit-limit-requests'));
  set('remainingRequests', readCount(headers, 'x-ratelimit-remaining-requests'));
  set('resetRequestsMs', parseResetDuration(readHeader(headers, 'x-ratelimit-reset-requests')));
  set('limitTokens', readCount(headers, 'x-ratelimit-limit-tokens'));
  set('remainingTokens', readCount(headers, 'x-ratelimit-remaining-tokens'));
  set('resetTokensMs', parseResetDuration(readHeader(headers, 'x-ratelimit-reset-tokens')));
  set('retryAfterMs', parseRetryAfter(headers, now));
  return result;
}
