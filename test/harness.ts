import { randomUUID } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import { loadConfig, type LoadConfigOptions, type SluiceConfig } from '@sluice/config';
import { buildApi, type Api } from '@sluice/api';
import { createResponseCache, type ResponseCache } from '@sluice/cache';
import { createClassifier, type Classifier } from '@sluice/classifier';
import { createExecutor, type Executor } from '@sluice/executor';
import { createBatcherProcess, type BatcherProcess } from '@sluice/batcher';
import { createRedis, type Redis } from '@sluice/redis';
import { createSimulator, type Simulator, type SimulatorOptions } from '@sluice/sim';
import {
  createClassifierMetrics,
  createExecutorMetrics,
  createMetricsRegistry,
  createOpsStats,
  type ExecutorMetrics,
} from '@sluice/metrics';
import { createKeys } from '@sluice/redis';
import { createLogger, type QueueTelemetry } from '@sluice/telemetry';
import { createTenantStore, type TenantStore } from '@sluice/tenants';

/** A Prometheus registry (prom-client's), as `@sluice/metrics` creates them. */
type Registry = ExecutorMetrics['registry'];

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** A fresh key prefix: every test gets its own keyspace on the shared test Redis. */
export function freshPrefix(): string {
  return `t${randomUUID().replaceAll('-', '').slice(0, 16)}`;
}

/** Options for {@link startStack}. */
export interface TestStackOptions {
  /** Simulator options. @defaultValue profile `fast` */
  sim?: SimulatorOptions;
  /** Config overrides (deployments get the simulator URL filled in when `baseUrl` is omitted). */
  overrides?: LoadConfigOptions['overrides'];
  /** Start an executor in-process. @defaultValue true */
  executor?: boolean;
  /** Start a classifier in-process. @defaultValue true */
  classifier?: boolean;
  /** Start a batcher in-process (deferrable jobs through the simulator's Batch API). @defaultValue false */
  batcher?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Clock of every cache in the stack (expiry decisions). @defaultValue Date.now */
  clock?: () => number;
  /**
   * BullMQ telemetry for every queue and worker of the stack (start tracing first, e.g.
   * `startTelemetry({ tracing: true, spanProcessors })`, and pass its `queues`). @defaultValue none
   */
  telemetry?: QueueTelemetry;
}

/** A whole Sluice stack in this process, on real Redis, real BullMQ and real HTTP. */
export interface TestStack {
  config: SluiceConfig;
  env: NodeJS.ProcessEnv;
  sim: Simulator;
  simUrl: string;
  api: Api;
  apiUrl: string;
  tenants: TenantStore;
  redis: Redis;
  cache: ResponseCache;
  classifier?: Classifier;
  executor?: Executor;
  batcher?: BatcherProcess;
  /** Each worker's Prometheus registry, as its process would serve it on SLUICE_METRICS_PORT. */
  registries: { classifier?: Registry; executors: Registry[] };
  /** Start an (extra) in-process executor. */
  startExecutor(): Promise<Executor>;
  /** Create a tenant API key. */
  key(tenant?: string): Promise<string>;
  stop(): Promise<void>;
}

// SLUICE_TEST_LOG_LEVEL=debug shows the in-process stack's logs while debugging a test.
const silent = () =>
  createLogger({
    serviceName: 'test',
    logLevel: (process.env.SLUICE_TEST_LOG_LEVEL as 'debug' | undefined) ?? 'silent',
  });

