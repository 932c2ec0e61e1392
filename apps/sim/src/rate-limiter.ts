import { TimeWindow } from './time-window.ts';

/** Length of the rate-limit window: OpenAI's limits are per minute. */
export const RATE_WINDOW_MS = 60_000;

/** The limits to enforce on one acquisition; 0 means unlimited. Read per call so patches apply at once. */
export interface RateLimits {
  rpm: number;
  tpm: number;
}

/** What the `x-ratelimit-*` headers report. `undefined` limits are unlimited and not reported. */
export interface RateSnapshot {
  limitRequests: number | undefined;
  remainingRequests: number;
  /** Milliseconds until every request in the window has expired. */
  resetRequestsMs: number;
  limitTokens: number | undefined;
  remainingTokens: number;
  /** Milliseconds until every token in the window has expired. */
  resetTokensMs: number;
}

/** Outcome of {@link SlidingWindowRateLimiter.tryAcquire}. */
export type RateDecision =
  | { ok: true; snapshot: RateSnapshot }
  | {
      ok: false;
      /** The first limit that refused (requests are checked before tokens). */
      limit: 'requests' | 'tokens';
      /** Milliseconds until a retry of the same request would fit; ≥ 1. */
      retryAfterMs: number;
      /** Entries in the window for the refusing limit (requests or tokens). */
      used: number;
      /** The limit's value. */
      limitValue: number;
      /** True when the request alone exceeds the token limit, so waiting never helps. */
      tooLarge: boolean;
      snapshot: RateSnapshot;
    };

interface Grant {
  at: number;
  tokens: number;
}

/**
 * Requests-per-minute and tokens-per-minute limiter over an exact sliding 60-second window,
 * like an upstream provider's. Only granted requests enter the window, so a flood of refused
 * requests does not push the window forward.
 */
export class SlidingWindowRateLimiter {
  readonly #window: TimeWindow<Grant>;
  #tokensInWindow = 0;

  constructor(windowMs: number = RATE_WINDOW_MS) {
    this.#window = new TimeWindow<Grant>(windowMs);
  }

  /** Grants and records the request if both limits allow `tokens` more at `now`. */
  tryAcquire(now: number, tokens: number, limits: RateLimits): RateDecision {
    this.#prune(now);
    const requestsUsed = this.#window.size;
    if (limits.rpm > 0 && requestsUsed >= limits.rpm) {
      // The request fits once enough of the oldest grants expire to leave one free slot.
      const unblocking = this.#window.at(requestsUsed - limits.rpm)!;
      return {
        ok: false,
        limit: 'requests',
        retryAfterMs: this.#expiresIn(unblocking, now),
        used: requestsUsed,
        limitValue: limits.rpm,
        tooLarge: false,
        snapshot: this.#snapshot(now, limits),
      };
    }
    if (limits.tpm > 0 && this.#tokensInWindow + tokens > limits.tpm) {
      const tooLarge = tokens > limits.tpm;
      return {
        ok: false,
        limit: 'tokens',
        retryAfterMs: tooLarge ? this.#window.windowMs : this.#tokenRetryAfter(now, tokens, limits.tpm),
        used: this.#tokensInWindow,
        limitValue: limits.tpm,
        tooLarge,
        snapshot: this.#snapshot(now, limits),
      };
    }
    this.#window.push({ at: now, tokens });
    this.#tokensInWindow += tokens;
    return { ok: true, snapshot: this.#snapshot(now, limits) };
  }

  /** Current header values without acquiring. */
  snapshot(now: number, limits: RateLimits): RateSnapshot {
    this.#prune(now);
    return this.#snapshot(now, limits);
  }

  /** Forgets every grant. */
  clear(): void {
    this.#window.clear();
    this.#tokensInWindow = 0;
  }

  #prune(now: number): void {
    const cutoff = now - this.#window.windowMs;
    // Subtract the tokens of grants about to leave before TimeWindow drops them.
    for (const grant of this.#window) {
      if (grant.at > cutoff) break;
      this.#tokensInWindow -= grant.tokens;
    }
    this.#window.prune(now);
  }

  #expiresIn(grant: Grant, now: number): number {
    return Math.max(1, grant.at + this.#window.windowMs - now);
  }

  #tokenRetryAfter(now: number, tokens: number, tpm: number): number {
    let remaining = this.#tokensInWindow;
    for (const grant of this.#window) {
      remaining -= grant.tokens;
      if (remaining + tokens <= tpm) return this.#expiresIn(grant, now);
    }
    return this.#window.windowMs;
  }

  #snapshot(now: number, limits: RateLimits): RateSnapshot {
    const newest = this.#window.newest();
    const resetMs = newest === undefined ? 0 : this.#expiresIn(newest, now);
    return {
      limitRequests: limits.rpm > 0 ? limits.rpm : undefined,
      remainingRequests: limits.rpm > 0 ? Math.max(0, limits.rpm - this.#window.size) : Number.POSITIVE_INFINITY,
      resetRequestsMs: resetMs,
      limitTokens: limits.tpm > 0 ? limits.tpm : undefined,
      remainingTokens: limits.tpm > 0 ? Math.max(0, limits.tpm - this.#tokensInWindow) : Number.POSITIVE_INFINITY,
      resetTokensMs: resetMs,
    };
  }
}

/**
 * Formats a duration the way OpenAI's `x-ratelimit-reset-*` headers do: `120ms`, `1s`,
 * `17.28s`, `6m0s`.
 */
export function formatResetDuration(ms: number): string {
  const rounded = Math.max(0, Math.ceil(ms));
  if (rounded < 1000) return `${rounded}ms`;
  const minutes = Math.floor(rounded / 60_000);
  const seconds = (rounded % 60_000) / 1000;
  const secondsText = `${Number(seconds.toFixed(3))}s`;
  return minutes > 0 ? `${minutes}m${secondsText}` : secondsText;
}

/** The `x-ratelimit-*` headers for a snapshot; unlimited dimensions are left out. */
export function rateLimitHeaders(snapshot: RateSnapshot): Record<string, string> {
  const headers: Record<string, string> = {};
  if (snapshot.limitRequests !== undefined) {
    headers['x-ratelimit-limit-requests'] = String(snapshot.limitRequests);
    headers['x-ratelimit-remaining-requests'] = String(snapshot.remainingRequests);
    headers['x-ratelimit-reset-requests'] = formatResetDuration(snapshot.resetRequestsMs);
  }
  if (snapshot.limitTokens !== undefined) {
    headers['x-ratelimit-limit-tokens'] = String(snapshot.limitTokens);
    headers['x-ratelimit-remaining-tokens'] = String(snapshot.remainingTokens);
    headers['x-ratelimit-reset-tokens'] = formatResetDuration(snapshot.resetTokensMs);
  }
  return headers;
}
