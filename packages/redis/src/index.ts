import { Cluster, Redis as Standalone, type ClusterNode, type ClusterOptions, type RedisOptions } from 'ioredis';
import { defineError, SluiceError } from '@sluice/errors';

/**
 * A Sluice Redis connection: one Redis server, or a Redis Cluster (ioredis routes each command
 * to the shard owning its key's slot). Both run every command Sluice issues: each script or
 * transaction touches keys of one hash tag (see {@link Keys}).
 */
export type Redis = Standalone | Cluster;

/**
 * How a connection behaves while Redis is away.
 * - `worker`: BullMQ workers and blocking readers; commands wait and retry forever
 *   (BullMQ requires `maxRetriesPerRequest: null`).
 * - `request`: the API's request path; commands fail fast so a request can answer 503
 *   with `retry-after` instead of hanging.
 */
export type ConnectionRole = 'worker' | 'request';

/** Where `REDIS_URL` points: one server, or the seed nodes of a Redis Cluster. */
export type RedisTarget =
  | { kind: 'standalone'; url: string }
  | {
      kind: 'cluster';
      nodes: Array<{ host: string; port: number }>;
      username?: string;
      password?: string;
      tls: boolean;
    };

/** Codes of `@sluice/redis` errors, registered once in `@sluice/errors`. */
export const REDIS_ERRORS = {
  /** Redis cannot be reached (any connection error, see {@link isRedisUnavailable}): 503, retry shortly. */
  unavailable: defineError({
    code: 'redis_unavailable',
    status: 503,
    openaiType: 'service_unavailable',
    retryable: true,
    subsystem: '@sluice/redis',
    message: 'Sluice cannot reach its Redis right now; retry shortly.',
  }),
  url: defineError({
    code: 'redis_url',
    status: 500,
    openaiType: 'server_error',
    expose: false,
    subsystem: '@sluice/redis',
    message: 'invalid REDIS_URL',
  }),
} as const;

/** A `REDIS_URL` that cannot be used; the message says what is wrong with it. */
export class RedisUrlError extends SluiceError {
  override name = 'RedisUrlError' as const;
  declare readonly code: 'SLUICE_ERR_REDIS_URL';
  constructor(message: string, options?: { cause?: unknown }) {
    super(REDIS_ERRORS.url, message, options);
  }
}

/**
 * Redis cannot be reached right now and the command was not sent. Thrown where a connection
 * that queues commands while offline (a subscriber, which must resubscribe on reconnect)
 * would otherwise make a request wait for Redis to come back.
 */
export class RedisOfflineError extends SluiceError {
  override name = 'RedisOfflineError' as const;
  declare readonly code: 'SLUICE_ERR_REDIS_OFFLINE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(REDIS_ERRORS.unavailable, message, { ...options, code: 'SLUICE_ERR_REDIS_OFFLINE', retryAfterMs: 2_000 });
  }
}

const CLUSTER_SCHEME = /^(rediss?)\+cluster:\/\/(.*)$/;

/**
 * Parse a `REDIS_URL`. `redis://` and `rediss://` name one server (ioredis URL syntax);
 * `redis+cluster://[user:password@]host:port[,host:port…]` (or `rediss+cluster://` for TLS)
 * names seed nodes of a Redis Cluster, from which the rest of the topology is discovered.
 * Never echoes the password in an error.
 */
export function parseRedisUrl(url: string): RedisTarget {
  const cluster = CLUSTER_SCHEME.exec(url);
  if (!cluster) {
    if (!/^(rediss?|unix):\/\//.test(url)) {
      // Only a scheme is echoed: the rest may hold a password (and a URL without a scheme may
      // be nothing but credentials and a host).
      const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1];
      throw new RedisUrlError(
        `Expected REDIS_URL to start with redis://, rediss://, redis+cluster:// or rediss+cluster://, got ${scheme ? `\`${scheme}://…\`` : 'no scheme'}`,
      );
    }
    return { kind: 'standalone', url };
  }
  const [, scheme, rest] = cluster as unknown as [string, string, string];
  const at = rest.lastIndexOf('@');
  const credentials = at >= 0 ? rest.slice(0, at) : '';
  const hostList = (at >= 0 ? rest.slice(at + 1) : rest).replace(/[/?].*$/, '');
  let username: string | undefined;
  let password: string | undefined;
  if (credentials) {
    const colon = credentials.indexOf(':');
    username = decodeURIComponent(colon >= 0 ? credentials.slice(0, colon) : credentials) || undefined;
    password = colon >= 0 ? decodeURIComponent(credentials.slice(colon + 1)) : undefined;
  }
  const nodes = hostList
    .split(',')
    .filter(Boolean)
    .map((entry) => {
      const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(entry.trim());
      const port = match ? Number(match[2]) : NaN;
      if (!match || port < 1 || port > 65_535) {
        throw new RedisUrlError(`Expected each cluster node in REDIS_URL as host:port, got \`${entry}\``);
      }
      return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
    });
  if (nodes.length === 0) throw new RedisUrlError('Expected REDIS_URL redis+cluster:// to name at least one host:port');
  return { kind: 'cluster', nodes, username, password, tls: scheme === 'rediss' };
}

