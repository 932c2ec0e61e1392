import type { RouteDecision } from '@sluice/queues';
import { InvalidRoutingOptionsError } from '../errors.ts';
import { latestUserText } from '../features.ts';
import { complexityOf, detectCategory, type RoutingInput, type RoutingStrategy } from '../rules.ts';
import { shippedLearnedModel, type LearnedModel } from './model.ts';

/** Options for {@link learnedStrategy}. */
export interface LearnedStrategyOptions {
  /** The model. @defaultValue the one shipped with the package (`shippedLearnedModel()`) */
  model?: LearnedModel;
  /**
   * The cost–quality knob: a request goes small when the model's calibrated P(small
   * suffices) is at least this, else large. Higher sends more to large (1: everything the
   * strategy decides). A request's own `quality` (`x-sluice-quality`) overrides it.
   * @defaultValue the model's `defaultQuality` (picked on its training data)
   */
  quality?: number;
}

/** The learned strategy: decides every request that reaches it (its threshold is the knob). */
export interface LearnedStrategy extends RoutingStrategy {
  readonly name: 'learned';
  readonly final: true;
  /** The quality setting used when a request brings none. */
  readonly quality: number;
  readonly model: LearnedModel;
  decide(input: RoutingInput): RouteDecision;
}

/** True when `q` is a usable quality setting (a number in [0, 1]). */
export function isQuality(q: unknown): q is number {
  return typeof q === 'number' && q >= 0 && q <= 1;
}

/**
 * The learned router: a logistic model over the prompt's words and shape, plus the rules'
 * complexity points, trained on public per-prompt results of a weak and a strong model (see
 * `build-model.ts`), scores P(small suffices); the request goes small when that reaches the quality setting. Its confidence is
 * the model's probability for the tier it chose (P(small suffices) for small, P(large
 * needed) for large): informational, since the knob, not a confidence bar, decides.
 */
export function learnedStrategy(options: LearnedStrategyOptions = {}): LearnedStrategy {
  const model = options.model ?? shippedLearnedModel();
  const quality = options.quality ?? model.file.defaultQuality;
  if (!isQuality(quality))
    throw new InvalidRoutingOptionsError(`Expected \`quality\` to be a number in [0, 1], got \`${String(quality)}\``);
  return {
    name: 'learned',
    final: true,
    quality,
    model,
    decide(input: RoutingInput): RouteDecision {
      const q = isQuality(input.quality) ? input.quality : quality;
      const p = model.smallSuffices(latestUserText(input.request), complexityOf(input.request).points);
      const tier = p >= q ? 'small' : 'large';
      return {
        tier,
        category: input.category ?? detectCategory(input.request),
        confidence: Math.round((tier === 'small' ? p : 1 - p) * 1000) / 1000,
        reasons: [
          `learned: P(small suffices) ${p.toFixed(3)} ${tier === 'small' ? '≥' : '<'} quality ${q}${isQuality(input.quality) ? ' (set by the request)' : ''} → ${tier}`,
        ],
        strategy: 'learned',
      };
    },
  };
}