/** Start sim + API + classifier + executor in-process with a fresh prefix. */
export async function startStack(options: TestStackOptions = {}): Promise<TestStack> {
  const sim = createSimulator({ profile: 'fast', ...options.sim });
  const { url: simBase } = await sim.listen({ port: 0 });
  const simUrl = `${simBase}/v1`;
  const prefix = freshPrefix();
  const env: NodeJS.ProcessEnv = {
    REDIS_URL: inject('redisUrl'),
    SLUICE_REDIS_PREFIX: prefix,
    SLUICE_SIM_URL: simUrl,
    SLUICE_ADMIN_PASSWORD: 'test-admin-pw',
    SLUICE_LOG_LEVEL: 'silent',
    SLUICE_API_PORT: '0',
    SLUICE_API_HOST: '127.0.0.1',
    // Where the global setup provisioned the word vectors (issue 14).
    SLUICE_EMBEDDINGS_MODEL_DIR: inject('embeddingsModelDir'),
    ...options.env,
  };
  const overrides = options.overrides ?? {};
  if (overrides.deployments) overrides.deployments = overrides.deployments.map((d) => ({ baseUrl: simUrl, ...d }));
  const config = loadConfig({ env, overrides });
  const logger = silent();
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const conn = (role: 'worker' | 'request', pipelining = false, subscriber = false) => {
    const r = createRedis({ url: config.redis.url, role, pipelining, subscriber });
    cleanups.push(() => r.disconnect());
    return r;
  };
  const redis = conn('request', true);
  const tenants = await createTenantStore({ redisUrl: config.redis.url, prefix: config.redis.prefix });
  const cache = createResponseCache({ redis, config, clock: options.clock });
  cleanups.push(() => cache.close());
  const api = await buildApi({
    config,
    logger,
    connection: redis,
    subscriber: conn('worker', false, true),
    tenants,
    cache,
    telemetry: options.telemetry,
  });
  await api.app.listen({ port: 0, host: '127.0.0.1' });
  const address = api.app.server.address();
  const apiUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const executors: Executor[] = [];
  const registries: TestStack['registries'] = { executors: [] };
  const startExecutor = async () => {
    const connection = conn('worker', true);
    const executorCache = createResponseCache({ redis: connection, config, clock: options.clock });
    cleanups.push(() => executorCache.close());
    // Like an executor process: its own registry, and the shared counters the dashboard reads.
    const registry = createMetricsRegistry({ role: 'executor', processMetrics: false });
    registries.executors.push(registry);
    const stats = createOpsStats({ redis: connection, keys: createKeys(config.redis.prefix) });
    cleanups.push(() => stats.close());
    const metrics = createExecutorMetrics({ registry, deployments: config.deployments, stats });
    const e = createExecutor({
      config,
      logger,
      connection,
      workerConnection: conn('worker'),
      subscriber: conn('worker'),
      drainTimeoutMs: 2_000,
      cache: executorCache,
      metrics,
      telemetry: options.telemetry,
    });
    await e.start();
    executors.push(e);
    return e;
  };
  let classifier: Classifier | undefined;
  if (options.classifier !== false) {
    classifier = createClassifier({
      config,
      logger,
      connection: conn('worker', true),
      workerConnection: conn('worker'),
      embed: (request) => cache.embed(request),
      metrics: createClassifierMetrics({
        registry: (registries.classifier = createMetricsRegistry({ role: 'classifier', processMetrics: false })),
      }),
      telemetry: options.telemetry,
    });
    await classifier.start();
  }
  const executor = options.executor === false ? undefined : await startExecutor();
  let batcher: BatcherProcess | undefined;
  if (options.batcher) {
    const connection = conn('worker', true);
    const batcherCache = createResponseCache({ redis: connection, config, clock: options.clock });
    cleanups.push(() => batcherCache.close());
    batcher = createBatcherProcess({
      config,
      logger,
      connection,
      workerConnection: conn('worker'),
      cache: batcherCache,
    });
    await batcher.start();
  }
  return {
    config,
    env,
    sim,
    simUrl,
    api,
    apiUrl,
    tenants,
    redis,
    cache,
    classifier,
    executor,
    batcher,
    registries,
    startExecutor,
    key: (tenant = 'acme') => tenants.createKey(tenant),
    async stop() {
      await api.close();
      await Promise.allSettled([classifier?.close(), batcher?.close(), ...executors.map((e) => e.close())]);
      await tenants.close();
      for (const c of cleanups.reverse()) await c();
      await sim.close();
    },
  };
}

/** Spawn one Sluice process (`api`, `classifier`, `executor`, `batcher`) with tsx, as `pnpm start` does. */
export function spawnApp(
  kind: 'api' | 'classifier' | 'executor' | 'batcher',
  env: NodeJS.ProcessEnv,
): { child: ChildProcess; exited: Promise<number | null>; output: () => string } {
  const entry = join(ROOT, `apps/${kind}/src/index.ts`);
  // A free metrics port unless the test names one: several workers run side by side here.
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: ROOT,
    env: { ...process.env, SLUICE_METRICS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  return { child, exited, output: () => out };
}

/** Poll until `check` returns a truthy value. */
export async function until<T>(check: () => Promise<T> | T, timeoutMs = 10_000, everyMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
