import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RateLimitedError } from './errors.ts';
import type { DeploymentLimitState, LimitedDeployment } from './limiter.ts';
import { rankDeployments } from './picker.ts';
import { seededRandom } from '@sluice/testing';
import { TestRedis } from './test-helpers.ts';

interface Dep extends LimitedDeployment {
  readonly tier: string;
}
const dep = (id: string, overrides: Partial<Dep> = {}): Dep => ({
  id,
  tier: 'small',
  rpm: 100,
  tpm: 0,
  maxConcurrency: 0,
  weight: 1,
  ...overrides,
});

let t: TestRedis;
beforeEach(() => {
  t = new TestRedis();
});
afterEach(() => t.close());

async function use(limiter: ReturnType<TestRedis['limiter']>, d: Dep, n: number): Promise<void> {
  for (let i = 0; i < n; i += 1) if (!(await limiter.acquire(d)).granted) throw new Error('expected a grant');
}

describe('deployment picker', () => {
  it('skips an open circuit and a cooling-down deployment, and says when they are back', async () => {
    const limiter = t.limiter({ circuit: { failureThreshold: 1, openMs: 20_000 }, random: () => 0.5 });
    const [a, b, c] = [dep('a'), dep('b'), dep('c')];
    await limiter.onUpstreamResult(a, { status: 500 });
    await limiter.onUpstreamResult(b, { status: 429, retryAfterMs: 5_000 });
    const picked = await limiter.pick([a, b, c]);
    expect(picked.order.map((d) => d.id)).toEqual(['c']);
    expect(picked.skipped.map((s) => [s.deployment.id, s.reason, s.retryAfterMs])).toEqual([
      ['a', 'circuit_open', 20_000],
      ['b', 'cooldown', 5_000],
    ]);
    expect(picked.retryAfterMs).toBe(0);
    expect(picked.order[0]!.tier).toBe('small'); // the caller's own deployment objects come back

    await limiter.onUpstreamResult(c, { status: 500 });
    const none = await limiter.pick([a, b, c]);
    expect(none.order).toEqual([]);
    expect(none.retryAfterMs).toBe(5_000);

    // Once the open periods end, a and c are offered first, each for its one probe.
    t.clock.advance(20_000);
    const probing = await limiter.pick([a, b, c]);
    expect(probing.order.map((d) => d.id)).toEqual(['a', 'c', 'b']);
    expect(probing.states.get('a')?.circuit).toBe('half_open');
    const probe = await limiter.acquire(a);
    expect(probe.granted && probe.lease.probe).toBe(true);
    const during = await limiter.pick([a, b, c]);
    expect(during.order.map((d) => d.id)).toEqual(['c', 'b']);
    expect(during.skipped.map((s) => [s.deployment.id, s.reason, s.retryAfterMs])).toEqual([
      ['a', 'circuit_open', 250],
    ]);
  });

  it('prefers headroom × weight; exhausted deployments go last', async () => {
    const limiter = t.limiter({ random: () => 0.5, pacingMs: 0 });
    const busy = dep('busy', { rpm: 10 }); // 9 after the margin
    const idle = dep('idle', { rpm: 10 });
    const full = dep('full', { rpm: 2, weight: 10 }); // 1 after the margin
    await use(limiter, busy, 6);
    await use(limiter, idle, 1);
    await use(limiter, full, 1);
    const picked = await limiter.pick([full, busy, idle]);
    expect(picked.order.map((d) => d.id)).toEqual(['idle', 'busy', 'full']);
    expect(picked.states.get('busy')?.headroom).toBeCloseTo(3 / 9);
    expect(picked.states.get('full')?.headroom).toBe(0);

    const heavy = dep('heavy', { rpm: 10, weight: 3 });
    await use(limiter, heavy, 6); // headroom 1/3 × weight 3 beats idle's 8/9 × 1
    expect((await limiter.pick([idle, heavy])).order.map((d) => d.id)).toEqual(['heavy', 'idle']);
  });

  it('counts concurrency and tokens in the headroom', async () => {
    const limiter = t.limiter({ random: () => 0.5, defaultOutputTokens: 0 });
    const narrow = dep('narrow', { rpm: 0, maxConcurrency: 4 });
    const wide = dep('wide', { rpm: 0, tpm: 1_000 });
    await use(limiter, narrow, 1); // 3/4 free
    await limiter.acquire(wide, { promptTokens: 500 }); // 480/980 free
    const picked = await limiter.pick([wide, narrow]);
    expect(picked.order.map((d) => d.id)).toEqual(['narrow', 'wide']);
    expect(picked.states.get('narrow')).toMatchObject({ inFlight: 1, headroom: 0.75 });
    expect(picked.states.get('wide')?.headroom).toBeCloseTo(480 / 980);
  });

  it('spreads picks in proportion to headroom × weight', () => {
    const random = seededRandom(7);
    const deployments = [dep('one', { weight: 1 }), dep('three', { weight: 3 })];
    const state = (id: string) =>
      ({
        deploymentId: id,
        circuit: 'closed',
        cooldownUntil: 0,
        headroom: 1,
        probeInFlight: false,
      }) as DeploymentLimitState;
    let firstIsThree = 0;
    for (let i = 0; i < 4_000; i += 1) {
      const r = rankDeployments(deployments, [state('one'), state('three')], { now: 0, random, pollIntervalMs: 250 });
      if (r.order[0]!.id === 'three') firstIsThree += 1;
    }
    expect(firstIsThree / 4_000).toBeGreaterThan(0.72);
    expect(firstIsThree / 4_000).toBeLessThan(0.78);
  });

  it('acquireAny fails over down the list and reports the soonest retry when all refuse', async () => {
    const limiter = t.limiter({ circuit: { failureThreshold: 1, openMs: 30_000 }, random: () => 0.5 });
    const broken = dep('broken');
    const saturated = dep('saturated', { rpm: 1 });
    const spare = dep('spare', { rpm: 2 }); // 1 after the margin
    await limiter.onUpstreamResult(broken, { status: 500 });
    await use(limiter, saturated, 1);
    t.clock.advance(10_000);

    const got = await limiter.acquireAny([broken, saturated, spare], { jobId: 'job1', promptTokens: 5 });
    expect(got.granted).toBe(true);
    if (got.granted) {
      expect(got.deployment.id).toBe('spare');
      expect(got.lease.id.startsWith('job1:')).toBe(true);
    }

    const none = await limiter.acquireAny([broken, saturated, spare], { jobId: 'job2' });
    expect(none.granted).toBe(false);
    if (none.granted) return;
    expect(none.denials.map((d) => [d.deploymentId, d.reason, d.retryAfterMs])).toEqual([
      ['broken', 'circuit_open', 20_000],
      ['saturated', 'rpm', 50_001],
      ['spare', 'rpm', 60_001],
    ]);
    expect(none.retryAfterMs).toBe(20_000);
    expect(none.error.code).toBe('SLUICE_ERR_CIRCUIT_OPEN');

    t.clock.advance(20_001); // broken is probe-eligible; saturated still full
    const avoided = await limiter.acquireAny([broken, saturated, spare], {}, { avoid: ['broken'] });
    expect(avoided.granted).toBe(true); // tried last, but the only one left
    if (avoided.granted) expect([avoided.deployment.id, avoided.lease.probe]).toEqual(['broken', true]);

    const limited = await limiter.acquireAny([saturated]);
    expect(limited.granted).toBe(false);
    if (!limited.granted) {
      expect(limited.error).toBeInstanceOf(RateLimitedError);
      expect(limited.error.message).toBe(
        'deployment saturated is rate limited (requests per minute); retry in 30000 ms',
      );
    }
  });
});