/** Options for {@link createRedis}. */
export interface CreateRedisOptions {
  url: string;
  role: ConnectionRole;
  /** Connection name shown by `CLIENT LIST` (process kind). */
  name?: string;
  /**
   * Batch commands issued in the same tick into one write (ioredis auto-pipelining). Only for
   * non-blocking use. Off for Sluice's own processes: with ioredis 6 each batch is a pipeline
   * whose bookkeeping costs more client CPU than the socket writes it saves (measured both per
   * command and per cache miss in `pnpm bench:budget`). @defaultValue false
   */
  pipelining?: boolean;
  /**
   * The connection subscribes to sharded channels (SSUBSCRIBE). On a cluster this opens one
   * subscriber connection per shard, so only connections that listen should set it.
   * @defaultValue false
   */
  subscriber?: boolean;
}

/**
 * Create a connection with Sluice's reconnect policy: a Redis restart is survived without
 * restarting the process. A `redis+cluster://` URL gives an ioredis `Cluster`, which BullMQ
 * and every Sluice package accept in place of a single connection.
 */
export function createRedis(options: CreateRedisOptions): Redis {
  const common: RedisOptions = {
    connectionName: options.name,
    // Capped at 2 s: a restart with AOF replays in well under that, and a faster loop only
    // floods the log while Redis is away.
    retryStrategy: (times) => Math.min(100 * times, 2_000),
    reconnectOnError: (error) => error.message.startsWith('READONLY') || error.message.startsWith('LOADING'),
  };
  const role: RedisOptions =
    options.role === 'worker'
      ? { maxRetriesPerRequest: null, enableReadyCheck: true }
      : // Fail-fast comes from the closed offline queue: with Redis away a command errors at once.
        // The command timeout only catches a Redis that accepts but never answers; it is long
        // because a starved event loop fires the timer before it reads a reply already in the
        // socket (seen as spurious 503s at 5 s under a 2-core storm test).
        { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2_000, commandTimeout: 15_000 };
  // Never on connections that issue blocking commands (BullMQ workers, subscribers).
  const pipelining = options.pipelining === true;
  const target = parseRedisUrl(options.url);
  const connection =
    target.kind === 'standalone'
      ? new Standalone(options.url, { ...common, ...role, ...(pipelining ? { enableAutoPipelining: true } : {}) })
      : createCluster(target, options, common, role, pipelining);
  // Connection errors reach the commands that fail (503 on the request path, retries on
  // workers) and readiness; without a listener ioredis prints each reconnect attempt to stderr,
  // outside the JSON logs, every 2 s per connection while Redis is away.
  connection.on('error', () => {});
  return connection;
}

function createCluster(
  target: Extract<RedisTarget, { kind: 'cluster' }>,
  options: CreateRedisOptions,
  common: RedisOptions,
  role: RedisOptions,
  pipelining: boolean,
): Cluster {
  const { enableOfflineQueue, maxRetriesPerRequest, ...nodeRole } = role;
  const clusterOptions: ClusterOptions = {
    redisOptions: {
      ...common,
      ...nodeRole,
      ...(target.username ? { username: target.username } : {}),
      ...(target.password ? { password: target.password } : {}),
      ...(target.tls ? { tls: {} } : {}),
    },
    enableOfflineQueue: enableOfflineQueue ?? true,
    maxRedirections: 16,
    // The periodic topology refresh gives up after this long; at ioredis' 1 s default a starved
    // event loop (a loaded 2-core machine) failed refreshes and reset the shard subscribers.
    slotsRefreshTimeout: 10_000,
    // Topology discovery and slot moves: retry forever on workers, like a single connection.
    clusterRetryStrategy: (times) => Math.min(100 * times, 2_000),
    enableAutoPipelining: pipelining,
    // SSUBSCRIBE goes to the shard owning the channel's slot, so a job's events travel only
    // within the shard that holds the job (plain PUBLISH is copied to every node).
    shardedSubscribers: options.subscriber === true,
    // Scripts and reads go to masters: a replica may lag behind a job's latest state.
    scaleReads: 'master',
  };
  if (maxRetriesPerRequest !== undefined) clusterOptions.redisOptions!.maxRetriesPerRequest = maxRetriesPerRequest;
  return new Cluster(target.nodes as ClusterNode[], clusterOptions);
}

/** True when the connection is a Redis Cluster client. */
export function isCluster(redis: Redis): redis is Cluster {
  return redis instanceof Cluster;
}

/**
 * Resolve once a cluster connection has discovered the topology and can take commands
 * (immediately for a single server, whose commands BullMQ and the fail-fast role already
 * handle while it connects). A cluster connection without an offline queue rejects every
 * command until then, and BullMQ checks the server version once when a queue is created: a
 * queue made on a cluster connection that was still connecting stays broken.
 */
