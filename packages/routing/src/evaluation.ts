import { readFileSync } from 'node:fs';
import { countChatTokens } from '@sluice/llm';
import type { CategoryName, ChatMessage, RouteDecision } from '@sluice/queues';

/** One labelled prompt of `eval/prompts.json`. */
export interface EvalItem {
  id: string;
  tier: 'small' | 'large';
  category: CategoryName;
  domain: string;
  /** A single-turn prompt… */
  prompt?: string;
  /** …or a whole conversation ending with a user turn. */
  messages?: ChatMessage[];
}

/** USD per million tokens. */
export interface TierPrices {
  small: { input: number; output: number };
  large: { input: number; output: number };
}

/** The prices the eval uses: gpt-4o-mini for small, gpt-4o for large. */
export const EVAL_PRICES: TierPrices = { small: { input: 0.15, output: 0.6 }, large: { input: 2.5, output: 10 } };

// Output tokens a task of each kind produces (simple / complex), the same whichever tier
// answers it: the saving comes from the price per token, not from shorter answers.
const OUTPUT_TOKENS: Record<CategoryName, [number, number]> = {
  factual: [120, 600],
  time_sensitive: [100, 500],
  general: [180, 700],
  creative: [200, 1_500],
  code: [250, 900],
  reasoning: [150, 800],
};

/**
 * Load a labelled set shipped in `packages/routing/eval/`: `prompts` (the main set, 185
 * prompts) or `holdout` (66 prompts written after the rules were tuned on the main set, and
 * never tuned on; their figures are the honest ones for unseen prompts).
 */
export function loadEvalSet(name: 'prompts' | 'holdout' = 'prompts'): EvalItem[] {
  return JSON.parse(readFileSync(new URL(`../eval/${name}.json`, import.meta.url), 'utf8')) as EvalItem[];
}

/** The messages of an eval item. */
export function evalMessages(item: EvalItem): ChatMessage[] {
  return item.messages ?? [{ role: 'user', content: item.prompt ?? '' }];
}

/** Routing figures of one strategy on the labelled set. */
export interface EvalReport {
  strategy: string;
  n: number;
  /** Share of items routed to their labelled tier. */
  accuracy: number;
  /** Share of items given their labelled category. */
  categoryAccuracy: number;
  /** confusion[expected][decided]. */
  confusion: { small: { small: number; large: number }; large: { small: number; large: number } };
  /** Share of complex (large-labelled) prompts sent to small; aim ≤ 5%. */
  complexToSmall: number;
  /** Share of simple (small-labelled) prompts sent to small; aim ≥ 80%. */
  simpleToSmall: number;
  /** Estimated spend routed, and all on the large tier (USD). */
  costUsd: number;
  allLargeCostUsd: number;
  /** 1 − cost / all-large cost. */
  saving: number;
  /**
   * Saving when the same prompts are weighted to a traffic mix of 80% simple and 20% complex
   * (the set itself over-represents complex prompts, which cost the most).
   */
  savingAt80Simple: number;
  /** The saving a perfect router would make on this set (every item on its labelled tier). */
  oracleSaving: number;
  /** Decisions at or above the calibration threshold, and the tier accuracy among them. */
  calibration: { threshold: number; confident: number; confidentAccuracy: number };
  /** Complex prompts sent to small (ids), for review. */
  missedComplex: string[];
  /** Simple prompts sent to large (ids). */
  overRouted: string[];
  /** Category confusion: expected → decided → count. */
  categoryConfusion: Record<string, Record<string, number>>;
}

function cost(prices: TierPrices['small'], input: number, output: number): number {
  return (input * prices.input + output * prices.output) / 1e6;
}

