/**
 * Scaling (issue 6): throughput against executor processes on an upstream-latency-bound
 * workload, and the provider limit at each step; then the cache-miss-path ceiling against a
 * bare BullMQ two-hop pipeline on the same Redis.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { TIER_QUEUES } from '@sluice/queues';
import { createKeys } from '@sluice/redis';
import { startBarePipeline } from './bare-pipeline.ts';
import { cpuMeter } from './cpu.ts';
import { autoChatSender, httpSender, runClosedLoop, type ClosedLoopResult, type Sender } from './driver.ts';
import { Agent } from 'node:http';
import { startSim, startSluice, type SimProcess, type SluiceStack } from './processes.ts';
import type { CeilingResult, ScalingResult, ScalingStep } from './results.ts';
import { median } from './stats.ts';

/** Wait until `n` workers consume Sluice's `small` tier queue under `prefix`. */
async function waitForExecutors(redisUrl: string, prefix: string, n: number, timeoutMs = 120_000): Promise<void> {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(TIER_QUEUES.small, { connection, prefix: createKeys(prefix).bullPrefix });
  try {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if ((await queue.getWorkersCount()) >= n) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`${n} executors did not start within ${timeoutMs} ms`);
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

/** A simulator models file (`--models`) in a temp folder. */
export function writeModels(models: object[]): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sluice-load-')), 'models.json');
  writeFileSync(file, JSON.stringify(models));
  return file;
}

const uniqueChat = (apiUrl: string, apiKey: string, model: string, tag: string) => (i: number) => ({
  url: `${apiUrl}/v1/chat/completions`,
  // Unique prompts and no-store: every request takes the whole miss path to the upstream.
  headers: { authorization: `Bearer ${apiKey}`, 'cache-control': 'no-store' },
  body: { model, messages: [{ role: 'user', content: `Scaling probe ${tag}-${i}: reply with one short sentence.` }] },
});

/** Options for {@link measureScaling}. */
export interface ScalingOptions {
  redisUrl: string;
  runId: string;
  /** Fixed simulator latency (ms): the upstream bound. */
  simLatencyMs: number;
  /** Executor concurrency per process. */
  concurrency: number;
  executorCounts: readonly number[];
  /** Requests kept in flight by the client (above what the largest step can serve). */
  clientConcurrency: number;
  /** Most warm-up per step (s): slices run until one reaches 85 % of the ideal throughput. */
  warmupSeconds: number;
  windowSeconds: number;
  /** Provider requests per minute on the deployment (above what the largest step sends). */
  rpm: number;
  /** Provider concurrency limit of the extra limited step (below what the largest step would send); 0 skips it. */
  limitedConcurrency: number;
  log: (line: string) => void;
}

