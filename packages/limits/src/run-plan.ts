import { RateLimitedError, type LimitsError } from './errors.ts';

/** Wait after a 429 whose cooldown is unknown (the verdict reports none in force), in ms. */
export const THROTTLE_FALLBACK_MS = 1_000;

/** The run waits for a permit without spending an attempt (how: {@link planPark}). */
export interface ParkStep {
  readonly kind: 'park';
  /** The soonest a permit can be granted (ms). */
  readonly retryAfterMs: number;
  /** What the job fails with if it cannot wait that long. */
  readonly reason: LimitsError;
  /** No deployment of the tier can serve any job before then. */
  readonly wholeTier: boolean;
}

/** What one run of a job does next: ask for a permit, wait without spending an attempt, or fail. */
export type RunStep<D extends { readonly id: string }> =
  | {
      readonly kind: 'acquire';
      /** The deployments to ask, in the caller's order of preference. */
      readonly deployments: readonly D[];
      /**
       * Every deployment of the tier is asked: the job may wait in the tier's permit line while
       * the tier is blocked. Otherwise only this job is concerned (pinned, or some failed it).
       */
      readonly wholeTier: boolean;
    }
  | ParkStep
  | { readonly kind: 'throw'; readonly error: unknown };

/** How a call on a granted deployment failed, as far as the plan needs to know. */
export interface FailedCall {
  readonly deploymentId: string;
  readonly error: unknown;
  /** The upstream answered 429. */
  readonly rateLimited: boolean;
  /** The shared cooldown now in force on the deployment (0 when unknown). */
  readonly cooldownMs: number;
}

/** Options of {@link RunPlan}. */
export interface RunPlanOptions<D extends { readonly id: string }> {
  /** The deployments that may serve the job (the tier's, or the one it is pinned to). */
  readonly candidates: readonly D[];
  /** How many deployments the tier has: a run that may ask all of them decides for the tier. */
  readonly tierSize: number;
}

/**
 * The permit and failover plan of one run of a job, without side effects: the executor asks
 * {@link next} what to do, performs it (a limiter call, an upstream call, a BullMQ park) and
 * reports back. Each deployment is tried at most once per run; a failed call moves the run on
 * to the next deployment without spending an attempt. When every deployment failed, a run
 * whose last failure was a 429 waits for the soonest cooldown like a denial (no attempt
 * spent), and any other run throws the last error so BullMQ retries with backoff.
 */
export class RunPlan<D extends { readonly id: string }> {
  readonly #candidates: readonly D[];
  readonly #tierSize: number;
  readonly #tried = new Set<string>();
  #lastFailure: FailedCall | undefined;
  /** Soonest cooldown of the run's trailing run of 429s; `undefined` once a non-429 failure breaks it. */
  #throttledMs: number | undefined;

  constructor(options: RunPlanOptions<D>) {
    if (options.candidates.length === 0) throw new RangeError('Expected at least one candidate deployment');
    this.#candidates = options.candidates;
    this.#tierSize = options.tierSize;
  }

  /** The next step: a permit to ask for on the deployments not tried yet, or how the run ends. */
  next(): RunStep<D> {
    const remaining = this.#candidates.filter((d) => !this.#tried.has(d.id));
    if (remaining.length > 0) return { kind: 'acquire', deployments: remaining, wholeTier: this.#wholeTier(remaining) };
    if (this.#throttledMs !== undefined) {
      const deploymentId = this.#lastFailure?.deploymentId ?? this.#candidates[0]!.id;
      return {
        kind: 'park',
        retryAfterMs: this.#throttledMs,
        reason: new RateLimitedError(deploymentId, 'cooldown', this.#throttledMs),
        wholeTier: this.#candidates.length === this.#tierSize,
      };
    }
    return { kind: 'throw', error: this.#lastFailure!.error };
  }

  /** No deployment asked granted a permit: the run waits for the soonest one. */
  denied(deployments: readonly D[], retryAfterMs: number, reason: LimitsError): ParkStep {
    return { kind: 'park', retryAfterMs, reason, wholeTier: this.#wholeTier(deployments) };
  }

  /** A call on a granted deployment failed in a way another deployment may not. */
  failed(call: FailedCall): void {
    this.#tried.add(call.deploymentId);
    this.#lastFailure = call;
    // The soonest cooldown: a tier queue may pause only until some deployment can serve again.
    this.#throttledMs = call.rateLimited
      ? Math.min(this.#throttledMs ?? Number.POSITIVE_INFINITY, call.cooldownMs || THROTTLE_FALLBACK_MS)
      : undefined;
  }

  #wholeTier(deployments: readonly D[]): boolean {
    return deployments.length === this.#tierSize;
  }
}

/** How a job without a permit waits, as {@link planPark} decides. */
export type ParkAction =
  /** Past its permit deadline: the job fails with the denial as its reason. */
  | { readonly kind: 'fail' }
  /** No lock token to move the job with: pause the queue and hand the job back (BullMQ's rate limit). */
  | { readonly kind: 'pause-queue'; readonly ms: number }
  /** Move the job to delayed (keeps its priority, spends no attempt); pause the tier's queue too when the whole tier is blocked. */
  | { readonly kind: 'delay'; readonly ms: number; readonly pauseTier: boolean };

/** What {@link planPark} decides from. */
export interface ParkInput {
  /** Since the API accepted the job (ms). */
  readonly waitedMs: number;
  /** The soonest a permit can be granted (ms). */
  readonly retryAfterMs: number;
  /** Longest a job may wait for a permit, from acceptance (ms). */
  readonly permitWaitMs: number;
  /** The worker holds the job's lock token (it can move the job itself). */
  readonly hasToken: boolean;
  /** No deployment of the tier can serve any job before `retryAfterMs`. */
  readonly wholeTier: boolean;
}

/**
 * Decide how a job without a permit waits. A job whose wait would pass its permit deadline
 * fails at once rather than after it. A waiting job is delayed rather than handed back with
 * BullMQ's rate-limit error: BullMQ puts a rate-limited prioritized job back without a wake-up
 * marker, so when the pause ends before the job is back, idle workers never see it; a delayed
 * job is promoted with its marker and keeps its priority.
 */
export function planPark(input: ParkInput): ParkAction {
  if (input.waitedMs + input.retryAfterMs > input.permitWaitMs) return { kind: 'fail' };
  const ms = Math.max(1, Math.ceil(input.retryAfterMs));
  if (!input.hasToken) return { kind: 'pause-queue', ms };
  return { kind: 'delay', ms, pauseTier: input.wholeTier };
}
