import type { SluiceConfig } from '@sluice/config';
import type { Keys, Redis } from '@sluice/redis';
import { InvalidRoutingOptionsError } from './errors.ts';
import { knnStrategy, type KnnStrategy, type KnnStrategyOptions } from './knn.ts';
import { learnedStrategy, type LearnedStrategyOptions } from './learned/strategy.ts';
import { llmStrategy, type CompleteFunction, type LlmStrategyOptions } from './llm.ts';
import { createRouter, type Router } from './router.ts';
import { rulesStrategy, type RoutingStrategy, type RulesStrategyOptions } from './rules.ts';

/** Names a routing strategy list may hold. */
export const STRATEGY_NAMES = ['rules', 'knn', 'llm', 'learned'] as const;

/** Options for {@link strategiesFromConfig}: what each named strategy needs. */
export interface StrategiesFromConfigOptions {
  /** Comma-separated strategy names in order (`config.routing.strategy`, e.g. `rules,knn,llm`). */
  names: string;
  rules?: RulesStrategyOptions;
  /** Required when `knn` is named. */
  knn?: KnnStrategyOptions;
  /** Required when `llm` is named. */
  llm?: LlmStrategyOptions;
  /** The learned router's model and default quality. @defaultValue the shipped model at its default quality */
  learned?: LearnedStrategyOptions;
}

/**
 * Build the strategies `config.routing.strategy` names, in order, for {@link createRouter}.
 * @throws {@link InvalidRoutingOptionsError} naming an unknown or duplicated strategy, or one
 * whose dependencies were not passed.
 */
export function strategiesFromConfig(options: StrategiesFromConfigOptions): RoutingStrategy[] {
  const names = options.names
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  if (!names.length)
    throw new InvalidRoutingOptionsError(
      `Expected routing strategies (${STRATEGY_NAMES.join(', ')}), got \`${options.names}\``,
    );
  const seen = new Set<string>();
  const built = names.map((name) => {
    if (seen.has(name))
      throw new InvalidRoutingOptionsError(`Routing strategy \`${name}\` is listed twice in \`${options.names}\``);
    seen.add(name);
    switch (name) {
      case 'rules':
        // In front of the learned router, shortness alone is left to it (see `lengthIsEvidence`).
        return rulesStrategy({ ...(names.includes('learned') ? { lengthIsEvidence: false } : {}), ...options.rules });
      case 'knn':
        if (!options.knn)
          throw new InvalidRoutingOptionsError('Routing strategy `knn` needs `knn` options (redis, keys, embed)');
        return knnStrategy(options.knn);
      case 'llm':
        if (!options.llm) throw new InvalidRoutingOptionsError('Routing strategy `llm` needs `llm` options (complete)');
        return llmStrategy(options.llm);
      case 'learned':
        return learnedStrategy(options.learned);
      default:
        throw new InvalidRoutingOptionsError(
          `Unknown routing strategy \`${name}\` in \`${options.names}\` (expected ${STRATEGY_NAMES.join(', ')})`,
        );
    }
  });
  // A final strategy decides everything that reaches it: one listed after it would never run.
  const finalAt = built.findIndex((s) => s.final);
  if (finalAt >= 0 && finalAt < built.length - 1)
    throw new InvalidRoutingOptionsError(
      `Routing strategy \`${built[finalAt]!.name}\` decides every request it sees, so it must come last in \`${options.names}\``,
    );
  return built;
}

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
