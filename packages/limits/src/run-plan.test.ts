import { describe, expect, it } from 'vitest';
import { RateLimitedError } from './errors.ts';
import { planPark, RunPlan, THROTTLE_FALLBACK_MS } from './run-plan.ts';

const a = { id: 'a' };
const b = { id: 'b' };
const c = { id: 'c' };
const boom = new Error('500 from upstream');

describe('RunPlan', () => {
  it('asks every deployment of the tier first, then those not tried yet', () => {
    const plan = new RunPlan({ candidates: [a, b, c], tierSize: 3 });
    expect(plan.next()).toEqual({ kind: 'acquire', deployments: [a, b, c], wholeTier: true });
    plan.failed({ deploymentId: 'b', error: boom, rateLimited: false, cooldownMs: 0 });
    expect(plan.next()).toEqual({ kind: 'acquire', deployments: [a, c], wholeTier: false });
  });

  it('a pinned job speaks only for itself, never for the tier', () => {
    const plan = new RunPlan({ candidates: [b], tierSize: 3 });
    expect(plan.next()).toMatchObject({ kind: 'acquire', deployments: [b], wholeTier: false });
    const denial = new RateLimitedError('b', 'rpm', 250);
    expect(plan.denied([b], 250, denial)).toEqual({
      kind: 'park',
      retryAfterMs: 250,
      reason: denial,
      wholeTier: false,
    });
  });

  it('a denial of the whole tier parks the tier', () => {
    const plan = new RunPlan({ candidates: [a, b], tierSize: 2 });
    const denial = new RateLimitedError('a', 'tpm', 900);
    expect(plan.denied([a, b], 900, denial)).toMatchObject({ kind: 'park', retryAfterMs: 900, wholeTier: true });
  });

  it('throws the last error when every deployment failed and the last failure was not a 429', () => {
    const plan = new RunPlan({ candidates: [a, b], tierSize: 2 });
    plan.failed({ deploymentId: 'a', error: new Error('429'), rateLimited: true, cooldownMs: 2_000 });
    plan.failed({ deploymentId: 'b', error: boom, rateLimited: false, cooldownMs: 0 });
    expect(plan.next()).toEqual({ kind: 'throw', error: boom });
  });

  it('waits for the soonest cooldown when the run ended in 429s, without spending an attempt', () => {
    const plan = new RunPlan({ candidates: [a, b], tierSize: 2 });
    plan.failed({ deploymentId: 'a', error: new Error('429'), rateLimited: true, cooldownMs: 5_000 });
    plan.failed({ deploymentId: 'b', error: new Error('429'), rateLimited: true, cooldownMs: 1_500 });
    const step = plan.next();
    expect(step).toMatchObject({ kind: 'park', retryAfterMs: 1_500, wholeTier: true });
    expect(step.kind === 'park' && step.reason).toBeInstanceOf(RateLimitedError);
    expect(step.kind === 'park' && (step.reason as RateLimitedError).deploymentId).toBe('b');
  });

  it('a 429 without a known cooldown waits the fallback', () => {
    const plan = new RunPlan({ candidates: [a], tierSize: 2 });
    plan.failed({ deploymentId: 'a', error: new Error('429'), rateLimited: true, cooldownMs: 0 });
    expect(plan.next()).toMatchObject({ kind: 'park', retryAfterMs: THROTTLE_FALLBACK_MS, wholeTier: false });
  });

  it('refuses a run with no deployment to ask', () => {
    expect(() => new RunPlan({ candidates: [], tierSize: 1 })).toThrow(RangeError);
  });
});

describe('planPark', () => {
  const base = { waitedMs: 1_000, retryAfterMs: 500, permitWaitMs: 60_000, hasToken: true, wholeTier: false };

  it('fails a job whose wait would pass its permit deadline', () => {
    expect(planPark({ ...base, waitedMs: 59_600 })).toEqual({ kind: 'fail' });
    expect(planPark({ ...base, waitedMs: 59_500 })).toMatchObject({ kind: 'delay' });
  });

  it('delays the job itself, pausing the tier only when the whole tier is blocked', () => {
    expect(planPark(base)).toEqual({ kind: 'delay', ms: 500, pauseTier: false });
    expect(planPark({ ...base, wholeTier: true })).toEqual({ kind: 'delay', ms: 500, pauseTier: true });
  });

  it('without a lock token, pauses the queue and hands the job back', () => {
    expect(planPark({ ...base, hasToken: false })).toEqual({ kind: 'pause-queue', ms: 500 });
  });

  it('waits at least a whole millisecond', () => {
    expect(planPark({ ...base, retryAfterMs: 0.2 })).toMatchObject({ ms: 1 });
    expect(planPark({ ...base, retryAfterMs: 10.1 })).toMatchObject({ ms: 11 });
  });
});
