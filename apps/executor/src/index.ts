import { createResponseCache } from '@sluice/cache';
import {
  createExecutorMetrics,
  createMetricsRegistry,
  createOpsStats,
  startMetricsServer,
  workerReadiness,
} from '@sluice/metrics';
import { createKeys, createRedis } from '@sluice/redis';
import { runProcess } from '@sluice/runtime';
import { createExecutor, type Executor } from './app.ts';

await runProcess({
  name: 'sluice-executor',
  env: process.env,
  async main({ config, logger, telemetry, onShutdown }) {
    const connection = createRedis({ url: config.redis.url, role: 'worker', name: 'sluice-executor' });
    const workerConnection = createRedis({ url: config.redis.url, role: 'worker', name: 'sluice-executor-worker' });
    const subscriber = createRedis({ url: config.redis.url, role: 'worker', name: 'sluice-executor-sub' });
    onShutdown(() => void connection.disconnect());
    onShutdown(() => void workerConnection.disconnect());
    onShutdown(() => void subscriber.disconnect());
    const registry = createMetricsRegistry({ role: 'executor' });
    let executor: Executor | undefined;
    // Up first and closed last: probes keep answering (readiness "closing") while jobs drain.
    const server = await startMetricsServer({
      registry,
      port: config.metrics.port,
      logger,
      ready: () => workerReadiness(connection, executor?.workers ?? []),
    });
    onShutdown(() => server.close());
    const cache = createResponseCache({ redis: connection, config, logger });
    // Every executor sweeps expired vector elements; the sweep is bounded and idempotent.
    cache.start();
    onShutdown(() => cache.close());
    const stats = createOpsStats({
      redis: connection,
      keys: createKeys(config.redis.prefix),
      onError: (error) => logger.warn({ err: error }, 'could not update the shared operations counters'),
    });
    // Runs after the executor has drained (cleanups run in reverse): the last jobs are counted.
    onShutdown(() => stats.close());
    const metrics = createExecutorMetrics({ registry, deployments: config.deployments, stats });
    executor = createExecutor({
      config,
      connection,
      workerConnection,
      subscriber,
      logger,
      cache,
      metrics,
      telemetry: telemetry.queues,
    });
    onShutdown(() => executor!.close());
    await executor.start();
  },
});