async function step(
  sim: SimProcess,
  stack: SluiceStack,
  variant: string,
  options: ScalingOptions,
  executors: number,
  limit: { rpm: number; maxConcurrency: number },
): Promise<ScalingStep> {
  const agent = new Agent({ keepAlive: true, maxSockets: 4096 });
  const send: Sender = httpSender({
    agent,
    makeRequest: uniqueChat(stack.apiUrl, stack.apiKeys.bench!, 'small', `${variant}-${executors}`),
  });
  // Warm until steady: freshly added executors answered their first jobs 15–20 s late on the
  // shared machine, which a fixed warm-up did not cover. Slices (one latency of ramp, then six
  // rounds of the slots counted) until one reaches 75 % of the upstream-bound ideal, or the
  // warm-up budget is spent. A count over six rounds is off by at most one round (17 %), so
  // a warm stack passes; a stack with a cold executor does not.
  const ideal =
    (Math.min(executors * options.concurrency, limit.maxConcurrency || Infinity) * 1000) / options.simLatencyMs;
  const warmStart = performance.now();
  const latencyS = options.simLatencyMs / 1000;
  while ((performance.now() - warmStart) / 1000 < options.warmupSeconds) {
    const w = await runClosedLoop({
      concurrency: options.clientConcurrency,
      warmupSeconds: latencyS,
      durationSeconds: Math.max(4, 6 * latencyS),
      send,
      deadlineMs: 120_000,
    });
    if (w.throughput >= 0.75 * ideal) break;
  }
  const warmedSeconds = Math.round((performance.now() - warmStart) / 1000);
  const before = (await sim.stats())[`sim-small@${variant}`];
  // At least ~25 completions in the window: the count is off by up to one round of slots.
  const windowSeconds = Math.max(options.windowSeconds, Math.ceil(25 / ideal));
  const r = await runClosedLoop({
    concurrency: options.clientConcurrency,
    durationSeconds: windowSeconds,
    warmupSeconds: 2,
    send,
    deadlineMs: 120_000,
    onProgress: true,
    label: `scaling ${executors} exec`,
  });
  agent.destroy();
  const after = (await sim.stats())[`sim-small@${variant}`]!;
  const s: ScalingStep = {
    executors,
    concurrency: options.concurrency,
    limit,
    ideal: Math.round(ideal * 100) / 100,
    warmedSeconds,
    windowSeconds,
    throughput: r.throughput,
    p50: r.p50,
    p99: r.p99,
    errors: r.errors,
    provider: {
      accepted: after.accepted - (before?.accepted ?? 0),
      rateLimited: after.rateLimited - (before?.rateLimited ?? 0),
      maxAcceptedIn60s: after.maxAcceptedIn60s,
      maxInFlight: after.maxInFlight,
    },
  };
  options.log(
    `scaling ${executors} executor(s): ${s.throughput} req/s (ideal ${s.ideal}, warmed ${warmedSeconds} s)  p50 ${s.p50} ms  p99 ${s.p99} ms  errors ${s.errors}  provider 429s ${s.provider.rateLimited}  max in flight ${s.provider.maxInFlight}`,
  );
  return s;
}

