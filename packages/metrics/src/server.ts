import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** What a readiness check reports. */
export interface Readiness {
  ready: boolean;
  /** One line per thing checked, e.g. `{ redis: 'ok', 'worker {route}': 'running' }`. */
  checks: Record<string, string>;
}

/** Minimal logger the server reports to. */
export interface MetricsServerLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** Options for {@link startMetricsServer}. */
export interface MetricsServerOptions {
  registry: Registry;
  /** Port; 0 picks a free one (see {@link MetricsServer.port}). */
  port: number;
  /** Interface to bind. @defaultValue `0.0.0.0` (probes and scrapers come from outside the pod) */
  host?: string;
  /** Readiness for `/readyz`: Redis reachable and the worker consuming. */
  ready(): Promise<Readiness>;
  logger?: MetricsServerLogger;
  /** Longest a readiness check may take before `/readyz` answers 503 (ms). @defaultValue 2_000 */
  readyTimeoutMs?: number;
}

/** A running metrics server. */
export interface MetricsServer {
  /** The port it listens on, or undefined when it could not bind (see {@link startMetricsServer}). */
  readonly port: number | undefined;
  /** Stop listening. Idempotent. */
  close(): Promise<void>;
}

/**
 * The small HTTP server every worker process (classifier, executor) runs next to its BullMQ
 * workers, for Prometheus and the orchestrator's probes:
 *
 * - `GET /metrics`: the registry in Prometheus text format;
 * - `GET /healthz`: 200 while the process answers (liveness: deliberately not tied to Redis,
 *   or a Redis blip would restart every worker);
 * - `GET /readyz`: 200 when `ready()` says so, else 503 with the failing checks (readiness).
 *
 * A port already taken (several workers on one machine, e.g. `pnpm start`) is logged and the
 * worker carries on without the server: its work matters more than its metrics.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { registry, logger } = options;
  const readyTimeoutMs = options.readyTimeoutMs ?? 2_000;
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      response.end(request.method === 'HEAD' ? undefined : body);
    };
    if (request.method !== 'GET' && request.method !== 'HEAD') return send(405, 'text/plain', 'Method not allowed\n');
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => send(200, registry.contentType, text),
        (error: unknown) => send(500, 'text/plain', `metrics collection failed: ${(error as Error).message}\n`),
      );
      return;
    }
    if (path === '/healthz') return send(200, 'application/json', JSON.stringify({ status: 'ok' }));
    if (path === '/readyz') {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<Readiness>((resolve) => {
        timer = setTimeout(
          () => resolve({ ready: false, checks: { readiness: `no answer within ${readyTimeoutMs} ms` } }),
          readyTimeoutMs,
        );
      });
      Promise.race([
        options.ready().catch((error: unknown): Readiness => ({
          ready: false,
          checks: { readiness: `check failed: ${(error as Error).message}` },
        })),
        timeout,
      ]).then((r) => {
        clearTimeout(timer);
        send(
          r.ready ? 200 : 503,
          'application/json',
          JSON.stringify({ status: r.ready ? 'ready' : 'not ready', checks: r.checks }),
        );
      });
      return;
    }
    send(404, 'text/plain', 'Not found: this port serves /metrics, /healthz and /readyz\n');
  });
  // Probes reuse connections; don't let an idle one hold shutdown up.
  server.keepAliveTimeout = 5_000;
  const port = await new Promise<number | undefined>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') {
        logger?.warn(
          { port: options.port },
          'metrics port already in use: /metrics, /healthz and /readyz are not served by this process',
        );
        resolve(undefined);
      } else reject(error);
    });
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve((server.address() as AddressInfo).port));
  });
  if (port !== undefined) logger?.info({ port }, 'serving /metrics, /healthz, /readyz');
  let closed: Promise<void> | undefined;
  return {
    port,
    close() {
      closed ??=
        port === undefined
          ? Promise.resolve()
          : new Promise<void>((resolve) => {
              server.close(() => resolve());
              server.closeAllConnections();
            });
      return closed;
    },
  };
}

/** Readiness of worker processes: Redis answers, and every BullMQ worker runs and is not closing. */
export async function workerReadiness(
  redis: { ping(): Promise<unknown> },
  workers: ReadonlyArray<{ name: string; isRunning(): boolean; closing?: Promise<void> | undefined }>,
): Promise<Readiness> {
  const checks: Record<string, string> = {};
  let ready = true;
  try {
    await redis.ping();
    checks.redis = 'ok';
  } catch (error) {
    ready = false;
    checks.redis = `unreachable: ${(error as Error).message}`;
  }
  if (workers.length === 0) {
    ready = false;
    checks.workers = 'not started';
  }
  for (const w of workers) {
    const state = w.closing ? 'closing' : w.isRunning() ? 'running' : 'not running';
    checks[`worker ${w.name}`] = state;
    if (state !== 'running') ready = false;
  }
  return { ready, checks };
}
