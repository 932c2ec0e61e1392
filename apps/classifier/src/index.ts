import { createResponseCache } from '@sluice/cache';
import { createClassifierMetrics, createMetricsRegistry, startMetricsServer, workerReadiness } from '@sluice/metrics';
import { createRedis } from '@sluice/redis';
import { runProcess } from '@sluice/runtime';
import { createClassifier, type Classifier } from './app.ts';

await runProcess({
  name: 'sluice-classifier',
  env: process.env,
  async main({ config, logger, telemetry, onShutdown }) {
    const connection = createRedis({ url: config.redis.url, role: 'worker', name: 'sluice-classifier' });
    const workerConnection = createRedis({ url: config.redis.url, role: 'worker', name: 'sluice-classifier-worker' });
    onShutdown(() => void connection.disconnect());
    onShutdown(() => void workerConnection.disconnect());
    const registry = createMetricsRegistry({ role: 'classifier' });
    let classifier: Classifier | undefined;
    // Up first and closed last: probes keep answering (readiness "closing") while jobs finish.
    const server = await startMetricsServer({
      registry,
      port: config.metrics.port,
      logger,
      ready: () => workerReadiness(connection, classifier ? [classifier.worker] : []),
    });
    onShutdown(() => server.close());
    const cache = createResponseCache({ redis: connection, config, logger });
    onShutdown(() => cache.close());
    classifier = createClassifier({
      config,
      connection,
      workerConnection,
      logger,
      embed: (request) => cache.embed(request),
      embedder: cache.embedder,
      metrics: createClassifierMetrics({ registry }),
      telemetry: telemetry.queues,
    });
    onShutdown(() => classifier!.close());
    await classifier.start();
  },
});
