import { DENSE_FEATURES, denseFeatures, hashedNgrams, standardise, tokens } from './text-features.ts';

/** One training example: a prompt and whether the large model's answer was better than the small one's. */
export interface TrainingExample {
  text: string;
  /** 1: the large model was needed (it was right where the small one was wrong); 0: small sufficed. */
  label: 0 | 1;
}

/** Options of {@link trainLogistic}. */
export interface TrainOptions {
  /** @defaultValue 15 */
  hashBits?: number;
  /** L2 penalty per example on the n-gram weights. @defaultValue 1e-4 */
  l2?: number;
  /** Passes over the data. @defaultValue 20 */
  epochs?: number;
  /** Adam step size. @defaultValue 0.02 */
  learningRate?: number;
  /** Seed of the shuffling. @defaultValue 1 */
  seed?: number;
}

/** What {@link trainLogistic} returns: the model's weights, before calibration. */
export interface TrainedWeights {
  hashBits: number;
  /** One weight per hash bucket. */
  weights: Float64Array;
  /** Dense feature names, standardisation and weights. */
  dense: { names: string[]; mean: number[]; std: number[]; weights: number[] };
  bias: number;
}

interface Vector {
  sparse: [number, number][];
  dense: number[];
}

/** A small deterministic PRNG (mulberry32), so a rebuild gives the same weights. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function vectorize(text: string, hashBits: number): Vector {
  const toks = tokens(text);
  return { sparse: [...hashedNgrams(toks, hashBits)], dense: denseFeatures(text, toks) };
}

/**
 * Train a logistic regression (mini-batch Adam, L2 on the n-gram weights) predicting the label
 * from hashed n-grams and standardised dense features.
 */
export function trainLogistic(examples: readonly TrainingExample[], options: TrainOptions = {}): TrainedWeights {
  const hashBits = options.hashBits ?? 15;
  const l2 = options.l2 ?? 1e-4;
  const epochs = options.epochs ?? 20;
  const lr = options.learningRate ?? 0.02;
  const random = mulberry32(options.seed ?? 1);
  if (!examples.length) throw new Error('trainLogistic needs at least one example');
  const vectors = examples.map((e) => vectorize(e.text, hashBits));
  const nd = DENSE_FEATURES.length;
  const mean = new Array<number>(nd).fill(0);
  const std = new Array<number>(nd).fill(0);
  for (const v of vectors) v.dense.forEach((x, i) => (mean[i]! += x / vectors.length));
  for (const v of vectors) v.dense.forEach((x, i) => (std[i]! += (x - mean[i]!) ** 2 / vectors.length));
  // A feature that does not vary in the data gets std 1, not a rounding residue that would
  // blow up any text where it does vary.
  for (let i = 0; i < nd; i++) std[i] = std[i]! > 1e-12 ? Math.sqrt(std[i]!) : 1;
  for (const v of vectors) v.dense = v.dense.map((x, i) => standardise(x, mean[i]!, std[i]!));

  const size = 2 ** hashBits;
  // Parameters: n-gram weights, then dense weights, then the bias.
  const p = new Float64Array(size + nd + 1);
  const m = new Float64Array(p.length);
  const s = new Float64Array(p.length);
  const positives = examples.filter((e) => e.label === 1).length;
  const prior = Math.min(0.99, Math.max(0.01, positives / examples.length));
  p[size + nd] = Math.log(prior / (1 - prior));
  const order = examples.map((_, i) => i);
  const batch = 32;
  const beta1 = 0.9;
  const beta2 = 0.999;
  let t = 0;
  const grad = new Map<number, number>();
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (let start = 0; start < order.length; start += batch) {
      grad.clear();
      const end = Math.min(order.length, start + batch);
      for (let k = start; k < end; k++) {
        const idx = order[k]!;
        const v = vectors[idx]!;
        let z = p[size + nd]!;
        for (const [index, value] of v.sparse) z += p[index]! * value;
        for (let i = 0; i < nd; i++) z += p[size + i]! * v.dense[i]!;
        const err = 1 / (1 + Math.exp(-z)) - examples[idx]!.label;
        for (const [index, value] of v.sparse) grad.set(index, (grad.get(index) ?? 0) + err * value);
        for (let i = 0; i < nd; i++) grad.set(size + i, (grad.get(size + i) ?? 0) + err * v.dense[i]!);
        grad.set(size + nd, (grad.get(size + nd) ?? 0) + err);
      }
      t++;
      const n = end - start;
      // Lazy Adam: only the parameters this batch touched move (the penalty too), which keeps
      // an epoch linear in the examples' n-grams rather than in the hash size.
      for (const [index, g0] of grad) {
        const g = g0 / n + (index < size ? l2 * p[index]! : 0);
        m[index] = beta1 * m[index]! + (1 - beta1) * g;
        s[index] = beta2 * s[index]! + (1 - beta2) * g * g;
        const mh = m[index]! / (1 - beta1 ** t);
        const sh = s[index]! / (1 - beta2 ** t);
        p[index] = p[index]! - (lr * mh) / (Math.sqrt(sh) + 1e-8);
      }
    }
  }
  return {
    hashBits,
    weights: p.slice(0, size),
    dense: { names: [...DENSE_FEATURES], mean, std, weights: Array.from(p.slice(size, size + nd)) },
    bias: p[size + nd]!,
  };
}

/** Fit Platt scaling p = σ(a·z + b) to logits and labels (Newton's method on the log loss). */
export function fitPlatt(logits: readonly number[], labels: readonly (0 | 1)[]): { a: number; b: number } {
  let a = 1;
  let b = 0;
  for (let iter = 0; iter < 50; iter++) {
    let ga = 0;
    let gb = 0;
    let haa = 1e-9;
    let hab = 0;
    let hbb = 1e-9;
    for (let i = 0; i < logits.length; i++) {
      const z = logits[i]!;
      const q = 1 / (1 + Math.exp(-(a * z + b)));
      const e = q - labels[i]!;
      const w = q * (1 - q);
      ga += e * z;
      gb += e;
      haa += w * z * z;
      hab += w * z;
      hbb += w;
    }
    const det = haa * hbb - hab * hab;
    if (!(Math.abs(det) > 1e-12)) break;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    a -= da;
    b -= db;
    if (Math.abs(da) + Math.abs(db) < 1e-9) break;
  }
  return { a, b };
}
