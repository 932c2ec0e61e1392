import { createResponseCache } from '@sluice/cache';
import { createRedis } from '@sluice/redis';
import { runProcess } from '@sluice/runtime';
import { createClassifier } from './app.ts';

await runProcess({
  name: 'sluice-classifier',
  async main({ config, logger, onShutdown }) {
    const connection = createRedis({ url: config.redis.url, role: 'worker', name: 'sluice-classifier', pipelining: true });
    const workerConnection = createRedis({ url: config.redis.url, role: 'worker', name: 'sluice-classifier-worker' });
    onShutdown(() => void connection.disconnect());
    onShutdown(() => void workerConnection.disconnect());
    const cache = createResponseCache({ redis: connection, config, logger });
    onShutdown(() => cache.close());
    const classifier = createClassifier({ config, connection, workerConnection, logger, embed: (request) => cache.embed(request), embedder: cache.embedder });
    onShutdown(() => classifier.close());
    await classifier.start();
  },
});
