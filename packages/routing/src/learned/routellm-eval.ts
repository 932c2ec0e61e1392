/**
 * The RouteLLM evaluation of the shipped router: for each test set (MMLU domains i–z, GSM8K,
 * MT-Bench; none used in training or tuning), the share of prompts sent large against the
 * performance gap recovered at several quality settings, beside a random router, the old
 * default (rules, low confidence → large) and the cascade where the gate can be judged.
 */
import { countTokens } from '@sluice/llm';
import { EVAL_PRICES, type TierPrices } from '../evaluation.ts';
import { qualityGate } from '../gate.ts';
import { createRouter, type Router } from '../router.ts';
import { complexityOf, rulesStrategy } from '../rules.ts';
import { areaUnderCurve, scoreCurve, scoreRouting, type CurvePoint } from './curve.ts';
import type { LabelledPrompt } from './routellm-data.ts';
import type { LearnedStrategy } from './strategy.ts';

/** Quality settings the curve is drawn at (the default is added). */
export const CURVE_QUALITIES = [0, 0.7, 0.76, 0.8, 0.82, 0.86, 0.88, 0.9, 0.93, 1] as const;

/** One row of a set's table. */
export interface CurveRow extends CurvePoint {
  /** The router and setting (`quality 0.84 (default)`, `old default: rules, low confidence → large`). */
  label: string;
  /** The quality setting (the knob) of a curve row. */
  setting?: number;
  /** PGR minus a random router's at the same share. */
  aboveRandom: number;
  /** Cost against sending everything large, at the list prices of {@link EVAL_PRICES}. */
  saving: number;
}

/** A test set's figures. */
export interface SetReport {
  name: string;
  n: number;
  weakQuality: number;
  strongQuality: number;
  /** Share of prompts the rules decide confidently small (the knob does not move them). */
  rulesSmallShare: number;
  /**
   * How well the learned score alone ranks this set: area under its PGR curve when the prompts
   * are sent large in order of P(small suffices), lowest first (a random order's is 0.5). A
   * measurement of transfer only; nothing is chosen by it.
   */
  scoreArea: number;
  rows: CurveRow[];
  defaultRow: CurveRow;
  /** Rows of other routers (old default, rules alone, cascade). */
  others: CurveRow[];
  /** What was checked: the fast path matches the real router at the default, per prompt. */
  checkedPrompts: number;
}

const ask = (prompt: string) => ({
  request: { model: 'auto', messages: [{ role: 'user' as const, content: prompt }] },
});

/** Output tokens of an answer: the published answer where there is one, else 1 (an MMLU letter). */
function outputTokens(answer: string | undefined): number {
  return answer ? countTokens(answer, 'gpt-4o') : 1;
}

/**
 * Evaluate one labelled set. `router` is the shipped composition (rules, then `learned`);
 * the curve is computed from each prompt's rules decision and learned score, and checked
 * against `router.decide` at the default quality on every prompt.
 */
