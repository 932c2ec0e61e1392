/**
 * The load test (issue 6): storm scenarios, gateway overhead, miss-path ceiling against bare
 * BullMQ, executor scaling; writes `results.json`, `report.md` and SVG charts.
 *
 *   tsx load-tests/src/run.ts --mode short|full [--only storm,ceiling,overhead,scaling]
 *     [--scenarios direct,gateway,cache,routing,all] [--seed N] [--rate R] [--duration S]
 *     [--deadline-ms MS] [--large-rpm N] [--routing-strategy rules,knn] [--low-confidence large|cascade]
 *     [--executors N]
 *     [--out DIR] [--readme] [--redis-url URL]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, release, totalmem, type } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { MODES, type ModeSettings } from './modes.ts';
import { measureOverhead } from './overhead.ts';
import { ROOT, startRedis } from './processes.ts';
import { renderReport } from './report.ts';
import type { MachineInfo, RunResults, ScenarioName } from './results.ts';
import { measureCeiling, measureScaling } from './scaling.ts';
import { runStormPhase, scenarioSpecs } from './scenarios.ts';
import { generateWorkload } from './workload.ts';

const PHASES = ['storm', 'ceiling', 'overhead', 'scaling'] as const;
type Phase = (typeof PHASES)[number];
const SCENARIOS: readonly ScenarioName[] = ['direct', 'gateway', 'cache', 'routing', 'all'];

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'short' },
    only: { type: 'string' },
    scenarios: { type: 'string' },
    seed: { type: 'string' },
    rate: { type: 'string' },
    duration: { type: 'string' },
    'deadline-ms': { type: 'string' },
    'large-rpm': { type: 'string' },
    'routing-strategy': { type: 'string' },
    'low-confidence': { type: 'string' },
    executors: { type: 'string' },
    out: { type: 'string' },
    readme: { type: 'boolean', default: false },
    'redis-url': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  process.stdout.write(
    readFileSync(new URL(import.meta.url))
      .toString()
      .split('*/')[0]!
      .replace(/^\/\*\*?/, '')
      .replace(/^ \* ?/gm, ''),
  );
  process.exit(0);
}
const fail = (message: string): never => {
  process.stderr.write(`${message}\n`);
  process.exit(2);
};
if (values.mode !== 'short' && values.mode !== 'full') fail(`Expected --mode short or full, got \`${values.mode}\``);
const mode = values.mode as 'short' | 'full';
const settings: ModeSettings = structuredClone(MODES[mode]);
const positive = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(n > 0)) fail(`Expected --${name} to be a number > 0, got \`${v}\``);
  return n;
};
settings.seed = positive('seed', values.seed) ?? settings.seed;
settings.rate = positive('rate', values.rate) ?? settings.rate;
settings.durationSeconds = positive('duration', values.duration) ?? settings.durationSeconds;
settings.deadlineMs = positive('deadline-ms', values['deadline-ms']) ?? settings.deadlineMs;
settings.limits.large.rpm = positive('large-rpm', values['large-rpm']) ?? settings.limits.large.rpm;
settings.executors = positive('executors', values.executors) ?? settings.executors;
settings.routingStrategy = values['routing-strategy'] ?? settings.routingStrategy;
if (values['low-confidence'] !== undefined && !['large', 'cascade'].includes(values['low-confidence']))
  fail(`Expected --low-confidence large or cascade, got \`${values['low-confidence']}\``);
settings.routingLowConfidence = values['low-confidence'] ?? settings.routingLowConfidence;
if (values.scenarios) {
  const names = values.scenarios.split(',').map((s) => s.trim());
  for (const n of names)
    if (!SCENARIOS.includes(n as ScenarioName)) fail(`Unknown scenario \`${n}\` (expected ${SCENARIOS.join(', ')})`);
  settings.scenarios = names as ScenarioName[];
}
const phases = (values.only?.split(',').map((s) => s.trim()) ?? [...PHASES]) as Phase[];
for (const p of phases) if (!PHASES.includes(p)) fail(`Unknown phase \`${p}\` (expected ${PHASES.join(', ')})`);
const outDir = values.out ?? join(ROOT, 'load-tests', 'reports', mode);

