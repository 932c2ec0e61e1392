import type { RouteDecision, TierName } from '@sluice/queues';
import { InvalidRoutingOptionsError } from './errors.ts';
import { latestUserText } from './features.ts';
import { detectCategory, isTimeSensitive, type RoutingInput, type RoutingStrategy } from './rules.ts';

/** What to do when no strategy is confident enough. */
export type LowConfidencePolicy = 'large' | 'cascade';

/** Options for {@link createRouter}. */
export interface CreateRouterOptions {
  /**
   * Strategies in the order they are consulted, cheapest first (`rules`, then `knn`, then
   * `llm`). The first one whose confidence reaches `threshold` decides.
   */
  strategies: readonly RoutingStrategy[];
  /**
   * When no strategy reaches `threshold`: `large` sends the request to the large tier
   * (quality first); `cascade` answers on the small tier first and escalates to the large
   * tier when {@link qualityGate} fails. A request the strategies lean towards large always
   * goes large: a quality gate cannot see a subtly wrong answer.
   * @defaultValue `'large'`
   */
  lowConfidence?: LowConfidencePolicy;
  /** Confidence (0..1) a strategy's decision needs to be taken as is. @defaultValue 0.7 */
  threshold?: number;
  /** Called when a strategy throws (it is then skipped); for logs and metrics. */
  onStrategyError?: (error: unknown, strategy: string) => void;
  /**
   * Strategies whose confident `large` does not stand when a final strategy (the learned
   * router) follows: the final one decides instead. The rules' confident "large" on public
   * prompts is mostly length and numbers, not need: on RouteLLM's MMLU a–h it sent 21.5 % of
   * the questions large and recovered 10.5 % of the quality gap, less than a random router.
   * Their confident "small" stands. @defaultValue `['rules']`
   */
  deferLarge?: readonly string[];
}

/** A routing decision plus whether the executor should run the cascade. */
export interface RouterDecision extends RouteDecision {
  /** Answer on the small tier first, escalate to large when the quality gate fails. */
  cascade: boolean;
}

/** Per-call options of {@link Router.decide}. */
export interface DecideOptions {
  /** A tier pinned by the request (`model` or `x-sluice-tier`): skip the strategies. */
  pinnedTier?: TierName;
  /**
   * The request's cost–quality setting (`x-sluice-quality`, 0..1), handed to the strategies
   * that have a knob (the learned router); out of range or absent: their configured default.
   */
  quality?: number;
}

/** Composes strategies and applies the low-confidence policy. */
export interface Router {
  /** Names of the strategies, in order. */
  readonly strategies: readonly string[];
  /** Decide where a request goes. Never throws: a failing strategy is skipped, and with none left the request goes large. */
  decide(input: RoutingInput, options?: DecideOptions): Promise<RouterDecision>;
}

