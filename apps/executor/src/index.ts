import { createResponseCache } from '@sluice/cache';
import { createRedis } from '@sluice/redis';
import { runProcess } from '@sluice/runtime';
import { createExecutor } from './app.ts';

await runProcess({
  name: 'sluice-executor',
  async main({ config, logger, onShutdown }) {
    const connection = createRedis({ url: config.redis.url, role: 'worker', name: 'sluice-executor', pipelining: true });
    const workerConnection = createRedis({ url: config.redis.url, role: 'worker', name: 'sluice-executor-worker' });
    const subscriber = createRedis({ url: config.redis.url, role: 'worker', name: 'sluice-executor-sub' });
    onShutdown(() => void connection.disconnect());
    onShutdown(() => void workerConnection.disconnect());
    onShutdown(() => void subscriber.disconnect());
    const cache = createResponseCache({ redis: connection, config, logger });
    // Every executor sweeps expired vector elements; the sweep is bounded and idempotent.
    cache.start();
    onShutdown(() => cache.close());
    const executor = createExecutor({ config, connection, workerConnection, subscriber, logger, cache });
    onShutdown(() => executor.close());
    await executor.start();
  },
});