export async function evaluateSet(
  name: string,
  items: readonly LabelledPrompt[],
  learned: LearnedStrategy,
  router: Router,
  prices: TierPrices = EVAL_PRICES,
): Promise<SetReport> {
  const rules = rulesStrategy({ lengthIsEvidence: false });
  const inputs = items.map((x) => ask(x.prompt));
  const rulesDecisions = inputs.map((input) => rules.decide(input));
  const rulesSmall = rulesDecisions.map((d) => d.tier === 'small' && d.confidence >= 0.7);
  const scores = items.map((x, i) => learned.model.smallSuffices(x.prompt, complexityOf(inputs[i]!.request).points));
  const cost = items.map((x) => {
    const input = countTokens(x.prompt, 'gpt-4o');
    const price = (tier: 'small' | 'large', answer: string | undefined) =>
      (input * prices[tier].input + outputTokens(answer) * prices[tier].output) / 1e6;
    return { small: price('small', x.weakAnswer), large: price('large', x.strongAnswer) };
  });
  const allLarge = cost.reduce((s, c) => s + c.large, 0);
  const row = (label: string, large: readonly boolean[], extraCost = 0, quality?: number): CurveRow => {
    const point = scoreRouting(items, large);
    const spent = cost.reduce((s, c, i) => s + (large[i] ? c.large : c.small), 0) + extraCost;
    return {
      label,
      ...(quality !== undefined ? { setting: quality } : {}),
      ...point,
      aboveRandom: point.pgr - point.largeShare,
      saving: allLarge ? 1 - spent / allLarge : 0,
    };
  };
  const at = (q: number) => items.map((_, i) => !rulesSmall[i] && scores[i]! < q);

  const qualities = [...new Set([...CURVE_QUALITIES, learned.quality])].sort((a, b) => a - b);
  const rows = qualities.map((q) => row(`quality ${q}${q === learned.quality ? ' (default)' : ''}`, at(q), 0, q));
  const defaultRow = rows.find((r) => r.setting === learned.quality)!;

  // The curve's fast path must be the router's decision: check every prompt at the default.
  const expected = at(learned.quality);
  for (let i = 0; i < items.length; i++) {
    const d = await router.decide(ask(items[i]!.prompt));
    if ((d.tier === 'large') !== expected[i])
      throw new Error(
        `${name} item ${i}: router said ${d.tier}, the curve's fast path ${expected[i] ? 'large' : 'small'}`,
      );
  }

  const oldDefault = createRouter({ strategies: [rulesStrategy()], lowConfidence: 'large' });
  const oldLarge: boolean[] = [];
  for (const x of items) oldLarge.push((await oldDefault.decide(ask(x.prompt))).tier === 'large');
  const others = [
    row('old default: rules, low confidence → large', oldLarge),
    row(
      'rules alone (no confidence bar)',
      rulesDecisions.map((d) => d.tier === 'large'),
    ),
  ];

  // The cascade, where the small model's published answer lets the gate be judged: small
  // first, large when the gate fails the answer; both calls are paid.
  if (items.every((x) => x.weakAnswer !== undefined)) {
    const escalated = items.map(
      (x) => !qualityGate({}, { choices: [{ finish_reason: 'stop', message: { content: x.weakAnswer! } }] }).pass,
    );
    const extra = cost.reduce((s, c, i) => s + (escalated[i] ? c.small : 0), 0);
    others.push(
      row(
        `cascade on everything (gate escalated ${escalated.filter(Boolean).length} of ${items.length})`,
        escalated,
        extra,
      ),
    );
    const learnedLarge = at(learned.quality);
    const both = items.map((_, i) => learnedLarge[i]! || escalated[i]!);
    const extraBoth = cost.reduce((s, c, i) => s + (!learnedLarge[i] && escalated[i] ? c.small : 0), 0);
    others.push(row(`default router + cascade on its small decisions`, both, extraBoth));
  }

  return {
    name,
    n: items.length,
    weakQuality: items.reduce((s, x) => s + x.weak, 0) / items.length,
    strongQuality: items.reduce((s, x) => s + x.strong, 0) / items.length,
    rulesSmallShare: rulesSmall.filter(Boolean).length / items.length,
    scoreArea: areaUnderCurve(
      scoreCurve(
        items,
        scores,
        Array.from({ length: 19 }, (_, k) => (k + 1) / 20),
      ),
    ),
    rows,
    defaultRow,
    others,
    checkedPrompts: items.length,
  };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const pts = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}`;

/** A markdown table of one set. */
export function formatSet(r: SetReport): string {
  const q = (x: number) => (r.weakQuality > 1 ? x.toFixed(2) : pct(x));
  const lines = [
    `### ${r.name} (${r.n} prompts; small model ${q(r.weakQuality)}, large model ${q(r.strongQuality)})`,
    '',
    `The rules decide ${pct(r.rulesSmallShare)} of these prompts confidently small; the learned router decides the rest at the quality setting. The learned score alone ranks the set with an area under its PGR curve of ${r.scoreArea.toFixed(3)} (a random order: 0.5).`,
    '',
    '| router | to large | PGR | random router at that share | PGR − random (points) | quality | saving vs all-large |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...[...r.rows, ...r.others].map(
      (x) =>
        `| ${x === r.defaultRow ? `**${x.label}**` : x.label} | ${pct(x.largeShare)} | ${pct(x.pgr)} | ${pct(x.largeShare)} | ${pts(x.aboveRandom)} | ${q(x.quality)} | ${pct(x.saving)} |`,
    ),
  ];
  return lines.join('\n');
}

