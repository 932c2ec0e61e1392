import { readFileSync } from 'node:fs';
import { InvalidRoutingOptionsError } from '../errors.ts';
import { DENSE_FEATURES, denseFeatures, hashedNgrams, standardise, tokens } from './text-features.ts';

/** One logistic head: sparse n-gram weights, dense weights, bias. */
export interface LogisticHead {
  /**
   * One weight per hash bucket, quantised: little-endian int16 values, base64, each times
   * `scale` (the largest weight maps to ±32767, so the rounding error is below scale / 2).
   */
  ngramWeights: { scale: number; int16: string };
  denseWeights: number[];
  bias: number;
}

/**
 * A trained learned-router model as shipped in `learned-model.json`. Two logistic regressions
 * over hashed word n-grams and standardised dense shape features: one predicts P(the large
 * model's answer is better), the other P(the small model's is better); their difference, the
 * expected gain of sending the prompt large, is mapped by Platt scaling (fitted on
 * out-of-fold predictions) to a calibrated P(large needed), whose complement is P(small
 * suffices). Derived from public data by `build-model.ts`; no text of that data is in it.
 */
export interface LearnedModelFile {
  /** File format version. */
  format: 1;
  /** Bits of the n-gram hash (2^hashBits buckets). */
  hashBits: number;
  /** Dense feature names (must match {@link DENSE_FEATURES}) and their standardisation. */
  dense: { names: string[]; mean: number[]; std: number[] };
  heads: { largeBetter: LogisticHead; smallBetter: LogisticHead };
  /**
   * How much the rules' complexity points (clipped to [min, max]) add to the expected gain
   * before calibration: score = g + weight · points.
   */
  rules: { weight: number; min: number; max: number };
  /** Platt scaling of the score s: P(large needed) = σ(a·s + b). */
  calibration: { a: number; b: number };
  /**
   * The quality setting the model ships with: a request goes small when P(small suffices) is
   * at least this. Picked on the training data only (see `build-model.ts`).
   */
  defaultQuality: number;
  /** Where the weights come from, for the report. */
  trainedOn: { sources: string[]; subset: string; examples: number; builtAt: string; notes: string[] };
}

/** A loaded model, ready to score. */
export interface LearnedModel {
  readonly file: LearnedModelFile;
  /**
   * P(small suffices) of a prompt, calibrated on the training data: 1 − P(large needed).
   * `rulesPoints`: the rules' complexity points of the request (`complexityOf(request).points`).
   */
  smallSuffices(text: string, rulesPoints: number): number;
}

