/**
 * Throughput on one Redis against a three-master Redis Cluster (issue 7), same machine, same
 * run: one Sluice stack (API, classifier, executor processes) per target, alternated round by
 * round, closed loop, medians of the rounds.
 *
 *   pnpm bench:cluster [--rounds 3] [--window 20] [--concurrency 32] [--masters 3]
 *
 * Two paths: the cache-miss path (unique prompts: classifier, tier queue, executor, upstream
 * call, cache write; near-zero simulator latency, no provider limits) and the exact-hit path
 * (a small set of prompts repeated, answered by the API from the cache). Besides throughput it
 * reports CPU per request of every process, Redis included (summed over the cluster's nodes),
 * and how the Redis commands spread over the shards (`INFO commandstats` deltas), which is what
 * a cluster buys once Redis, not the gateway's processes, is the limit.
 */
import { Agent } from 'node:http';
import { Redis as Standalone } from 'ioredis';
import { startRedisCluster, startRedisServer } from '@sluice/redis-server';
import { cpuMeter } from './cpu.ts';
import { httpSender, runClosedLoop, type Sender } from './driver.ts';
import { startSim, startSluice, type SluiceStack } from './processes.ts';
import { readCommandStats } from './redis-stats.ts';
import { writeModels } from './scaling.ts';
import { median } from './stats.ts';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const rounds = arg('rounds', 3);
const windowSeconds = arg('window', 20);
const concurrency = arg('concurrency', 32);
const masters = arg('masters', 3);
const log = (m: string) => process.stderr.write(`[bench:cluster] ${m}\n`);

/** Total commands a Redis node has executed (sum of `INFO commandstats` calls). */
const commandCount = async (node: Standalone): Promise<number> => (await readCommandStats(node)).total;

interface Target {
  name: string;
  url: string;
  /** One admin connection and pid per Redis server (one for a single Redis, one per master). */
  nodes: Array<{ admin: Standalone; pid: number }>;
  stack?: SluiceStack;
  stop(): Promise<void>;
}

interface Totals {
  completed: number;
  cpu: Record<string, number>;
  commandsPerNode: number[];
  throughput: number[];
  errors: number;
}

