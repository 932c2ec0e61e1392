/**
 * Where the CPU of a cache miss goes (issue 13): the API, classifier and executor run under
 * `--cpu-prof` while a closed loop sends unique `model: "auto"` prompts (cache on, simulator
 * `fast` without limits); then each process's samples inside the measured window (warm-up and
 * start-up left out) are summed by function and the heaviest printed: self time and share of
 * the process's busy time.
 *
 *   pnpm bench:profile [--seconds 20] [--concurrency 32] [--top 25] [--keep DIR]
 *
 * The `.cpuprofile` files stay in `--keep` (default: a temporary folder, printed) for Chrome
 * DevTools or speedscope.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { startRedisServer } from '@sluice/redis-server';
import { autoChatSender, runClosedLoop } from './driver.ts';
import { ROOT, startSim, startSluice } from './processes.ts';
import { writeModels } from './scaling.ts';

const argv = process.argv.slice(2);
const arg = (name: string, def: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : def;
};
const keepIndex = argv.indexOf('--keep');
const dir = keepIndex >= 0 ? resolve(argv[keepIndex + 1]!) : mkdtempSync(join(tmpdir(), 'sluice-cpu-profile-'));
mkdirSync(dir, { recursive: true });
const seconds = arg('seconds', 20);
const concurrency = arg('concurrency', 32);
const top = arg('top', 25);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  startTime: number;
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/**
 * Self time per function (name, file, line) of one profile, in ms, heaviest first, counting
 * only samples inside `[fromUs, toUs]` (the monotonic clock V8 stamps profiles with, the one
 * `process.hrtime` reads), so start-up and module loading stay out.
 */
function selfTimes(
  profile: CpuProfile,
  fromUs: number,
  toUs: number,
): { total: number; rows: Array<[string, number]> } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const ms = new Map<string, number>();
  let total = 0;
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    const node = byId.get(id);
    if (node === undefined || at < fromUs || at > toUs) return;
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url.startsWith('file://') ? relative(ROOT, url.slice('file://'.length)) : url;
    const key = `${functionName || '(anonymous)'}  ${where}${where ? `:${lineNumber + 1}` : ''}`;
    ms.set(key, (ms.get(key) ?? 0) + dt);
  });
  return { total, rows: [...ms.entries()].sort((a, b) => b[1] - a[1]) };
}

const redis = await startRedisServer({});
const sim = await startSim([
  '--profile',
  'fast',
  '--models',
  writeModels(['sim-router', 'sim-small', 'sim-large', 'sim-embed'].map((id) => ({ id, rpm: 0, tpm: 0 }))),
]);
const stack = await startSluice({
  redisUrl: redis.url,
  simUrl: sim.apiUrl,
  prefix: 'profile',
  env: { SLUICE_CACHE_ENABLED: 'true', SLUICE_LOG_LEVEL: 'warn', SLUICE_METRICS_PORT: '0' },
  nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir],
});
const names = new Map(stack.processes.map((p) => [p.child.pid, p.name.split('@')[0]!]));
const agent = new Agent({ keepAlive: true, maxSockets: 4096 });
const runId = Date.now().toString(36);
const send = (tag: string) =>
  autoChatSender({
    agent,
    apiUrl: stack.apiUrl,
    apiKey: stack.apiKeys.bench!,
    content: (i) => `Profile probe ${runId}-${tag}-${i}: what is ${i} plus ${tag.length}?`,
  });
const nowUs = () => Number(process.hrtime.bigint() / 1000n);
let completed = 0;
let fromUs = 0;
let toUs = 0;
try {
  await runClosedLoop({ concurrency: 4, durationSeconds: 5, send: send('warm') });
  fromUs = nowUs();
  const r = await runClosedLoop({ concurrency, durationSeconds: seconds, send: send('load') });
  toUs = nowUs();
  completed = r.completed;
  process.stdout.write(`${r.throughput} req/s, ${r.completed} completed, ${r.errors} errors\n`);
} finally {
  await stack.stop();
  await sim.stop();
  await redis.stop();
}

for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
  const pid = Number(/\.(\d+)\.\d+\.\d+\.cpuprofile$/.exec(file)?.[1] ?? /\.(\d+)\./.exec(file)?.[1]);
  const { total, rows } = selfTimes(JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile, fromUs, toUs);
  // tsx's module-loader thread writes a profile of its own, idle once the app has loaded.
  if (total === 0) continue;
  const idle = rows.find(([k]) => k.startsWith('(idle)'))?.[1] ?? 0;
  const busy = total - idle;
  process.stdout.write(
    `\n${names.get(pid) ?? file}: ${(busy / 1000).toFixed(1)} s busy of ${(total / 1000).toFixed(1)} s` +
      (completed ? `, ${(busy / completed).toFixed(2)} ms per request` : '') +
      '\n',
  );
  for (const [key, v] of rows.filter(([k]) => !k.startsWith('(idle)')).slice(0, top)) {
    process.stdout.write(`${v.toFixed(0).padStart(7)} ms ${((100 * v) / busy).toFixed(1).padStart(5)} %  ${key}\n`);
  }
}
process.stdout.write(`\nprofiles: ${dir}\n`);
