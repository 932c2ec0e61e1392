/**
 * What one upstream answer teaches the limiter, decided without Redis: whether it calls for a
 * shared cooldown and how long, and which way each learned limit should move. The limiter
 * runs the scripts these decisions feed (`cooldown`, `adapt`).
 */
import type { RateLimitHeaders } from './headers.ts';
import type { UpstreamOutcome } from './limiter.ts';

/**
 * With no limit configured or reported, a 429 that does not say which window it is about
 * lowers the learned request limit from what was sent only when at least this many requests
 * were sent in the window; below that the 429 is about something other than our rate.
 */
const MIN_REQUESTS_TO_LEARN = 10;

/** A cooldown an answer calls for: every executor holds the deployment for `ms`. */
export interface Cooldown {
  readonly ms: number;
  /** Why, as stored beside the cooldown: `429`, `remaining-requests`, `remaining-tokens`, or the status that carried `retry-after`. */
  readonly reason: string;
}

/** The limiter settings a cooldown choice reads. */
export interface CooldownSettings {
  /** Cooldown after a 429 (or an exhausted window) that says nothing of when to return. */
  readonly throttleCooldownMs: number;
  /** Longest cooldown taken from a reset header (a `retry-after` is followed as sent). */
  readonly maxHeaderCooldownMs: number;
}

/** The answer as the choice reads it. */
export interface AnswerSignals {
  readonly outcome: UpstreamOutcome;
  /** HTTP status, when a response arrived. */
  readonly status?: number;
  readonly headers: RateLimitHeaders;
  /** The wait the answer asked for (`retry-after`, or one an SDK parsed). */
  readonly retryAfterMs?: number;
}

/**
 * The longest cooldown the answer calls for, or `undefined`. A 429 always calls for one
 * (its `retry-after`, else the exhausted window's reset, else the default); any other answer
 * only when a window is exhausted (`remaining-*: 0`) or a failure said when to come back.
 */
export function chooseCooldown(answer: AnswerSignals, settings: CooldownSettings): Cooldown | undefined {
  const { outcome, headers, retryAfterMs } = answer;
  const capped = (resetMs: number | undefined) =>
    Math.min(resetMs ?? settings.throttleCooldownMs, settings.maxHeaderCooldownMs);
  const cooldowns: Cooldown[] = [];
  if (outcome === 'throttled') {
    const exhaustedReset =
      headers.remainingRequests === 0
        ? headers.resetRequestsMs
        : headers.remainingTokens === 0
          ? headers.resetTokensMs
          : undefined;
    cooldowns.push({ ms: retryAfterMs ?? capped(exhaustedReset), reason: '429' });
  } else {
    if (retryAfterMs !== undefined && outcome === 'failure')
      cooldowns.push({ ms: retryAfterMs, reason: String(answer.status ?? 'retry-after') });
    if (headers.remainingRequests === 0)
      cooldowns.push({ ms: capped(headers.resetRequestsMs), reason: 'remaining-requests' });
    if (headers.remainingTokens === 0)
      cooldowns.push({ ms: capped(headers.resetTokensMs), reason: 'remaining-tokens' });
  }
  return cooldowns
    .filter((c) => c.ms > 0)
    .reduce<Cooldown | undefined>((best, c) => (!best || c.ms > best.ms ? c : best), undefined);
}

/**
 * Which way a learned limit moves: `increase` after a success (recovery toward the ceiling),
 * `decrease` after a 429 about this window, `edge` after a 429 at a window's edge that
 * confirms the limit already kept (counted against a small allowance, not cut), `none` otherwise.
 */
export type LearnSignal = 'none' | 'increase' | 'decrease' | 'edge';

/** The learning inputs of the `adapt` script for one answer. */
export interface LearnSignals {
  readonly rpm: LearnSignal;
  readonly tpm: LearnSignal;
  /** A decrease applies only when at least this many requests were sent in the window. */
  readonly rpmMinimumSent: number;
  /** As `rpmMinimumSent` for tokens; -1 means a decrease needs a known token limit. */
  readonly tpmMinimumSent: number;
}

/** What the learning choice reads beyond the answer. */
export interface LearnContext {
  /** The deployment's configured limits (0 = none). */
  readonly rpm: number;
  readonly tpm: number;
  /** Tokens the call had reserved (a 429 leaving fewer than this was about tokens). */
  readonly reservedTokens: number;
  /** A 429 asking to wait at most this long is a window-edge 429. */
  readonly edgeRetryMs: number;
}