const sim = await startSim([
  '--profile',
  'fast',
  '--models',
  writeModels(['sim-router', 'sim-small', 'sim-large', 'sim-embed'].map((id) => ({ id, rpm: 0, tpm: 0 }))),
]);
const single = await startRedisServer({});
const cluster = await startRedisCluster({ masters });
const targets: Target[] = [
  {
    name: 'one Redis',
    url: single.url,
    nodes: [{ admin: new Standalone(single.port, '127.0.0.1'), pid: single.process.pid! }],
    stop: () => single.stop(),
  },
  {
    name: `${masters}-master cluster`,
    url: cluster.url,
    nodes: cluster.nodes.map((n) => ({ admin: new Standalone(n.port, '127.0.0.1'), pid: n.process.pid! })),
    stop: () => cluster.stop(),
  },
];
const agent = new Agent({ keepAlive: true, maxSockets: 4096 });
const runId = Date.now().toString(36);
const results: Record<string, Record<string, Totals>> = {};
try {
  for (const t of targets) {
    log(`starting a Sluice stack on ${t.name} (${t.url})`);
    t.stack = await startSluice({
      redisUrl: t.url,
      simUrl: sim.apiUrl,
      prefix: `bench-${runId}`,
      env: { SLUICE_CACHE_ENABLED: 'true', SLUICE_LOG_LEVEL: 'warn' },
    });
  }
  const paths: Record<string, (t: Target, round: number) => Sender> = {
    'cache miss': (t, round) =>
      httpSender({
        agent,
        makeRequest: (i) => ({
          url: `${t.stack!.apiUrl}/v1/chat/completions`,
          headers: { authorization: `Bearer ${t.stack!.apiKeys.bench!}` },
          body: {
            model: 'auto',
            messages: [{ role: 'user', content: `Cluster probe ${runId}-${round}-${i}: what is ${i} plus ${round}?` }],
          },
        }),
      }),
    'exact hit': (t) =>
      httpSender({
        agent,
        makeRequest: (i) => ({
          url: `${t.stack!.apiUrl}/v1/chat/completions`,
          headers: { authorization: `Bearer ${t.stack!.apiKeys.bench!}` },
          body: {
            model: 'auto',
            messages: [{ role: 'user', content: `Cluster repeat ${i % 50}: name a colour of the rainbow.` }],
          },
        }),
      }),
  };
  for (const t of targets) {
    // Warm-up outside the rounds (cold stacks answer their first jobs seconds late), and fill
    // the hit path's 50 entries.
    await runClosedLoop({ concurrency: 4, durationSeconds: 8, send: paths['cache miss']!(t, -1) });
    await runClosedLoop({ concurrency: 4, durationSeconds: 4, send: paths['exact hit']!(t, -1) });
  }
  for (let round = 0; round < rounds; round++) {
    for (const [path, makeSender] of Object.entries(paths)) {
      // Alternate which target goes first, so drift on the shared machine hits both alike.
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const t of order) {
        const stack = t.stack!;
        const totals = ((results[path] ??= {})[t.name] ??= {
          completed: 0,
          cpu: {},
          commandsPerNode: t.nodes.map(() => 0),
          throughput: [],
          errors: 0,
        });
        const meter = cpuMeter({
          api: stack.processes[0]!.child.pid,
          classifier: stack.processes[1]!.child.pid,
          executor: stack.processes[2]!.child.pid,
          simulator: sim.process.child.pid,
          ...Object.fromEntries(t.nodes.map((n, i) => [`redis ${i}`, n.pid])),
        });
        const commandsBefore = await Promise.all(t.nodes.map((n) => commandCount(n.admin)));
        meter.start();
        const r = await runClosedLoop({
          concurrency,
          durationSeconds: windowSeconds,
          warmupSeconds: 2,
          send: makeSender(t, round),
          label: `${path} on ${t.name}`,
        });
        const cpu = meter.stop();
        const commandsAfter = await Promise.all(t.nodes.map((n) => commandCount(n.admin)));
        totals.throughput.push(r.throughput);
        totals.errors += r.errors;
        totals.completed += r.completed;
        for (const [k, v] of Object.entries(cpu)) totals.cpu[k] = (totals.cpu[k] ?? 0) + v;
        commandsAfter.forEach((c, i) => (totals.commandsPerNode[i]! += c - commandsBefore[i]!));
        log(`round ${round + 1} ${path} on ${t.name}: ${r.throughput} req/s (errors ${r.errors})`);
      }
    }
  }
} finally {
  agent.destroy();
  for (const t of targets) await t.stack?.stop();
  for (const t of targets) for (const n of t.nodes) n.admin.disconnect();
  await sim.stop();
  for (const t of targets) await t.stop();
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const lines: string[] = [];
lines.push(
  `Command: \`pnpm bench:cluster --rounds ${rounds} --window ${windowSeconds} --concurrency ${concurrency} --masters ${masters}\` (closed loop, ${concurrency} in flight, ${windowSeconds} s windows, medians of ${rounds} rounds, targets alternated).`,
);
lines.push('');
lines.push(
  '| path | target | throughput (median) | rounds | Redis CPU ms/request | all processes CPU ms/request | busiest shard share of Redis commands |',
);
lines.push('| --- | --- | --- | --- | --- | --- | --- |');
for (const [path, byTarget] of Object.entries(results)) {
  for (const [name, totals] of Object.entries(byTarget)) {
    const n = Math.max(1, totals.completed);
    const redisCpu = Object.entries(totals.cpu)
      .filter(([k]) => k.startsWith('redis'))
      .reduce((s, [, v]) => s + v, 0);
    const allCpu = Object.values(totals.cpu).reduce((s, v) => s + v, 0);
    const commands = totals.commandsPerNode.reduce((s, v) => s + v, 0);
    const busiest = commands > 0 ? Math.max(...totals.commandsPerNode) / commands : 1;
    lines.push(
      `| ${path} | ${name} | ${round1(median(totals.throughput))} req/s | ${totals.throughput.map(round1).join(', ')} | ${round1(redisCpu / n)} | ${round1(allCpu / n)} | ${Math.round(busiest * 100)} % (${round1(commands / n)} commands/request) |`,
    );
  }
  const [a, b] = Object.values(byTarget);
  if (a && b)
    lines.push(
      `| ${path} | cluster ÷ one Redis | ${round1((median(b.throughput) / median(a.throughput)) * 100)} % | | | | |`,
    );
}
process.stdout.write(`${lines.join('\n')}\n`);
