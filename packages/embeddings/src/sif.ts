import { EmbeddingsOptionsError } from './errors.ts';
import type { Synonyms } from './synonyms.ts';
import { fnv1aBytes, type WordVectors } from './word-vectors.ts';

/**
 * SIF's smoothing constant `a` in the weight a / (a + p(w)) (Arora, Liang, Ma, "A Simple but
 * Tough-to-Beat Baseline for Sentence Embeddings", ICLR 2017, who found 1e-4…1e-3 best).
 */
export const SIF_A = 1e-3;
/** Words in the vocabulary the frequency ranks come from (GloVe 6B's 400 k). */
const VOCABULARY = 400_000;
const HARMONIC = Math.log(VOCABULARY) + 0.5772156649;

/**
 * Zipf estimate of a word's relative frequency from its rank (0 = most frequent): the
 * wink/GloVe file orders words by corpus frequency but carries no counts.
 */
export function zipfProbability(rank: number): number {
  return 1 / ((rank + 1) * HARMONIC);
}

/** SIF weight of the word at `rank`; unknown words count as the rarest. */
export function sifWeight(rank: number): number {
  return SIF_A / (SIF_A + zipfProbability(rank < 0 ? VOCABULARY : rank));
}

const WORD = /\p{L}[\p{L}\p{M}\p{N}]*(?:'\p{L}+)?|\p{N}+(?:[.,]\p{N}+)*/gu;
const CONTRACTIONS: Record<string, string | undefined> = {
  re: 'are',
  ve: 'have',
  ll: 'will',
  m: 'am',
  d: 'would',
  s: undefined,
};

/** Lower-cased words as the GloVe vocabulary spells them (`don't` → `do`, `not`; possessive `'s` dropped). */
export function sifTokens(text: string): string[] {
  const out: string[] = [];
  const normalised = text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[’‘`´]/g, "'");
  for (const [token] of normalised.matchAll(WORD)) {
    const apostrophe = token.indexOf("'");
    if (apostrophe < 0) {
      out.push(token);
      continue;
    }
    const base = token.slice(0, apostrophe);
    const tail = token.slice(apostrophe + 1);
    if (tail === 't' && base.endsWith('n')) {
      const stem = base.slice(0, -1);
      out.push(stem === 'ca' ? 'can' : stem === 'wo' ? 'will' : stem, 'not');
      continue;
    }
    out.push(base);
    const expanded = CONTRACTIONS[tail];
    if (expanded) out.push(expanded);
  }
  return out;
}

/** Options for {@link SifEmbedder}. */
export interface SifEmbedderOptions {
  /** The loaded model ({@link WordVectors.load}). */
  vectors: WordVectors;
  /** WordNet synonymy of the model's words ({@link Synonyms.load}); enables {@link SifEmbedder.synonyms}. @defaultValue none */
  synonyms?: Synonyms;
  /** Name of the model in the embedder's id. @defaultValue `wink-sg100d` */
  modelName?: string;
  /**
   * Raw cosine mapped to 0.95 on the threshold scale (see {@link SifEmbedder.calibrate}).
   * @defaultValue {@link SIF_CALIBRATION_POINT}
   */
  calibrationPoint?: number;
}

/**
 * Raw SIF cosine mapped to a similarity of 0.95 (a close rewording; the default threshold 0.90
 * is raw 0.6). On the dev halves of
 * the public paraphrase sets (`pnpm eval:cache --split dev --embedder sif --sweep`) recall is
 * the same for thresholds 0.80–0.95 at this point and drops at 0.97 (QQP 13.0 % → 9.5 %): the
 * default sits in the flat part, and verification, not the threshold, separates a rewording
 * from a near-miss.
 */
export const SIF_CALIBRATION_POINT = 0.8;

/** Which kind of vector served a prompt. */
export type VectorSource = 'word-vectors' | 'hashing';

/** What {@link SifEmbedder.embedDetailed} returns. */
export interface DetailedEmbedding {
  vector: Float32Array;
  /** Words the model knows. */
  known: number;
  /** Words it does not know (hashed into a stable pseudo-random vector each). */
  unknown: number;
  /** `word-vectors` when at least half the words were known, else `hashing`. */
  source: VectorSource;
}

/**
 * Sentence vectors from static word vectors by SIF: the frequency-weighted average
 * Σ a/(a + p(w)) · v(w), minus its projection on the first principal component, unit length.
 * A word the model does not know (a code identifier, a word of another script) gets a stable
 * pseudo-random vector from its hash, of the model's mean norm and the rarest word's
 * weight: it still counts, but only as itself (like the hashing embedder).
 *
 * About 20 µs per prompt; no network.
 */
export class SifEmbedder {
  readonly id: string;
  readonly dimensions: number;
  readonly vectors: WordVectors;
  readonly #synonyms: Synonyms | undefined;
  /** Prompts embedded, by the source that served them (for stats). */
  readonly served: Record<VectorSource, number> = { 'word-vectors': 0, hashing: 0 };
  readonly #calibrationPoint: number;
  readonly #encoder = new TextEncoder();
  readonly #scratch = new Uint8Array(256);
  readonly #sum: Float64Array;

  constructor(options: SifEmbedderOptions) {
    this.vectors = options.vectors;
    this.#synonyms = options.synonyms;
    if (this.#synonyms && this.#synonyms.count !== this.vectors.count) {
      throw new EmbeddingsOptionsError(
        `Expected a synonym table of ${this.vectors.count} words, got ${this.#synonyms.count}`,
      );
    }
    this.dimensions = options.vectors.dimensions;
    this.#calibrationPoint = options.calibrationPoint ?? SIF_CALIBRATION_POINT;
    if (!(this.#calibrationPoint > 0 && this.#calibrationPoint < 1)) {
      throw new EmbeddingsOptionsError(
        `Expected \`calibrationPoint\` in (0, 1), got \`${String(options.calibrationPoint)}\``,
      );
    }
    this.id = `sif:${options.modelName ?? 'wink-sg100d'}-q8/${this.dimensions}`;
    this.#sum = new Float64Array(this.dimensions);
  }

  embed(texts: string[]): Promise<Float32Array[]> {
    return Promise.resolve(texts.map((t) => this.embedOne(t)));
  }

  /** Synchronous form of {@link embed} for one text. */
  embedOne(text: string): Float32Array {
    return this.embedDetailed(text).vector;
  }

  /** The vector of a text, with how many of its words the model knew. */
  embedDetailed(text: string): DetailedEmbedding {
    const sum = this.#sum.fill(0);
    let known = 0;
    let unknown = 0;
    for (const word of sifTokens(text)) {
      const index = this.vectors.indexOf(word);
      if (index >= 0) {
        known += 1;
        this.vectors.addTo(sum, index, sifWeight(index));
      } else {
        unknown += 1;
        this.#addHashed(sum, word, sifWeight(-1));
      }
    }
    // Remove the common direction (SIF's step 2), then scale to unit length.
    const pc = this.vectors.principalComponent;
    let projection = 0;
    for (let d = 0; d < this.dimensions; d += 1) projection += sum[d]! * pc[d]!;
    const vector = new Float32Array(this.dimensions);
    let norm = 0;
    for (let d = 0; d < this.dimensions; d += 1) {
      const value = sum[d]! - projection * pc[d]!;
      vector[d] = value;
      norm += value * value;
    }
    if (norm > 0) {
      const scale = 1 / Math.sqrt(norm);
      for (let d = 0; d < this.dimensions; d += 1) vector[d] = vector[d]! * scale;
    }
    const source: VectorSource = known > 0 && known >= unknown ? 'word-vectors' : 'hashing';
    this.served[source] += 1;
    return { vector, known, unknown, source };
  }

  /**
   * Cosine similarity of two single words' vectors, or undefined when the model lacks
   * either. Verification uses it to accept a content word's rewording.
   */
  wordSimilarity(a: string, b: string): number | undefined {
    const ia = this.vectors.indexOf(a);
    if (ia < 0) return undefined;
    const ib = this.vectors.indexOf(b);
    if (ib < 0) return undefined;
    return this.vectors.cosine(ia, ib);
  }

  /**
   * True when WordNet lists the two (lower-cased) words, or lemmas they inflect, in one
   * synset (film/movie, purchased/buy); undefined without a synonym table or for a word the
   * model does not know.
   */
  synonyms(a: string, b: string): boolean | undefined {
    if (!this.#synonyms) return undefined;
    const ia = this.vectors.indexOf(a);
    const ib = this.vectors.indexOf(b);
    if (ia < 0 || ib < 0) return undefined;
    return this.#synonyms.share(ia, ib);
  }

  /**
   * Map a raw cosine onto the threshold scale (where 0.95 means "a rewording"): the
   * calibration point maps to 0.95, 1 stays 1, linearly.
   */
  calibrate(cosine: number): number {
    const scaled = 1 - ((1 - cosine) * 0.05) / (1 - this.#calibrationPoint);
    return Math.max(0, Math.min(1, scaled));
  }

  #addHashed(sum: Float64Array, word: string, weight: number): void {
    const { written } = this.#encoder.encodeInto(word, this.#scratch);
    let state = fnv1aBytes(this.#scratch, written) || 1;
    const values = new Float64Array(this.dimensions);
    let norm = 0;
    for (let d = 0; d < this.dimensions; d += 1) {
      // xorshift32: a fixed pseudo-random direction per word, the same in every process.
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      const value = (state >>> 0) / 0xffff_ffff - 0.5;
      values[d] = value;
      norm += value * value;
    }
    const scale = (weight * this.vectors.meanNorm) / Math.sqrt(norm);
    for (let d = 0; d < this.dimensions; d += 1) sum[d] = sum[d]! + values[d]! * scale;
  }
}