/** Score decisions (one per item, same order) against the labels. */
export function scoreDecisions(
  strategy: string,
  items: readonly EvalItem[],
  decisions: readonly Pick<RouteDecision, 'tier' | 'category' | 'confidence'>[],
  prices: TierPrices = EVAL_PRICES,
  calibrationThreshold = 0.7,
): EvalReport {
  const confusion = { small: { small: 0, large: 0 }, large: { small: 0, large: 0 } };
  const categoryConfusion: Record<string, Record<string, number>> = {};
  let correctCategory = 0;
  let routed = 0;
  let allLarge = 0;
  let oracle = 0;
  const mix = { routed: 0, allLarge: 0 };
  const nSimple = items.filter((i) => i.tier === 'small').length;
  const nComplex = items.length - nSimple;
  let confident = 0;
  let confidentCorrect = 0;
  const missedComplex: string[] = [];
  const overRouted: string[] = [];
  items.forEach((item, i) => {
    const decision = decisions[i]!;
    const decided = decision.tier === 'large' ? 'large' : 'small';
    confusion[item.tier][decided]++;
    if (item.tier === 'large' && decided === 'small') missedComplex.push(item.id);
    if (item.tier === 'small' && decided === 'large') overRouted.push(item.id);
    if (decision.category === item.category) correctCategory++;
    (categoryConfusion[item.category] ??= {})[decision.category] =
      (categoryConfusion[item.category]?.[decision.category] ?? 0) + 1;
    const input = countChatTokens(evalMessages(item), 'gpt-4o');
    const output = OUTPUT_TOKENS[item.category][item.tier === 'large' ? 1 : 0];
    routed += cost(prices[decided], input, output);
    oracle += cost(prices[item.tier], input, output);
    const weight = item.tier === 'small' ? 0.8 / Math.max(1, nSimple) : 0.2 / Math.max(1, nComplex);
    mix.routed += weight * cost(prices[decided], input, output);
    mix.allLarge += weight * cost(prices.large, input, output);
    if (decision.confidence >= calibrationThreshold) {
      confident++;
      if (decided === item.tier) confidentCorrect++;
    }
    allLarge += cost(prices.large, input, output);
  });
  const complex = confusion.large.small + confusion.large.large;
  const simple = confusion.small.small + confusion.small.large;
  return {
    strategy,
    n: items.length,
    accuracy: (confusion.small.small + confusion.large.large) / items.length,
    categoryAccuracy: correctCategory / items.length,
    confusion,
    complexToSmall: complex ? confusion.large.small / complex : 0,
    simpleToSmall: simple ? confusion.small.small / simple : 0,
    costUsd: routed,
    allLargeCostUsd: allLarge,
    saving: allLarge ? 1 - routed / allLarge : 0,
    savingAt80Simple: mix.allLarge ? 1 - mix.routed / mix.allLarge : 0,
    oracleSaving: allLarge ? 1 - oracle / allLarge : 0,
    calibration: {
      threshold: calibrationThreshold,
      confident,
      confidentAccuracy: confident ? confidentCorrect / confident : 0,
    },
    missedComplex,
    overRouted,
    categoryConfusion,
  };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** A human-readable report. */
export function formatReport(r: EvalReport): string {
  const c = r.confusion;
  const categories = Object.keys(r.categoryConfusion).sort();
  const decidedCategories = [...new Set(Object.values(r.categoryConfusion).flatMap((row) => Object.keys(row)))].sort();
  const lines = [
    `── ${r.strategy} (${r.n} prompts)`,
    `tier accuracy        ${pct(r.accuracy)}`,
    `complex → small      ${pct(r.complexToSmall)}  (aim ≤ 5%)   ${r.complexToSmall <= 0.05 ? 'ok' : 'MISSED'}`,
    `simple → small       ${pct(r.simpleToSmall)}  (aim ≥ 80%)  ${r.simpleToSmall >= 0.8 ? 'ok' : 'MISSED'}`,
    `saving vs all-large  ${pct(r.saving)}  ($${r.costUsd.toFixed(4)} vs $${r.allLargeCostUsd.toFixed(4)}; a perfect router: ${pct(r.oracleSaving)})`,
    `saving, 80/20 mix    ${pct(r.savingAt80Simple)}  (same prompts weighted to 80% simple, 20% complex traffic)`,
    `confidence ≥ ${r.calibration.threshold}     ${r.calibration.confident}/${r.n} decisions, ${pct(r.calibration.confidentAccuracy)} of them right`,
    `category accuracy    ${pct(r.categoryAccuracy)}`,
    '',
    '                  decided small  decided large',
    `expected small    ${String(c.small.small).padStart(13)}  ${String(c.small.large).padStart(13)}`,
    `expected large    ${String(c.large.small).padStart(13)}  ${String(c.large.large).padStart(13)}`,
    '',
    `category (rows expected, columns decided): ${decidedCategories.map((d) => d.slice(0, 6)).join(' ')}`,
    ...categories.map(
      (e) =>
        `  ${e.padEnd(15)} ${decidedCategories.map((d) => String(r.categoryConfusion[e]?.[d] ?? 0).padStart(6)).join(' ')}`,
    ),
  ];
  if (r.missedComplex.length) lines.push('', `complex sent to small: ${r.missedComplex.join(', ')}`);
  if (r.overRouted.length) lines.push(`simple sent to large: ${r.overRouted.join(', ')}`);
  return lines.join('\n');
}