/**
 * Which learned limits one answer moves. A 429's headers say which window it was about; a
 * 429 leaving both windows with room was about something else (concurrency), so neither
 * drops. Without headers the request limit drops (when enough was sent) and the token limit
 * only if one is known, since fewer requests already mean fewer tokens.
 */
export function learnSignals(answer: AnswerSignals, context: LearnContext): LearnSignals {
  const { outcome, headers, retryAfterMs } = answer;
  if (outcome === 'success') return { rpm: 'increase', tpm: 'increase', rpmMinimumSent: 1, tpmMinimumSent: 1 };
  if (outcome !== 'throttled') return { rpm: 'none', tpm: 'none', rpmMinimumSent: 1, tpmMinimumSent: 1 };
  const known = headers.remainingRequests !== undefined || headers.remainingTokens !== undefined;
  const requestsOut = headers.remainingRequests !== undefined && headers.remainingRequests < 1;
  const tokensOut =
    headers.remainingTokens !== undefined && headers.remainingTokens < Math.max(1, context.reservedTokens);
  let rpm: LearnSignal = !known || requestsOut ? 'decrease' : 'none';
  let tpm: LearnSignal = !known || tokensOut ? 'decrease' : 'none';
  // At a window's edge the provider confirms the limit we keep and frees a slot within the
  // send jitter: our own traffic explains the 429, and cutting the limit would slow a backlog.
  const edge = retryAfterMs !== undefined && retryAfterMs <= context.edgeRetryMs;
  if (edge && rpm === 'decrease' && context.rpm > 0 && (headers.limitRequests ?? 0) >= context.rpm) rpm = 'edge';
  if (edge && tpm === 'decrease' && context.tpm > 0 && (headers.limitTokens ?? 0) >= context.tpm) tpm = 'edge';
  return known
    ? { rpm, tpm, rpmMinimumSent: 1, tpmMinimumSent: 1 }
    : { rpm, tpm, rpmMinimumSent: MIN_REQUESTS_TO_LEARN, tpmMinimumSent: -1 };
}

/** What {@link canChangeLearnedLimits} weighs besides the answer's signals. */
export interface LearnedLimitsContext {
  /** Request and token caps the answer's headers report, after the safety margin (0 = none). */
  readonly capsSeen: { readonly rpm: number; readonly tpm: number };
  /** The caps this process last folded in for the deployment (already recorded); absent: none. */
  readonly capsRecorded?: { readonly rpm: number; readonly tpm: number };
  /** Limits in force when the call's permit was granted (0 = unlimited); absent: unknown. */
  readonly inForce?: { readonly rpm: number; readonly tpm: number };
  /** The configured ceilings after the safety margin (0 = unlimited). */
  readonly ceilings: { readonly rpm: number; readonly tpm: number };
}

/**
 * Whether folding an answer into the learned limits can change them, or what they report. A
 * success only ever recovers a lowered limit; when its permit was granted under the configured
 * ceilings and recorded caps alone (nothing learned) and its headers report no limit, or the
 * very caps already recorded, there is nothing to recover or record, and the learning step can
 * be skipped. A limit another process lowered since the grant misses one recovery step, which
 * later successes take.
 */
export function canChangeLearnedLimits(signals: LearnSignals, context: LearnedLimitsContext): boolean {
  const recoveryOnly = (s: LearnSignal) => s === 'increase' || s === 'none';
  if (!recoveryOnly(signals.rpm) || !recoveryOnly(signals.tpm)) return true;
  const { capsSeen, capsRecorded } = context;
  const newCaps = capsSeen.rpm > 0 || capsSeen.tpm > 0;
  if (newCaps && (capsSeen.rpm !== capsRecorded?.rpm || capsSeen.tpm !== capsRecorded?.tpm)) return true;
  if (!context.inForce) return true;
  // Unlimited is 0: the other limit wins (as acquire-8.lua's `tighter`).
  const tighter = (a: number, b: number) => (a <= 0 ? b : b <= 0 ? a : Math.min(a, b));
  const unlearned = (dim: 'rpm' | 'tpm') => tighter(context.ceilings[dim], capsRecorded?.[dim] ?? 0);
  return context.inForce.rpm !== unlearned('rpm') || context.inForce.tpm !== unlearned('tpm');
}
