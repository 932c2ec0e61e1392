import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startRedisServer, type RunningRedis } from '@sluice/redis-server';
import { createTenantStore } from '@sluice/tenants';

/** The repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** A process started for a benchmark. */
export interface BenchProcess {
  name: string;
  child: ChildProcess;
  /** The last 64 KB of what the process wrote (its JSON log lines, at the level the stack runs). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Spawn an app entry with tsx; its output is kept (tail) and printed only on failure. `root` is
 * the checkout the entry comes from (another worktree, to measure an older commit in the same run).
 */
export function spawnEntry(
  name: string,
  entry: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  nodeArgs: string[] = [],
  root = ROOT,
): BenchProcess {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', join(root, entry), ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  let out = '';
  child.stdout!.on('data', (d) => (out = (out + d).slice(-65_536)));
  child.stderr!.on('data', (d) => {
    err = (err + d).slice(-4000);
    out = (out + d).slice(-65_536);
  });
  const exited = new Promise<void>((res) =>
    child.once('exit', (code) => {
      if (code && code !== 0 && code !== 143) process.stderr.write(`${name} exited ${code}: ${err}\n`);
      res();
    }),
  );
  return {
    name,
    child,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** Wait until `url` answers 2xx. */
export async function waitHttp(url: string, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < until) {
    if (child && child.exitCode !== null)
      throw new Error(`${url}: the process exited with ${child.exitCode} before answering`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
      last = `${res.status} ${(await res.text()).slice(0, 500)}`;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer 2xx within ${timeoutMs} ms (last: ${last})`);
}

/** A running simulator process. */
export interface SimProcess {
  /** `http://127.0.0.1:PORT` */
  baseUrl: string;
  /** `http://127.0.0.1:PORT/v1` */
  apiUrl: string;
  process: BenchProcess;
  /** `GET /sim/stats`, per model id. */
  stats(): Promise<Record<string, SimModelStats>>;
  stop(): Promise<void>;
}

/** Per-model counters of `GET /sim/stats` (apps/sim README). */
export interface SimModelStats {
  requests: number;
  accepted: number;
  rateLimited: number;
  errors: number;
  timeouts: number;
  dropped: number;
  promptTokens: number;
  completionTokens: number;
  maxAcceptedIn60s: number;
  inFlight: number;
  maxInFlight: number;
}

/** Start the simulator as its own process. */
export async function startSim(args: string[], env: NodeJS.ProcessEnv = {}): Promise<SimProcess> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const p = spawnEntry('sim', 'apps/sim/src/main.ts', ['--port', String(port), '--log-level', 'warn', ...args], env);
  await waitHttp(`${baseUrl}/health`, 60_000, p.child);
  return {
    baseUrl,
    apiUrl: `${baseUrl}/v1`,
    process: p,
    async stats() {
      const res = await fetch(`${baseUrl}/sim/stats`);
      return ((await res.json()) as { models: Record<string, SimModelStats> }).models;
    },
    stop: () => p.stop(),
  };
}

/** Options for {@link startSluice}. */
export interface SluiceStackOptions {
  redisUrl: string;
  /** Base URL of the simulator's OpenAI API (`…/v1`). */
  simUrl: string;
  /** Key prefix; one per stack keeps stacks on one Redis apart. @defaultValue `sluice` */
  prefix?: string;
  /** Executor processes. @defaultValue 1 */
  executors?: number;
  /** Extra environment (configuration switches) of every Sluice process. */
  env?: NodeJS.ProcessEnv;
  /** Tenants to create API keys for. @defaultValue `['bench']` */
  tenants?: readonly string[];
  /** Extra node flags for the Sluice processes (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  /** The checkout whose apps run (an older commit's worktree, for a before/after run). @defaultValue this repository */
  root?: string;
}

/** API, classifier and executors as separate processes, as in production. */
export interface SluiceStack {
  apiUrl: string;
  /** API key per tenant. */
  apiKeys: Record<string, string>;
  processes: BenchProcess[];
  addExecutor(): Promise<BenchProcess>;
  stop(): Promise<void>;
}

/** Start one Sluice stack (API, classifier, executors) against a running Redis and simulator. */
export async function startSluice(options: SluiceStackOptions): Promise<SluiceStack> {
  const apiPort = await freePort();
  const prefix = options.prefix ?? 'sluice';
  const env: NodeJS.ProcessEnv = {
    REDIS_URL: options.redisUrl,
    SLUICE_SIM_URL: options.simUrl,
    SLUICE_API_PORT: String(apiPort),
    SLUICE_API_HOST: '127.0.0.1',
    SLUICE_LOG_LEVEL: 'warn',
    SLUICE_REDIS_PREFIX: prefix,
    // A stopped bench stack need not hand its queue back gracefully.
    SLUICE_DRAIN_TIMEOUT_MS: '2000',
    ...options.env,
  };
  const processes: BenchProcess[] = [];
  const stop = async () => {
    for (const p of [...processes].reverse()) await p.stop();
  };
  try {
    processes.push(spawnEntry(`api@${prefix}`, 'apps/api/src/index.ts', [], env, options.nodeArgs, options.root));
    processes.push(
      spawnEntry(`classifier@${prefix}`, 'apps/classifier/src/index.ts', [], env, options.nodeArgs, options.root),
    );
    const addExecutor = async () => {
      const p = spawnEntry(
        `executor-${processes.length - 1}@${prefix}`,
        'apps/executor/src/index.ts',
        [],
        env,
        options.nodeArgs,
        options.root,
      );
      processes.push(p);
      return p;
    };
    for (let i = 0; i < (options.executors ?? 1); i++) await addExecutor();
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    await waitHttp(`${apiUrl}/readyz`, 240_000, processes[0]!.child);
    const tenants = await createTenantStore({ redisUrl: options.redisUrl, prefix });
    const apiKeys: Record<string, string> = {};
    try {
      for (const t of options.tenants ?? ['bench']) apiKeys[t] = await tenants.createKey(t, 'load-test');
    } finally {
      await tenants.close();
    }
    return { apiUrl, apiKeys, processes, addExecutor, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Options for {@link startBenchStack}. */
export interface BenchStackOptions {
  /** Simulator flags, e.g. `['--profile', 'fixed', '--latency-ms', '50']`. */
  simArgs: string[];
  executors?: number;
  env?: NodeJS.ProcessEnv;
  /** Use this Redis instead of starting one. */
  redisUrl?: string;
  /** Extra node flags for the Sluice processes (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
}

/** Redis, simulator, API, classifier and executors as separate processes, as in production. */
export interface BenchStack {
  redisUrl: string;
  simUrl: string;
  apiUrl: string;
  apiKey: string;
  processes: BenchProcess[];
  addExecutor(): Promise<BenchProcess>;
  stop(): Promise<void>;
}

/** Start a Redis 8 for a run (or use `REDIS_URL`-style `url` when given). */
export async function startRedis(url?: string): Promise<{ url: string; pid?: number; stop(): Promise<void> }> {
  if (url) return { url, stop: async () => {} };
  const redis: RunningRedis = await startRedisServer({});
  return { url: redis.url, pid: redis.process.pid, stop: () => redis.stop() };
}

/** Start a full stack for a benchmark run: Redis, simulator, one Sluice stack. */
export async function startBenchStack(options: BenchStackOptions): Promise<BenchStack> {
  const redis = await startRedis(options.redisUrl);
  const sim = await startSim(options.simArgs);
  const prefix = options.env?.SLUICE_REDIS_PREFIX ?? 'sluice';
  const sluice = await startSluice({
    redisUrl: redis.url,
    simUrl: sim.apiUrl,
    prefix,
    executors: options.executors,
    env: options.env,
    nodeArgs: options.nodeArgs,
  });
  return {
    redisUrl: redis.url,
    simUrl: sim.apiUrl,
    apiUrl: sluice.apiUrl,
    apiKey: sluice.apiKeys.bench!,
    processes: [sim.process, ...sluice.processes],
    addExecutor: sluice.addExecutor,
    async stop() {
      await sluice.stop();
      await sim.stop();
      await redis.stop();
    },
  };
}
