/**
 * Short and full modes. Short finishes in a few minutes at modest rates (the machines are
 * shared, 2 cores); full runs longer at higher rates for the published figures. Every value
 * can be overridden on the command line (`run.ts --help`).
 */
import type { ScenarioName } from './results.ts';
import type { ProviderLimits } from './scenarios.ts';

/** Everything a run does. */
export interface ModeSettings {
  seed: number;
  /** Storm: arrivals per second (Poisson). */
  rate: number;
  durationSeconds: number;
  deadlineMs: number;
  scenarios: ScenarioName[];
  /** `SLUICE_ROUTING_STRATEGY` of the routing scenarios. */
  routingStrategy: string;
  /** `SLUICE_ROUTING_LOW_CONFIDENCE` of the routing scenarios; unset: the build's default. */
  routingLowConfidence?: string;
  /** Executor processes per storm scenario. */
  executors: number;
  limits: ProviderLimits;
  bucketSeconds: number;
  /** `rate` is capped at 30 % of the measured miss-path ceiling when the ceiling phase runs. */
  overhead: { rate: number; durationSeconds: number; simLatencyMs: number; rounds: number };
  ceiling: {
    clientConcurrency: number;
    warmupSeconds: number;
    windowSeconds: number;
    rounds: number;
    bareConcurrency: number;
  };
  /**
   * `simLatencyMs` is raised when the ceiling phase runs, so that the largest step needs at
   * most 40 % of the measured miss-path ceiling: the workload stays upstream-bound.
   */
  scaling: {
    simLatencyMs: number;
    concurrency: number;
    executorCounts: number[];
    clientConcurrency: number;
    warmupSeconds: number;
    windowSeconds: number;
    rpm: number;
    limitedConcurrency: number;
  };
}

const LIMITS = (largeRpm: number): ProviderLimits => ({
  // The large model's request limit is what the storm exceeds; the others are the simulator's
  // defaults (apps/sim README), far above the offered load.
  large: { rpm: largeRpm, tpm: 400_000 },
  small: { rpm: 5_000, tpm: 2_000_000 },
  router: { rpm: 10_000, tpm: 5_000_000 },
});

/** The modes. */
export const MODES: Record<'short' | 'full', ModeSettings> = {
  short: {
    seed: 6,
    rate: 5,
    durationSeconds: 30,
    deadlineMs: 30_000,
    scenarios: ['direct', 'cache', 'routing', 'all'],
    routingStrategy: 'rules',
    executors: 1,
    // 150 requests offered in 30 s against 60/min on the large model.
    limits: LIMITS(60),
    bucketSeconds: 5,
    overhead: { rate: 20, durationSeconds: 8, simLatencyMs: 50, rounds: 2 },
    ceiling: { clientConcurrency: 32, warmupSeconds: 4, windowSeconds: 8, rounds: 2, bareConcurrency: 64 },
    scaling: {
      simLatencyMs: 1_000,
      concurrency: 2,
      executorCounts: [1, 2, 4],
      clientConcurrency: 12,
      warmupSeconds: 40,
      windowSeconds: 12,
      rpm: 6_000,
      limitedConcurrency: 4,
    },
  },
  full: {
    seed: 6,
    rate: 8,
    durationSeconds: 240,
    deadlineMs: 60_000,
    scenarios: ['direct', 'gateway', 'cache', 'routing', 'all'],
    routingStrategy: 'rules',
    executors: 1,
    // 480/min offered against 200/min on the large model.
    limits: LIMITS(200),
    bucketSeconds: 15,
    overhead: { rate: 50, durationSeconds: 20, simLatencyMs: 50, rounds: 3 },
    ceiling: { clientConcurrency: 64, warmupSeconds: 5, windowSeconds: 20, rounds: 3, bareConcurrency: 64 },
    scaling: {
      simLatencyMs: 1_000,
      concurrency: 4,
      executorCounts: [1, 2, 4],
      clientConcurrency: 24,
      warmupSeconds: 60,
      windowSeconds: 30,
      rpm: 6_000,
      limitedConcurrency: 8,
    },
  },
};
