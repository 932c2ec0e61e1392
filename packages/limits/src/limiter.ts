import { randomBytes } from 'node:crypto';
import type { Redis } from '@sluice/redis';
import type { Keys } from '@sluice/redis';
import { countChatTokens, type CountableMessage } from '@sluice/llm';
import { createThroughputMeter, type ThroughputMeter } from './backpressure.ts';
import type { Clock } from './clock.ts';
import { CircuitOpenError, LimitsConfigError, RateLimitedError, type LimitKind } from './errors.ts';
import { parseRateLimitHeaders, type HeaderSource, type RateLimitHeaders } from './headers.ts';
import { canChangeLearnedLimits, chooseCooldown, learnSignals } from './upstream-signals.ts';
import { deploymentKeys, limiterKeyList, type DeploymentKeys } from './keys.ts';
import { rankDeployments, type PickResult } from './picker.ts';
import { limitScripts, type LimitScripts } from './scripts.ts';
import { createTenantQuotas, type TenantQuotas } from './tenant-quotas.ts';
import { expectId, expectInteger, expectNumber } from './validate.ts';

// Lease ids: this process's random prefix and a counter, unique across processes without a
// synchronous call into the random source on every permit.
const LEASE_PREFIX = randomBytes(6).toString('base64url');
let leaseCount = 0;
const nextLeaseSuffix = () => `${LEASE_PREFIX}${(leaseCount++).toString(36)}`;

/** Length of the request and token windows: providers state their limits per minute. */
export const WINDOW_MS = 60_000;

/**
 * Pacing allows this much more than the limit's pace within a span, so a backlog catches up
 * on permits taken late (each worker resume comes some ms after the span has room); the
 * request log still caps every window at the limit. At exactly the limit's pace bench:storm
 * drained 554–565 of 600 per minute.
 */
const PACING_HEADROOM = 1.1;

/**
 * What the limiter needs to know about a deployment. `DeploymentConfig` from
 * `@sluice/config` satisfies it.
 */
export interface LimitedDeployment {
  /** Stable id; names the deployment's Redis keys. */
  readonly id: string;
  /** Requests per minute the provider allows (0 = unlimited). */
  readonly rpm: number;
  /** Tokens per minute the provider allows (0 = unlimited). */
  readonly tpm: number;
  /** Requests in flight at once (0 = unlimited). */
  readonly maxConcurrency: number;
  /** Share of traffic relative to the tier's other deployments. @defaultValue 1 */
  readonly weight?: number;
  /** Timeout of one upstream call; a lease lasts this plus `leaseGraceMs`. @defaultValue `defaultTimeoutMs` */
  readonly timeoutMs?: number;
  /** Model name, to count prompt tokens with the right tokenizer when given messages. */
  readonly model?: string;
}

/** Why a permit was refused. */
export type DenialReason = LimitKind | 'circuit_open';

/** State of a deployment's circuit breaker. `half_open`: one probe may go (or is in flight). */
export type CircuitState = 'closed' | 'open' | 'half_open';

/** A request for a permit. */
export interface AcquireRequest {
  /** Job id, prefixed to the lease id so a lease is traceable in Redis. */
  jobId?: string;
  /** Prompt tokens as counted by the model's tokenizer. Counted from `messages` when absent. */
  promptTokens?: number;
  /** The prompt, counted with `@sluice/llm`'s tokenizer when `promptTokens` is absent. */
  messages?: readonly CountableMessage[];
  /**
   * The `max_tokens` sent upstream, if any. Providers count it against the token limit at
   * admission, so the reservation is never settled below prompt + this. Without it, the
   * reservation uses `defaultOutputTokens` and is settled to the real usage.
   */
  maxOutputTokens?: number;
  /** Lease length. @defaultValue deployment `timeoutMs` + `leaseGraceMs` */
  leaseMs?: number;
}

/** A granted permit. Hand it back with {@link Limiter.release}. */
export interface Lease {
  /** Unique id (`<jobId>:<random>`). */
  readonly id: string;
  readonly deploymentId: string;
  /** Clock time of the grant (ms). */
  readonly acquiredAt: number;
  /** When the concurrency slot frees itself if never released (a crashed worker). */
  readonly expiresAt: number;
  /** Lease length, reused by {@link Limiter.renew}. */
  readonly leaseMs: number;
  /** Tokens reserved in the token window. */
  readonly reservedTokens: number;
  /** The settlement never goes below this (prompt + explicit `max_tokens`; 0 otherwise). */
  readonly minimumTokens: number;
  /** True when this call is the half-open circuit's single probe. */
  readonly probe: boolean;
  /** Request limit in force at the grant (0 = unlimited). */
  readonly requestLimit: number;
  /** Token limit in force at the grant (0 = unlimited). */
  readonly tokenLimit: number;
}

