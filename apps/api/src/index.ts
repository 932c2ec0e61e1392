import { createResponseCache } from '@sluice/cache';
import { createRedis } from '@sluice/redis';
import { runProcess } from '@sluice/runtime';
import { createTenantStore } from '@sluice/tenants';
import { buildApi } from './app.ts';

await runProcess({
  name: 'sluice-api',
  env: process.env,
  async main({ config, logger, telemetry, onShutdown }) {
    const connection = createRedis({ url: config.redis.url, role: 'request', name: 'sluice-api' });
    const subscriber = createRedis({ url: config.redis.url, role: 'worker', name: 'sluice-api-sub', subscriber: true });
    onShutdown(() => void connection.disconnect());
    onShutdown(() => void subscriber.disconnect());
    const tenants = await createTenantStore({ redisUrl: config.redis.url, prefix: config.redis.prefix });
    onShutdown(() => tenants.close());
    const cache = createResponseCache({ redis: connection, config, logger });
    onShutdown(() => cache.close());
    const api = await buildApi({ config, logger, connection, subscriber, tenants, cache, telemetry: telemetry.queues });
    onShutdown(() => api.close());
    await api.app.listen({ port: config.api.port, host: config.api.host });
    logger.info({ port: config.api.port }, 'api listening');
  },
});
