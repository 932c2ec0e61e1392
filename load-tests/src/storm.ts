/**
 * The 429 storm benchmark (issue 4): the same storm, in the same run, against two identical
 * simulated deployments limited to `--rpm` requests per minute:
 *
 * - **direct**: the official `openai` SDK with its default retries (2 retries, exponential
 *   backoff honouring `retry-after`), calling the simulator's `sim-small@direct` itself;
 * - **sluice**: the same SDK, same defaults, calling Sluice (three executor processes behind
 *   one global limit) whose small tier is `sim-small@sluice`.
 *
 * Both get `--rate` requests per second (open loop, twice the limit by default) for
 * `--duration` seconds, at the same time, so machine noise hits both. Reported: success
 * rate, P50/P99 latency from each request's due time, 429s the provider sent (simulator
 * stats), the most requests the provider accepted in any 60 s, elapsed time, and the drain
 * rate: calls the provider accepted in each whole minute from Sluice's first accepted call
 * while it still had a backlog, as a share of the limit (the simulator's counters sampled
 * once a second), and what the storm cost Redis per request (`INFO commandstats` of the run's
 * Redis, which only Sluice uses: all commands, script calls, `ZPOPMIN`, i.e. BullMQ's attempts
 * to take a prioritized job, empty ones included, and Redis CPU).
 *
 *   pnpm bench:storm [--rpm 600] [--rate 20] [--duration 120] [--latency-ms 200] [--executors 3]
 */
import { Redis as Standalone } from 'ioredis';
import OpenAI from 'openai';
import { runOpenLoop, type OpenLoopResult, type Sender } from './driver.ts';
import { startRedis, startSim, startSluice } from './processes.ts';
import { commandStatsDelta, readCommandStats } from './redis-stats.ts';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const rpm = arg('rpm', 600);
const rate = arg('rate', 20);
const duration = arg('duration', 120);
const latencyMs = arg('latency-ms', 200);
const executors = arg('executors', 3);
// Long enough for Sluice's backlog to drain at the limit: the last request waits about
// (rate × duration − rpm/60 × duration) ÷ (rpm/60) seconds, plus margin.
const deadlineMs = Math.max(120_000, Math.ceil(((rate * duration) / (rpm / 60)) * 1000 * 1.5));

const DIRECT_MODEL = 'sim-small@direct';
const SLUICE_MODEL = 'sim-small@sluice';

