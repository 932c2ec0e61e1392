import type { DeploymentLimitState, LimitedDeployment } from './limiter.ts';

/** A deployment the picker left out. */
export interface SkippedDeployment<D extends LimitedDeployment> {
  readonly deployment: D;
  readonly reason: 'circuit_open' | 'cooldown';
  /** When it may be usable again (ms). */
  readonly retryAfterMs: number;
}

/** Outcome of `Limiter.pick`. */
export interface PickResult<D extends LimitedDeployment> {
  /** Deployments to try, in order; fail over down the list. */
  readonly order: readonly D[];
  /** Deployments left out, and why. */
  readonly skipped: readonly SkippedDeployment<D>[];
  /** When `order` is empty: the soonest a skipped deployment may be back (ms); else 0. */
  readonly retryAfterMs: number;
  /** The state each decision was made on, by deployment id. */
  readonly states: ReadonlyMap<string, DeploymentLimitState>;
}

/** Inputs of {@link rankDeployments} besides the deployments. */
export interface RankOptions {
  now: number;
  random: () => number;
  pollIntervalMs: number;
}

/**
 * Rank deployments from their states (pure; `Limiter.pick` reads the states). See
 * `Limiter.pick` for the policy.
 */
export function rankDeployments<D extends LimitedDeployment>(
  deployments: readonly D[],
  states: readonly DeploymentLimitState[],
  options: RankOptions,
): PickResult<D> {
  const skipped: SkippedDeployment<D>[] = [];
  const probes: D[] = [];
  const open: Array<{ deployment: D; key: number }> = [];
  const full: Array<{ deployment: D; weight: number }> = [];
  const byId = new Map<string, DeploymentLimitState>();

  deployments.forEach((deployment, i) => {
    const state = states[i]!;
    byId.set(deployment.id, state);
    if (state.circuit === 'open') {
      skipped.push({
        deployment,
        reason: 'circuit_open',
        retryAfterMs: Math.max(1, state.circuitOpenUntil - options.now),
      });
      return;
    }
    if (state.circuit === 'half_open' && state.probeInFlight) {
      skipped.push({ deployment, reason: 'circuit_open', retryAfterMs: options.pollIntervalMs });
      return;
    }
    if (state.cooldownUntil > options.now) {
      skipped.push({ deployment, reason: 'cooldown', retryAfterMs: state.cooldownUntil - options.now });
      return;
    }
    if (state.circuit === 'half_open') {
      probes.push(deployment);
      return;
    }
    const weight = Math.max(0, deployment.weight ?? 1);
    const score = state.headroom * weight;
    if (score <= 0) {
      full.push({ deployment, weight });
      return;
    }
    // Efraimidis–Spirakis weighted shuffle: u^(1/score) sorted descending puts each
    // deployment first with probability score / Σ scores.
    const u = 1 - options.random(); // (0, 1]
    open.push({ deployment, key: Math.pow(u, 1 / score) });
  });

  open.sort((a, b) => b.key - a.key);
  full.sort((a, b) => b.weight - a.weight);
  const order = [...probes, ...open.map((o) => o.deployment), ...full.map((f) => f.deployment)];
  const retryAfterMs = order.length === 0 && skipped.length > 0 ? Math.min(...skipped.map((s) => s.retryAfterMs)) : 0;
  return { order, skipped, retryAfterMs, states: byId };
}