const log = (line: string) => process.stderr.write(`${line}\n`);
const machine = (): MachineInfo => ({
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
  memoryGb: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  os: `${type()} ${release()}`,
  loadAverageStart: loadavg(),
  loadAverageEnd: [],
});
const git = () => {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: ROOT }).toString().trim().length > 0;
    return { commit, dirty };
  } catch {
    return { commit: 'unknown', dirty: false };
  }
};

const runId = Date.now().toString(36);
const results: RunResults = {
  mode,
  seed: settings.seed,
  command: `tsx load-tests/src/run.ts ${process.argv.slice(2).join(' ')}`.trim(),
  startedAt: new Date().toISOString(),
  finishedAt: '',
  git: git(),
  machine: machine(),
  settings: { ...settings, phases } as unknown as Record<string, unknown>,
  scenarios: [],
  phaseSeconds: {},
  notes: [],
};
log(
  `Sluice load test, ${mode} mode, seed ${settings.seed}, phases ${phases.join(', ')}; free memory ${Math.round(freemem() / 2 ** 20)} MB, load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);

/** Run a phase if selected, recording its wall time. */
const phase = async (name: Phase, body: () => Promise<void>) => {
  if (!phases.includes(name)) return;
  const began = performance.now();
  try {
    await body();
  } finally {
    results.phaseSeconds[name] = Math.round((performance.now() - began) / 1000);
  }
};
const redis = await startRedis(values['redis-url']);
try {
  await phase('storm', async () => {
    const workload = generateWorkload({
      seed: settings.seed,
      requests: Math.round(settings.rate * settings.durationSeconds),
      rate: settings.rate,
    });
    results.workload = workload.summary;
    log(
      `workload: ${workload.summary.requests} requests, ${workload.summary.complex} complex, ${workload.summary.conversationTurns} conversation turns, exact repeats ${(workload.summary.exactRepeatShare * 100).toFixed(1)}%`,
    );
    const specs = scenarioSpecs({ strategy: settings.routingStrategy, lowConfidence: settings.routingLowConfidence });
    results.scenarios = await runStormPhase({
      workload,
      scenarios: settings.scenarios.map((n) => specs[n]),
      rate: settings.rate,
      durationSeconds: settings.durationSeconds,
      deadlineMs: settings.deadlineMs,
      limits: settings.limits,
      redisUrl: redis.url,
      runId,
      executors: settings.executors,
      bucketSeconds: settings.bucketSeconds,
      log,
    });
    // What the measurements say about features not (yet) switched on.
    for (const s of results.scenarios) {
      const cacheOn = s.switches.SLUICE_CACHE_ENABLED === 'true';
      if (cacheOn && s.cache.hits === 0 && workload.summary.exactRepeatShare > 0) {
        results.notes.push(
          `${s.name}: SLUICE_CACHE_ENABLED=true but no answer came from the cache (x-sluice-cache: ${JSON.stringify(Object.fromEntries(Object.entries(s.servedBy)))}), although ${(workload.summary.exactRepeatShare * 100).toFixed(1)}% of requests repeat an earlier prompt exactly: the cache was not serving in this build.`,
        );
      }
      if (s.switches.model === 'auto' && !s.servedBy.small && s.ok > 0) {
        results.notes.push(`${s.name}: routing on (model auto) but no answer came from the small tier.`);
      }
    }
    const longTurns = workload.requests.filter(
      (r) => r.conversation && r.messages.reduce((a, m) => a + m.content.length, 0) > 16_000,
    ).length;
    if (results.scenarios.length && results.scenarios.every((s) => s.pruning.prunedTurns === 0)) {
      results.notes.push(
        `No context pruning was observed: no conversation turn reached the upstream with fewer prompt tokens than the client sent (${longTurns} turns carry more than ~4k tokens of history).`,
      );
    }
    results.notes.push(
      `Routing scenarios: SLUICE_ROUTING_STRATEGY=${settings.routingStrategy}, SLUICE_ROUTING_LOW_CONFIDENCE=${settings.routingLowConfidence ?? '(build default)'}; context pruning at the build's default budget. Scenarios without routing set SLUICE_CONTEXT_MAX_INPUT_TOKENS=1000000 (no pruning): there is no separate on/off switch for pruning.`,
    );
  });
  await phase('ceiling', async () => {
    log('ceiling: Sluice miss path vs bare BullMQ two-hop');
    results.ceiling = await measureCeiling({
      ...settings.ceiling,
      redisUrl: redis.url,
      redisPid: redis.pid,
      runId,
      log,
    });
  });
  const ceiling = results.ceiling?.sluiceMedian;
  await phase('overhead', async () => {
    // Overhead is latency added at a load the gateway sustains, not queueing past its ceiling:
    // at 20 req/s on a loaded machine whose ceiling measured 13 req/s, P50 was 4 s.
    let rate = settings.overhead.rate;
    if (ceiling && ceiling > 0 && rate > 0.3 * ceiling) {
      rate = Math.max(1, Math.floor(0.3 * ceiling));
      results.notes.push(
        `Overhead measured at ${rate} req/s, 30% of the miss-path ceiling measured in this run (${ceiling} req/s), instead of the mode's ${settings.overhead.rate} req/s.`,
      );
    }
    log(`overhead: direct vs Sluice at ${rate} req/s, fixed simulator latency`);
    results.overhead = await measureOverhead({
      ...settings.overhead,
      rate,
      redisUrl: redis.url,
      prefix: `lt-overhead-${runId}`,
      log,
      progress: true,
    });
  });
  await phase('scaling', async () => {
    const largest = Math.max(...settings.scaling.executorCounts);
    let simLatencyMs = settings.scaling.simLatencyMs;
    if (ceiling && ceiling > 0) {
      // The largest step may use at most 40 % of the measured ceiling, or it measures the CPU.
      const needed = Math.ceil((largest * settings.scaling.concurrency * 1000) / (0.4 * ceiling) / 100) * 100;
      if (needed > simLatencyMs) {
        results.notes.push(
          `Scaling used ${needed} ms simulator latency (mode: ${simLatencyMs} ms) so that ${largest} executors × ${settings.scaling.concurrency} in flight stay under 40% of the miss-path ceiling measured in this run (${ceiling} req/s).`,
        );
        simLatencyMs = needed;
      }
    }
    log(`scaling: ${settings.scaling.executorCounts.join(', ')} executors, upstream-bound (${simLatencyMs} ms)`);
    results.scaling = await measureScaling({ ...settings.scaling, simLatencyMs, redisUrl: redis.url, runId, log });
  });
} finally {
  await redis.stop();
}

