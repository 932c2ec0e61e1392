import { defineConfig } from 'vitest/config';

/**
 * One root config: `pnpm test` runs every package's tests. The global setup starts a
 * throwaway Redis 8 (found on PATH or provisioned, see infra/redis) on a free port and hands
 * its URL to tests through `inject('redisUrl')`.
 */
export default defineConfig({
  test: {
    include: [
      '{apps,packages,infra,load-tests}/*/src/**/*.test.ts',
      'load-tests/src/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
