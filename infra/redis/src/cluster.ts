import { Redis } from 'ioredis';
import { RedisUnavailableError } from './provision.ts';
import { startRedisServer, type RunningRedis, type StartRedisOptions } from './server.ts';

/** Hash slots of a Redis Cluster (fixed by the protocol). */
const SLOTS = 16_384;

/** Options for {@link startRedisCluster}. */
export interface StartRedisClusterOptions extends Omit<StartRedisOptions, 'port' | 'dataDir'> {
  /** Number of masters; each gets an equal share of the slots. No replicas. @defaultValue 3 */
  masters?: number;
  /** Longest wait for every node to report `cluster_state:ok` (ms). @defaultValue 30_000 */
  readyTimeoutMs?: number;
}

/** A Redis Cluster of loopback servers started by this process. */
export interface RunningRedisCluster {
  /** `redis+cluster://127.0.0.1:P1,127.0.0.1:P2,…`: what `REDIS_URL` takes. */
  url: string;
  /** One entry per master, in slot order (the first owns slot 0). */
  nodes: RunningRedis[];
  version: string;
  /** Stop every node. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Start a Redis Cluster of `masters` Redis 8 servers on free loopback ports, from the same
 * found-or-provisioned binary and `redis.conf` as {@link startRedisServer} (AOF on,
 * noeviction), and join them the way `redis-cli --cluster create` does: distinct config
 * epochs, contiguous slot ranges, `CLUSTER MEET`, then wait until every node agrees the
 * cluster is up. Used by the cluster tests and the single-vs-cluster benchmark.
 */
export async function startRedisCluster(options: StartRedisClusterOptions = {}): Promise<RunningRedisCluster> {
  const { masters = 3, readyTimeoutMs = 30_000, ...serverOptions } = options;
  if (!Number.isInteger(masters) || masters < 1 || masters > 16)
    throw new RangeError(`Expected \`masters\` to be an integer in 1..16, got \`${masters}\``);
  const nodes: RunningRedis[] = [];
  const admins: Redis[] = [];
  const stopAll = () => Promise.all(nodes.map((n) => n.stop())).then(() => undefined);
  try {
    for (let i = 0; i < masters; i += 1) {
      nodes.push(
        await startRedisServer({
          ...serverOptions,
          extraArgs: { ...serverOptions.extraArgs, 'cluster-enabled': 'yes', 'cluster-node-timeout': '5000' },
        }),
      );
    }
    for (const node of nodes)
      admins.push(new Redis(node.port, '127.0.0.1', { lazyConnect: false, maxRetriesPerRequest: 3 }));
    for (let i = 0; i < masters; i += 1) {
      const first = Math.floor((i * SLOTS) / masters);
      const last = Math.floor(((i + 1) * SLOTS) / masters) - 1;
      // Distinct epochs up front, so no two masters start with the same one (what
      // `redis-cli --cluster create` does; otherwise they resolve it by bumping later).
      await admins[i]!.call('CLUSTER', 'SET-CONFIG-EPOCH', String(i + 1));
      await admins[i]!.call('CLUSTER', 'ADDSLOTSRANGE', String(first), String(last));
    }
    for (let i = 1; i < masters; i += 1) await admins[0]!.call('CLUSTER', 'MEET', '127.0.0.1', String(nodes[i]!.port));
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      const infos = await Promise.all(admins.map((a) => a.call('CLUSTER', 'INFO') as Promise<string>));
      const ready = infos.every(
        (info) =>
          /cluster_state:ok/.test(info) &&
          new RegExp(`cluster_known_nodes:${masters}\\b`).test(info) &&
          /cluster_slots_ok:16384\b/.test(info),
      );
      if (ready) break;
      if (Date.now() > deadline)
        throw new RedisUnavailableError(
          `Redis Cluster of ${masters} did not reach cluster_state:ok within ${readyTimeoutMs} ms`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (error) {
    for (const a of admins) a.disconnect();
    await stopAll();
    throw error;
  }
  for (const a of admins) a.disconnect();
  let stopping: Promise<void> | undefined;
  return {
    url: `redis+cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`,
    nodes,
    version: nodes[0]!.version,
    stop: () => (stopping ??= stopAll()),
  };
}
