import { createResponseCache } from '@sluice/cache';
import { createMetricsRegistry, startMetricsServer, workerReadiness } from '@sluice/metrics';
import { createRedis } from '@sluice/redis';
import { runProcess } from '@sluice/runtime';
import { createBatcherProcess, type BatcherProcess } from './app.ts';

await runProcess({
  name: 'sluice-batcher',
  env: process.env,
  async main({ config, logger, telemetry, onShutdown }) {
    const connection = createRedis({ url: config.redis.url, role: 'worker', name: 'sluice-batcher' });
    const workerConnection = createRedis({ url: config.redis.url, role: 'worker', name: 'sluice-batcher-worker' });
    onShutdown(() => void connection.disconnect());
    onShutdown(() => void workerConnection.disconnect());
    const registry = createMetricsRegistry({ role: 'batcher' });
    let batcher: BatcherProcess | undefined;
    const server = await startMetricsServer({
      registry,
      port: config.metrics.port,
      logger,
      ready: () => workerReadiness(connection, batcher?.workers ?? []),
    });
    onShutdown(() => server.close());
    const cache = createResponseCache({ redis: connection, config, logger });
    onShutdown(() => cache.close());
    batcher = createBatcherProcess({
      config,
      connection,
      workerConnection,
      logger,
      cache,
      telemetry: telemetry.queues,
    });
    onShutdown(() => batcher!.close());
    await batcher.start();
  },
});
