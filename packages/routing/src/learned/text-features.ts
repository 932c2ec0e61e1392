import { fnv1a } from '@sluice/embeddings';
/**
 * Text features of the learned router: hashed word unigrams and bigrams plus a few dense
 * shape features. Deliberately cheap (one pass of one regex, no tokenizer): the router scores
 * every job, and its whole decision must stay well under a millisecond.
 */

/** Names of the dense features, in the order {@link denseFeatures} returns them. */
export const DENSE_FEATURES = [
  'log chars',
  'log words',
  'log numbers',
  'digit share',
  'log math symbols',
  'log lines',
  'log questions',
  'mean word length',
  'log long words',
] as const;

/** Longest text read (first and last halves of a longer one): bounds the work on a huge paste. */
export const MAX_FEATURE_CHARS = 8_000;

const TOKEN = /[a-z]+(?:'[a-z]+)?|\d+(?:[.,]\d+)*|[=+\-*/^%$<>()|∫√∑πθ≤≥≠]/g;

/** The text a model reads: of a long one, its first and last {@link MAX_FEATURE_CHARS}/2 characters. */
export function clipText(text: string): string {
  return text.length > MAX_FEATURE_CHARS
    ? `${text.slice(0, MAX_FEATURE_CHARS / 2)}\n${text.slice(-MAX_FEATURE_CHARS / 2)}`
    : text;
}

/** Tokens of a text: lower-case words, numbers as `<num>`, math symbols one by one. */
export function tokens(text: string): string[] {
  const out: string[] = [];
  for (const m of clipText(text).toLowerCase().matchAll(TOKEN)) {
    const t = m[0];
    out.push(t.charCodeAt(0) >= 48 && t.charCodeAt(0) <= 57 ? '<num>' : t);
  }
  return out;
}

/**
 * Hashed bag of unigrams and bigrams: bucket index → value. Each distinct n-gram counts once,
 * the sign of its value comes from the hash (so collisions cancel rather than add up), and
 * the vector is scaled to unit length.
 */
export function hashedNgrams(toks: readonly string[], hashBits: number): Map<number, number> {
  const mask = (1 << hashBits) - 1;
  const seen = new Set<string>();
  for (let i = 0; i < toks.length; i++) {
    seen.add(toks[i]!);
    if (i + 1 < toks.length) seen.add(`${toks[i]} ${toks[i + 1]}`);
  }
  const out = new Map<number, number>();
  if (!seen.size) return out;
  const scale = 1 / Math.sqrt(seen.size);
  for (const gram of seen) {
    const h = fnv1a(gram);
    const index = h & mask;
    const sign = h & 0x80000000 ? -1 : 1;
    out.set(index, (out.get(index) ?? 0) + sign * scale);
  }
  return out;
}

/** Dense shape features of a text (see {@link DENSE_FEATURES}), before standardisation. */
export function denseFeatures(text: string, toks: readonly string[]): number[] {
  const clipped = clipText(text);
  let digits = 0;
  let math = 0;
  let lines = 1;
  let questions = 0;
  for (let i = 0; i < clipped.length; i++) {
    const c = clipped.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c === 10) lines++;
    else if (c === 63) questions++;
  }
  let words = 0;
  let wordChars = 0;
  let longWords = 0;
  let numbers = 0;
  for (const t of toks) {
    if (t === '<num>') numbers++;
    else if (t.length > 1 || /[a-z]/.test(t)) {
      words++;
      wordChars += t.length;
      if (t.length >= 10) longWords++;
    } else math++;
  }
  return [
    Math.log1p(text.length),
    Math.log1p(words),
    Math.log1p(numbers),
    clipped.length ? digits / clipped.length : 0,
    Math.log1p(math),
    Math.log1p(lines),
    Math.log1p(questions),
    words ? wordChars / words : 0,
    Math.log1p(longWords),
  ];
}

/**
 * Largest standardised value of a dense feature: a text far outside the training range (a
 * 200 kB paste) counts as a very long one, not as an ever longer one.
 */
export const MAX_STANDARDISED = 5;

/** Standardise a dense feature, clamped to ±{@link MAX_STANDARDISED}. */
export function standardise(x: number, mean: number, std: number): number {
  return Math.max(-MAX_STANDARDISED, Math.min(MAX_STANDARDISED, (x - mean) / std));
}
