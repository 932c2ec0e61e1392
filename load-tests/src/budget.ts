/**
 * The per-request budget (issue 13): what one cache miss and one exact hit cost in Redis
 * commands, round trips in sequence, bytes sent to Redis and CPU of every process, for one or
 * more checkouts in the same run (an older commit's worktree beside this one), with a bare
 * two-hop BullMQ pipeline on the same machine as the ceiling's peer.
 *
 *   pnpm bench:budget [--checkout label=path …] [--serial 100] [--window 10] [--concurrency 32] [--rounds 2] [--out FILE]
 *
 * Each checkout gets its own Redis (so `INFO commandstats` is its alone) and its own API,
 * classifier and executor processes, all against one simulator (`fast`, no limits).
 * - Serial phases, one request in flight: Redis commands and bytes are the server's deltas,
 *   less what the idle stack does in the same time; round trips are the command writes each
 *   process started between the request's send and its answer (counted by `redis-trace.ts`
 *   preloaded into every process), less the idle rate; CPU ms per request of each process
 *   (its threads' `/proc` schedstat, exact to the nanosecond), less the idle CPU, which
 *   other processes on a shared machine move less than the ceiling's (still ±10 %: compare in one run).
 * - Closed-loop phases (`--concurrency` in flight, `--window` s, medians of `--rounds`): the
 *   ceiling, CPU ms per request of each process (`/proc`), Redis included, simulator excluded.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { Redis as Standalone } from 'ioredis';
import { startRedisServer, type RunningRedis } from '@sluice/redis-server';
import { startBarePipeline, type BarePipeline } from './bare-pipeline.ts';
import { cpuMeter } from './cpu.ts';
import { httpSender, runClosedLoop, type Sender } from './driver.ts';
import { ROOT, startSim, startSluice, type SluiceStack } from './processes.ts';
import { commandStatsDelta, readCommandStats } from './redis-stats.ts';
import { writeModels } from './scaling.ts';
import { median } from './stats.ts';

const argv = process.argv.slice(2);
const arg = (name: string, def: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : def;
};
const checkouts: Array<{ label: string; root: string }> = [];
argv.forEach((a, i) => {
  if (a !== '--checkout') return;
  const v = argv[i + 1] ?? '';
  const eq = v.indexOf('=');
  checkouts.push(eq > 0 ? { label: v.slice(0, eq), root: resolve(v.slice(eq + 1)) } : { label: v, root: resolve(v) });
});
if (checkouts.length === 0) checkouts.push({ label: 'this checkout', root: ROOT });
const serial = arg('serial', 100);
const windowSeconds = arg('window', 10);
const concurrency = arg('concurrency', 32);
const rounds = arg('rounds', 2);
const outIndex = argv.indexOf('--out');
const outFile = resolve(outIndex >= 0 ? argv[outIndex + 1]! : join(ROOT, 'load-tests/reports/budget.md'));
const log = (m: string) => process.stderr.write(`[bench:budget] ${m}\n`);
const TRACE = join(ROOT, 'load-tests/src/redis-trace.ts');
const runId = Date.now().toString(36);

interface Target {
  label: string;
  root: string;
  commit: string;
  redis: RunningRedis;
  admin: Standalone;
  traceDir: string;
  stack: SluiceStack;
  pids: Record<string, number | undefined>;
}

/** One write a process started (`redis-trace.ts`): epoch µs, commands, their first names, and how many were idle. */
interface TraceRow {
  at: number;
  commands: number;
  names: string;
  /** Blocking pops and BullMQ fetches that found no job among its commands. */
  idle: number;
}

/** Round trips a process started, from its trace file. */
function readTraces(dir: string): Map<number, TraceRow[]> {
  const out = new Map<number, TraceRow[]>();
  for (const f of readdirSync(dir)) {
    const rows = readFileSync(join(dir, f), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [at, commands, names, idle] = l.split('\t');
        return { at: Number(at), commands: Number(commands), names: names ?? '', idle: Number(idle ?? 0) };
      });
    out.set(Number(f.replace('.tsv', '')), rows);
  }
  return out;
}

