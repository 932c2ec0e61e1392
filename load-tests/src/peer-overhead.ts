/**
 * Gateway overhead with a peer in the same run (issue 13): open loop at fixed rates against
 * one mock upstream without limits (the simulator, `fixed` 50 ms, every model unlimited):
 * - `direct`: the simulator itself;
 * - `portkey`: the Portkey gateway (`@portkey-ai/gateway`, a plain reverse proxy, started here
 *   with `NODE_ENV=production --headless`, pointed at the simulator by `x-portkey-custom-host`);
 * - `<checkout> thin`: Sluice with the model pinned (`small`) and `Cache-Control: no-store`;
 * - `<checkout> full`: Sluice with `model: "auto"`, cache on, unique prompts (every request a miss).
 *
 *   pnpm bench:overhead [--rates 200,400] [--duration 20] [--rounds 1] [--checkout label=path …] [--saturation 1] [--out FILE]
 *
 * Latency runs from each request's intended send time. "Added" is the path's percentile minus
 * direct's at the same rate in the same round. The saturation point is the highest rate of a
 * ladder (6 s a step) a path sustains: at least 95 % of the offered rate answered, under 1 %
 * errors and P99 under 1 s. Each Sluice checkout runs on its own Redis.
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { freePort, startRedisServer, type RunningRedis } from '@sluice/redis-server';
import { runOpenLoop, usToMs, type HttpRequestSpec, type OpenLoopResult } from './driver.ts';
import { ROOT, startSim, startSluice, type BenchProcess, type SluiceStack } from './processes.ts';
import { writeModels } from './scaling.ts';
import { median } from './stats.ts';

const argv = process.argv.slice(2);
const opt = (name: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const rates = (opt('rates') ?? '200,400').split(',').map(Number);
const durationSeconds = Number(opt('duration') ?? 20);
const rounds = Number(opt('rounds') ?? 1);
const latencyMs = Number(opt('latency-ms') ?? 50);
const saturation = Number(opt('saturation') ?? 1) > 0;
const outFile = resolve(opt('out') ?? join(ROOT, 'load-tests/reports/overhead.md'));
const checkouts: Array<{ label: string; root: string }> = [];
argv.forEach((a, i) => {
  if (a !== '--checkout') return;
  const v = argv[i + 1] ?? '';
  const eq = v.indexOf('=');
  checkouts.push(eq > 0 ? { label: v.slice(0, eq), root: resolve(v.slice(eq + 1)) } : { label: v, root: resolve(v) });
});
if (checkouts.length === 0) checkouts.push({ label: 'Sluice', root: ROOT });
const log = (m: string) => process.stderr.write(`[bench:overhead] ${m}\n`);
const runId = Date.now().toString(36);
const LADDER = [200, 400, 600, 800, 1200, 1600, 2400, 3200];

/** Start the Portkey gateway from this repository's devDependency. */
async function startPortkey(): Promise<{ url: string; process: BenchProcess }> {
  const port = await freePort();
  const entry = join(ROOT, 'load-tests/node_modules/@portkey-ai/gateway/build/start-server.js');
  const child = spawn(process.execPath, [entry, `--port=${port}`, '--headless'], {
    cwd: join(ROOT, 'load-tests'),
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => (err = (err + d).slice(-4000)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const proc: BenchProcess = {
    name: 'portkey',
    child,
    output: () => err,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
  // Portkey answers 404 on `/`; any HTTP answer means it listens.
  const until = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`portkey exited ${child.exitCode}: ${err}`);
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      break;
    } catch {
      if (Date.now() > until) throw new Error('portkey did not listen within 60 s');
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return { url: `http://127.0.0.1:${port}`, process: proc };
}

interface Path {
  name: string;
  request(i: number, tag: string): HttpRequestSpec;
}

const commitOf = (root: string) => {
  try {
    const dirty = execFileSync('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no'], {
      encoding: 'utf8',
    }).trim();
    return (
      execFileSync('git', ['-C', root, 'rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8' }).trim() +
      (dirty ? ' (uncommitted changes)' : '')
    );
  } catch {
    return 'unknown';
  }
};

const prompt = (i: number, tag: string) => [
  { role: 'user', content: `Overhead probe ${runId}-${tag}-${i}: say something short about ${i % 97}.` },
];
const startedAt = new Date();
const load0 = loadavg()[0]!;
const sim = await startSim([
  '--profile',
  'fixed',
  '--latency-ms',
  String(latencyMs),
  '--models',
  writeModels(['sim-router', 'sim-small', 'sim-large', 'sim-embed'].map((id) => ({ id, rpm: 0, tpm: 0 }))),
]);
const redises: RunningRedis[] = [];
const stacks: SluiceStack[] = [];
let portkey: { url: string; process: BenchProcess } | undefined;
const byRate: Record<number, Record<string, OpenLoopResult[]>> = {};
const saturationPoint: Record<string, { rate: number; steps: string[] }> = {};
try {
  portkey = await startPortkey();
  const paths: Path[] = [
    {
      name: 'direct',
      request: (i, tag) => ({
        url: `${sim.apiUrl}/chat/completions`,
        headers: {},
        body: { model: 'sim-small', messages: prompt(i, tag) },
      }),
    },
    {
      name: 'Portkey gateway',
      request: (i, tag) => ({
        url: `${portkey!.url}/v1/chat/completions`,
        headers: {
          authorization: 'Bearer sk-bench',
          'x-portkey-provider': 'openai',
          'x-portkey-custom-host': sim.apiUrl,
        },
        body: { model: 'sim-small', messages: prompt(i, tag) },
      }),
    },
  ];
  for (const c of checkouts) {
    const redis = await startRedisServer({});
    redises.push(redis);
    log(`starting ${c.label} (${c.root})`);
    const stack = await startSluice({
      root: c.root,
      redisUrl: redis.url,
      simUrl: sim.apiUrl,
      prefix: `oh-${runId}`,
      env: { SLUICE_CACHE_ENABLED: 'true', SLUICE_METRICS_PORT: '0' },
    });
    stacks.push(stack);
    const auth = { authorization: `Bearer ${stack.apiKeys.bench!}` };
    paths.push({
      name: `${c.label} thin`,
      request: (i, tag) => ({
        url: `${stack.apiUrl}/v1/chat/completions`,
        headers: { ...auth, 'cache-control': 'no-store' },
        body: { model: 'small', messages: prompt(i, tag) },
      }),
    });
    paths.push({
      name: `${c.label} full`,
      request: (i, tag) => ({
        url: `${stack.apiUrl}/v1/chat/completions`,
        headers: auth,
        body: { model: 'auto', messages: prompt(i, tag) },
      }),
    });
  }
  // Warm-up: JIT, connection pools, BullMQ scripts, the upstream's sockets; then a few seconds
  // at the first measured rate, since a stack that has only seen 50 req/s spends its first
  // seconds at a higher one growing its pools and heaps.
  for (const p of paths) {
    await runOpenLoop({ rate: 50, durationSeconds: 4, makeRequest: (i) => p.request(i, `warm-${p.name}`) });
    await runOpenLoop({ rate: rates[0]!, durationSeconds: 4, makeRequest: (i) => p.request(i, `warm2-${p.name}`) });
  }
  for (let round = 0; round < rounds; round++) {
    for (const rate of rates) {
      // Rotate the order so drift on the shared machine does not always hit the same path.
      const order = paths.map((_, k) => paths[(k + round) % paths.length]!);
      for (const p of order) {
        const r = await runOpenLoop({
          rate,
          durationSeconds,
          makeRequest: (i) => p.request(i, `r${round}-${rate}`),
          label: `${p.name} @${rate}`,
        });
        ((byRate[rate] ??= {})[p.name] ??= []).push(r);
        log(
          `round ${round + 1} ${p.name} @${rate}: p50 ${r.p50} p99 ${r.p99} ms, ${r.throughput} req/s, errors ${r.errors}`,
        );
      }
    }
  }
  if (saturation) {
    for (const p of paths) {
      const steps: string[] = [];
      let best = 0;
      for (const rate of LADDER) {
        const r = await runOpenLoop({
          rate,
          durationSeconds: 6,
          deadlineMs: 10_000,
          makeRequest: (i) => p.request(i, `sat-${rate}`),
          label: `${p.name} ladder ${rate}`,
        });
        const ok = r.ok / Math.max(1, r.sent);
        const sustained = r.throughput >= 0.95 * rate && r.errors / Math.max(1, r.sent) < 0.01 && r.p99 < 1000;
        steps.push(
          `${rate}: ${r.throughput} req/s, P99 ${r.p99} ms${ok < 1 ? `, ${Math.round((1 - ok) * 1000) / 10} % failed` : ''}`,
        );
        log(
          `${p.name} ladder ${rate}: ${r.throughput} req/s p99 ${r.p99} ${sustained ? 'sustained' : 'not sustained'}`,
        );
        if (!sustained) break;
        best = rate;
        // Let a path that queued drain before the next step.
        await new Promise((res) => setTimeout(res, 1000));
      }
      saturationPoint[p.name] = { rate: best, steps };
    }
  }
} finally {
  for (const s of stacks) await s.stop().catch(() => {});
  await portkey?.process.stop();
  await sim.stop();
  for (const r of redises) await r.stop();
}

const p999 = (r: OpenLoopResult) => usToMs(r.okHistogram.getValueAtPercentile(99.9));
const lines: string[] = [];
lines.push('# Gateway overhead with a peer in the same run');
lines.push('');
lines.push(
  `Run ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC on ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, load average ${Math.round(load0 * 10) / 10} at start. Command: \`pnpm bench:overhead${argv.length ? ` ${argv.join(' ')}` : ''}\`.`,
);
lines.push(
  `Mock upstream: the simulator, \`fixed\` ${latencyMs} ms, no rate limits. Open loop, evenly spaced arrivals, latency from the intended send time, ${durationSeconds} s per point, ${rounds} round(s) (medians). Added = path − direct in the same round. Sluice: ${checkouts.map((c) => `${c.label} = \`${commitOf(c.root)}\``).join(', ')}; Portkey gateway ${'1.15.2'} (\`@portkey-ai/gateway\`).`,
);
lines.push('');
lines.push('| path | rate | P50 ms | P99 ms | P99.9 ms | added P50 / P99 / P99.9 ms | achieved req/s | errors |');
lines.push('| --- | --- | --- | --- | --- | --- | --- | --- |');
const r2 = (x: number) => Math.round(x * 100) / 100;
const errorsOf = (rs: OpenLoopResult[]) => {
  const by: Record<string, number> = {};
  for (const r of rs) for (const [k, v] of Object.entries(r.statuses)) if (k !== '200') by[k] = (by[k] ?? 0) + v;
  const parts = Object.entries(by).map(([k, v]) => `${v} × ${k}`);
  return parts.length ? parts.join(', ') : '0';
};
for (const rate of rates) {
  const direct = byRate[rate]?.direct ?? [];
  for (const [name, rs] of Object.entries(byRate[rate] ?? {})) {
    const added = (f: (r: OpenLoopResult) => number) =>
      r2(median(rs.map((r, k) => f(r) - (direct[k] ? f(direct[k]!) : 0))));
    const a = name === 'direct' ? '—' : `+${added((r) => r.p50)} / +${added((r) => r.p99)} / +${added(p999)}`;
    lines.push(
      `| ${name} | ${rate} | ${r2(median(rs.map((r) => r.p50)))} | ${r2(median(rs.map((r) => r.p99)))} | ${r2(median(rs.map(p999)))} | ${a} | ${r2(median(rs.map((r) => r.throughput)))} | ${errorsOf(rs)} |`,
    );
  }
}
if (saturation) {
  lines.push('');
  lines.push(
    'Saturation point (highest step of the ladder sustained: ≥ 95 % of the offered rate answered, < 1 % errors, P99 < 1 s; 6 s a step):',
  );
  lines.push('');
  lines.push('| path | sustained req/s | steps |');
  lines.push('| --- | --- | --- |');
  for (const [name, s] of Object.entries(saturationPoint))
    lines.push(`| ${name} | ${s.rate || `< ${LADDER[0]}`} | ${s.steps.join('; ')} |`);
}
const text = `${lines.join('\n')}\n`;
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, text);
process.stdout.write(text);
log(`wrote ${outFile}`);
