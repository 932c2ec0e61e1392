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
    const executor = createExecutor({ config, connection, workerConnection, subscriber, logger });
    onShutdown(() => executor.close());
    await executor.start();
  },
});
