import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { limitsFromConfig } from './from-config.ts';
import type { LimitedDeployment } from './limiter.ts';
import { TestRedis } from './test-helpers.ts';

const d: LimitedDeployment = { id: 'configured', rpm: 0, tpm: 0, maxConcurrency: 0 };

let t: TestRedis;
beforeEach(() => {
  t = new TestRedis();
});
afterEach(() => t.close());

describe('limitsFromConfig', () => {
  it('opens a circuit for the configured limits.circuitOpenMs', async () => {
    const limiter = limitsFromConfig(
      { limits: { circuitOpenMs: 4_321 } },
      { redis: t.connect(), keys: t.keys, clock: t.clock.read, circuit: { failureThreshold: 2 } },
    );
    await limiter.onUpstreamResult(d, { status: 503 });
    expect((await limiter.onUpstreamResult(d, { status: 503 })).circuit).toBe('open');
    expect(await limiter.state(d)).toMatchObject({ circuit: 'open', circuitOpenUntil: t.clock.now + 4_321 });
  });
});
