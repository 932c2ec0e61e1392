import type { Keys, Redis } from '@sluice/redis';
import { createLimits, type Limiter, type LimitsOptions } from './limiter.ts';

/** The configuration a limiter reads; `@sluice/config`'s `SluiceConfig` satisfies it. */
export interface LimitsConfigSource {
  readonly limits: {
    /** How long an open circuit refuses calls before one probe tests the deployment (ms). */
    readonly circuitOpenMs: number;
  };
}

/** What a process adds to the configuration: its connection and key helper, and any test overrides. */
export interface LimitsFromConfigOptions extends Partial<Omit<LimitsOptions, 'redis' | 'keys'>> {
  redis: Redis;
  keys: Keys;
}

/**
 * The limiter every process builds from the validated configuration, so the API's fast
 * path, the classifier, the executors and the embeddings route keep the same circuit and
 * limit settings on the same keys.
 */
export function limitsFromConfig(config: LimitsConfigSource, options: LimitsFromConfigOptions): Limiter {
  return createLimits({ ...options, circuit: { openMs: config.limits.circuitOpenMs, ...options.circuit } });
}
