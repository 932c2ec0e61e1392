/**
 * Cost–quality curves of a router on prompts with both models' measured quality, as RouteLLM
 * reports them: the share of prompts sent to the large model against the performance gap
 * recovered (PGR = (quality − small's) / (large's − small's)). A router that sends a random
 * share s of prompts to large recovers s of the gap on average: the diagonal.
 */

/** A prompt's measured quality on each model (correctness 0/1 or a judge score). */
export interface Outcome {
  weak: number;
  strong: number;
}

/** One point of a curve. */
export interface CurvePoint {
  /** Share of prompts sent to the large model. */
  largeShare: number;
  /** Mean quality of the routed answers. */
  quality: number;
  /** Performance gap recovered: 0 = all small, 1 = all large. */
  pgr: number;
}

/** Quality and PGR of one set of decisions (`large[i]`: prompt i went to the large model). */
export function scoreRouting(outcomes: readonly Outcome[], large: readonly boolean[]): CurvePoint {
  let weak = 0;
  let strong = 0;
  let routed = 0;
  let n = 0;
  outcomes.forEach((o, i) => {
    weak += o.weak;
    strong += o.strong;
    routed += large[i] ? o.strong : o.weak;
    if (large[i]) n++;
  });
  const gap = strong - weak;
  return {
    largeShare: outcomes.length ? n / outcomes.length : 0,
    quality: outcomes.length ? routed / outcomes.length : 0,
    pgr: gap ? (routed - weak) / gap : 0,
  };
}

/**
 * The quality setting that sends `largeShare` of these prompts to the large model: a prompt
 * goes large when its P(small suffices) is below the returned value (RouteLLM's
 * `calibrate_threshold`, on the operator's own sample).
 */
export function qualityForLargeShare(smallSuffices: readonly number[], largeShare: number): number {
  if (!(largeShare >= 0 && largeShare <= 1))
    throw new RangeError(`Expected a large share in [0, 1], got ${largeShare}`);
  if (!smallSuffices.length) throw new RangeError('Expected at least one score to calibrate on');
  const sorted = [...smallSuffices].sort((a, b) => a - b);
  const k = Math.round(largeShare * sorted.length);
  if (k <= 0) return 0;
  if (k >= sorted.length) return 1;
  return (sorted[k - 1]! + sorted[k]!) / 2;
}

/** Area under a PGR-by-share curve (trapezoids, from (0, 0) to (1, 1)); a random router's is 0.5. */
export function areaUnderCurve(points: readonly Pick<CurvePoint, 'largeShare' | 'pgr'>[]): number {
  const sorted = [
    { largeShare: 0, pgr: 0 },
    ...[...points].sort((a, b) => a.largeShare - b.largeShare),
    { largeShare: 1, pgr: 1 },
  ];
  let area = 0;
  for (let i = 1; i < sorted.length; i++)
    area += ((sorted[i]!.largeShare - sorted[i - 1]!.largeShare) * (sorted[i]!.pgr + sorted[i - 1]!.pgr)) / 2;
  return area;
}

/**
 * The curve of a scorer alone: prompts sorted by P(small suffices), the least likely sent large
 * first, at each share of `shares`.
 */
export function scoreCurve(
  outcomes: readonly Outcome[],
  smallSuffices: readonly number[],
  shares: readonly number[],
): CurvePoint[] {
  const order = outcomes.map((_, i) => i).sort((a, b) => smallSuffices[a]! - smallSuffices[b]!);
  return shares.map((share) => {
    const large = new Array<boolean>(outcomes.length).fill(false);
    const k = Math.round(share * outcomes.length);
    for (let j = 0; j < k; j++) large[order[j]!] = true;
    return scoreRouting(outcomes, large);
  });
}

/** Area under the ROC curve of scores for binary labels (ties count half). */
export function rocAuc(scores: readonly number[], labels: readonly (0 | 1)[]): number {
  const order = scores.map((_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let rankSum = 0;
  let positives = 0;
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++)
      if (labels[order[k]!] === 1) {
        rankSum += rank;
        positives++;
      }
    i = j + 1;
  }
  const negatives = labels.length - positives;
  if (!positives || !negatives) return 0.5;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}
