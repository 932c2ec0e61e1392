import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { JobStore } from '@sluice/jobs';
import { createQueue, TIER_QUEUES } from '@sluice/queues';
import { createKeys, createRedis, type Redis } from '@sluice/redis';
import { runOpenLoop } from '../load-tests/src/driver.ts';
import { startSim, startSluice, type SimProcess, type SluiceStack } from '../load-tests/src/processes.ts';
import { freshPrefix } from './harness.ts';

/** The simulator's limit, and the load offered against it (about twice the limit). */
const RPM = 600;
const RATE_PER_SECOND = 20;
/** At least two minutes (issue 4); `STORM_SECONDS` shortens it when iterating locally. */
const DURATION_SECONDS = Number(process.env.STORM_SECONDS ?? 120);

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * The 429 storm of issue 4: three executor processes share one upstream limited to 600
 * requests per minute, offered twice that for two minutes. The limit lives in Redis, so the
 * simulator never sees more than the limit (+1 %) in any 60-second window, and the excess
 * waits in the queue instead of failing: every job completes.
 *
 * Every part is its own process, as in production: the simulator (a provider's clock must not
 * stall with the load generator's event loop), the API, the classifier and three executors.
 */
describe('429 storm', () => {
  const prefix = freshPrefix();
  let sim: SimProcess;
  let sluice: SluiceStack;
  let redis: Redis;

  beforeAll(async () => {
    sim = await startSim(['--profile', 'fast']);
    const patched = await fetch(`${sim.baseUrl}/sim/models/sim-small`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rpm: RPM }),
    });
    expect(patched.status).toBe(200);
    sluice = await startSluice({
      redisUrl: inject('redisUrl'),
      simUrl: sim.apiUrl,
      prefix,
      executors: 3,
      tenants: ['storm'],
      env: {
        SLUICE_DEPLOYMENTS: JSON.stringify([
          { id: 'sim-router', tier: 'router', baseUrl: sim.apiUrl, model: 'sim-router' },
          { id: 'sim-small', tier: 'small', baseUrl: sim.apiUrl, model: 'sim-small', rpm: RPM },
          { id: 'sim-large', tier: 'large', baseUrl: sim.apiUrl, model: 'sim-large' },
        ]),
        // The backlog (about two minutes of work at the limit) must be queued, not refused.
        SLUICE_BACKPRESSURE_MAX_WAIT_MS: '3600000',
        SLUICE_SYNC_TIMEOUT_MS: '900000',
        // The starts check below reads completed tier jobs, which are not kept by default.
        SLUICE_KEEP_COMPLETED: '1000',
      },
    });
    redis = createRedis({ url: inject('redisUrl'), role: 'worker' });
  }, 240_000);

  afterAll(async () => {
    redis?.disconnect();
    await sluice?.stop();
    await sim?.stop();
  }, 120_000);

  it(
    `holds ${RPM} rpm across three executors at ${RATE_PER_SECOND} req/s for ${DURATION_SECONDS} s, and completes every job`,
    { timeout: 900_000 },
    async () => {
      const failures: string[] = [];
      // The provider's accepted count once a second, to measure how fast the backlog drains.
      const started = Date.now();
      const samples: { atMs: number; accepted: number }[] = [];
      const sampler = setInterval(() => {
        const atMs = Date.now() - started;
        void sim.stats().then(
          (s) => samples.push({ atMs, accepted: s['sim-small']?.accepted ?? 0 }),
          () => {},
        );
      }, 1_000);
      const result = await runOpenLoop({
        rate: RATE_PER_SECOND,
        durationSeconds: DURATION_SECONDS,
        // The backlog drains at the limit: the last job waits about as long as the storm lasted.
        deadlineMs: 600_000,
        capture: true,
        onResponse: (r) => {
          if (!r.ok && failures.length < 10) failures.push(`${r.status} ${r.body ?? ''}`.slice(0, 300));
        },
        makeRequest: (i) => ({
          url: `${sluice.apiUrl}/v1/chat/completions`,
          headers: { authorization: `Bearer ${sluice.apiKeys.storm}`, 'cache-control': 'no-store' },
          body: { model: 'small', messages: [{ role: 'user', content: `storm request ${i}: say something short` }] },
        }),
      });
      clearInterval(sampler);
      const stats = (await sim.stats())['sim-small']!;
      // Calls the provider accepted in each whole minute from the first one (the pipeline's
      // warm-up is not the limiter's) while jobs still waited.
      const acceptedAt = (ms: number) =>
        samples.reduce((best, x) => (Math.abs(x.atMs - ms) < Math.abs(best.atMs - ms) ? x : best)).accepted;
      const first = samples.find((x) => x.accepted > 0)?.atMs ?? 0;
      const minutes: number[] = [];
      for (let k = 0; first + (k + 1) * 60_000 <= result.elapsedS * 1000 - 5_000; k += 1)
        minutes.push(acceptedAt(first + (k + 1) * 60_000) - acceptedAt(first + k * 60_000));
      console.log(
        `storm: ${JSON.stringify({ sent: result.sent, ok: result.ok, statuses: result.statuses, p50Ms: result.p50, p99Ms: result.p99, lastAnswerS: result.elapsedS, provider: { accepted: stats.accepted, rateLimited: stats.rateLimited, maxAcceptedIn60s: stats.maxAcceptedIn60s, perMinute: minutes } })}`,
      );
      if (failures.length) console.log(`storm failures (first ${failures.length}):\n${failures.join('\n')}`);

      // The limit held across all three processes in every 60-second window…
      expect(stats.maxAcceptedIn60s).toBeLessThanOrEqual(Math.floor(RPM * 1.01));
      // …and was reached: twice the limit was offered.
      expect(stats.maxAcceptedIn60s).toBeGreaterThanOrEqual(RPM * 0.9);
      // …and held through the backlog, not just in its busiest minute: permits are paced, and a
      // window-edge 429 does not cut the learned limit. Before both, the backlog drained at a
      // median of 455 per minute (a whole window spent in its first seconds, then a stall, then
      // a 30 % cut); after, 544–599 in bench:storm on the shared machine. The median forgives
      // one minute of a stalled machine.
      expect(minutes.length).toBeGreaterThanOrEqual(Math.min(2, Math.floor(DURATION_SECONDS / 60)));
      if (minutes.length > 0) expect(median(minutes)).toBeGreaterThanOrEqual(RPM * 0.85);
      // Only the provider's few 429s at a window's edge, where grants meet the send jitter of
      // busy executors; each one parks its job, spending no attempt. Without the global limit
      // it would be thousands.
      expect(stats.rateLimited).toBeLessThan(result.sent * 0.15);
      expect(result.sent).toBe(RATE_PER_SECOND * DURATION_SECONDS);
      expect(result.ok / result.sent).toBeGreaterThanOrEqual(0.999);

      // None vanished: every accepted job is recorded and finished (completed, or failed with a
      // reason the client can read).
      const store = new JobStore({ redis, keys: createKeys(prefix), ttlSeconds: 3600 });
      const jobKeys: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:{job:*}`, 'COUNT', 1000);
        cursor = next;
        jobKeys.push(...batch.filter((k) => k.endsWith('}')));
      } while (cursor !== '0');
      const records = await Promise.all(jobKeys.map((k) => store.get(/\{job:([^}]+)\}$/.exec(k)![1]!)));
      expect(records).toHaveLength(result.sent);
      const completed = records.filter((r) => r?.status === 'completed').length;
      const failed = records.filter((r) => r?.status === 'failed');
      expect(completed + failed.length).toBe(result.sent);
      for (const r of failed) expect(r!.error?.message).toBeTruthy();
      expect(completed).toBe(result.ok);

      // Jobs waiting for a permit wait in their executor's line, not by cycling through the
      // queue: BullMQ starts of each kept tier job (its last 1000). Handing every denied job
      // back made it about 30 fetch attempts per job (bench:storm, Redis ZPOPMIN per job).
      const tierQueue = createQueue(TIER_QUEUES.small, { connection: redis, keys: createKeys(prefix) });
      try {
        const kept = await tierQueue.getJobs(['completed'], 0, 999);
        const starts = kept.map((j) => j.attemptsStarted);
        const meanStarts = starts.reduce((a, b) => a + b, 0) / starts.length;
        console.log(
          `storm: BullMQ starts per tier job over the last ${starts.length}: mean ${meanStarts.toFixed(2)}, max ${Math.max(...starts)}`,
        );
        expect(starts.length).toBeGreaterThan(500);
        expect(meanStarts).toBeLessThan(4);
      } finally {
        await tierQueue.close();
      }
    },
  );
});
