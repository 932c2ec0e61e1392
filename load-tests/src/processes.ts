import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startRedisServer, type RunningRedis } from '@sluice/redis-server';
import { createTenantStore } from '@sluice/tenants';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** A process started for a benchmark. */
export interface BenchProcess {
  name: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Spawn an app entry with tsx, logs to stderr only on failure. */
export function spawnEntry(name: string, entry: string, args: string[], env: NodeJS.ProcessEnv, nodeArgs: string[] = []): BenchProcess {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', join(ROOT, entry), ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err = (err + d).slice(-4000)));
  const exited = new Promise<void>((res) => child.once('exit', (code) => {
    if (code && code !== 0 && code !== 143) process.stderr.write(`${name} exited ${code}: ${err}\n`);
    res();
  }));
  return {
    name,
    child,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

async function waitHttp(url: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
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

/** Start a full stack for a benchmark run. */
export async function startBenchStack(options: BenchStackOptions): Promise<BenchStack> {
  let redis: RunningRedis | undefined;
  const redisUrl = options.redisUrl ?? (redis = await startRedisServer({})).url;
  const [simPort, apiPort] = [await freePort(), await freePort()];
  const simUrl = `http://127.0.0.1:${simPort}/v1`;
  const env: NodeJS.ProcessEnv = {
    REDIS_URL: redisUrl,
    SLUICE_SIM_URL: simUrl,
    SLUICE_API_PORT: String(apiPort),
    SLUICE_API_HOST: '127.0.0.1',
    SLUICE_LOG_LEVEL: 'warn',
    ...options.env,
  };
  const processes: BenchProcess[] = [];
  processes.push(spawnEntry('sim', 'apps/sim/src/main.ts', ['--port', String(simPort), '--log-level', 'warn', ...options.simArgs], env));
  await waitHttp(`http://127.0.0.1:${simPort}/health`, 30_000);
  processes.push(spawnEntry('api', 'apps/api/src/index.ts', [], env, options.nodeArgs));
  processes.push(spawnEntry('classifier', 'apps/classifier/src/index.ts', [], env, options.nodeArgs));
  const addExecutor = async () => {
    const p = spawnEntry(`executor-${processes.length}`, 'apps/executor/src/index.ts', [], env, options.nodeArgs);
    processes.push(p);
    return p;
  };
  for (let i = 0; i < (options.executors ?? 1); i++) await addExecutor();
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  await waitHttp(`${apiUrl}/readyz`, 60_000);
  const tenants = await createTenantStore({ redisUrl, prefix: options.env?.SLUICE_REDIS_PREFIX ?? 'sluice' });
  const apiKey = await tenants.createKey('bench');
  await tenants.close();
  return {
    redisUrl,
    simUrl,
    apiUrl,
    apiKey,
    processes,
    addExecutor,
    async stop() {
      for (const p of [...processes].reverse()) await p.stop();
      await redis?.stop();
    },
  };
}
