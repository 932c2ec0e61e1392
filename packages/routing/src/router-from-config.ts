import type { SluiceConfig } from '@sluice/config';
import type { Keys, Redis } from '@sluice/redis';
import { strategiesFromConfig } from './from-config.ts';
import { knnStrategy, type KnnStrategy } from './knn.ts';
import type { CompleteFunction } from './llm.ts';
import { createRouter, type Router } from './router.ts';

/** Options for {@link routerFromConfig}. */
export interface RouterFromConfigOptions {
  /** `routing` section: strategy list, threshold, low-confidence policy, LLM timeout, quality. */
  config: Pick<SluiceConfig, 'routing'>;
  /** Connection for the kNN exemplar set (vector set, Redis 8). */
  redis: Redis;
  keys: Keys;
  /**
   * The embedder the cache uses, so one embedding per job serves both (`cache.embedder`).
   * kNN embeds only when a job has no embedding yet (feedback, long prompts).
   */
  embedder: { readonly id: string; embed(texts: string[]): Promise<Float32Array[]> };
  /** Calls the `router` tier (`createRouterTierCall`); needed when `llm` is configured. */
  complete?: CompleteFunction;
  /** Called when a strategy throws (it is skipped). */
  onStrategyError?: (error: unknown, strategy: string) => void;
}

/** What {@link routerFromConfig} builds. */
export interface ConfiguredRouting {
  router: Router;
  /**
   * The kNN strategy over the shared exemplar set, whether or not `knn` is in the strategy
   * list: feedback and escalations teach it either way, so enabling it later starts warm.
   */
  knn: KnnStrategy;
}

/**
 * The router every Sluice process builds the same way from its configuration: the classifier
 * routes with it, the API's `POST /v1/route` dry run shows its decision, and the API
 * (`POST /v1/feedback`) and executor (cascade escalations) teach its kNN set.
 */
export function routerFromConfig(options: RouterFromConfigOptions): ConfiguredRouting {
  const { config, redis, keys, embedder } = options;
  const knn = knnStrategy({ redis, keys, embed: (texts) => embedder.embed([...texts]), embedderId: embedder.id });
  const strategies = strategiesFromConfig({
    names: config.routing.strategy,
    knn: { redis, keys, embed: (texts) => embedder.embed([...texts]), embedderId: embedder.id },
    llm: options.complete ? { complete: options.complete, timeoutMs: config.routing.llmTimeoutMs } : undefined,
    learned: { quality: config.routing.quality },
  }).map((strategy) => (strategy.name === 'knn' ? knn : strategy));
  const router = createRouter({
    strategies,
    threshold: config.routing.threshold,
    lowConfidence: config.routing.lowConfidence,
    onStrategyError: options.onStrategyError,
  });
  return { router, knn };
}