/** The stack's processes with its Redis server, for CPU readings. */
const withRedis = (t: Target) => ({ ...t.pids, redis: t.redis.process.pid });
const netInputBytes = async (admin: Standalone) =>
  Number(/total_net_input_bytes:(\d+)/.exec(await admin.info('stats'))?.[1] ?? 0);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nowUs = () => Math.round((performance.timeOrigin + performance.now()) * 1000);
const round1 = (x: number) => Math.round(x * 10) / 10;
const round2 = (x: number) => Math.round(x * 100) / 100;

const agent = new Agent({ keepAlive: true, maxSockets: 4096 });
const missBody = (tag: string, i: number) => ({
  model: 'auto',
  messages: [{ role: 'user', content: `Budget probe ${runId}-${tag}-${i}: what is ${i} plus ${tag.length}?` }],
});
const hitBody = (i: number) => ({
  model: 'auto',
  messages: [{ role: 'user', content: `Budget repeat ${runId} ${i % 50}: name a colour of the rainbow.` }],
});
const sender = (t: Target, body: (i: number) => unknown, capture = false): Sender =>
  httpSender({
    agent,
    capture,
    makeRequest: (i) => ({
      url: `${t.stack.apiUrl}/v1/chat/completions`,
      headers: { authorization: `Bearer ${t.stack.apiKeys.bench!}` },
      body: body(i),
    }),
  });

interface SerialResult {
  n: number;
  ok: number;
  cacheHeaders: Record<string, number>;
  commands: number;
  byCommand: Record<string, number>;
  bytes: number;
  roundTrips: Record<string, number>;
  roundTripsTotal: number;
  /**
   * Writes of every process from the send up to the one that publishes the answer, idle
   * writes (blocking pops, fetches that found no job) and a process's writes after its
   * handoff left out.
   */
  criticalPath: number;
  /** The earlier, looser bound: every write but blocking pops up to the answer's. */
  criticalPathUpperBound: number;
  latencyP50: number;
  /** CPU ms per request of each process (api, classifier, executor, redis), one request at a time, idle CPU subtracted. */
  cpu: Record<string, number>;
  /** One request's round trips in order (ms from its send, process, commands sent together). */
  sample: string[];
}

interface IdleRates {
  seconds: number;
  commandsPerS: number;
  callsPerS: Record<string, number>;
  bytesPerS: number;
  roundTripsPerS: Record<string, number>;
  /** Writes per second, all processes, that are not idle (see {@link isIdle}). */
  activePerS: number;
  /** Writes per second, all processes, that are not only blocking pops. */
  activeWithEmptyFetchesPerS: number;
  /** CPU ms per second of each process (api, classifier, executor, redis) while idle. */
  cpuPerS: Record<string, number>;
}

/** A write that only starts a blocking pop waits for the next job: no request waits on it. */
const onlyBlocking = (names: string) => names.split(',').every((n) => n === 'bzpopmin' || n === 'bzpopmax');
/**
 * A write no request waits on: only blocking pops, or BullMQ fetches that found no job (a
 * worker with free slots asks again after each job it takes, and finds the queue empty when
 * one request is in flight). A fetch that found the job counts.
 */
const isIdle = (r: TraceRow) => r.idle >= r.commands || onlyBlocking(r.names);
/** The write that publishes a job's answer (a finished job, or one answered at the API). */
const publishesAnswer = (names: string) =>
  /jobs:finish|jobs:create-answered|sluiceJobFinish|sluiceJobCreateAnswered/.test(names);
/** A write that enqueues the job for the next hop (BullMQ's add scripts). */
const handsOff = (names: string) => /\badd(Prioritized|Standard|Delayed)Job\b/.test(names);