/** Create a {@link Router}. */
export function createRouter(options: CreateRouterOptions): Router {
  const { strategies, onStrategyError } = options;
  const threshold = options.threshold ?? 0.7;
  const lowConfidence = options.lowConfidence ?? 'large';
  const deferLarge = new Set(options.deferLarge ?? ['rules']);
  if (!Array.isArray(strategies) || strategies.length === 0) {
    throw new InvalidRoutingOptionsError(
      `Expected \`strategies\` to be a non-empty array, got \`${JSON.stringify(strategies)}\``,
    );
  }
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) {
    throw new InvalidRoutingOptionsError(
      `Expected \`threshold\` to be a number in [0, 1], got \`${String(threshold)}\``,
    );
  }
  if (lowConfidence !== 'large' && lowConfidence !== 'cascade') {
    throw new InvalidRoutingOptionsError(
      `Expected \`lowConfidence\` to be \`large\` or \`cascade\`, got \`${String(lowConfidence)}\``,
    );
  }

  // Whatever strategy decided, a question about today, prices, weather or news is
  // time-sensitive: its answer must never be cached as if it were a stable fact.
  const freshness = (decision: RouterDecision, input: RoutingInput): RouterDecision =>
    decision.category !== 'time_sensitive' && isTimeSensitive(latestUserText(input.request))
      ? {
          ...decision,
          category: 'time_sensitive',
          reasons: [...decision.reasons, `category ${decision.category} → time_sensitive (freshness markers)`],
        }
      : decision;

  return {
    strategies: strategies.map((s) => s.name),
    async decide(input, decideOptions = {}) {
      return freshness(await decideUnchecked(input, decideOptions), input);
    },
  };

  async function decideUnchecked(input: RoutingInput, decideOptions: DecideOptions): Promise<RouterDecision> {
    if (decideOptions.pinnedTier) {
      return {
        tier: decideOptions.pinnedTier,
        category: detectCategory(input.request),
        confidence: 1,
        reasons: [`pinned to tier ${decideOptions.pinnedTier} by the request`],
        strategy: 'pinned',
        cascade: false,
      };
    }
    const consulted: RouteDecision[] = [];
    const notes: string[] = [];
    for (const [index, strategy] of strategies.entries()) {
      let decision: RouteDecision;
      const strategyInput: RoutingInput = {
        ...input,
        ...(decideOptions.quality !== undefined ? { quality: decideOptions.quality } : {}),
        ...(consulted[0] ? { category: consulted[0].category } : {}),
      };
      try {
        decision = normalize(await strategy.decide(strategyInput));
      } catch (error) {
        onStrategyError?.(error, strategy.name);
        notes.push(`${strategy.name} failed: ${error instanceof Error ? error.message : String(error)}`);
        continue;
      }
      if (strategy.final) {
        // With the cascade policy, the final strategy's "small" is answered small first and
        // escalated when the quality gate fails: its small decisions are bets, not certainties.
        const cascade = lowConfidence === 'cascade' && decision.tier === 'small';
        return {
          ...decision,
          reasons: [
            ...notes,
            ...decision.reasons,
            ...(cascade ? ['cascade policy: small first, escalate to large on the quality gate'] : []),
          ],
          cascade,
        };
      }
      if (decision.confidence >= threshold) {
        const finalStrategy = strategies.slice(index + 1).find((s) => s.final);
        if (!(decision.tier === 'large' && finalStrategy && deferLarge.has(strategy.name))) {
          return { ...decision, reasons: [...notes, ...decision.reasons], cascade: false };
        }
        consulted.push(decision);
        notes.push(
          `${decision.strategy}: large at confidence ${decision.confidence.toFixed(2)}, left to ${finalStrategy.name}`,
        );
        continue;
      }
      consulted.push(decision);
      notes.push(
        `${decision.strategy}: ${decision.tier} at confidence ${decision.confidence.toFixed(2)} < ${threshold}`,
      );
    }
    if (!consulted.length) {
      return {
        tier: 'large',
        category: detectCategory(input.request),
        confidence: 0,
        reasons: [...notes, 'no strategy decided → large (quality first)'],
        strategy: 'fallback',
        cascade: false,
      };
    }
    // Nobody was sure: take the most confident lean for the category and the reasons,
    // and apply the policy to the tier.
    const best = consulted.reduce((a, b) => (b.confidence > a.confidence ? b : a));
    const leansLarge = consulted.some((d) => d.tier === 'large');
    const cascade = lowConfidence === 'cascade' && !leansLarge;
    const policy = cascade
      ? 'low confidence → cascade (small first, escalate to large on the quality gate)'
      : leansLarge
        ? 'low confidence, a strategy leans large → large'
        : 'low confidence → large (quality first)';
    return {
      tier: cascade ? 'small' : 'large',
      category: best.category,
      confidence: best.confidence,
      reasons: [...notes, ...best.reasons, policy],
      strategy: consulted.map((d) => d.strategy).join('+'),
      cascade,
    };
  }
}

/** Strategies answer small or large; clamp confidence and map a stray `router` tier to small. */
function normalize(decision: RouteDecision): RouteDecision {
  const confidence = Number.isFinite(decision.confidence) ? Math.min(1, Math.max(0, decision.confidence)) : 0;
  return { ...decision, tier: decision.tier === 'large' ? 'large' : 'small', confidence };
}