results.finishedAt = new Date().toISOString();
results.machine.loadAverageEnd = loadavg();
const report = renderReport(results);
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(join(outDir, 'report.md'), report.markdown);
for (const [name, svg] of Object.entries(report.charts)) writeFileSync(join(outDir, name), svg);
log(`\nreport: ${relative(process.cwd(), join(outDir, 'report.md'))}`);

// The README's table is the latest *complete* full run: a run of some phases or scenarios, or
// into another folder, updates it only when asked (--readme).
const completeFullRun = mode === 'full' && !values.only && !values.scenarios && !values.out;
if (values.readme || completeFullRun) {
  const readme = join(ROOT, 'load-tests', 'README.md');
  if (existsSync(readme)) {
    const text = readFileSync(readme, 'utf8');
    const start = '<!-- latest-table:start -->';
    const end = '<!-- latest-table:end -->';
    const i = text.indexOf(start);
    const j = text.indexOf(end);
    if (i >= 0 && j > i) {
      const m = results.machine;
      const block = [
        start,
        `Latest ${mode} run (${results.startedAt.slice(0, 16).replace('T', ' ')} UTC, commit \`${results.git.commit.slice(0, 12)}\`${results.git.dirty ? ', uncommitted changes' : ''}) on ${m.cpus} × ${m.cpuModel}, ${m.memoryGb} GB, load average ${m.loadAverageStart[0]!.toFixed(1)} at start; \`${results.command}\`; full report: [${relative(join(ROOT, 'load-tests'), join(outDir, 'report.md'))}](${relative(join(ROOT, 'load-tests'), join(outDir, 'report.md'))}).`,
        '',
        report.table,
        end,
      ].join('\n');
      writeFileSync(readme, text.slice(0, i) + block + text.slice(j + end.length));
      log(`README table updated: ${relative(process.cwd(), readme)}`);
    }
  }
}
process.stdout.write(`\n${report.table}\n`);