/** Throughput at 1, 2, 4… executors; the provider limit checked at each step. */
export async function measureScaling(options: ScalingOptions): Promise<ScalingResult> {
  const sim = await startSim([
    '--profile',
    'fixed',
    '--latency-ms',
    String(options.simLatencyMs),
    '--models',
    writeModels([
      { id: 'sim-router', rpm: 0, tpm: 0 },
      { id: 'sim-small', rpm: options.rpm, tpm: 0 },
      { id: 'sim-large', rpm: 0, tpm: 0 },
      { id: 'sim-embed' },
    ]),
  ]);
  const steps: ScalingStep[] = [];
  let limited: ScalingStep | undefined;
  try {
    const deployments = (variant: string, maxConcurrency: number) =>
      JSON.stringify([
        { id: `router-${variant}`, tier: 'router', baseUrl: sim.apiUrl, model: `sim-router@${variant}` },
        {
          id: `small-${variant}`,
          tier: 'small',
          baseUrl: sim.apiUrl,
          model: `sim-small@${variant}`,
          rpm: options.rpm,
          maxConcurrency,
        },
        { id: `large-${variant}`, tier: 'large', baseUrl: sim.apiUrl, model: `sim-large@${variant}` },
      ]);
    const env = (variant: string, maxConcurrency: number) => ({
      SLUICE_EXECUTOR_CONCURRENCY: String(options.concurrency),
      SLUICE_CACHE_ENABLED: 'false',
      SLUICE_DEPLOYMENTS: deployments(variant, maxConcurrency),
    });

    // One stack; executors are added between steps, so the steps share one provider window.
    // The limited step's stack starts at the same time (startup is most of the wall time) and
    // waits idle.
    const variant = `scale-${options.runId}`;
    const prefix = `lt-${variant}`;
    const lv = `limited-${options.runId}`;
    const lprefix = `lt-${lv}`;
    const largest = Math.max(...options.executorCounts);
    if (options.limitedConcurrency > 0) {
      // The provider enforces the concurrency limit too (429 when exceeded).
      await fetch(`${sim.baseUrl}/sim/models/sim-small@${lv}`);
      await fetch(`${sim.baseUrl}/sim/models/sim-small@${lv}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ maxConcurrency: options.limitedConcurrency }),
      });
    }
    const starting = [
      startSluice({
        redisUrl: options.redisUrl,
        simUrl: sim.apiUrl,
        prefix,
        executors: options.executorCounts[0] ?? 1,
        env: env(variant, 0),
      }),
      ...(options.limitedConcurrency > 0
        ? [
            startSluice({
              redisUrl: options.redisUrl,
              simUrl: sim.apiUrl,
              prefix: lprefix,
              executors: largest,
              env: env(lv, options.limitedConcurrency),
            }),
          ]
        : []),
    ];
    const started = await Promise.allSettled(starting);
    const stacks = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    try {
      const failed = started.find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
      const [stack, lstack] = stacks as [SluiceStack, SluiceStack | undefined];
      let running = options.executorCounts[0] ?? 1;
      for (const n of options.executorCounts) {
        while (running < n) {
          await stack.addExecutor();
          running++;
        }
        await waitForExecutors(options.redisUrl, prefix, n);
        steps.push(await step(sim, stack, variant, options, n, { rpm: options.rpm, maxConcurrency: 0 }));
      }
      await stack.stop();
      if (lstack) {
        await waitForExecutors(options.redisUrl, lprefix, largest);
        limited = await step(sim, lstack, lv, options, largest, {
          rpm: options.rpm,
          maxConcurrency: options.limitedConcurrency,
        });
      }
    } finally {
      await Promise.allSettled(stacks.map((s) => s.stop()));
    }
  } finally {
    await sim.stop();
  }
  return {
    simLatencyMs: options.simLatencyMs,
    clientConcurrency: options.clientConcurrency,
    windowSeconds: options.windowSeconds,
    steps,
    limited,
  };
}

/** Options for {@link measureCeiling}. */
export interface CeilingOptions {
  redisUrl: string;
  /** Pid of the Redis server, to count its CPU too (absent for an external Redis). */
  redisPid?: number;
  runId: string;
  clientConcurrency: number;
  warmupSeconds: number;
  windowSeconds: number;
  rounds: number;
  /** Worker concurrency of the bare pipeline's hops (Sluice's defaults: 64). */
  bareConcurrency: number;
  log: (line: string) => void;
}

/**
 * Cache-miss path ceiling: unique prompts, cache and routing on, near-zero simulator latency,
 * no provider limits; alternated with the bare pipeline, medians of rounds.
 */
export async function measureCeiling(options: CeilingOptions): Promise<CeilingResult> {
  const sim = await startSim([
    '--profile',
    'fast',
    '--models',
    writeModels([
      { id: 'sim-router', rpm: 0, tpm: 0 },
      { id: 'sim-small', rpm: 0, tpm: 0 },
      { id: 'sim-large', rpm: 0, tpm: 0 },
      { id: 'sim-embed', rpm: 0, tpm: 0 },
    ]),
  ]);
  const sluice: number[] = [];
  const bare: number[] = [];
  const cpu: { sluice: Record<string, number>; bare: Record<string, number> } = { sluice: {}, bare: {} };
  let sluiceErrors = 0;
  let bareErrors = 0;
  try {
    const stack = await startSluice({
      redisUrl: options.redisUrl,
      simUrl: sim.apiUrl,
      prefix: `lt-ceiling-${options.runId}`,
      env: { SLUICE_CACHE_ENABLED: 'true' },
    });
    const pipeline = await startBarePipeline({
      redisUrl: options.redisUrl,
      prefix: `lt-bare-${options.runId}`,
      concurrency: options.bareConcurrency,
    }).catch(async (e) => {
      await stack.stop();
      throw e;
    });
    const agent = new Agent({ keepAlive: true, maxSockets: 4096 });
    try {
      // Unique prompts: every request misses the cache (lookup and write still run).
      const sluiceSend = (round: number) =>
        autoChatSender({
          agent,
          apiUrl: stack.apiUrl,
          apiKey: stack.apiKeys.bench!,
          content: (i) => `Ceiling probe ${options.runId}-${round}-${i}: what is ${i} plus ${round}?`,
        });
      // Warm-up outside the rounds: a cold stack answered nothing for 13 s on the shared machine.
      await runClosedLoop({ concurrency: 4, durationSeconds: 8, send: sluiceSend(-1) });
      await runClosedLoop({ concurrency: 4, durationSeconds: 3, send: pipeline.send });
      const sluiceCpu = cpuMeter({
        api: stack.processes[0]!.child.pid,
        classifier: stack.processes[1]!.child.pid,
        executor: stack.processes[2]!.child.pid,
        simulator: sim.process.child.pid,
        redis: options.redisPid,
      });
      const bareCpu = cpuMeter({ 'hop 1': pipeline.pids[0], 'hop 2': pipeline.pids[1], redis: options.redisPid });
      const measured = async (
        meter: ReturnType<typeof cpuMeter>,
        totals: Record<string, number>,
        run: () => Promise<ClosedLoopResult>,
      ) => {
        meter.start();
        const client = process.cpuUsage();
        const r = await run();
        const used = {
          ...meter.stop(),
          'load client': (process.cpuUsage(client).user + process.cpuUsage(client).system) / 1000,
        };
        for (const [k, v] of Object.entries(used)) totals[k] = (totals[k] ?? 0) + v;
        totals[COMPLETED] = (totals[COMPLETED] ?? 0) + r.completed;
        return r;
      };
      for (let round = 0; round < options.rounds; round++) {
        const s = await measured(sluiceCpu, cpu.sluice, () =>
          runClosedLoop({
            concurrency: options.clientConcurrency,
            durationSeconds: options.windowSeconds,
            warmupSeconds: options.warmupSeconds,
            send: sluiceSend(round),
            onProgress: true,
            label: 'ceiling sluice',
          }),
        );
        sluice.push(s.throughput);
        sluiceErrors += s.errors;
        const b = await measured(bareCpu, cpu.bare, () =>
          runClosedLoop({
            concurrency: options.clientConcurrency,
            durationSeconds: options.windowSeconds,
            warmupSeconds: options.warmupSeconds,
            send: pipeline.send,
            onProgress: true,
            label: 'ceiling bare',
          }),
        );
        bare.push(b.throughput);
        bareErrors += b.errors;
        options.log(
          `ceiling round ${round + 1}: sluice ${s.throughput} req/s (errors ${s.errors}), bare BullMQ ${b.throughput} jobs/s (errors ${b.errors})`,
        );
      }
    } finally {
      agent.destroy();
      await pipeline.stop();
      await stack.stop();
    }
  } finally {
    await sim.stop();
  }
  const sluiceMedian = median(sluice);
  const bareMedian = median(bare);
  return {
    clientConcurrency: options.clientConcurrency,
    windowSeconds: options.windowSeconds,
    rounds: options.rounds,
    sluice,
    bare,
    sluiceMedian,
    bareMedian,
    ratio: bareMedian > 0 ? sluiceMedian / bareMedian : 0,
    sluiceErrors,
    bareErrors,
    cpuMsPerRequest: { sluice: perRequest(cpu.sluice), bare: perRequest(cpu.bare) },
  };
}

const COMPLETED = '#completed';

/** CPU ms per completed request, by process, from totals over the rounds. */
function perRequest(totals: Record<string, number>): Record<string, number> {
  const n = totals[COMPLETED] ?? 0;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(totals)) if (k !== COMPLETED && n > 0) out[k] = Math.round((v / n) * 100) / 100;
  return out;
}