const redis = await startRedis(process.env.REDIS_URL);
const sim = await startSim(['--profile', 'fixed', '--latency-ms', String(latencyMs)]);
const stack: { stop(): Promise<void> }[] = [];
try {
  for (const model of [DIRECT_MODEL, SLUICE_MODEL]) {
    const res = await fetch(`${sim.baseUrl}/sim/models/${encodeURIComponent(model)}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rpm }),
    });
    if (!res.ok) throw new Error(`could not set the limit of ${model}: ${res.status} ${await res.text()}`);
  }
  const sluice = await startSluice({
    redisUrl: redis.url,
    simUrl: sim.apiUrl,
    executors,
    prefix: `storm${Date.now().toString(36)}`,
    env: {
      SLUICE_DEPLOYMENTS: JSON.stringify([
        { id: 'sim-router', tier: 'router', baseUrl: sim.apiUrl, model: 'sim-router' },
        { id: 'sim-small', tier: 'small', baseUrl: sim.apiUrl, model: SLUICE_MODEL, rpm },
        { id: 'sim-large', tier: 'large', baseUrl: sim.apiUrl, model: 'sim-large' },
      ]),
      // The storm is meant to queue: backpressure and the sync timeout must not cut it short.
      SLUICE_BACKPRESSURE_MAX_WAIT_MS: String(deadlineMs * 2),
      SLUICE_SYNC_TIMEOUT_MS: String(deadlineMs * 2),
      SLUICE_PERMIT_WAIT_MS: String(deadlineMs * 2),
    },
  });
  stack.push(sluice);

  // The SDK as an application would use it: defaults everywhere but the timeout, which must
  // outlast Sluice's queue (the default is 10 minutes).
  const sdkSender =
    (client: OpenAI, model: string, headers: Record<string, string>): Sender =>
    async (i, { signal }) => {
      try {
        const completion = await client.chat.completions.create(
          { model, messages: [{ role: 'user', content: `Storm request ${i}: say something short.` }] },
          { signal, headers },
        );
        return { status: '200', ok: true, content: completion.choices[0]?.message.content ?? '' };
      } catch (error) {
        const status = (error as { status?: number }).status;
        return { status: status ? String(status) : ((error as Error).name ?? 'error'), ok: false };
      }
    };
  const direct = new OpenAI({ baseURL: sim.apiUrl, apiKey: 'sim', timeout: deadlineMs });
  const viaSluice = new OpenAI({ baseURL: `${sluice.apiUrl}/v1`, apiKey: sluice.apiKeys.bench!, timeout: deadlineMs });

  console.error(
    `storm: ${rate} req/s for ${duration} s against ${rpm} rpm (x${((rate * 60) / rpm).toFixed(1)}), ${executors} executors, simulator latency ${latencyMs} ms`,
  );
  const admin = new Standalone(redis.url, { lazyConnect: true });
  await admin.connect();
  const redisBefore = await readCommandStats(admin);
  const started = Date.now();
  // The provider's accepted count over time, to measure how fast the backlog drains.
  const samples: { atMs: number; direct: number; sluice: number }[] = [];
  const sample = async () => {
    const at = Date.now() - started;
    const now = await sim.stats().catch(() => undefined);
    if (now)
      samples.push({ atMs: at, direct: now[DIRECT_MODEL]?.accepted ?? 0, sluice: now[SLUICE_MODEL]?.accepted ?? 0 });
  };
  const sampler = setInterval(() => void sample(), 1_000);
  const [d, s] = await Promise.all([
    runOpenLoop({
      rate,
      durationSeconds: duration,
      deadlineMs,
      send: sdkSender(direct, DIRECT_MODEL, {}),
      label: 'direct',
      onProgress: true,
    }),
    // `small` pins the tier as the direct call pins its model; no-store keeps the cache out.
    runOpenLoop({
      rate,
      durationSeconds: duration,
      deadlineMs,
      send: sdkSender(viaSluice, 'small', { 'cache-control': 'no-store' }),
      label: 'sluice',
      onProgress: true,
    }),
  ]);
  clearInterval(sampler);
  const redisCost = commandStatsDelta(redisBefore, await readCommandStats(admin));
  admin.disconnect();
  const stats = await sim.stats();
  const elapsed = Math.round((Date.now() - started) / 1000);

  const row = (name: string, r: OpenLoopResult, model: string) => {
    const m = stats[model]!;
    const okP = (p: number) => Math.round(r.okHistogram.getValueAtPercentile(p) / 1000);
    return `| ${name} | ${r.sent} | ${((100 * r.ok) / r.sent).toFixed(2)} % | ${okP(50)} | ${okP(99)} | ${Math.round(r.p50)} | ${Math.round(r.p99)} | ${m.rateLimited} | ${m.requests} | ${m.maxAcceptedIn60s} | ${r.elapsedS} | ${JSON.stringify(r.statuses)} |`;
  };
  console.log(
    `\n429 storm: ${rate} req/s for ${duration} s (${rate * duration} requests) against deployments limited to ${rpm} rpm; simulator latency ${latencyMs} ms; ${executors} executor processes; run took ${elapsed} s\n`,
  );
  console.log(
    '| path | requests | success | P50 ok (ms) | P99 ok (ms) | P50 all (ms) | P99 all (ms) | 429s from provider | provider requests | max accepted in 60 s | last answer (s) | client outcomes |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  console.log(row('direct, openai SDK default retries', d, DIRECT_MODEL));
  console.log(row('Sluice (same SDK)', s, SLUICE_MODEL));
  console.log(
    `\nLatency is from each request's due time (open loop). "all" includes failures at the time they failed.`,
  );

  // Whole minutes from Sluice's first accepted call (the stack's warm-up is not the limiter's)
  // while it still had requests to answer (its last answer ends the backlog); accepted calls
  // per minute, read from the samples nearest each edge.
  const acceptedAt = (ms: number) =>
    samples.reduce((best, x) => (Math.abs(x.atMs - ms) < Math.abs(best.atMs - ms) ? x : best)).sluice;
  const first = samples.find((x) => x.sluice > 0)?.atMs ?? 0;
  const minutes: number[] = [];
  for (let k = 0; first + (k + 1) * 60_000 <= s.elapsedS * 1000 && samples.length > 0; k += 1)
    minutes.push(acceptedAt(first + (k + 1) * 60_000) - acceptedAt(first + k * 60_000));
  const sorted = [...minutes].sort((a, b) => a - b);
  const median = sorted.length
    ? sorted.length % 2
      ? sorted[(sorted.length - 1) / 2]!
      : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2
    : 0;
  const servingS = s.elapsedS - first / 1000;
  const overall = servingS > 0 ? (stats[SLUICE_MODEL]!.accepted / servingS) * 60 : 0;
  console.log(
    `\nSluice drain: first call accepted at ${(first / 1000).toFixed(0)} s; accepted calls per whole minute from then while backlogged ${JSON.stringify(minutes)} (limit ${rpm}); median ${median} = ${((100 * median) / rpm).toFixed(1)} % of the limit; from the first to the last answer ${overall.toFixed(0)} per minute = ${((100 * overall) / rpm).toFixed(1)} %`,
  );
  const perRequest = (n: number) => (n / s.sent).toFixed(1);
  const scripts = ['evalsha', 'evalsha_ro', 'eval', 'eval_ro', 'fcall'].reduce(
    (sum, name) => sum + (redisCost.calls[name] ?? 0),
    0,
  );
  console.log(
    `\nSluice's Redis during the storm, per request: ${perRequest(redisCost.total)} commands (${redisCost.total} in all), ${perRequest(scripts)} script calls, ${perRequest(redisCost.calls.zpopmin ?? 0)} ZPOPMIN (BullMQ attempts to take a prioritized job, empty ones included), ${perRequest(redisCost.cpuMs)} ms Redis CPU`,
  );
} finally {
  for (const s of stack.reverse()) await s.stop();
  await sim.stop();
  await redis.stop();
}
