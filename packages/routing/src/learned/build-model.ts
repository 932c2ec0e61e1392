/**
 * Builds `learned-model.json`, the learned router's weights:
 * `pnpm exec tsx packages/routing/src/learned/build-model.ts --routellm ~/.cache/sluice/eval-data/routellm`.
 *
 * Training data, and nothing else:
 * - RouteLLM's per-prompt MMLU results (lm-sys/RouteLLM `routellm/evals/mmlu/responses/`, see
 *   `routellm-data.ts`) of the domains whose names begin with a–h, contaminated prompts
 *   dropped. MMLU i–z, GSM8K and MT-Bench are the test sets: never read here.
 * - With `--arena DIR` only (not in the shipped model): Arena-Bench v1's judge scores of the
 *   same two models on 300 open-ended Chatbot Arena prompts (lmarena/arena-hard-auto at
 *   `ARENA_BENCH_COMMIT`, see `arena-data.ts`), minus any prompt sharing a word 8-gram with a
 *   test prompt. Tried and left out: out of fold the model ranked them no better than random
 *   (area 0.505) and MMLU a–h's PGR at the default fell from 63.6 % to 59.8 %.
 * - The project's own labelled set `eval/prompts.json` (the rules were tuned on it; its tiers
 *   teach the model what open-ended complex work looks like, which multiple-choice questions
 *   cannot). `eval/holdout.json` is never read here.
 *
 * A training domain where the strong model scores below chance (a quarter, four options) is
 * dropped as mis-graded: `high_school_mathematics`, where GPT-4-1106 is marked right on 8 of
 * 270 questions, and which would teach "mathematics → the small model is better".
 *
 * Hyper-parameters and the default quality are picked on out-of-fold predictions: MMLU a–h
 * split by domain (5 folds, so every score is of a domain the model never saw, as the test
 * domains are), `prompts.json` by position. The rules-points weight and the default's share
 * of MMLU a–h sent large are chosen together on a grid ({@link WEIGHT_GRID} ×
 * {@link SHARE_GRID}): among the points where each half of the training domains, quantitative
 * ({@link QUANTITATIVE}) and the rest, sends at most {@link MAX_GROUP_SHARE} large and
 * `prompts.json` sends at most 5 % of its complex prompts small, the one whose worse half
 * recovers the most gap above a random router. A test set is one unseen mix of prompts; the
 * spread between the two halves is what the share and gain move by on such a mix. The
 * default quality is the setting at which the shipped router (rules decide what they are
 * confident is simple, the model the rest) sends that share of MMLU a–h large.
 *
 * A command-line entry point: writes the file and prints the tuning figures.
 */
import { writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { evalMessages, loadEvalSet } from '../evaluation.ts';
import { latestUserText } from '../features.ts';
import { complexityOf, rulesStrategy } from '../rules.ts';
import { areaUnderCurve, rocAuc, scoreCurve, scoreRouting } from './curve.ts';
import { expectedGain, quantiseWeights, type LearnedModelFile, type LogisticHead, type ScoringHead } from './model.ts';
import { ARENA_BENCH_COMMIT, loadArenaBench } from './arena-data.ts';
import { isTrainingDomain, loadRouteLlm, ROUTELLM_COMMIT } from './routellm-data.ts';
import { fitPlatt, trainLogistic, type TrainedWeights, type TrainingExample, type TrainOptions } from './train.ts';

/** Rules-points weights tried. */
export const WEIGHT_GRID = [0, 0.01, 0.02, 0.05] as const;
/** Shares of MMLU a–h prompts sent large tried for the default. */
export const SHARE_GRID = [0.3, 0.35, 0.4, 0.45, 0.5, 0.55] as const;
/** Most either half of the training domains may send large at the default (the target is 60 % on each test set; 5 points of margin). */
export const MAX_GROUP_SHARE = 0.55;
/** Training domains counted as quantitative (calculation or formal reasoning) for the choice of the default. */
export const QUANTITATIVE = /mathematics|algebra|statistics|physics|chemistry|econometrics|electrical|computer_science/;
/** Below this strong-model accuracy a training domain is taken as mis-graded (four options: chance). */
const MIN_STRONG_ACCURACY = 0.25;
/** Times each `prompts.json` item is repeated in the training data (picked on the folds: 3 kept both figures best of 0, 3, 10). */
const OWN_WEIGHT = 3;
/** Times each Arena-Bench prompt is repeated (as prompts.json: a small set of a kind MMLU lacks). */
const ARENA_WEIGHT = 3;
const TRAIN: TrainOptions = { hashBits: 15, l2: 1e-5, epochs: 10, learningRate: 0.02, seed: 1 };
const FOLDS = 5;

const { values } = parseArgs({
  options: {
    routellm: { type: 'string', default: join(homedir(), '.cache', 'sluice', 'eval-data', 'routellm') },
    arena: { type: 'string' },
    out: { type: 'string', default: new URL('./learned-model.json', import.meta.url).pathname },
  },
});

interface Row {
  text: string;
  /** Large better / small better (MMLU: correctness; prompts.json: tier large / neither). */
  largeBetter: 0 | 1;
  smallBetter: 0 | 1;
  fold: number;
  weight: number;
  weak: number;
  strong: number;
  source: 'mmlu' | 'own' | 'arena';
  domain?: string;
  ownTier?: 'small' | 'large';
}

const data = loadRouteLlm(values.routellm!);
// Test prompts, read only to keep them out of the Arena-Bench training rows.
const testPrompts = [...data.mmlu.filter((x) => !isTrainingDomain(x.domain)), ...data.gsm8k, ...data.mtBench]
  .map((x) => x.prompt)
  .concat(loadEvalSet('holdout').map((i) => latestUserText({ messages: evalMessages(i) })));
const arena = values.arena ? loadArenaBench(values.arena, testPrompts) : { items: [], dropped: 0 };
if (values.arena)
  console.error(`Arena-Bench: ${arena.items.length} prompts, ${arena.dropped} dropped as overlapping a test prompt`);
const trainingMmlu = data.mmlu.filter((x) => isTrainingDomain(x.domain));
const misGraded = [...new Set(trainingMmlu.map((x) => x.domain))].filter((d) => {
  const xs = trainingMmlu.filter((x) => x.domain === d);
  return xs.reduce((s, x) => s + x.strong, 0) / xs.length < MIN_STRONG_ACCURACY;
});
console.error(`dropped as mis-graded (strong model below chance): ${misGraded.join(', ') || 'none'}`);
const mmlu = trainingMmlu.filter((x) => !misGraded.includes(x.domain));
const domains = [...new Set(mmlu.map((x) => x.domain))].sort();
const rows: Row[] = [
  ...mmlu.map((x): Row => ({
    text: x.prompt,
    largeBetter: x.strong > x.weak ? 1 : 0,
    smallBetter: x.weak > x.strong ? 1 : 0,
    fold: domains.indexOf(x.domain) % FOLDS,
    weight: 1,
    weak: x.weak,
    strong: x.strong,
    source: 'mmlu',
    domain: x.domain,
  })),
  ...loadEvalSet('prompts').map((item, i): Row => ({
    text: latestUserText({ messages: evalMessages(item) }),
    largeBetter: item.tier === 'large' ? 1 : 0,
    smallBetter: 0,
    fold: i % FOLDS,
    weight: OWN_WEIGHT,
    weak: item.tier === 'large' ? 0 : 1,
    strong: 1,
    source: 'own',
    ownTier: item.tier,
  })),
  ...arena.items.map((x, i): Row => ({
    text: x.prompt,
    largeBetter: x.strong > x.weak ? 1 : 0,
    smallBetter: x.weak > x.strong ? 1 : 0,
    fold: i % FOLDS,
    weight: ARENA_WEIGHT,
    weak: x.weak,
    strong: x.strong,
    source: 'arena',
  })),
];

const examples = (subset: readonly Row[], head: 'largeBetter' | 'smallBetter'): TrainingExample[] =>
  subset.flatMap((r) => Array.from({ length: r.weight }, () => ({ text: r.text, label: r[head] })));
const scoring = (w: TrainedWeights): ScoringHead => ({
  weights: w.weights,
  denseWeights: w.dense.weights,
  bias: w.bias,
});
function trainHeads(subset: readonly Row[]) {
  const large = trainLogistic(examples(subset, 'largeBetter'), TRAIN);
  const small = trainLogistic(examples(subset, 'smallBetter'), TRAIN);
  return { large, small, gain: (text: string) => expectedGain([scoring(large), scoring(small)], large, text) };
}

// Out-of-fold expected gains.
const gain = new Array<number>(rows.length);
for (let f = 0; f < FOLDS; f++) {
  const heads = trainHeads(rows.filter((r) => r.fold !== f));
  rows.forEach((r, i) => {
    if (r.fold === f) gain[i] = heads.gain(r.text);
  });
  console.error(`fold ${f + 1}/${FOLDS} done`);
}
// The shipped composition: the rules' confident "small" stands, the model decides the rest.
const rules = rulesStrategy({ lengthIsEvidence: false });
const rulesSmall = rows.map((r) => {
  const d = rules.decide({ request: { model: 'auto', messages: [{ role: 'user', content: r.text }] } });
  return d.tier === 'small' && d.confidence >= 0.7;
});
const points = rows.map((r) => complexityOf({ model: 'auto', messages: [{ role: 'user', content: r.text }] }).points);
const isMmlu = rows.map((r) => r.source === 'mmlu');
const mmluIdx = rows.map((_, i) => i).filter((i) => isMmlu[i]);
const ownIdx = rows.map((_, i) => i).filter((i) => rows[i]!.source === 'own');
const arenaIdx = rows.map((_, i) => i).filter((i) => rows[i]!.source === 'arena');
const ownComplex = ownIdx.filter((i) => rows[i]!.ownTier === 'large');
const ownSimple = ownIdx.filter((i) => rows[i]!.ownTier === 'small');

/** Decisions when the `share` of MMLU a–h prompts with the highest scores that the rules leave open go large. */
function atShare(score: readonly number[], share: number): boolean[] {
  const open = mmluIdx
    .filter((i) => !rulesSmall[i])
    .map((i) => score[i]!)
    .sort((a, b) => b - a);
  const threshold = open[Math.max(0, Math.round(share * mmluIdx.length) - 1)]!;
  return rows.map((_, i) => !rulesSmall[i] && score[i]! >= threshold);
}

// The rules' points on MMLU a–h rank worse than random (area under the PGR curve 0.44 out of
// fold), but they are what marks open-ended complex work in prompts.json, which MMLU lacks.
const RULES_CLIP = { min: -1.5, max: 4 };
const clip = (p: number) => Math.max(RULES_CLIP.min, Math.min(RULES_CLIP.max, p));
const quantIdx = mmluIdx.filter((i) => QUANTITATIVE.test(rows[i]!.domain!));
const restIdx = mmluIdx.filter((i) => !QUANTITATIVE.test(rows[i]!.domain!));
const pointOf = (idx: readonly number[], large: readonly boolean[]) =>
  scoreRouting(
    idx.map((i) => rows[i]!),
    idx.map((i) => large[i]!),
  );
let best: { weight: number; share: number; worst: number } | undefined;
const weightNotes: string[] = [];
for (const w of WEIGHT_GRID) {
  for (const share of SHARE_GRID) {
    const large = atShare(
      gain.map((g, i) => g + w * clip(points[i]!)),
      share,
    );
    const missed = ownComplex.filter((i) => !large[i]).length;
    const all = pointOf(mmluIdx, large);
    const halves = [pointOf(quantIdx, large), pointOf(restIdx, large)];
    const ok = halves.every((h) => h.largeShare <= MAX_GROUP_SHARE) && missed / ownComplex.length <= 0.05;
    const worst = Math.min(...halves.map((h) => h.pgr - h.largeShare));
    const f = (p: { largeShare: number; pgr: number }) =>
      `${(p.largeShare * 100).toFixed(1)}% large, ${((p.pgr - p.largeShare) * 100).toFixed(1)} points above random`;
    weightNotes.push(
      `rules weight ${w}, share ${share}: MMLU a–h ${f(all)}; quantitative domains ${f(halves[0]!)}; the rest ${f(halves[1]!)}; prompts.json complex → small ${missed}/${ownComplex.length}${ok ? '' : ' (out of bounds)'}`,
    );
    if (ok && (!best || worst > best.worst)) best = { weight: w, share, worst };
  }
}
for (const n of weightNotes) console.error(n);
if (!best) throw new Error('No point of the grid meets the bounds');
const rulesWeight = best.weight;
const DEFAULT_LARGE_SHARE = best.share;
console.error(`chosen: rules weight ${rulesWeight}, share ${DEFAULT_LARGE_SHARE}`);
const combined = gain.map((g, i) => g + rulesWeight * clip(points[i]!));
const calibration = fitPlatt(
  combined,
  rows.map((r) => r.largeBetter),
);
const smallSuffices = combined.map((s) => 1 - 1 / (1 + Math.exp(-(calibration.a * s + calibration.b))));

const route = (q: number) => rows.map((_, i) => !rulesSmall[i] && smallSuffices[i]! < q);
let lo = 0;
let hi = 1;
for (let it = 0; it < 50; it++) {
  const mid = (lo + hi) / 2;
  const large = route(mid);
  const share = large.filter((l, i) => l && isMmlu[i]).length / mmluIdx.length;
  if (share < DEFAULT_LARGE_SHARE) lo = mid;
  else hi = mid;
}
const defaultQuality = Math.round(hi * 1000) / 1000;
const atDefault = route(defaultQuality);
const mmluPoint = scoreRouting(
  mmluIdx.map((i) => rows[i]!),
  mmluIdx.map((i) => atDefault[i]!),
);
const scorerCurve = scoreCurve(
  mmluIdx.map((i) => rows[i]!),
  mmluIdx.map((i) => smallSuffices[i]!),
  [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
);
function arenaNote(): string[] {
  if (!arenaIdx.length) return [];
  const curve = scoreCurve(
    arenaIdx.map((i) => rows[i]!),
    arenaIdx.map((i) => smallSuffices[i]!),
    [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
  );
  const point = scoreRouting(
    arenaIdx.map((i) => rows[i]!),
    arenaIdx.map((i) => atDefault[i]!),
  );
  return [
    `Arena-Bench out of fold (${FOLDS} folds): area under the PGR curve ${areaUnderCurve(curve).toFixed(3)}; at the default ${(point.largeShare * 100).toFixed(1)}% large, PGR ${(point.pgr * 100).toFixed(1)}%`,
  ];
}
const notes = [
  ...arenaNote(),
  ...(misGraded.length ? [`dropped as mis-graded (strong model below chance): ${misGraded.join(', ')}`] : []),
  `out-of-fold grid (${WEIGHT_GRID.length} rules weights × ${SHARE_GRID.length} shares), the points within bounds follow`,
  ...weightNotes.filter((n) => !n.endsWith('(out of bounds)')).map((n) => `out-of-fold, ${n}`),
  `chosen on the grid: rules weight ${rulesWeight}, MMLU a–h share ${DEFAULT_LARGE_SHARE} (each half ≤ ${Math.round(MAX_GROUP_SHARE * 100)} % large, prompts.json complex → small ≤ 5 %, best worse half)`,
  `out-of-fold (MMLU a–h by domain, ${FOLDS} folds): AUC of P(large better) ${rocAuc(
    gain.filter((_, i) => isMmlu[i]),
    mmluIdx.map((i) => rows[i]!.largeBetter),
  ).toFixed(3)}, area under the PGR curve ${areaUnderCurve(scorerCurve).toFixed(3)} (random 0.5)`,
  `out-of-fold at the default quality ${defaultQuality}: MMLU a–h ${(mmluPoint.largeShare * 100).toFixed(1)}% large, PGR ${(mmluPoint.pgr * 100).toFixed(1)}%; prompts.json complex → small ${ownComplex.filter((i) => !atDefault[i]).length}/${ownComplex.length}, simple → small ${ownSimple.filter((i) => !atDefault[i]).length}/${ownSimple.length}`,
];
for (const n of notes) console.error(n);

// The shipped weights: trained on all the training rows.
const final = trainHeads(rows);
const head = (w: TrainedWeights): LogisticHead => ({
  ngramWeights: quantiseWeights(w.weights),
  denseWeights: w.dense.weights.map((x) => Number(x.toPrecision(4))),
  bias: Number(w.bias.toPrecision(6)),
});
const file: LearnedModelFile = {
  format: 1,
  hashBits: TRAIN.hashBits!,
  dense: {
    names: final.large.dense.names,
    mean: final.large.dense.mean.map((x) => Number(x.toPrecision(6))),
    std: final.large.dense.std.map((x) => Number(x.toPrecision(6))),
  },
  heads: { largeBetter: head(final.large), smallBetter: head(final.small) },
  rules: { weight: rulesWeight, ...RULES_CLIP },
  calibration: { a: Number(calibration.a.toPrecision(6)), b: Number(calibration.b.toPrecision(6)) },
  defaultQuality,
  trainedOn: {
    sources: [
      `github.com/lm-sys/RouteLLM@${ROUTELLM_COMMIT} routellm/evals/mmlu/responses/mmlu_[a-h]*.csv (contaminated_prompts.jsonl dropped)`,
      ...(arenaIdx.length
        ? [
            `github.com/lmarena/arena-hard-auto@${ARENA_BENCH_COMMIT} data/arena-bench-v1/{question.jsonl, model_judgment/Mixtral-8x7B-Instruct-v0.1.jsonl, model_judgment/gpt-4-turbo.jsonl} (${arena.dropped} prompts overlapping a test prompt dropped)`,
          ]
        : []),
      'packages/routing/eval/prompts.json',
    ],
    subset: `MMLU domains a–h (${domains.length} domains${misGraded.length ? `, ${misGraded.join(', ')} dropped as mis-graded` : ''}, ${mmlu.length} questions; label: GPT-4-1106 right where Mixtral-8x7B was wrong, and the reverse) ${arenaIdx.length ? ` + Arena-Bench v1 (${arena.items.length} prompts ×${ARENA_WEIGHT}; label: judge score of gpt-4-1106 above Mixtral's, and the reverse)` : ''} + prompts.json (${ownIdx.length} prompts ×${OWN_WEIGHT}; label: tier large)`,
    examples: rows.reduce((s, r) => s + r.weight, 0),
    builtAt: new Date().toISOString().slice(0, 10),
    notes,
  },
};
writeFileSync(values.out!, `${JSON.stringify(file)}\n`);
console.error(`wrote ${values.out} (2 × ${2 ** file.hashBits} n-gram weights)`);
