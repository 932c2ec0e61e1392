import { describe, expect, it } from 'vitest';
import { canChangeLearnedLimits, chooseCooldown, learnSignals } from './upstream-signals.ts';

const settings = { throttleCooldownMs: 1_000, maxHeaderCooldownMs: 10_000 };
const context = { rpm: 600, tpm: 0, reservedTokens: 50, edgeRetryMs: 1_200 };

describe('chooseCooldown', () => {
  it('follows a 429’s retry-after as sent, beyond the header cap', () => {
    expect(chooseCooldown({ outcome: 'throttled', status: 429, headers: {}, retryAfterMs: 30_000 }, settings)).toEqual({
      ms: 30_000,
      reason: '429',
    });
  });

  it('takes an exhausted window’s reset for a 429 without retry-after, capped', () => {
    const headers = { remainingRequests: 0, resetRequestsMs: 60_000 };
    expect(chooseCooldown({ outcome: 'throttled', status: 429, headers }, settings)).toEqual({
      ms: 10_000,
      reason: '429',
    });
    expect(chooseCooldown({ outcome: 'throttled', status: 429, headers: {} }, settings)).toEqual({
      ms: 1_000,
      reason: '429',
    });
  });

  it('cools a successful deployment down only when a window is exhausted, for the longer of the two', () => {
    expect(
      chooseCooldown({ outcome: 'success', status: 200, headers: { remainingRequests: 5 } }, settings),
    ).toBeUndefined();
    const both = { remainingRequests: 0, resetRequestsMs: 2_000, remainingTokens: 0, resetTokensMs: 4_000 };
    expect(chooseCooldown({ outcome: 'success', status: 200, headers: both }, settings)).toEqual({
      ms: 4_000,
      reason: 'remaining-tokens',
    });
  });

  it('honours retry-after on a failure, naming its status, and ignores it on a rejected request', () => {
    expect(chooseCooldown({ outcome: 'failure', status: 503, headers: {}, retryAfterMs: 2_500 }, settings)).toEqual({
      ms: 2_500,
      reason: '503',
    });
    expect(
      chooseCooldown({ outcome: 'rejected', status: 400, headers: {}, retryAfterMs: 2_500 }, settings),
    ).toBeUndefined();
  });
});

describe('learnSignals', () => {
  it('recovers after a success and leaves the limits alone after a failure', () => {
    expect(learnSignals({ outcome: 'success', headers: {} }, context)).toMatchObject({
      rpm: 'increase',
      tpm: 'increase',
    });
    expect(learnSignals({ outcome: 'failure', headers: {} }, context)).toMatchObject({ rpm: 'none', tpm: 'none' });
  });

  it('lowers only the window a 429’s headers name', () => {
    const tokens = learnSignals(
      { outcome: 'throttled', headers: { remainingRequests: 40, remainingTokens: 10 } },
      context,
    );
    expect(tokens).toEqual({ rpm: 'none', tpm: 'decrease', rpmMinimumSent: 1, tpmMinimumSent: 1 });
    const neither = learnSignals(
      { outcome: 'throttled', headers: { remainingRequests: 40, remainingTokens: 5_000 } },
      context,
    );
    expect(neither).toMatchObject({ rpm: 'none', tpm: 'none' });
  });

  it('without headers, lowers requests only when enough were sent, and tokens only when a limit is known', () => {
    expect(learnSignals({ outcome: 'throttled', headers: {} }, context)).toEqual({
      rpm: 'decrease',
      tpm: 'decrease',
      rpmMinimumSent: 10,
      tpmMinimumSent: -1,
    });
  });

  it('treats a short-wait 429 confirming the kept limit as a window edge, not a cut', () => {
    const edge = { remainingRequests: 0, limitRequests: 600 };
    expect(learnSignals({ outcome: 'throttled', headers: edge, retryAfterMs: 800 }, context).rpm).toBe('edge');
    expect(learnSignals({ outcome: 'throttled', headers: edge, retryAfterMs: 5_000 }, context).rpm).toBe('decrease');
    expect(
      learnSignals({ outcome: 'throttled', headers: { ...edge, limitRequests: 500 }, retryAfterMs: 800 }, context).rpm,
    ).toBe('decrease');
  });
});

describe('canChangeLearnedLimits', () => {
  const success = { rpm: 'increase', tpm: 'increase', rpmMinimumSent: 1, tpmMinimumSent: 1 } as const;
  const ceilings = { rpm: 588, tpm: 98_000 };
  const none = { rpm: 0, tpm: 0 };

  it('skips a success granted under the ceilings alone, with no limit in its headers', () => {
    expect(canChangeLearnedLimits(success, { capsSeen: none, inForce: ceilings, ceilings })).toBe(false);
    // An unlimited deployment with nothing learned: 0 in force is the ceiling.
    expect(canChangeLearnedLimits(success, { capsSeen: none, inForce: none, ceilings: none })).toBe(false);
  });

  it('runs when a limit was learned (in force below the ceiling) so that it recovers', () => {
    expect(canChangeLearnedLimits(success, { capsSeen: none, inForce: { rpm: 411, tpm: 98_000 }, ceilings })).toBe(
      true,
    );
    // Learned on a deployment with no configured limit.
    expect(canChangeLearnedLimits(success, { capsSeen: none, inForce: { rpm: 70, tpm: 0 }, ceilings: none })).toBe(
      true,
    );
  });

  it('runs for caps it has not recorded, and skips caps it has', () => {
    const caps = { rpm: 490, tpm: 0 };
    expect(canChangeLearnedLimits(success, { capsSeen: caps, inForce: { rpm: 490, tpm: 98_000 }, ceilings })).toBe(
      true,
    );
    expect(
      canChangeLearnedLimits(success, {
        capsSeen: caps,
        capsRecorded: caps,
        inForce: { rpm: 490, tpm: 98_000 },
        ceilings,
      }),
    ).toBe(false);
    // The provider now reports another cap: recorded again.
    expect(
      canChangeLearnedLimits(success, {
        capsSeen: { rpm: 400, tpm: 0 },
        capsRecorded: caps,
        inForce: { rpm: 490, tpm: 98_000 },
        ceilings,
      }),
    ).toBe(true);
  });

  it('always runs for a decrease or an edge, and when the limits at the grant are unknown', () => {
    const throttled = { ...success, rpm: 'decrease' } as const;
    expect(canChangeLearnedLimits(throttled, { capsSeen: none, inForce: ceilings, ceilings })).toBe(true);
    expect(canChangeLearnedLimits({ ...success, tpm: 'edge' }, { capsSeen: none, inForce: ceilings, ceilings })).toBe(
      true,
    );
    expect(canChangeLearnedLimits(success, { capsSeen: none, ceilings })).toBe(true);
  });
});