/** A refused permit. */
export interface Denial {
  readonly granted: false;
  readonly deploymentId: string;
  readonly reason: DenialReason;
  /** When trying the same deployment again can succeed (ms, ≥ 1). */
  readonly retryAfterMs: number;
  /** The refusing limit's value (0 for cooldown and circuit). */
  readonly limit: number;
}

/** Outcome of {@link Limiter.acquire}. */
export type AcquireResult = { readonly granted: true; readonly lease: Lease } | Denial;

/** Outcome of {@link Limiter.acquireAny}. */
export type AcquireAnyResult<D extends LimitedDeployment> =
  | { readonly granted: true; readonly deployment: D; readonly lease: Lease }
  | {
      readonly granted: false;
      /** The soonest any deployment may grant (ms). */
      readonly retryAfterMs: number;
      /** The soonest denial as an error to throw or fail the job with. */
      readonly error: RateLimitedError | CircuitOpenError;
      /** Every refusal, per deployment. */
      readonly denials: readonly Denial[];
    };

/** Tokens the provider counted for a call, from the response's `usage`. */
export interface Usage {
  promptTokens?: number;
  completionTokens?: number;
  /** Wins over the sum of the two above. */
  totalTokens?: number;
}

/** Outcome of {@link Limiter.release}. */
export interface ReleaseResult {
  /** False when the lease had already expired or been released. */
  readonly released: boolean;
  /** Tokens added to (positive) or removed from (negative) the token window. */
  readonly tokenAdjustment: number;
}

/** What came back from one upstream call. */
export interface UpstreamResult {
  /** The call's lease: tells a half-open probe's outcome from stragglers'. */
  lease?: Lease;
  /** HTTP status; absent when no response arrived. */
  status?: number;
  /** Why no response arrived. */
  error?: 'timeout' | 'connection';
  /** Response headers (`retry-after`, `x-ratelimit-*`). */
  headers?: HeaderSource;
  /** A wait the caller already parsed (e.g. from an SDK error); wins over the headers. */
  retryAfterMs?: number;
}

/**
 * How an upstream result was judged.
 * - `success`: 2xx.
 * - `throttled`: 429; cooldown and learned limit updated.
 * - `failure`: 5xx, 408, 401/403/404 (a broken deployment), timeout or connection error;
 *   counts toward the circuit.
 * - `rejected`: another 4xx: the request itself is bad, so another attempt would fail too.
 */
export type UpstreamOutcome = 'success' | 'throttled' | 'failure' | 'rejected';

/** Verdict of {@link Limiter.onUpstreamResult}. */
export interface UpstreamVerdict {
  readonly outcome: UpstreamOutcome;
  /** Whether the job should be attempted again (here or on another deployment). */
  readonly retryable: boolean;
  /** Whether the next attempt should prefer another deployment. */
  readonly failover: boolean;
  /**
   * Cooldown still to run when this result called for one (ms): the longer of the new one
   * and one already in force. 0 when this result called for none; see `state()` for that.
   */
  readonly cooldownMs: number;
  /** Circuit state after this result. */
  readonly circuit: CircuitState;
  /** Learned request limit in force after this result (`undefined` when none). */
  readonly learnedRpm: number | undefined;
  /** Learned token limit in force after this result (`undefined` when none). */
  readonly learnedTpm: number | undefined;
  /** The rate-limit headers as read. */
  readonly headers: RateLimitHeaders;
}

