import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findOrProvisionRedis, type ProvisionOptions, RedisUnavailableError } from './provision.ts';

/** The bundled `redis.conf` (AOF on, `maxmemory-policy noeviction`). */
export const REDIS_CONF = join(dirname(fileURLToPath(import.meta.url)), '..', 'redis.conf');

/** Options for {@link startRedisServer}. */
export interface StartRedisOptions extends ProvisionOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one. @defaultValue 0 */
  port?: number;
  /** Data folder (AOF files). @defaultValue a fresh temp folder, removed on stop */
  dataDir?: string;
  /** Extra `--name value` arguments, e.g. `{ 'cluster-enabled': 'yes' }`. */
  extraArgs?: Record<string, string>;
  /** Pipe the server's own log lines here. @defaultValue dropped */
  onLog?: (line: string) => void;
}

/** A running Redis server started by this process. */
export interface RunningRedis {
  url: string;
  port: number;
  dataDir: string;
  version: string;
  process: ChildProcess;
  /** Stop it (SIGTERM, then SIGKILL after 5 s). Idempotent. Removes a temp data folder. */
  stop(): Promise<void>;
}

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPing(port: number, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ port, host: '127.0.0.1' });
      socket.setTimeout(500);
      socket.once('connect', () => socket.write('PING\r\n'));
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString().startsWith('+PONG'));
      });
      socket.once('error', () => resolve(false));
      socket.once('timeout', () => {
        socket.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new RedisUnavailableError(`redis-server did not answer PING on port ${port} within ${deadlineMs} ms`);
}

/**
 * Start a Redis ≥ 8 on loopback with the bundled `redis.conf`, finding or provisioning the
 * binary first. Used by `pnpm start` (when `REDIS_URL` is unset) and by the tests.
 */
export async function startRedisServer(options: StartRedisOptions = {}): Promise<RunningRedis> {
  const binary = await findOrProvisionRedis(options);
  const port = options.port || (await freePort());
  const ownDir = !options.dataDir;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'sluice-redis-'));
  mkdirSync(dataDir, { recursive: true });
  const extra = Object.entries(options.extraArgs ?? {}).flatMap(([k, v]) => [`--${k}`, ...v.split(' ')]);
  const [cmd, ...prefix] = binary.server;
  const child = spawn(
    cmd!,
    [...prefix, REDIS_CONF, '--port', String(port), '--bind', '127.0.0.1', '--dir', dataDir, ...extra],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const forward = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) options.onLog?.(line);
  };
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  try {
    await Promise.race([
      waitForPing(port, 15_000),
      exitedPromise.then(() => {
        throw new RedisUnavailableError(`redis-server exited during start-up (port ${port}); see its log`);
      }),
    ]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dataDir,
    version: binary.version,
    process: child,
    stop() {
      stopping ??= (async () => {
        if (!exited) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
          await exitedPromise;
          clearTimeout(timer);
        }
        if (ownDir) rmSync(dataDir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}
