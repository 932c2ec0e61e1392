import { SimInvalidRequestError, SimModelNotFoundError, SimRateLimitError } from './errors.ts';
import { cloneModel, patchModel } from './models.ts';
import { SlidingWindowRateLimiter, formatResetDuration, rateLimitHeaders } from './rate-limiter.ts';
import { ModelStatsRecorder } from './stats.ts';
import type { SimModelOptions, SimModelPatch } from './types.ts';

/**
 * Upper bound on `@suffix` variants: each owns a limiter and counters, so an unbounded number
 * of distinct ids from a misbehaving client would grow memory without limit.
 */
export const MAX_MODEL_VARIANTS = 1000;

/** A served model: current settings plus its own limiter and counters. */
export interface ModelRuntime {
  readonly id: string;
  /** Replaced wholesale on update, so a request that captured it keeps consistent settings. */
  options: SimModelOptions;
  readonly limiter: SlidingWindowRateLimiter;
  readonly stats: ModelStatsRecorder;
}

/** An accepted request's slot: its rate headers, and the release of its concurrency slot. */
export interface Admission {
  headers: Record<string, string>;
  /** Frees the in-flight slot; safe to call more than once. */
  release(): void;
}

/**
 * The models a simulator serves. Base models come from configuration; `base@suffix` ids are
 * variants created on first use with a copy of the base's settings at that moment, and from
 * then on have their own settings, limits and stats, like a second deployment of one tier.
 */
export class ModelRegistry {
  readonly #models = new Map<string, ModelRuntime>();
  #variants = 0;

  constructor(models: readonly SimModelOptions[]) {
    for (const model of models) this.#models.set(model.id, createRuntime(cloneModel(model)));
  }

  /** The model for `id`, creating a variant for `base@suffix`; `undefined` if unknown. */
  find(id: string): ModelRuntime | undefined {
    const existing = this.#models.get(id);
    if (existing !== undefined) return existing;
    const at = id.indexOf('@');
    if (at <= 0 || at === id.length - 1) return undefined;
    const base = this.#models.get(id.slice(0, at));
    if (base === undefined || base.id.includes('@')) return undefined;
    if (this.#variants >= MAX_MODEL_VARIANTS) {
      throw new SimInvalidRequestError(
        `Too many model variants: at most ${MAX_MODEL_VARIANTS} \`model@suffix\` ids can be in use.`,
        {
          param: 'model',
        },
      );
    }
    const runtime = createRuntime({ ...cloneModel(base.options), id });
    this.#models.set(id, runtime);
    this.#variants += 1;
    return runtime;
  }

  /** The model for `id`, or a {@link SimModelNotFoundError}. */
  require(id: string): ModelRuntime {
    const runtime = this.find(id);
    if (runtime === undefined) throw new SimModelNotFoundError(id);
    return runtime;
  }

  /** Every base model and every variant created so far, in creation order. */
  list(): ModelRuntime[] {
    return [...this.#models.values()];
  }

  /** Applies a patch (see {@link patchModel}) and returns a copy of the new settings. */
  update(id: string, patch: SimModelPatch): SimModelOptions {
    const runtime = this.require(id);
    runtime.options = patchModel(runtime.options, patch);
    return cloneModel(runtime.options);
  }
}

function createRuntime(options: SimModelOptions): ModelRuntime {
  return { id: options.id, options, limiter: new SlidingWindowRateLimiter(), stats: new ModelStatsRecorder() };
}

/**
 * Admits a request to a model or throws a {@link SimRateLimitError}: the concurrency cap first
 * (it frees up soonest), then requests and tokens per minute. A refused request leaves no
 * trace in the limiter, so refusals never push the window forward.
 */
export function admit(runtime: ModelRuntime, tokens: number, now: number): Admission {
  const { options, limiter, stats } = runtime;
  const limits = { rpm: options.rpm, tpm: options.tpm };

  if (options.maxConcurrency > 0 && stats.inFlight >= options.maxConcurrency) {
    stats.add('rateLimited');
    // There is no schedule for a slot to free up; one time-to-first-token is a fair guess.
    const retryAfterMs = Math.max(100, Math.ceil(options.ttftMs));
    throw new SimRateLimitError(
      `Rate limit reached for requests on model ${runtime.id}: too many concurrent requests (limit ${options.maxConcurrency}). Please try again in ${formatResetDuration(retryAfterMs)}.`,
      {
        limit: 'requests',
        retryAfterMs,
        headers: retryHeaders(rateLimitHeaders(limiter.snapshot(now, limits)), retryAfterMs),
      },
    );
  }

  const decision = limiter.tryAcquire(now, tokens, limits);
  if (!decision.ok) {
    stats.add('rateLimited');
    const headers = retryHeaders(rateLimitHeaders(decision.snapshot), decision.retryAfterMs);
    const wait = formatResetDuration(decision.retryAfterMs);
    const message =
      decision.limit === 'requests'
        ? `Rate limit reached for requests per min (RPM) on model ${runtime.id}: Limit ${decision.limitValue}, Used ${decision.used}, Requested 1. Please try again in ${wait}.`
        : decision.tooLarge
          ? `Request too large for tokens per min (TPM) on model ${runtime.id}: Limit ${decision.limitValue}, Requested ${tokens}. The input or output tokens must be reduced in order to run successfully.`
          : `Rate limit reached for tokens per min (TPM) on model ${runtime.id}: Limit ${decision.limitValue}, Used ${decision.used}, Requested ${tokens}. Please try again in ${wait}.`;
    throw new SimRateLimitError(message, { limit: decision.limit, retryAfterMs: decision.retryAfterMs, headers });
  }

  stats.accept(now);
  stats.enter();
  let released = false;
  return {
    headers: rateLimitHeaders(decision.snapshot),
    release: () => {
      if (released) return;
      released = true;
      stats.leave();
    },
  };
}

function retryHeaders(headers: Record<string, string>, retryAfterMs: number): Record<string, string> {
  const ms = Math.max(1, Math.ceil(retryAfterMs));
  // `retry-after` is whole seconds and clients treat 0 as "now", so round up to at least 1.
  return { ...headers, 'retry-after': String(Math.max(1, Math.ceil(ms / 1000))), 'retry-after-ms': String(ms) };
}