/** A deployment's limiter state, for the picker and for metrics. */
export interface DeploymentLimitState {
  readonly deploymentId: string;
  /** Clock time of the reading. */
  readonly at: number;
  /** Leases held. */
  readonly inFlight: number;
  /** Configured concurrency cap (0 = unlimited). */
  readonly maxConcurrency: number;
  /** Permits in the last 60 s. */
  readonly requestsInWindow: number;
  /** Request limit in force: configured × safety, learned, or provider-reported (0 = unlimited). */
  readonly requestLimit: number;
  /** Tokens reserved or settled in the last 60 s. */
  readonly tokensInWindow: number;
  /** Token limit in force (0 = unlimited). */
  readonly tokenLimit: number;
  /** Learned (lowered) request limit; `undefined` when not lowered. */
  readonly learnedRpm: number | undefined;
  /** Learned (lowered) token limit; `undefined` when not lowered. */
  readonly learnedTpm: number | undefined;
  /** End of the shared cooldown (0 = none). */
  readonly cooldownUntil: number;
  /** Why it is cooling down (`429`, `remaining-requests`, …). */
  readonly cooldownReason: string | undefined;
  /** Effective circuit state: `open` past its deadline reads as `half_open`. */
  readonly circuit: CircuitState;
  /** When an open circuit lets a probe through (0 when not open). */
  readonly circuitOpenUntil: number;
  /** Whether a half-open probe is in flight. */
  readonly probeInFlight: boolean;
  /** Consecutive failures counted by the circuit. */
  readonly consecutiveFailures: number;
  /** How many times the circuit has opened (since its key was created). */
  readonly circuitOpens: number;
  /** Fraction (0–1) of the tightest limit still free; 1 when nothing limits. */
  readonly headroom: number;
}

/** Options of the adaptive (learned) limit. */
export interface AdaptiveOptions {
  /** A 429 multiplies the learned limit by this. @defaultValue 0.7 */
  decreaseFactor?: number;
  /** Each recovery interval with successes adds this fraction of the ceiling. @defaultValue 0.05 */
  recoveryFraction?: number;
  /**
   * Length of a recovery step. At the defaults a ×0.7 cut is back at the ceiling after a
   * minute of successes; at one step a minute (the old default) one cut cost bench:storm a
   * quarter of its drain rate for six minutes. @defaultValue 10000
   */
  recoveryIntervalMs?: number;
  /**
   * After a decrease, further 429s within this time do not decrease again: they were sent
   * at the old rate and say nothing new. @defaultValue 5000
   */
  decreaseHoldMs?: number;
  /** The learned limit never drops below this fraction of the ceiling. @defaultValue 0.1 */
  floorFraction?: number;
  /** What was learned is forgotten this long after the last change. @defaultValue 3600000 */
  memoryMs?: number;
  /** Cooldown after a 429 that carries no `retry-after`. @defaultValue 1000 */
  throttleCooldownMs?: number;
  /**
   * A 429 about a window whose `x-ratelimit-limit-*` confirms the configured limit, with a
   * `retry-after` no longer than this, is a window-edge one: our own permits, stamped when
   * granted, reached the provider a little later than it counted last window's. It cools the
   * deployment down for the `retry-after` and lowers nothing, up to the allowance below.
   * @defaultValue the safety margin's share of the window (1200 ms at 0.98)
   */
  edgeRetryMs?: number;
  /**
   * Window-edge 429s per window that lower nothing; more say the provider counts traffic we
   * do not see (another client on the same key), and the limit is cut as for any 429.
   * @defaultValue the margin in requests: configured rpm − its ceiling, at least 1
   */
  edgeAllowance?: number;
  /**
   * Longest cooldown taken from `x-ratelimit-remaining-*: 0` with its reset time. Providers
   * differ on what "reset" means (time to the next free slot, or until the window empties:
   * up to 60 s), and a 429 would give the precise wait anyway. @defaultValue 10000
   */
  maxHeaderCooldownMs?: number;
}

/** Options of the circuit breaker. */
export interface CircuitOptions {
  /** Consecutive failures that open the circuit. @defaultValue 5 */
  failureThreshold?: number;
  /** Failure ratio over `windowMs` that opens it (0 turns the ratio rule off). @defaultValue 0.5 */
  failureRatio?: number;
  /** Outcomes needed in the window before the ratio rule applies. @defaultValue 20 */
  minimumRequests?: number;
  /** Window of the ratio rule. @defaultValue 30000 */
  windowMs?: number;
  /** Buckets the window is counted in. @defaultValue 10 */
  buckets?: number;
  /** How long an open circuit refuses before letting one probe through. @defaultValue 30000 */
  openMs?: number;
}