async function idleRates(t: Target, seconds: number): Promise<IdleRates> {
  await sleep(1500);
  const s0 = await readCommandStats(t.admin);
  const b0 = await netInputBytes(t.admin);
  const meter = cpuMeter(withRedis(t));
  meter.start();
  const from = nowUs();
  await sleep(seconds * 1000);
  const to = nowUs();
  const cpu = meter.stop();
  const d = commandStatsDelta(s0, await readCommandStats(t.admin));
  const bytes = (await netInputBytes(t.admin)) - b0;
  await sleep(300);
  const traces = readTraces(t.traceDir);
  const roundTripsPerS: Record<string, number> = {};
  let active = 0;
  let activeWithEmptyFetches = 0;
  for (const [name, pid] of Object.entries(t.pids)) {
    const rows = (traces.get(pid ?? -1) ?? []).filter((r) => r.at >= from && r.at < to);
    roundTripsPerS[name] = rows.length / seconds;
    active += rows.filter((r) => !isIdle(r)).length;
    activeWithEmptyFetches += rows.filter((r) => !onlyBlocking(r.names)).length;
  }
  // The INFO calls themselves are the admin connection's, not the stack's.
  const callsPerS = Object.fromEntries(Object.entries(d.calls).map(([k, v]) => [k, (k === 'info' ? 0 : v) / seconds]));
  return {
    seconds,
    commandsPerS: (d.total - (d.calls.info ?? 0)) / seconds,
    callsPerS,
    bytesPerS: bytes / seconds,
    roundTripsPerS,
    activePerS: active / seconds,
    activeWithEmptyFetchesPerS: activeWithEmptyFetches / seconds,
    cpuPerS: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, v / seconds])),
  };
}

async function serialPhase(t: Target, idle: IdleRates, body: (i: number) => unknown): Promise<SerialResult> {
  const send = sender(t, body, true);
  const windows: Array<[number, number]> = [];
  const latencies: number[] = [];
  const cacheHeaders: Record<string, number> = {};
  let ok = 0;
  const s0 = await readCommandStats(t.admin);
  const b0 = await netInputBytes(t.admin);
  const meter = cpuMeter(withRedis(t));
  meter.start();
  const began = nowUs();
  for (let i = 0; i < serial; i++) {
    const from = nowUs();
    const o = await send(i, { signal: AbortSignal.timeout(30_000) });
    const to = nowUs();
    windows.push([from, to]);
    latencies.push((to - from) / 1000);
    if (o.ok) ok++;
    const kind = `${o.headers?.['x-sluice-cache'] ?? o.status}${o.headers?.['x-sluice-cache-kind'] ? `:${o.headers['x-sluice-cache-kind']}` : ''}`;
    cacheHeaders[kind] = (cacheHeaders[kind] ?? 0) + 1;
    // Let what follows the answer (settling, stores) finish before the next request starts.
    await sleep(40);
  }
  await sleep(400);
  const elapsedS = (nowUs() - began) / 1e6;
  const cpuUsed = meter.stop();
  const cpu = Object.fromEntries(
    Object.entries(cpuUsed).map(([k, v]) => [k, round2((v - (idle.cpuPerS[k] ?? 0) * elapsedS) / serial)]),
  );
  const d = commandStatsDelta(s0, await readCommandStats(t.admin));
  const bytes = (await netInputBytes(t.admin)) - b0;
  const byCommand: Record<string, number> = {};
  for (const [k, v] of Object.entries(d.calls)) {
    if (k === 'info') continue;
    const net = (v - (idle.callsPerS[k] ?? 0) * elapsedS) / serial;
    if (Math.abs(net) >= 0.05) byCommand[k] = round2(net);
  }
  const commands = (d.total - (d.calls.info ?? 0) - idle.commandsPerS * elapsedS) / serial;
  const traces = readTraces(t.traceDir);
  const roundTrips: Record<string, number> = {};
  let windowUs = 0;
  for (const [from, to] of windows) windowUs += to - from;
  for (const [name, pid] of Object.entries(t.pids)) {
    const rows = traces.get(pid ?? -1) ?? [];
    let inside = 0;
    let j = 0;
    for (const [from, to] of windows) {
      while (j < rows.length && rows[j]!.at < from) j++;
      let k = j;
      while (k < rows.length && rows[k]!.at <= to) k++;
      inside += k - j;
    }
    roundTrips[name] = round2((inside - (idle.roundTripsPerS[name] ?? 0) * (windowUs / 1e6)) / serial);
  }
  // The critical path: every process's writes, in time order, from the send up to and with the
  // one that publishes the answer. What follows it (settling, the next fetch) is not waited
  // for, nor is an idle write; an idle stack's other writes in as long a time are subtracted.
  // A process's writes after it handed the job to the next queue (the classifier's own finish
  // of its hop) are not waited for either.
  const everyRow = [...Object.values(t.pids)]
    .flatMap((pid) => (traces.get(pid ?? -1) ?? []).map((r) => ({ ...r, pid })))
    .sort((a, b) => a.at - b.at);
  const criticalPath = (skip: (r: TraceRow) => boolean, idlePerS: number, afterHandoff: boolean) => {
    let critical = 0;
    let criticalUs = 0;
    for (const [from, to] of windows) {
      const handedOff = new Set<number | undefined>();
      const rows = everyRow.filter((r) => {
        if (r.at < from || r.at > to || skip(r)) return false;
        if (!afterHandoff || publishesAnswer(r.names)) return true;
        if (handedOff.has(r.pid)) return false;
        if (handsOff(r.names)) handedOff.add(r.pid);
        return true;
      });
      const last = rows.findIndex((r) => publishesAnswer(r.names));
      const counted = last >= 0 ? rows.slice(0, last + 1) : rows;
      critical += counted.length;
      criticalUs += (last >= 0 ? rows[last]!.at : to) - from;
    }
    return round1((critical - idlePerS * (criticalUs / 1e6)) / serial);
  };
  // One request from the middle of the phase, every process's writes in time order.
  const [from, to] = windows[Math.floor(windows.length / 2)]!;
  const sample: Array<[number, string, string]> = [];
  for (const [name, pid] of Object.entries(t.pids)) {
    for (const r of traces.get(pid ?? -1) ?? []) if (r.at >= from && r.at <= to) sample.push([r.at, name, r.names]);
  }
  sample.sort((a, b) => a[0] - b[0]);
  return {
    sample: sample.map(
      ([at, name, names]) => `${((at - from) / 1000).toFixed(2).padStart(7)} ms  ${name.padEnd(10)} ${names}`,
    ),
    n: serial,
    ok,
    cacheHeaders,
    commands: round1(commands),
    byCommand,
    bytes: Math.round((bytes - idle.bytesPerS * elapsedS) / serial),
    roundTrips,
    roundTripsTotal: round1(Object.values(roundTrips).reduce((a, b) => a + b, 0)),
    criticalPath: criticalPath(isIdle, idle.activePerS, true),
    criticalPathUpperBound: criticalPath((r) => onlyBlocking(r.names), idle.activeWithEmptyFetchesPerS, false),
    latencyP50: round2(median(latencies)),
    cpu,
  };
}