/** Check a model file's shape; the message names the bad field. */
export function validateModelFile(file: unknown): LearnedModelFile {
  const f = file as Partial<LearnedModelFile> | null;
  const fail = (what: string): never => {
    throw new InvalidRoutingOptionsError(`Invalid learned routing model: ${what}`);
  };
  if (!f || typeof f !== 'object') return fail('expected a JSON object');
  if (f.format !== 1) fail(`expected \`format\` 1, got \`${String(f.format)}\``);
  const bits = f.hashBits!;
  if (!Number.isInteger(bits) || bits < 8 || bits > 24)
    fail(`expected \`hashBits\` to be an integer 8..24, got \`${String(bits)}\``);
  const d = f.dense;
  if (!d || JSON.stringify(d.names) !== JSON.stringify(DENSE_FEATURES))
    fail(`expected \`dense.names\` to be ${JSON.stringify(DENSE_FEATURES)}`);
  const numbers = (x: unknown, what: string) => {
    if (!Array.isArray(x) || x.length !== DENSE_FEATURES.length || x.some((v) => !Number.isFinite(v)))
      fail(`expected \`${what}\` to be ${DENSE_FEATURES.length} finite numbers`);
  };
  numbers(d!.mean, 'dense.mean');
  numbers(d!.std, 'dense.std');
  if (d!.std.some((v) => !(v > 0))) fail('expected `dense.std` to be positive');
  for (const name of ['largeBetter', 'smallBetter'] as const) {
    const h = f.heads?.[name];
    if (!h) return fail(`expected \`heads.${name}\``);
    const w = h.ngramWeights;
    if (
      !w ||
      !Number.isFinite(w.scale) ||
      typeof w.int16 !== 'string' ||
      Buffer.from(w.int16, 'base64').length !== 2 * 2 ** bits
    )
      fail(`expected \`heads.${name}.ngramWeights\` to be { scale, int16 } with ${2 ** bits} base64 int16 weights`);
    numbers(h.denseWeights, `heads.${name}.denseWeights`);
    if (!Number.isFinite(h.bias)) fail(`expected \`heads.${name}.bias\` to be a finite number`);
  }
  if (
    !f.rules ||
    !Number.isFinite(f.rules.weight) ||
    !Number.isFinite(f.rules.min) ||
    !Number.isFinite(f.rules.max) ||
    f.rules.min > f.rules.max
  )
    fail('expected `rules` to be { weight, min ≤ max } finite numbers');
  if (!f.calibration || !Number.isFinite(f.calibration.a) || !Number.isFinite(f.calibration.b))
    fail('expected `calibration` to be { a, b } finite numbers');
  if (typeof f.defaultQuality !== 'number' || !(f.defaultQuality >= 0 && f.defaultQuality <= 1))
    fail(`expected \`defaultQuality\` in [0, 1], got \`${String(f.defaultQuality)}\``);
  return f as LearnedModelFile;
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** A head ready to score: dense weight vector over the hash buckets. */
export interface ScoringHead {
  weights: Float64Array;
  denseWeights: readonly number[];
  bias: number;
}

/** The expected gain g = P(large better) − P(small better) of a text under two heads. */
export function expectedGain(
  heads: readonly [ScoringHead, ScoringHead],
  file: Pick<LearnedModelFile, 'hashBits' | 'dense'>,
  text: string,
): number {
  const toks = tokens(text);
  const grams = hashedNgrams(toks, file.hashBits);
  const dense = denseFeatures(text, toks).map((x, i) => standardise(x, file.dense.mean[i]!, file.dense.std[i]!));
  const p = heads.map((head) => {
    let z = head.bias;
    for (const [index, value] of grams) z += head.weights[index]! * value;
    for (let i = 0; i < dense.length; i++) z += head.denseWeights[i]! * dense[i]!;
    return sigmoid(z);
  });
  return p[0]! - p[1]!;
}

function scoringHead(head: LogisticHead, hashBits: number): ScoringHead {
  const weights = new Float64Array(2 ** hashBits);
  const bytes = Buffer.from(head.ngramWeights.int16, 'base64');
  for (let i = 0; i < weights.length; i++) weights[i] = bytes.readInt16LE(2 * i) * head.ngramWeights.scale;
  return { weights, denseWeights: head.denseWeights, bias: head.bias };
}

/** The score calibrated into P(large needed): the expected gain plus the weighted, clipped rules points. */
export function combinedScore(file: Pick<LearnedModelFile, 'rules'>, gain: number, rulesPoints: number): number {
  const points = Number.isFinite(rulesPoints) ? Math.max(file.rules.min, Math.min(file.rules.max, rulesPoints)) : 0;
  return gain + file.rules.weight * points;
}

/** Quantise n-gram weights for {@link LogisticHead.ngramWeights}. */
export function quantiseWeights(weights: Float64Array): LogisticHead['ngramWeights'] {
  const max = weights.reduce((m, w) => Math.max(m, Math.abs(w)), 0);
  const scale = max > 0 ? max / 32767 : 1;
  const bytes = Buffer.alloc(2 * weights.length);
  weights.forEach((w, i) => bytes.writeInt16LE(Math.round(w / scale), 2 * i));
  return { scale: Number(scale.toPrecision(8)), int16: bytes.toString('base64') };
}

/** Load a model from its file contents (validated). */
export function createLearnedModel(file: unknown): LearnedModel {
  const valid = validateModelFile(file);
  const heads = [
    scoringHead(valid.heads.largeBetter, valid.hashBits),
    scoringHead(valid.heads.smallBetter, valid.hashBits),
  ] as const;
  const { a, b } = valid.calibration;
  return {
    file: valid,
    smallSuffices: (text, rulesPoints) =>
      1 - sigmoid(a * combinedScore(valid, expectedGain(heads, valid, text), rulesPoints) + b),
  };
}

let shipped: LearnedModel | undefined;

/** The model shipped with this package (`src/learned/learned-model.json`), loaded once per process. */
export function shippedLearnedModel(): LearnedModel {
  shipped ??= createLearnedModel(JSON.parse(readFileSync(new URL('./learned-model.json', import.meta.url), 'utf8')));
  return shipped;
}
