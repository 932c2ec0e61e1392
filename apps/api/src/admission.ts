import type { Queue } from 'bullmq';
import type { SluiceConfig } from '@sluice/config';
import { checkBackpressure, createLimits, type Limiter, type ThroughputMeter } from '@sluice/limits';
import type { CompletionJobData } from '@sluice/queues';
import type { Keys, Redis } from '@sluice/redis';
import type { Tenant } from '@sluice/tenants';

/** Name and window of the throughput meter the executors record each completion in. */
const COMPLETIONS_METER = 'completions';
const COMPLETIONS_METER_WINDOW_MS = 30_000;

/**
 * States of the jobs a new one finds in the system. Active jobs count: besides the ones in an
 * upstream call, an executor holds jobs waiting for a permit in its line (active to BullMQ),
 * and a new job's time in the system is all of them over the throughput (Little's law).
 */
const AHEAD_STATES = ['waiting', 'prioritized', 'delayed', 'active'] as const;

/** The reading timer stops after this long without a request (ms); the next one waits for a fresh reading. */
const IDLE_STOP_MS = 5_000;
/** A reading older than this many refresh intervals is not used: the timer has stopped or failed. */
const STALE_TTLS = 4;

/** Options for {@link createAdmission}. */
export interface AdmissionOptions {
  config: SluiceConfig;
  /** The API's fail-fast (`request` role) connection: a Redis outage answers 503 at once. */
  redis: Redis;
  keys: Keys;
  /** The queues a new job waits in: the route queue and the tier queues. */
  queues: readonly Queue<CompletionJobData>[];
  /** @defaultValue a limiter on `redis` */
  limiter?: Limiter;
  /**
   * How often the reading of the queue depths and the throughput is refreshed while requests
   * come in (ms). Reading them is one round trip per queue; at hundreds of requests per second
   * a fresh reading per request would cost more than it tells. @defaultValue 250
   */
  readingTtlMs?: number;
  /** @defaultValue `Date.now` */
  clock?: () => number;
}

/** What admission measured for an accepted job. */
export interface AdmissionResult {
  /** Jobs ahead of this one (waiting, or running: in an upstream call or held for a permit). */
  queued: number;
  /** Expected queue wait (ms). */
  expectedWaitMs: number;
  /** The tenant's quotas after this job, as OpenAI's `x-ratelimit-*` headers (only the quotas that are set). */
  rateLimitHeaders: Record<string, string>;
}