interface CeilingTotals {
  throughput: number[];
  completed: number;
  errors: number;
  cpu: Record<string, number>;
  commands: number;
}

async function ceilingRound(
  name: string,
  send: Sender,
  pids: Record<string, number | undefined>,
  admin: Standalone,
  totals: CeilingTotals,
): Promise<void> {
  const meter = cpuMeter(pids);
  const s0 = await readCommandStats(admin);
  meter.start();
  const r = await runClosedLoop({ concurrency, durationSeconds: windowSeconds, warmupSeconds: 1, send, label: name });
  const cpu = meter.stop();
  const d = commandStatsDelta(s0, await readCommandStats(admin));
  totals.throughput.push(r.throughput);
  totals.completed += r.completed;
  totals.errors += r.errors;
  totals.commands += d.total;
  for (const [k, v] of Object.entries(cpu)) totals.cpu[k] = (totals.cpu[k] ?? 0) + v;
  log(`${name}: ${r.throughput} req/s (errors ${r.errors})`);
}

const commitOf = (root: string) => {
  try {
    return (
      execFileSync('git', ['-C', root, 'rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8' }).trim() +
      (execFileSync('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim()
        ? ' (uncommitted changes)'
        : '')
    );
  } catch {
    return 'unknown';
  }
};

const startedAt = new Date();
const load0 = loadavg()[0]!;
const sim = await startSim([
  '--profile',
  'fast',
  '--models',
  writeModels(['sim-router', 'sim-small', 'sim-large', 'sim-embed'].map((id) => ({ id, rpm: 0, tpm: 0 }))),
]);
const targets: Target[] = [];
let bare: { redis: RunningRedis; admin: Standalone; pipeline: BarePipeline } | undefined;
const serialResults: Record<string, { idle: IdleRates; miss: SerialResult; hit: SerialResult }> = {};
const ceilings: Record<string, Record<string, CeilingTotals>> = {};
const newTotals = (): CeilingTotals => ({ throughput: [], completed: 0, errors: 0, cpu: {}, commands: 0 });
try {
  for (const c of checkouts) {
    const redis = await startRedisServer({});
    const traceDir = mkdtempSync(join(tmpdir(), 'sluice-budget-trace-'));
    const ioredisPath = createRequire(join(c.root, 'packages/redis/package.json')).resolve('ioredis');
    log(`starting ${c.label} (${c.root}) on ${redis.url}`);
    const stack = await startSluice({
      root: c.root,
      redisUrl: redis.url,
      simUrl: sim.apiUrl,
      prefix: `budget-${runId}`,
      env: {
        SLUICE_CACHE_ENABLED: 'true',
        SLUICE_LOG_LEVEL: 'warn',
        SLUICE_BENCH_TRACE_DIR: traceDir,
        SLUICE_BENCH_IOREDIS: ioredisPath,
        SLUICE_METRICS_PORT: '0',
      },
      nodeArgs: ['--import', 'tsx', '--import', TRACE],
    });
    const pids = {
      api: stack.processes[0]!.child.pid,
      classifier: stack.processes[1]!.child.pid,
      executor: stack.processes[2]!.child.pid,
    };
    targets.push({
      label: c.label,
      root: c.root,
      commit: commitOf(c.root),
      redis,
      admin: new Standalone(redis.port, '127.0.0.1'),
      traceDir,
      stack,
      pids,
    });
  }
  {
    const redis = await startRedisServer({});
    const pipeline = await startBarePipeline({ redisUrl: redis.url, prefix: `bare-${runId}`, concurrency: 64 });
    bare = { redis, admin: new Standalone(redis.port, '127.0.0.1'), pipeline };
  }
  for (const t of targets) {
    log(`${t.label}: warm-up`);
    await runClosedLoop({ concurrency: 4, durationSeconds: 8, send: sender(t, (i) => missBody('warm', i)) });
    await runClosedLoop({ concurrency: 4, durationSeconds: 3, send: sender(t, hitBody) });
    const idle = await idleRates(t, 4);
    log(`${t.label}: serial miss`);
    const miss = await serialPhase(t, idle, (i) => missBody('serial', i));
    log(`${t.label}: serial hit`);
    const hit = await serialPhase(t, idle, (i) => missBody('serial', i));
    serialResults[t.label] = { idle, miss, hit };
    log(
      `${t.label}: miss ${miss.commands} commands, ${miss.roundTripsTotal} round trips; hit ${hit.commands} commands, ${hit.roundTripsTotal} round trips`,
    );
  }
  await runClosedLoop({ concurrency: 8, durationSeconds: 3, send: bare.pipeline.send });
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? targets : [...targets].reverse();
    for (const t of order) {
      const pids = withRedis(t);
      await ceilingRound(
        `${t.label} miss r${round + 1}`,
        sender(t, (i) => missBody(`c${round}`, i)),
        pids,
        t.admin,
        ((ceilings['cache miss'] ??= {})[t.label] ??= newTotals()),
      );
      await ceilingRound(
        `${t.label} hit r${round + 1}`,
        sender(t, hitBody),
        pids,
        t.admin,
        ((ceilings['exact hit'] ??= {})[t.label] ??= newTotals()),
      );
    }
    const pids = Object.fromEntries([
      ...bare.pipeline.pids.map((p, i) => [`hop ${i + 1}`, p]),
      ['redis', bare.redis.process.pid],
    ]);
    await ceilingRound(
      `bare r${round + 1}`,
      bare.pipeline.send,
      pids,
      bare.admin,
      ((ceilings['bare two-hop BullMQ'] ??= {})['bare'] ??= newTotals()),
    );
  }
} finally {
  agent.destroy();
  for (const t of targets) await t.stack.stop().catch(() => {});
  await bare?.pipeline.stop().catch(() => {});
  await sim.stop();
  for (const t of targets) {
    t.admin.disconnect();
    await t.redis.stop();
  }
  bare?.admin.disconnect();
  await bare?.redis.stop();
}