/** Options for {@link createLimits}. */
export interface LimitsOptions {
  /** Connection the scripts are defined on (a `worker`-role connection for executors). */
  redis: Redis;
  /** Key helper; limiter keys are `<prefix>:{limit:<deployment>}:…`. */
  keys: Keys;
  /**
   * Time source, passed to every script as "now". Processes on different hosts must agree
   * to well within the safety margin (NTP does; see `measureClockOffset` otherwise).
   * @defaultValue `Date.now`
   */
  clock?: Clock;
  /**
   * Fraction of a configured limit actually used. Providers count a request when it arrives;
   * network jitter can put two requests we spaced 60 s apart closer together there, and
   * this margin absorbs that. @defaultValue 0.98
   */
  safetyFactor?: number;
  /** Added to a deployment's `timeoutMs` to get its lease length. @defaultValue 5000 */
  leaseGraceMs?: number;
  /** Call timeout assumed for a deployment without `timeoutMs`. @defaultValue 60000 */
  defaultTimeoutMs?: number;
  /** Output tokens reserved when a request sets no `max_tokens`. @defaultValue 1024 */
  defaultOutputTokens?: number;
  /**
   * Wait suggested when what frees a permit is a release (concurrency, half-open probe)
   * rather than time. @defaultValue 250
   */
  pollIntervalMs?: number;
  adaptive?: AdaptiveOptions;
  circuit?: CircuitOptions;
  /** Random source of the picker's weighted shuffle. @defaultValue `Math.random` */
  random?: () => number;
  /**
   * Permits are spread so that no span of this length holds more than
   * ceil(1.1 × request limit × span / 60 s) of them; 0 lets a backlog take the whole window
   * at once. A burst of a whole window, spent again one window later, meets the provider's
   * count of the last one still arriving (bench:storm measured window-edge 429s every
   * minute without it); the provider's excess is at most the permits granted within one
   * send jitter, so a span's share must stay under the margin (11 of 588 rpm < 12).
   * @defaultValue 1000
   */
  pacingMs?: number;
}

/** Options with every default filled in, as the limiter holds them after validation. */
type Resolved<T> = { readonly [K in keyof T]-?: T[K] };
type AdaptiveSettings = Resolved<Omit<AdaptiveOptions, 'edgeAllowance'>> & {
  readonly edgeAllowance: number | undefined;
};

/**
 * The global limiter: every executor process holds one, and together they keep each
 * deployment's concurrency, request and token limits, cooldowns, learned limits and circuit
 * in Redis. Create with {@link createLimits}.
 */
export class Limiter {
  readonly #redis: Redis;
  readonly #keys: Keys;
  readonly #clock: Clock;
  readonly #scripts: LimitScripts;
  readonly #safety: number;
  readonly #leaseGraceMs: number;
  readonly #defaultTimeoutMs: number;
  readonly #defaultOutputTokens: number;
  readonly #pollMs: number;
  readonly #pacingMs: number;
  readonly #adaptive: AdaptiveSettings;
  readonly #circuit: Resolved<CircuitOptions>;
  readonly #random: () => number;
  readonly #deploymentKeys = new Map<string, DeploymentKeys>();
  /** Provider-reported caps this process last recorded, per deployment (see `canChangeLearnedLimits`). */
  readonly #capsRecorded = new Map<string, { rpm: number; tpm: number }>();
  /** Per-tenant request and token quotas on the same connection and clock. */
  readonly tenants: TenantQuotas;