/** An SVG chart: one panel per set, PGR against the share sent large, with the random diagonal. */
export function curveSvg(reports: readonly SetReport[]): string {
  const w = 300;
  const h = 300;
  const pad = 40;
  const parts: string[] = [];
  reports.forEach((r, k) => {
    const ox = k * (w + 20);
    const x = (s: number) => ox + pad + s * (w - pad - 10);
    const allPgr = [...r.rows, ...r.others].map((p) => p.pgr);
    const yMin = Math.min(0, ...allPgr);
    const yMax = Math.max(1, ...allPgr);
    const y = (p: number) => h - pad - ((p - yMin) / (yMax - yMin)) * (h - pad - 30);
    parts.push(
      `<text x="${ox + w / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">${escapeXml(r.name)}</text>`,
    );
    parts.push(
      `<line x1="${x(0)}" y1="${y(yMin)}" x2="${x(1)}" y2="${y(yMin)}" stroke="#333"/><line x1="${x(0)}" y1="${y(yMin)}" x2="${x(0)}" y2="${y(yMax)}" stroke="#333"/>`,
    );
    for (const t of [0, 0.25, 0.5, 0.75, 1]) {
      parts.push(`<text x="${x(t)}" y="${h - pad + 14}" text-anchor="middle" font-size="10">${t * 100}%</text>`);
      parts.push(`<text x="${x(0) - 4}" y="${y(t) + 3}" text-anchor="end" font-size="10">${t * 100}%</text>`);
    }
    parts.push(`<text x="${ox + w / 2}" y="${h - 8}" text-anchor="middle" font-size="11">share sent to large</text>`);
    parts.push(
      `<text x="${ox + 10}" y="${h / 2}" font-size="11" transform="rotate(-90 ${ox + 10} ${h / 2})" text-anchor="middle">quality gap recovered (PGR)</text>`,
    );
    parts.push(`<line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#999" stroke-dasharray="4 3"/>`);
    const curve = [...r.rows].sort((a, b) => a.largeShare - b.largeShare);
    parts.push(
      `<polyline fill="none" stroke="#1f6feb" stroke-width="2" points="${curve.map((p) => `${x(p.largeShare).toFixed(1)},${y(p.pgr).toFixed(1)}`).join(' ')}"/>`,
    );
    for (const p of curve)
      parts.push(
        `<circle cx="${x(p.largeShare).toFixed(1)}" cy="${y(p.pgr).toFixed(1)}" r="${p === r.defaultRow ? 5 : 2.5}" fill="${p === r.defaultRow ? '#d73a49' : '#1f6feb'}"/>`,
      );
    const old = r.others[0]!;
    parts.push(
      `<rect x="${(x(old.largeShare) - 4).toFixed(1)}" y="${(y(old.pgr) - 4).toFixed(1)}" width="8" height="8" fill="#6a737d"/>`,
    );
    const cascade = r.others.find((o) => o.label.startsWith('cascade'));
    if (cascade)
      parts.push(
        `<path d="M ${x(cascade.largeShare).toFixed(1)} ${(y(cascade.pgr) - 5).toFixed(1)} l 5 9 l -10 0 z" fill="#2da44e"/>`,
      );
  });
  const width = reports.length * (w + 20);
  const legendY = h + 14;
  parts.push(
    `<line x1="20" y1="${legendY}" x2="40" y2="${legendY}" stroke="#1f6feb" stroke-width="2"/><text x="44" y="${legendY + 4}" font-size="11">rules → learned at quality settings</text>`,
  );
  parts.push(
    `<circle cx="250" cy="${legendY}" r="5" fill="#d73a49"/><text x="258" y="${legendY + 4}" font-size="11">default setting</text>`,
  );
  parts.push(
    `<rect x="360" y="${legendY - 4}" width="8" height="8" fill="#6a737d"/><text x="372" y="${legendY + 4}" font-size="11">old default (rules, unsure → large)</text>`,
  );
  parts.push(
    `<path d="M 590 ${legendY - 5} l 5 9 l -10 0 z" fill="#2da44e"/><text x="600" y="${legendY + 4}" font-size="11">cascade (where the gate can be judged)</text>`,
  );
  parts.push(
    `<line x1="820" y1="${legendY}" x2="840" y2="${legendY}" stroke="#999" stroke-dasharray="4 3"/><text x="844" y="${legendY + 4}" font-size="11">random router</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${h + 30}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>${parts.join('')}</svg>\n`;
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
