import type { Worker } from 'bullmq';
import type { Registry } from 'prom-client';
import type { RouteDecision } from '@sluice/queues';
import { defineRoutingMetrics, defineWorkerMetrics } from './definitions.ts';
import { observeWorker } from './worker.ts';

/** A classifier's metrics, and the hooks that feed them. */
export interface ClassifierMetrics {
  readonly registry: Registry;
  /** Count a routing decision (pinned tiers included: the strategy says `pinned`). */
  routed(route: Pick<RouteDecision, 'tier' | 'strategy' | 'category'>): void;
  /** Measure the `{route}` worker: queue wait per priority, run time, outcome. */
  observeWorker(worker: Worker<any, any>): () => void;
}

/** Create a classifier's metrics on `registry`. */
export function createClassifierMetrics(options: { registry: Registry; clock?: () => number }): ClassifierMetrics {
  const routing = defineRoutingMetrics(options.registry);
  const worker = defineWorkerMetrics(options.registry);
  return {
    registry: options.registry,
    routed(route) {
      routing.decisions.inc({
        tier: route.tier,
        strategy: route.strategy || 'unknown',
        category: route.category || 'unknown',
      });
    },
    observeWorker: (w) => observeWorker(w, worker, undefined, options.clock),
  };
}
