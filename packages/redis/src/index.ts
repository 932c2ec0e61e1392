import { Redis, type RedisOptions } from 'ioredis';

/**
 * How a connection behaves while Redis is away.
 * - `worker`: BullMQ workers and blocking readers; commands wait and retry forever
 *   (BullMQ requires `maxRetriesPerRequest: null`).
 * - `request`: the API's request path; commands fail fast so a request can answer 503
 *   with `retry-after` instead of hanging.
 */
export type ConnectionRole = 'worker' | 'request';

/** Options for {@link createRedis}. */
export interface CreateRedisOptions {
  url: string;
  role: ConnectionRole;
  /** Connection name shown by `CLIENT LIST` (process kind). */
  name?: string;
  /** Batch commands issued in the same tick into one write. Only for non-blocking use. @defaultValue false */
  pipelining?: boolean;
}

/**
 * Create an ioredis connection with Sluice's reconnect policy. Reconnects forever with a
 * capped backoff, so a Redis restart is survived without restarting the process.
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
  // Auto-pipelining batches the commands issued in one tick into one socket write; profiling
  // the executor at 40 req/s showed a third of its CPU in per-command socket writes without it.
  // Never on connections that issue blocking commands (BullMQ workers, subscribers).
  if (options.pipelining) role.enableAutoPipelining = true;
  return new Redis(options.url, { ...common, ...role });
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
    /Stream isn't writeable|Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|Command timed out|Reached the max retries|LOADING|connect ETIMEDOUT|MaxRetriesPerRequestError|The client is offline|The client is closed|Socket closed unexpectedly|Connection timeout/.test(message) ||
    ['MaxRetriesPerRequestError', 'ClientOfflineError', 'ClientClosedError', 'SocketClosedUnexpectedlyError', 'ConnectionTimeoutError'].includes(error.name)
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
  if (!/^[A-Za-z0-9_.-]+$/.test(prefix)) throw new Error(`Expected redis prefix to be [A-Za-z0-9_.-]+, got \`${prefix}\``);
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

export type { Redis } from 'ioredis';
