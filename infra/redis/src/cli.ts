/**
 * `tsx infra/redis/src/cli.ts provision` — find or provision Redis 8 and print its version.
 * `tsx infra/redis/src/cli.ts start [--port N] [--dir DIR]` — run one in the foreground.
 * `tsx infra/redis/src/cli.ts cluster [--masters N]` — run a loopback Redis Cluster in the
 *   foreground and print the `REDIS_URL` that points Sluice at it.
 */
import { findOrProvisionRedis, startRedisCluster, startRedisServer } from './index.ts';

const [command = 'provision', ...rest] = process.argv.slice(2);
const flag = (name: string) => {
  const i = rest.indexOf(`--${name}`);
  return i >= 0 ? rest[i + 1] : undefined;
};
const log = (m: string) => console.error(`[redis] ${m}`);

if (command === 'provision') {
  const binary = await findOrProvisionRedis({ log });
  console.log(`redis-server ${binary.version} (${binary.source}): ${binary.server.join(' ')}`);
} else if (command === 'start') {
  const redis = await startRedisServer({
    port: Number(flag('port') ?? 6379),
    dataDir: flag('dir'),
    log,
    onLog: (l) => console.error(`[redis] ${l}`),
  });
  console.log(`redis ${redis.version} listening at ${redis.url}`);
  const stop = () => void redis.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} else if (command === 'cluster') {
  const cluster = await startRedisCluster({ masters: Number(flag('masters') ?? 3), log });
  console.log(`redis ${cluster.version} cluster of ${cluster.nodes.length} masters; REDIS_URL=${cluster.url}`);
  const stop = () => void cluster.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} else {
  console.error(`unknown command ${command}; use provision | start | cluster`);
  process.exit(2);
}