// ---- report -------------------------------------------------------------------------------
const labels = targets.map((t) => t.label);
const bareTotals = ceilings['bare two-hop BullMQ']?.bare;
const bareThroughput = bareTotals ? median(bareTotals.throughput) : 0;
const cpuPer = (c: CeilingTotals, name: string) => (c.cpu[name] ?? 0) / Math.max(1, c.completed);
const cpuAll = (c: CeilingTotals) => Object.values(c.cpu).reduce((a, b) => a + b, 0) / Math.max(1, c.completed);
const cell = (xs: Array<string | number>) => `| ${xs.join(' | ')} |`;
const lines: string[] = [];
const argsShown = argv.join(' ');
lines.push('# Per-request budget: Redis commands, round trips, bytes and CPU');
lines.push('');
lines.push(
  `Run ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC on ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, load average ${round1(load0)} at start. Command: \`pnpm bench:budget${argsShown ? ` ${argsShown}` : ''}\`.`,
);
lines.push('');
lines.push('| checkout | commit | path |');
lines.push('| --- | --- | --- |');
for (const t of targets)
  lines.push(cell([t.label, `\`${t.commit}\``, t.root === ROOT ? 'this repository' : `\`${t.root}\``]));
lines.push('');
lines.push(
  `Serial phases: ${serial} requests one at a time (40 ms apart), \`model: "auto"\`, cache on, simulator \`fast\` without limits; the miss phase sends unique prompts, the hit phase sends them again. Counts are per request, less what the idle stack does in the same time (measured for 4 s before). Round trips: command writes each process started while the request was open (a pub/sub delivery or a blocking pop's wake-up is a hop too, not counted here); on the critical path: the writes of all processes from the send up to and with the one that publishes the answer (the job's finish), less idle writes (blocking pops, and BullMQ fetches whose reply held no job: a worker with a free slot asks again after each job it takes and finds the queue empty, concurrently with that job) and a hop's writes after the one that enqueued the job for the next hop (the classifier's finish of its own job), an upper bound on the round trips the caller waits for (writes sent concurrently count once each). Ceilings: closed loop, ${concurrency} in flight, ${windowSeconds} s windows, medians of ${rounds} rounds, checkouts alternated; CPU from \`/proc\`, simulator excluded.`,
);
lines.push('');
lines.push(cell(['per request', ...labels]));
lines.push(cell(['---', ...labels.map(() => '---')]));
for (const kind of ['miss', 'hit'] as const) {
  const title = kind === 'miss' ? 'cache miss' : 'exact hit';
  const s = (l: string) => serialResults[l]![kind];
  lines.push(
    cell([
      `**${title}**: answers (x-sluice-cache)`,
      ...labels.map((l) =>
        Object.entries(s(l).cacheHeaders)
          .map(([k, v]) => `${k} ${v}`)
          .join(', '),
      ),
    ]),
  );
  lines.push(cell(['Redis commands', ...labels.map((l) => s(l).commands)]));
  lines.push(
    cell([
      'round trips in sequence (api + classifier + executor)',
      ...labels.map((l) => `${s(l).roundTripsTotal} (${Object.values(s(l).roundTrips).join(' + ')})`),
    ]),
  );
  lines.push(
    cell([
      'round trips on the critical path (up to the write that publishes the answer; idle writes and writes after a hop handed the job on left out)',
      ...labels.map((l) => s(l).criticalPath),
    ]),
  );
  lines.push(
    cell([
      'the earlier upper bound (every write but blocking pops up to the answer)',
      ...labels.map((l) => s(l).criticalPathUpperBound),
    ]),
  );
  lines.push(cell(['bytes sent to Redis', ...labels.map((l) => s(l).bytes)]));
  lines.push(cell(['serial latency P50 (ms, fast upstream)', ...labels.map((l) => s(l).latencyP50)]));
  const serialCpu = (l: string) => Object.values(s(l).cpu).reduce((a, b) => a + b, 0);
  lines.push(
    cell(['CPU ms, all processes (serial: one request at a time)', ...labels.map((l) => round2(serialCpu(l)))]),
  );
  lines.push(
    cell([
      'CPU ms api / classifier / executor / Redis (serial)',
      ...labels.map((l) => ['api', 'classifier', 'executor', 'redis'].map((k) => s(l).cpu[k] ?? 0).join(' / ')),
    ]),
  );
  const c = ceilings[title];
  if (c) {
    lines.push(cell(['CPU ms, all processes (at the ceiling)', ...labels.map((l) => round2(cpuAll(c[l]!)))]));
    lines.push(
      cell([
        'CPU ms api / classifier / executor / Redis',
        ...labels.map((l) =>
          ['api', 'classifier', 'executor', 'redis'].map((p) => round2(cpuPer(c[l]!, p))).join(' / '),
        ),
      ]),
    );
    lines.push(
      cell([
        'Redis commands (at the ceiling)',
        ...labels.map((l) => round1(c[l]!.commands / Math.max(1, c[l]!.completed))),
      ]),
    );
    lines.push(
      cell([
        'ceiling req/s (rounds)',
        ...labels.map((l) => `${round1(median(c[l]!.throughput))} (${c[l]!.throughput.join(', ')})`),
      ]),
    );
    if (kind === 'miss' && bareThroughput > 0)
      lines.push(
        cell([
          'ceiling ÷ bare two-hop BullMQ pipeline',
          ...labels.map((l) => `${round1((median(c[l]!.throughput) / bareThroughput) * 100)} %`),
        ]),
      );
  }
}
if (bareTotals) {
  lines.push('');
  lines.push(
    `Bare two-hop BullMQ pipeline (no-op workers in two processes, its own Redis, result over pub/sub): ${round1(bareThroughput)} jobs/s (${bareTotals.throughput.join(', ')}), ${round1(bareTotals.commands / Math.max(1, bareTotals.completed))} Redis commands and ${round2(cpuAll(bareTotals))} CPU ms per job.`,
  );
}
lines.push('');
lines.push('Redis commands per cache miss, by command (serial phase):');
lines.push('');
const allCommands = [...new Set(labels.flatMap((l) => Object.keys(serialResults[l]!.miss.byCommand)))].sort(
  (a, b) => (serialResults[labels[0]!]!.miss.byCommand[b] ?? 0) - (serialResults[labels[0]!]!.miss.byCommand[a] ?? 0),
);
lines.push(cell(['command', ...labels]));
lines.push(cell(['---', ...labels.map(() => '---')]));
for (const k of allCommands) lines.push(cell([k, ...labels.map((l) => serialResults[l]!.miss.byCommand[k] ?? 0)]));
for (const l of labels) {
  for (const kind of ['miss', 'hit'] as const) {
    lines.push('');
    lines.push(
      `One ${kind === 'miss' ? 'cache miss' : 'exact hit'} on ${l}, every process's Redis writes in order (ms from the send; idle traffic such as blocking fetches may interleave):`,
    );
    lines.push('');
    lines.push('```');
    lines.push(...serialResults[l]![kind].sample);
    lines.push('```');
  }
}
lines.push('');
lines.push(
  'Idle stack, per second (subtracted above): ' +
    labels
      .map(
        (l) =>
          `${l}: ${round1(serialResults[l]!.idle.commandsPerS)} commands, ${Object.entries(
            serialResults[l]!.idle.roundTripsPerS,
          )
            .map(([k, v]) => `${k} ${round1(v)}`)
            .join(' / ')} round trips`,
      )
      .join('; ') +
    '.',
);
const text = `${lines.join('\n')}\n`;
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, text);
writeFileSync(
  outFile.replace(/\.md$/, '.json'),
  JSON.stringify(
    {
      startedAt,
      argv,
      targets: targets.map((t) => ({ label: t.label, commit: t.commit })),
      serialResults,
      ceilings,
      bareThroughput,
    },
    null,
    2,
  ),
);
process.stdout.write(text);
log(`wrote ${outFile}`);
