export { findOrProvisionRedis, defaultCacheDir, RedisUnavailableError } from './provision.ts';
export type { RedisBinary, ProvisionOptions } from './provision.ts';
export { startRedisServer, freePort, REDIS_CONF } from './server.ts';
export type { StartRedisOptions, RunningRedis } from './server.ts';
export { startRedisCluster } from './cluster.ts';
export type { StartRedisClusterOptions, RunningRedisCluster } from './cluster.ts';
