import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CircuitOpenError, isCircuitOpenError } from './errors.ts';
import { denialError, type Lease, type LimitedDeployment } from './limiter.ts';
import { TestRedis } from './test-helpers.ts';

const d: LimitedDeployment = { id: 'flaky', rpm: 0, tpm: 0, maxConcurrency: 0 };

let t: TestRedis;
beforeEach(() => {
  t = new TestRedis();
});
afterEach(() => t.close());

const circuitOptions = { circuit: { failureThreshold: 3, openMs: 10_000 } };

async function grant(limiter: ReturnType<TestRedis['limiter']>): Promise<Lease> {
  const r = await limiter.acquire(d);
  if (!r.granted) throw new Error(`expected a grant, got ${r.reason}`);
  return r.lease;
}

describe('circuit breaker', () => {
  it('opens after N consecutive failures, shared by every process', async () => {
    const a = t.limiter(circuitOptions);
    const b = t.limiter(circuitOptions);
    expect((await a.onUpstreamResult(d, { status: 500 })).circuit).toBe('closed');
    expect((await b.onUpstreamResult(d, { error: 'timeout' })).circuit).toBe('closed');
    // An ordinary 4xx proves the deployment answers: the count starts over.
    expect(await a.onUpstreamResult(d, { status: 400 })).toMatchObject({
      outcome: 'rejected',
      retryable: false,
      failover: false,
      circuit: 'closed',
    });
    expect((await a.state(d)).consecutiveFailures).toBe(0);
    await a.onUpstreamResult(d, { status: 502 });
    await b.onUpstreamResult(d, { error: 'connection' });
    const third = await a.onUpstreamResult(d, { status: 503 });
    expect(third).toMatchObject({ outcome: 'failure', retryable: true, failover: true, circuit: 'open' });

    const denied = await b.acquire(d);
    expect(denied).toMatchObject({ granted: false, reason: 'circuit_open', retryAfterMs: 10_000 });
    if (denied.granted) return;
    const error = denialError(denied);
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect(isCircuitOpenError(error)).toBe(true);
    expect(error).toMatchObject({
      code: 'SLUICE_ERR_CIRCUIT_OPEN',
      status: 503,
      retryable: true,
      retryAfterMs: 10_000,
      deploymentId: 'flaky',
    });
    expect(await b.state(d)).toMatchObject({
      circuit: 'open',
      circuitOpenUntil: t.clock.now + 10_000,
      consecutiveFailures: 3,
      circuitOpens: 1,
    });
  });

  it('half-opens after the open period with one probe at a time; failure reopens, success closes', async () => {
    const a = t.limiter(circuitOptions);
    const b = t.limiter(circuitOptions);
    const straggler = await grant(a); // in flight before the circuit opens
    for (let i = 0; i < 3; i += 1) await a.onUpstreamResult(d, { status: 500 });
    t.clock.advance(10_000);
    expect((await b.state(d)).circuit).toBe('half_open');

    const probe = await grant(a);
    expect(probe.probe).toBe(true);
    expect(await b.acquire(d)).toMatchObject({ granted: false, reason: 'circuit_open', retryAfterMs: 250 });
    expect((await b.state(d)).probeInFlight).toBe(true);
    // A call started before the circuit opened says nothing about now.
    expect((await b.onUpstreamResult(d, { lease: straggler, status: 200 })).circuit).toBe('half_open');

    expect((await a.onUpstreamResult(d, { lease: probe, status: 500 })).circuit).toBe('open');
    expect(await b.acquire(d)).toMatchObject({ granted: false, reason: 'circuit_open', retryAfterMs: 10_000 });
    expect((await b.state(d)).circuitOpens).toBe(2);

    t.clock.advance(10_000);
    const second = await grant(b);
    expect(second.probe).toBe(true);
    expect((await b.onUpstreamResult(d, { lease: second, status: 200 })).circuit).toBe('closed');
    const normal = await grant(a);
    expect(normal.probe).toBe(false);
    expect((await grant(b)).probe).toBe(false);
    expect(await a.state(d)).toMatchObject({ circuit: 'closed', consecutiveFailures: 0 });
  });

  it('lets another probe go when a probe ends without an outcome or is throttled', async () => {
    const limiter = t.limiter(circuitOptions);
    for (let i = 0; i < 3; i += 1) await limiter.onUpstreamResult(d, { status: 500 });
    t.clock.advance(10_000);
    const cancelled = await grant(limiter);
    expect(cancelled.probe).toBe(true);
    await limiter.release(cancelled);
    const throttled = await grant(limiter);
    expect(throttled.probe).toBe(true);
    expect(
      (
        await limiter.onUpstreamResult(d, {
          lease: throttled,
          status: 429,
          retryAfterMs: 0,
          headers: { 'x-ratelimit-remaining-requests': '10' },
        })
      ).circuit,
    ).toBe('half_open');
    expect((await grant(limiter)).probe).toBe(true);
  });

  it('a crashed probe holds the slot only until its lease expires', async () => {
    const limiter = t.limiter({ ...circuitOptions, leaseGraceMs: 0 });
    const short = { ...d, timeoutMs: 2_000 };
    for (let i = 0; i < 3; i += 1) await limiter.onUpstreamResult(short, { status: 500 });
    t.clock.advance(10_000);
    expect((await limiter.acquire(short)).granted).toBe(true);
    expect((await limiter.acquire(short)).granted).toBe(false);
    t.clock.advance(2_000);
    const next = await limiter.acquire(short);
    expect(next.granted && next.lease.probe).toBe(true);
  });

  it('opens on the failure ratio over the window', async () => {
    const limiter = t.limiter({
      circuit: {
        failureThreshold: 100,
        failureRatio: 0.5,
        minimumRequests: 10,
        windowMs: 10_000,
        buckets: 10,
        openMs: 5_000,
      },
    });
    const states: string[] = [];
    for (let i = 0; i < 10; i += 1) {
      states.push((await limiter.onUpstreamResult(d, { status: i % 2 === 0 ? 200 : 500 })).circuit);
      t.clock.advance(100);
    }
    expect(states).toEqual([...Array(9).fill('closed'), 'open']);
  });

  it('forgets outcomes older than the window', async () => {
    const limiter = t.limiter({
      circuit: { failureThreshold: 100, failureRatio: 0.5, minimumRequests: 4, windowMs: 10_000, buckets: 10 },
    });
    await limiter.onUpstreamResult(d, { status: 500 });
    await limiter.onUpstreamResult(d, { status: 500 });
    await limiter.onUpstreamResult(d, { status: 200 });
    t.clock.advance(11_000); // the two failures left the window
    await limiter.onUpstreamResult(d, { status: 200 });
    await limiter.onUpstreamResult(d, { status: 200 });
    expect((await limiter.onUpstreamResult(d, { status: 500 })).circuit).toBe('closed'); // 1 of 3 in window
    await limiter.onUpstreamResult(d, { status: 500 });
    expect((await limiter.onUpstreamResult(d, { status: 500 })).circuit).toBe('open'); // 3 of 5, minimum 4
  });
});