  constructor(options: LimitsOptions) {
    if (!options?.redis) throw new LimitsConfigError('Expected `redis` to be an ioredis connection');
    if (!options.keys) throw new LimitsConfigError('Expected `keys` (createKeys(prefix) from @sluice/redis)');
    this.#redis = options.redis;
    this.#keys = options.keys;
    this.#clock = options.clock ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#safety = expectNumber('safetyFactor', options.safetyFactor ?? 0.98, { min: 0, max: 1, minExclusive: true });
    this.#leaseGraceMs = expectInteger('leaseGraceMs', options.leaseGraceMs ?? 5_000, 0);
    this.#defaultTimeoutMs = expectInteger('defaultTimeoutMs', options.defaultTimeoutMs ?? 60_000, 1);
    this.#defaultOutputTokens = expectInteger('defaultOutputTokens', options.defaultOutputTokens ?? 1_024, 0);
    this.#pollMs = expectInteger('pollIntervalMs', options.pollIntervalMs ?? 250, 1);
    this.#pacingMs = expectInteger('pacingMs', options.pacingMs ?? 1_000, 0);
    const a = options.adaptive ?? {};
    this.#adaptive = {
      decreaseFactor: expectNumber('adaptive.decreaseFactor', a.decreaseFactor ?? 0.7, {
        min: 0,
        max: 1,
        minExclusive: true,
      }),
      recoveryFraction: expectNumber('adaptive.recoveryFraction', a.recoveryFraction ?? 0.05, {
        min: 0,
        max: 1,
        minExclusive: true,
      }),
      recoveryIntervalMs: expectInteger('adaptive.recoveryIntervalMs', a.recoveryIntervalMs ?? 10_000, 1),
      decreaseHoldMs: expectInteger('adaptive.decreaseHoldMs', a.decreaseHoldMs ?? 5_000, 0),
      floorFraction: expectNumber('adaptive.floorFraction', a.floorFraction ?? 0.1, { min: 0, max: 1 }),
      memoryMs: expectInteger('adaptive.memoryMs', a.memoryMs ?? 3_600_000, 1),
      throttleCooldownMs: expectInteger('adaptive.throttleCooldownMs', a.throttleCooldownMs ?? 1_000, 0),
      maxHeaderCooldownMs: expectInteger('adaptive.maxHeaderCooldownMs', a.maxHeaderCooldownMs ?? 10_000, 0),
      edgeRetryMs: expectInteger(
        'adaptive.edgeRetryMs',
        a.edgeRetryMs ?? Math.floor(WINDOW_MS * (1 - this.#safety)),
        0,
      ),
      edgeAllowance:
        a.edgeAllowance === undefined ? undefined : expectInteger('adaptive.edgeAllowance', a.edgeAllowance, 0),
    };
    const c = options.circuit ?? {};
    this.#circuit = {
      failureThreshold: expectInteger('circuit.failureThreshold', c.failureThreshold ?? 5, 1),
      failureRatio: expectNumber('circuit.failureRatio', c.failureRatio ?? 0.5, { min: 0, max: 1 }),
      minimumRequests: expectInteger('circuit.minimumRequests', c.minimumRequests ?? 20, 1),
      windowMs: expectInteger('circuit.windowMs', c.windowMs ?? 30_000, 1),
      buckets: expectInteger('circuit.buckets', c.buckets ?? 10, 1),
      openMs: expectInteger('circuit.openMs', c.openMs ?? 30_000, 1),
    };
    this.#scripts = limitScripts(options.redis);
    this.tenants = createTenantQuotas({ redis: options.redis, keys: options.keys, clock: this.#clock });
  }

  /**
   * Try to take a permit for one call to `deployment`: a concurrency lease plus one entry in
   * the request window and a token reservation (prompt + output budget) in the token window,
   * unless the circuit is open or the deployment is cooling down. Never waits: a denial says
   * which limit refused and when to try again, so a job can go back to its queue without
   * spending an attempt.
   */
  async acquire(deployment: LimitedDeployment, request: AcquireRequest = {}): Promise<AcquireResult> {
    this.#check(deployment);
    const promptTokens =
      request.promptTokens ?? (request.messages ? countChatTokens(request.messages, deployment.model) : 0);
    expectInteger('promptTokens', promptTokens, 0);
    if (request.maxOutputTokens !== undefined) expectInteger('maxOutputTokens', request.maxOutputTokens, 0);
    const reserve = promptTokens + (request.maxOutputTokens ?? this.#defaultOutputTokens);
    const leaseMs = expectInteger(
      'leaseMs',
      request.leaseMs ?? (deployment.timeoutMs || this.#defaultTimeoutMs) + this.#leaseGraceMs,
      1,
    );
    const id = `${request.jobId ?? 'lease'}:${nextLeaseSuffix()}`;
    const now = this.#clock();
    const reply = await this.#scripts.acquire(limiterKeyList(this.#keysOf(deployment.id)), [
      now,
      id,
      leaseMs,
      deployment.maxConcurrency,
      this.#ceiling(deployment.rpm),
      this.#ceiling(deployment.tpm),
      reserve,
      WINDOW_MS,
      this.#pollMs,
      this.#pacingMs,
      PACING_HEADROOM,
    ]);
    if (Number(reply[0]) !== 1) {
      return {
        granted: false,
        deploymentId: deployment.id,
        reason: String(reply[1]) as DenialReason,
        retryAfterMs: Number(reply[2]),
        limit: Number(reply[3]),
      };
    }
    return {
      granted: true,
      lease: {
        id,
        deploymentId: deployment.id,
        acquiredAt: now,
        expiresAt: Number(reply[2]),
        leaseMs,
        reservedTokens: reserve,
        minimumTokens: request.maxOutputTokens === undefined ? 0 : reserve,
        probe: Number(reply[3]) === 1,
        requestLimit: Number(reply[4]),
        tokenLimit: Number(reply[5]),
      },
    };
  }

  /**
   * Pick the tier's deployments in order ({@link Limiter.pick}) and take a permit from the
   * first that grants. Deployments in `avoid` (e.g. the one that just failed this job) are
   * tried last. When none grants, the result carries the soonest retry and an error for it.
   */
  async acquireAny<D extends LimitedDeployment>(
    deployments: readonly D[],
    request: AcquireRequest = {},
    options: { avoid?: Iterable<string> } = {},
  ): Promise<AcquireAnyResult<D>> {
    if (deployments.length === 0)
      throw new LimitsConfigError('Expected at least one deployment to acquire from, got none');
    if (deployments.length === 1) {
      // Nothing to order: the acquire script checks the circuit and the cooldown itself, so
      // reading the deployment's state first would be one round trip for nothing.
      const deployment = deployments[0]!;
      const result = await this.acquire(deployment, request);
      if (result.granted) return { granted: true, deployment, lease: result.lease };
      return { granted: false, retryAfterMs: result.retryAfterMs, error: denialError(result), denials: [result] };
    }
    const picked = await this.pick(deployments);
    const avoid = new Set(options.avoid ?? []);
    const order = [...picked.order.filter((d) => !avoid.has(d.id)), ...picked.order.filter((d) => avoid.has(d.id))];
    const denials: Denial[] = picked.skipped.map((s) => ({
      granted: false,
      deploymentId: s.deployment.id,
      reason: s.reason,
      retryAfterMs: s.retryAfterMs,
      limit: 0,
    }));
    for (const deployment of order) {
      const result = await this.acquire(deployment, request);
      if (result.granted) return { granted: true, deployment, lease: result.lease };
      denials.push(result);
    }
    const soonest = denials.reduce((best, d) => (d.retryAfterMs < best.retryAfterMs ? d : best));
    return { granted: false, retryAfterMs: soonest.retryAfterMs, error: denialError(soonest), denials };
  }

  /**
   * Hand a permit back: free the concurrency slot and settle the token reservation with
   * what the provider counted (`usage`). Without `usage` (the call failed before an answer)
   * the reservation stands, since the provider may have counted it. Safe to call twice.
   */
  async release(lease: Lease, usage?: Usage): Promise<ReleaseResult> {
    let settled = usageTokens(usage);
    if (settled !== undefined) settled = Math.max(settled, lease.minimumTokens);
    const k = this.#keysOf(lease.deploymentId);
    const reply = await this.#scripts.release(
      [k.leases, k.tokenCounts, k.tokenTotal, k.circuit],
      [lease.id, settled ?? ''],
    );
    return { released: Number(reply[0]) === 1, tokenAdjustment: Number(reply[1]) };
  }

  /**
   * Extend a live lease by `durationMs` from now (long streams). Returns false when it had
   * already expired: the slot may be someone else's, so the caller should stop or re-acquire.
   */
  async renew(lease: Lease, durationMs: number = lease.leaseMs): Promise<boolean> {
    expectInteger('durationMs', durationMs, 1);
    const k = this.#keysOf(lease.deploymentId);
    const now = this.#clock();
    const reply = await this.#scripts.renewLease([k.leases, k.circuit], [now, lease.id, now + durationMs]);
    return Number(reply) === 1;
  }

  /**
   * Refuse every permit for `deploymentId` for `durationMs`, in every process. A longer
   * cooldown already in force is kept. Returns the end of the cooldown in force.
   */
  async cooldown(deploymentId: string, durationMs: number, reason = 'manual'): Promise<number> {
    expectId('deploymentId', deploymentId);
    const now = this.#clock();
    const reply = await this.#scripts.cooldown(
      [this.#keysOf(deploymentId).cooldown],
      [now, now + Math.max(0, Math.ceil(durationMs)), reason],
    );
    return Number(reply[0]);
  }

  /**
   * Feed one upstream answer (or its absence) back: a 429 sets the shared cooldown from
   * `retry-after` and lowers the learned limit; `x-ratelimit-limit-*` become caps and
   * `x-ratelimit-remaining-*: 0` a cooldown until reset; successes recover the learned limit
   * and close a half-open circuit; failures count toward opening it. Returns how to treat
   * the job.
   */
  async onUpstreamResult(deployment: LimitedDeployment, result: UpstreamResult): Promise<UpstreamVerdict> {
    this.#check(deployment);
    const now = this.#clock();
    const k = this.#keysOf(deployment.id);
    const headers = parseRateLimitHeaders(result.headers, now);
    const retryAfterMs = result.retryAfterMs ?? headers.retryAfterMs;
    const outcome = classify(result);
    const a = this.#adaptive;

    const answer = { outcome, status: result.status, headers, retryAfterMs };
    const cooldown = chooseCooldown(answer, a);
    const learn = learnSignals(answer, {
      rpm: deployment.rpm,
      tpm: deployment.tpm,
      reservedTokens: result.lease?.reservedTokens ?? 1,
      edgeRetryMs: a.edgeRetryMs,
    });
    const rpmCap = headers.limitRequests ? this.#ceiling(headers.limitRequests) : 0;
    const tpmCap = headers.limitTokens ? this.#ceiling(headers.limitTokens) : 0;

    const circuitOutcome = outcome === 'failure' ? 'failure' : outcome === 'throttled' ? 'neutral' : 'success';
    const c = this.#circuit;
    const adapts = canChangeLearnedLimits(learn, {
      capsSeen: { rpm: rpmCap, tpm: tpmCap },
      capsRecorded: this.#capsRecorded.get(deployment.id),
      inForce: result.lease ? { rpm: result.lease.requestLimit, tpm: result.lease.tokenLimit } : undefined,
      ceilings: { rpm: this.#ceiling(deployment.rpm), tpm: this.#ceiling(deployment.tpm) },
    });
    const [circuitReply, adaptReply, cooldownReply] = await Promise.all([
      this.#scripts.circuit(
        [k.circuit],
        [
          now,
          circuitOutcome,
          result.lease ? (result.lease.probe ? 1 : 0) : 1,
          c.failureThreshold,
          c.failureRatio,
          c.minimumRequests,
          c.windowMs,
          c.buckets,
          c.openMs,
          Math.max(86_400_000, c.openMs * 4),
        ],
      ),
      // Run whenever it could change something: the verdict reports the learned limits in force.
      !adapts
        ? [0, 0, 0]
        : this.#scripts.adapt(
            [k.adaptive, k.requests, k.tokenTotal],
            [
              now,
              learn.rpm,
              this.#ceiling(deployment.rpm),
              rpmCap,
              learn.rpmMinimumSent,
              learn.tpm,
              this.#ceiling(deployment.tpm),
              tpmCap,
              learn.tpmMinimumSent,
              a.decreaseFactor,
              a.recoveryFraction,
              a.recoveryIntervalMs,
              a.decreaseHoldMs,
              a.floorFraction,
              WINDOW_MS,
              a.memoryMs,
              a.edgeAllowance ?? Math.max(1, deployment.rpm - this.#ceiling(deployment.rpm)),
            ],
          ),
      cooldown ? this.#scripts.cooldown([k.cooldown], [now, now + cooldown.ms, cooldown.reason]) : undefined,
    ]);

    const cooldownUntil = cooldownReply ? Number(cooldownReply[0]) : 0;
    if (adapts && (rpmCap > 0 || tpmCap > 0)) this.#capsRecorded.set(deployment.id, { rpm: rpmCap, tpm: tpmCap });
    const learnedRpm = Number(adaptReply[0]) || undefined;
    const learnedTpm = Number(adaptReply[1]) || undefined;
    return {
      outcome,
      retryable: outcome !== 'rejected' && outcome !== 'success',
      failover: outcome === 'throttled' || outcome === 'failure',
      cooldownMs: Math.max(0, cooldownUntil - now),
      circuit: String(circuitReply[0]) as CircuitState,
      learnedRpm,
      learnedTpm,
      headers,
    };
  }

  /** Read a deployment's limiter state (metrics, dashboards, the picker). */
  async state(deployment: LimitedDeployment): Promise<DeploymentLimitState> {
    this.#check(deployment);
    return this.#inspect(deployment, this.#clock());
  }

  /**
   * Order a tier's deployments for this call: open circuits and cooling-down deployments are
   * left out (with when they may be back); a half-open one whose probe slot is free comes
   * first (one real call tests whether it recovered); the rest are shuffled with probability
   * proportional to headroom × weight, so concurrent pickers spread out instead of herding
   * onto the same best deployment; those with no headroom come last.
   */
  async pick<D extends LimitedDeployment>(deployments: readonly D[]): Promise<PickResult<D>> {
    deployments.forEach((d) => this.#check(d));
    const now = this.#clock();
    const states = await Promise.all(deployments.map((d) => this.#inspect(d, now)));
    return rankDeployments(deployments, states, { now, random: this.#random, pollIntervalMs: this.#pollMs });
  }

  /** A shared throughput meter (see `createThroughputMeter`) on this connection and clock. */
  meter(name: string, windowMs?: number): ThroughputMeter {
    return createThroughputMeter({
      redis: this.#redis,
      keys: this.#keys,
      clock: this.#clock,
      name,
      ...(windowMs === undefined ? {} : { windowMs }),
    });
  }

  async #inspect(deployment: LimitedDeployment, now: number): Promise<DeploymentLimitState> {
    const reply = await this.#scripts.inspect(limiterKeyList(this.#keysOf(deployment.id)), [
      now,
      WINDOW_MS,
      this.#ceiling(deployment.rpm),
      this.#ceiling(deployment.tpm),
    ]);
    const [
      inFlight,
      requests,
      tokens,
      requestLimit,
      tokenLimit,
      cooldownUntil,
      cooldownReason,
      rawCircuit,
      openUntil,
      probeUntil,
      failures,
      learnedRpm,
      learnedTpm,
      opens,
    ] = reply as [
      number,
      number,
      number,
      number,
      number,
      number,
      string,
      string,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    const circuit: CircuitState =
      rawCircuit === 'open'
        ? now >= openUntil
          ? 'half_open'
          : 'open'
        : rawCircuit === 'half_open'
          ? 'half_open'
          : 'closed';
    const free = (used: number, limit: number) => (limit > 0 ? Math.max(0, limit - used) / limit : 1);
    return {
      deploymentId: deployment.id,
      at: now,
      inFlight,
      maxConcurrency: deployment.maxConcurrency,
      requestsInWindow: requests,
      requestLimit,
      tokensInWindow: tokens,
      tokenLimit,
      learnedRpm: learnedRpm || undefined,
      learnedTpm: learnedTpm || undefined,
      cooldownUntil: cooldownUntil > now ? cooldownUntil : 0,
      cooldownReason: cooldownUntil > now && cooldownReason ? cooldownReason : undefined,
      circuit,
      circuitOpenUntil: circuit === 'open' ? openUntil : 0,
      probeInFlight: circuit === 'half_open' && probeUntil > now,
      consecutiveFailures: failures,
      circuitOpens: opens,
      headroom: Math.min(
        free(inFlight, deployment.maxConcurrency),
        free(requests, requestLimit),
        free(tokens, tokenLimit),
      ),
    };
  }

  /** A configured limit after the safety margin (0 stays unlimited). */
  #ceiling(limit: number): number {
    return limit > 0 ? Math.max(1, Math.floor(limit * this.#safety)) : 0;
  }

  #keysOf(deploymentId: string): DeploymentKeys {
    let k = this.#deploymentKeys.get(deploymentId);
    if (!k) {
      k = deploymentKeys(this.#keys, deploymentId);
      this.#deploymentKeys.set(deploymentId, k);
    }
    return k;
  }

  #check(deployment: LimitedDeployment): void {
    expectId('deployment.id', deployment?.id);
    expectInteger(`deployment ${deployment.id} rpm`, deployment.rpm, 0);
    expectInteger(`deployment ${deployment.id} tpm`, deployment.tpm, 0);
    expectInteger(`deployment ${deployment.id} maxConcurrency`, deployment.maxConcurrency, 0);
  }
}

/** Create the global limiter facade. The connection stays the caller's to close. */
export function createLimits(options: LimitsOptions): Limiter {
  return new Limiter(options);
}

/** The error to throw (or fail a job with) for a denial. */
export function denialError(denial: Denial): RateLimitedError | CircuitOpenError {
  return denial.reason === 'circuit_open'
    ? new CircuitOpenError(denial.deploymentId, denial.retryAfterMs)
    : new RateLimitedError(denial.deploymentId, denial.reason, denial.retryAfterMs);
}

/** Judge an upstream result; see {@link UpstreamOutcome}. */
export function classify(result: Pick<UpstreamResult, 'status' | 'error'>): UpstreamOutcome {
  const status = result.status;
  if (status === undefined || result.error) return 'failure';
  if (status === 429) return 'throttled';
  if (status >= 200 && status < 400) return 'success';
  if (status >= 500 || status === 408 || status === 401 || status === 403 || status === 404) return 'failure';
  return 'rejected';
}

function usageTokens(usage: Usage | undefined): number | undefined {
  if (!usage) return undefined;
  const total =
    usage.totalTokens ??
    (usage.promptTokens !== undefined || usage.completionTokens !== undefined
      ? (usage.promptTokens ?? 0) + (usage.completionTokens ?? 0)
      : undefined);
  return total === undefined ? undefined : Math.max(0, Math.round(total));
}