export function clusterReady(redis: Redis): Promise<void> {
  if (!isCluster(redis) || redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onReady = () => {
      redis.off('end', onEnd);
      resolve();
    };
    const onEnd = () => {
      redis.off('ready', onReady);
      reject(new Error('The Redis Cluster connection was closed before it was ready'));
    };
    redis.once('ready', onReady);
    redis.once('end', onEnd);
  });
}

/**
 * A second connection to the same Redis with some options changed, e.g. a subscriber made
 * from a command connection. Works for a single server and for a cluster; `subscriber` has
 * the meaning of {@link CreateRedisOptions.subscriber}.
 */
export function duplicateRedis(redis: Redis, overrides: RedisOptions & { subscriber?: boolean } = {}): Redis {
  const { subscriber, ...redisOverrides } = overrides;
  if (isCluster(redis)) {
    const { enableOfflineQueue, enableAutoPipelining, maxRetriesPerRequest, ...nodeOverrides } = redisOverrides;
    return redis.duplicate(undefined, {
      ...(enableOfflineQueue !== undefined ? { enableOfflineQueue } : {}),
      ...(enableAutoPipelining !== undefined ? { enableAutoPipelining } : {}),
      ...(subscriber !== undefined ? { shardedSubscribers: subscriber } : {}),
      redisOptions: {
        ...redis.options.redisOptions,
        ...nodeOverrides,
        ...(maxRetriesPerRequest !== undefined ? { maxRetriesPerRequest } : {}),
      },
    });
  }
  return redis.duplicate(redisOverrides);
}

/**
 * True when an error means "Redis is unreachable right now" (answer 503, retry later). Covers
 * what ioredis throws (`Stream isn't writeable…` on a fail-fast connection, `Connection is
 * closed.` for commands in flight) and node-redis, which the tenant store uses through
 * redis-om (`The client is offline` with its offline queue off, `Socket closed unexpectedly`).
 */
export function isRedisUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const message = error.message;
  return (
    /Stream isn't writeable|Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|Command timed out|Reached the max retries|LOADING|connect ETIMEDOUT|MaxRetriesPerRequestError|The client is offline|The client is closed|Socket closed unexpectedly|Connection timeout/.test(
      message,
    ) ||
    [
      'RedisOfflineError',
      'MaxRetriesPerRequestError',
      'ClientOfflineError',
      'ClientClosedError',
      'SocketClosedUnexpectedlyError',
      'ConnectionTimeoutError',
    ].includes(error.name)
  );
}

/**
 * Every Redis key Sluice writes, built from one prefix. Each family is hash-tagged so that a
 * Redis Cluster deployment places a job's keys, a cache namespace's keys or a deployment's
 * limiter keys on one slot (multi-key scripts need that), while different jobs, namespaces
 * and deployments spread across shards.
 */
export interface Keys {
  readonly prefix: string;
  /** BullMQ `prefix` option. Queue names carry their own hash tag. */
  readonly bullPrefix: string;
  /** Job metadata hash. */
  job(id: string): string;
  /** Durable event log (Redis stream) of a job: chunks, final result, errors. */
  jobEvents(id: string): string;
  /** Pub/sub channel carrying a job's live events. */
  jobChannel(id: string): string;
  /** Broadcast channel for cancellations (executors listen). */
  readonly cancelChannel: string;
  /** Idempotency key → job id for a tenant. */
  idempotency(tenant: string, key: string): string;
  /** Key under a named family with its own hash tag, e.g. `family('cache', ns, 'entries')`. */
  family(name: string, tag: string, ...rest: string[]): string;
}

/** Build the key helper for a prefix. */
export function createKeys(prefix: string): Keys {
  if (!/^[A-Za-z0-9_.-]+$/.test(prefix))
    throw new Error(`Expected redis prefix to be [A-Za-z0-9_.-]+, got \`${prefix}\``);
  const job = (id: string) => `${prefix}:{job:${id}}`;
  return {
    prefix,
    bullPrefix: `${prefix}:q`,
    job,
    jobEvents: (id) => `${job(id)}:events`,
    jobChannel: (id) => `${job(id)}:ch`,
    cancelChannel: `${prefix}:cancel`,
    idempotency: (tenant, key) => `${prefix}:{idem:${tenant}}:${key}`,
    family: (name, tag, ...rest) => [`${prefix}:{${name}:${tag}}`, ...rest].join(':'),
  };
}

export type { Cluster } from 'ioredis';

export { incrementExpiring } from './expiring-counter.ts';
export { ShardedSubscriber, type ChannelHandler } from './sharded-subscriber.ts';
export { WriteBehindCounters, type CounterBatch, type WriteBehindCountersOptions } from './write-behind-counters.ts';
export {
  isScriptKeyCountError,
  loadScripts,
  scriptName,
  ScriptKeyCountError,
  ScriptLoadError,
  type Script,
  type ScriptDefinition,
  type Scripts,
} from './script-loader.ts';