/** Go-style duration (`1h2m3s`), the format of OpenAI's `x-ratelimit-reset-*` headers. */
function duration(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${s % 60}s`;
}

/** The `x-ratelimit-*` headers of a tenant's quotas and its usage after an admitted request. */
export function rateLimitHeaders(
  limits: { rpm: number; tokensPerDay: number },
  usage: { requestsInWindow: number; tokensToday: number },
  now: number,
): Record<string, string> {
  const h: Record<string, string> = {};
  if (limits.rpm > 0) {
    h['x-ratelimit-limit-requests'] = String(limits.rpm);
    h['x-ratelimit-remaining-requests'] = String(Math.max(0, limits.rpm - usage.requestsInWindow));
  }
  if (limits.tokensPerDay > 0) {
    h['x-ratelimit-limit-tokens'] = String(limits.tokensPerDay);
    h['x-ratelimit-remaining-tokens'] = String(Math.max(0, limits.tokensPerDay - usage.tokensToday));
    h['x-ratelimit-reset-tokens'] = duration(86_400_000 - (now % 86_400_000));
  }
  return h;
}

/**
 * Share of a caller's wait that the queue may take: the rest is left for the answer itself
 * (routing, the upstream call) and for the error of the wait estimate.
 */
export const CLIENT_WAIT_QUEUE_SHARE = 0.75;

/** What admission needs to know about the caller of one job. */
export interface AdmitOptions {
  /** How long the caller will wait for the answer (ms; `Controls.clientWaitMs`). */
  clientWaitMs?: number;
  /** The caller waits on the request (a synchronous completion): `api.syncTimeoutMs` bounds it too. */
  sync?: boolean;
  /**
   * Check backpressure. False for a cache hit answered at once, which does not queue: it is
   * served however long the queue is, and counts against the tenant's quota only. @defaultValue true
   */
  backpressure?: boolean;
}

/** Admission control of new jobs. */
export interface Admission {
  /**
   * Accept a job, or throw a 429: a `BackpressureError` when its expected wait exceeds the
   * job's queue bound ({@link queueWaitBoundMs}), a `QuotaExceededError` naming the tenant's
   * quota. Backpressure is checked first, so a refused job does not count against the quota.
   */
  admit(tenant: Tenant, data: CompletionJobData, options?: AdmitOptions): Promise<AdmissionResult>;
}

/**
 * The longest expected queue wait at which a job is accepted: `limits.backpressureMaxWaitMs`,
 * and, when the caller's wait is known (its own timeout, or the sync timeout of a synchronous
 * call), {@link CLIENT_WAIT_QUEUE_SHARE} of it. A job admitted past its caller's patience is
 * work done for nobody (and under FIFO it makes every later job late too); a 429 with
 * `retry-after` lets the caller back off or go elsewhere while it still can.
 */
export function queueWaitBoundMs(config: SluiceConfig, options: AdmitOptions = {}): number {
  const waits = [options.clientWaitMs, options.sync ? config.api.syncTimeoutMs : undefined].filter(
    (w): w is number => w !== undefined,
  );
  const client = waits.length ? Math.floor(Math.min(...waits) * CLIENT_WAIT_QUEUE_SHARE) : Number.POSITIVE_INFINITY;
  return Math.max(1, Math.min(config.limits.backpressureMaxWaitMs, client));
}

/**
 * Backpressure and tenant quotas. The expected wait is the jobs waiting or running in the
 * route and tier queues divided by the completions per second the executors record (Little's law),
 * with `limits.backpressureMinThroughput` as the floor while the meter is still empty. Quotas
 * are the tenant's own (`rpm`, `tokensPerDay`), else `tenants.defaultRpm` /
 * `tenants.defaultTokensPerDay`; 0 means unlimited.
 */
export function createAdmission(options: AdmissionOptions): Admission {
  const { config } = options;
  const clock = options.clock ?? Date.now;
  const limiter = options.limiter ?? createLimits({ redis: options.redis, keys: options.keys, clock });
  const meter: ThroughputMeter = limiter.meter(COMPLETIONS_METER, COMPLETIONS_METER_WINDOW_MS);
  const ttl = options.readingTtlMs ?? 250;
  type Reading = { queued: number; throughputPerSec: number };

  const measure = async (): Promise<Reading> => {
    const [counts, throughputPerSec] = await Promise.all([
      Promise.all(options.queues.map((q) => q.getJobCounts(...AHEAD_STATES))),
      meter.ratePerSecond(),
    ]);
    const queued = counts.reduce((sum, c) => sum + AHEAD_STATES.reduce((s, state) => s + (c[state] ?? 0), 0), 0);
    return { queued, throughputPerSec };
  };

  // The reading is refreshed every `ttl` by a timer while requests come in, so no request
  // waits for it (it was one round trip per queue in a request's path every 250 ms). Only a
  // request that finds no reading younger than STALE_TTLS × ttl (the first one, one after an
  // idle spell that stopped the timer, one after a failed reading) waits for a fresh one.
  let latest: { at: number; value: Reading } | undefined;
  let waitedFor: Promise<Reading> | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  let refreshing = false;
  let lastUse = 0;
  const refresh = async (): Promise<Reading> => {
    const at = clock();
    const value = await measure();
    latest = { at, value };
    return value;
  };
  const tick = () => {
    if (clock() - lastUse > IDLE_STOP_MS) {
      clearInterval(timer);
      timer = undefined;
      return;
    }
    if (refreshing) return;
    refreshing = true;
    refresh()
      .catch(() => {
        // A failed reading (Redis away) is not reused: the next request tries again itself.
        latest = undefined;
      })
      .finally(() => (refreshing = false));
  };
  const current = async (): Promise<Reading> => {
    lastUse = clock();
    if (!timer) {
      timer = setInterval(tick, ttl);
      timer.unref();
    }
    if (latest && clock() - latest.at < ttl * STALE_TTLS) return latest.value;
    waitedFor ??= refresh().finally(() => (waitedFor = undefined));
    return waitedFor;
  };

  return {
    async admit(tenant, data, admitOptions = {}) {
      let queued = 0;
      let expectedWaitMs = 0;
      if (admitOptions.backpressure !== false) {
        const reading = await current();
        queued = reading.queued;
        ({ expectedWaitMs } = checkBackpressure({
          queued,
          throughputPerSec: reading.throughputPerSec,
          minThroughputPerSec: config.limits.backpressureMinThroughput,
          maxWaitMs: queueWaitBoundMs(config, admitOptions),
        }));
      }
      const limits = {
        rpm: tenant.rpm || config.tenants.defaultRpm,
        tokensPerDay: tenant.tokensPerDay || config.tenants.defaultTokensPerDay,
      };
      // A tenant without quotas has nothing to check (no script, no round trip) and no
      // x-ratelimit-* headers to send.
      if (limits.rpm === 0 && limits.tokensPerDay === 0) return { queued, expectedWaitMs, rateLimitHeaders: {} };
      const usage = await limiter.tenants.checkRequest(tenant.name, limits, { requestId: data.id });
      return { queued, expectedWaitMs, rateLimitHeaders: rateLimitHeaders(limits, usage, clock()) };
    },
  };
}
