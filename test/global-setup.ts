import type { TestProject } from 'vitest/node';
import { startRedisServer, type RunningRedis } from '@sluice/redis-server';

let redis: RunningRedis | undefined;

/**
 * Starts one throwaway Redis 8 on a free port for the whole test run (tests isolate
 * themselves with a fresh key prefix each) and stops it at the end.
 */
export default async function setup(project: TestProject) {
  redis = await startRedisServer({ log: (m) => console.error(`[test redis] ${m}`) });
  project.provide('redisUrl', redis.url);
  return async () => {
    await redis?.stop();
  };
}

