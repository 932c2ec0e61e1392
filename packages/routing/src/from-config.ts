import { InvalidRoutingOptionsError } from './errors.ts';
import { knnStrategy, type KnnStrategyOptions } from './knn.ts';
import { learnedStrategy, type LearnedStrategyOptions } from './learned/strategy.ts';
import { llmStrategy, type LlmStrategyOptions } from './llm.ts';
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
