import { describe, expect, it } from 'vitest';
import { ModelStatsRecorder } from './stats.ts';
import { createSimulator } from './simulator.ts';

/** Brute force over every window `(t - 60 s, t]` that ends at an acceptance. */
function bruteForceMax(times: readonly number[]): number {
  return Math.max(0, ...times.map((end) => times.filter((at) => at > end - 60_000 && at <= end).length));
}

describe('maxAcceptedIn60s', () => {
  it('is the largest number of acceptances in any 60-second window', () => {
    const stats = new ModelStatsRecorder();
    const times = [0, 10_000, 20_000, 65_000, 70_000, 71_000, 72_000, 130_000, 200_000];
    for (const at of times) stats.accept(at);
    // Windows: (12 s, 72 s] holds 20, 65, 70, 71, 72 → 5; the final count in the last 60 s is only 2.
    expect(stats.snapshot().maxAcceptedIn60s).toBe(5);
    expect(bruteForceMax(times)).toBe(5);
  });

  it('treats the window as half-open: an acceptance exactly 60 s later does not overlap', () => {
    const stats = new ModelStatsRecorder();
    stats.accept(0);
    stats.accept(60_000);
    expect(stats.snapshot().maxAcceptedIn60s).toBe(1);
    stats.accept(60_000);
    expect(stats.snapshot().maxAcceptedIn60s).toBe(2);
  });

  it('matches brute force on a random schedule', () => {
    const stats = new ModelStatsRecorder();
    const times: number[] = [];
    let at = 0;
    let seed = 42;
    for (let index = 0; index < 2_000; index += 1) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      at += seed % 900;
      times.push(at);
      stats.accept(at);
    }
    expect(stats.snapshot().maxAcceptedIn60s).toBe(bruteForceMax(times));
  });

  it('tracks in-flight peaks and keeps live requests across a reset', () => {
    const stats = new ModelStatsRecorder();
    stats.enter();
    stats.enter();
    stats.leave();
    expect(stats.snapshot()).toMatchObject({ inFlight: 1, maxInFlight: 2 });
    stats.reset();
    expect(stats.snapshot()).toMatchObject({ inFlight: 1, maxInFlight: 1, accepted: 0 });
  });
});

describe('simulator with an injected clock', () => {
  it('enforces rpm over a sliding window and reports maxAcceptedIn60s exactly', async () => {
    let now = 1_700_000_000_000;
    const sim = createSimulator({ profile: 'fast', now: () => now, models: [{ id: 'sim-small', rpm: 3 }] });
    const post = async () =>
      sim.app.inject({
        method: 'POST',
        url: '/v1/chat/completions',
        payload: { model: 'sim-small', messages: [{ role: 'user', content: `at ${now}` }], max_tokens: 5 },
      });
    try {
      const schedule: Array<[offsetMs: number, status: number]> = [
        [0, 200],
        [1_000, 200],
        [2_000, 200],
        [30_000, 429],
        [60_000, 200], // the grant at 0 has left (0, 60 s]
        [60_500, 429],
        [61_000, 200],
      ];
      const start = now;
      for (const [offset, status] of schedule) {
        now = start + offset;
        const response = await post();
        expect(response.statusCode, `at +${offset} ms`).toBe(status);
        if (status === 429) {
          expect(response.json()).toMatchObject({
            error: { type: 'requests', code: 'rate_limit_exceeded', param: null },
          });
          expect(Number(response.headers['retry-after'])).toBeGreaterThanOrEqual(1);
        }
      }
      now = start + 30_000;
      const stats = sim.stats().models['sim-small'];
      expect(stats).toMatchObject({ requests: 7, accepted: 5, rateLimited: 2, maxAcceptedIn60s: 3 });
    } finally {
      await sim.close();
    }
  });

  it('gives retry-after from the oldest grant in the window', async () => {
    let now = 0;
    const sim = createSimulator({ profile: 'fast', now: () => now, models: [{ id: 'sim-small', rpm: 1 }] });
    const payload = { model: 'sim-small', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 };
    try {
      expect((await sim.app.inject({ method: 'POST', url: '/v1/chat/completions', payload })).statusCode).toBe(200);
      now = 12_345;
      const refused = await sim.app.inject({ method: 'POST', url: '/v1/chat/completions', payload });
      expect(refused.statusCode).toBe(429);
      expect(refused.headers['retry-after-ms']).toBe('47655');
      expect(refused.headers['retry-after']).toBe('48');
      expect(refused.headers['x-ratelimit-reset-requests']).toBe('47.655s');
    } finally {
      await sim.close();
    }
  });
});
