import { Registry, collectDefaultMetrics } from 'prom-client';

/** Which Sluice process a registry belongs to. */
export type ProcessRole = 'api' | 'classifier' | 'executor' | 'batcher';

/** Options for {@link createMetricsRegistry}. */
export interface MetricsRegistryOptions {
  role: ProcessRole;
  /**
   * Also export Node's process metrics (CPU, memory, event-loop lag, GC), prefixed
   * `sluice_<role>_`. Tests turn them off to keep the output small. @defaultValue true
   */
  processMetrics?: boolean;
}

/**
 * A fresh Prometheus registry for one process. Never prom-client's global registry: several
 * Sluice apps run in one process in tests, each with its own registry, and two registrations
 * of one name would throw.
 */
export function createMetricsRegistry(options: MetricsRegistryOptions): Registry {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: `sluice_${options.role}_` });
  return registry;
}
