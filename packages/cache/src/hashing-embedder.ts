import { addHashedFeature } from '@sluice/embeddings';
import { normalizeVector, type Embedder } from './embedder.ts';
import { CacheOptionsError } from './errors.ts';
import { FILLERS, NUMBER_WORDS, STOPWORDS, SYNONYMS } from './lexicon.ts';
import { canonicalNumber, stem, tokenize } from './text.ts';

/** Options for {@link HashingEmbedder}. */
export interface HashingEmbedderOptions {
  /** Vector length. More dimensions mean fewer hash collisions. @defaultValue 256 */
  dimensions?: number;
}

// Feature weights. Function words and request verbs are down-weighted, not dropped, so
// "what is X" and "who is X" still differ a little; content words carry the vector.
const CONTENT_WEIGHT = 1;
const FUNCTION_WEIGHT = 0.15;
const BIGRAM_WEIGHT = 0.5;
// Character trigrams of a content word share this weight between them, so morphology
// ("summarize" / "summary") adds similarity without long words dominating short ones.
const TRIGRAM_WEIGHT = 0.6;

/**
 * Raw cosine of this embedder that is mapped to a similarity of 0.95 (a close rewording; the
 * configured default threshold is 0.90, raw 0.4 here). Measured on the 56 rewordings and 64 near-misses of `eval/` (README): rewordings
 * have a median raw cosine of 0.99 but a long tail (10th percentile 0.77, minimum 0.61);
 * 52 of 56 are ≥ 0.7, while unrelated prompts sit at a median of 0.01 (99th percentile 0.33).
 * Near-misses overlap rewordings completely (median 0.75, max 1.00): no threshold separates
 * them, verification does. 0.7 keeps the rewording tail and still screens out unrelated text.
 */
export const HASHING_CALIBRATION_POINT = 0.7;

/**
 * The offline default embedder: deterministic signed feature hashing ("the hashing trick")
 * of stemmed content words, unordered content-word bigrams and character trigrams. No
 * weights, no network, ~20 µs per prompt. Similarity tracks shared words and spellings, not
 * meaning: it finds rewordings that keep the key words ("how to reverse a python list"), not
 * paraphrases with new vocabulary. Verification does the rest.
 */
export class HashingEmbedder implements Embedder {
  readonly id: string;
  readonly dimensions: number;

  constructor(options: HashingEmbedderOptions = {}) {
    const dimensions = options.dimensions ?? 256;
    if (!Number.isInteger(dimensions) || dimensions < 8 || dimensions > 16_384) {
      throw new CacheOptionsError(
        `Expected \`dimensions\` to be an integer in [8, 16384], got \`${String(options.dimensions)}\``,
      );
    }
    this.dimensions = dimensions;
    this.id = `hashing-v1/${dimensions}`;
  }

  embed(texts: string[]): Promise<Float32Array[]> {
    return Promise.resolve(texts.map((text) => this.embedOne(text)));
  }

  /** Synchronous form of {@link embed} for one text. */
  embedOne(text: string): Float32Array {
    const vector = new Float32Array(this.dimensions);
    const content: string[] = [];
    for (const token of tokenize(text)) {
      if (token.kind === 'symbol') {
        addHashedFeature(vector, `s:${token.lower}`, FUNCTION_WEIGHT);
        continue;
      }
      if (token.kind === 'number') {
        addHashedFeature(vector, `n:${canonicalNumber(token.lower)}`, CONTENT_WEIGHT);
        content.push(`#${canonicalNumber(token.lower)}`);
        continue;
      }
      const word = SYNONYMS.get(token.lower) ?? token.lower;
      if (STOPWORDS.has(word) || FILLERS.has(word)) {
        addHashedFeature(vector, `w:${word}`, FUNCTION_WEIGHT);
        continue;
      }
      const number = NUMBER_WORDS.get(word);
      const base = number === undefined ? stem(word) : `#${number}`;
      addHashedFeature(vector, `w:${base}`, CONTENT_WEIGHT);
      content.push(base);
      if (number === undefined && word.length > 3) {
        const padded = `<${word}>`;
        const grams = padded.length - 2;
        const weight = TRIGRAM_WEIGHT / Math.sqrt(grams);
        for (let i = 0; i < grams; i += 1) addHashedFeature(vector, `c:${padded.slice(i, i + 3)}`, weight);
      }
    }
    for (let i = 1; i < content.length; i += 1) {
      // Unordered, so "France's capital" and "capital of France" share the pair.
      const [a, b] = [content[i - 1]!, content[i]!].sort();
      addHashedFeature(vector, `b:${a}|${b}`, BIGRAM_WEIGHT);
    }
    return normalizeVector(vector);
  }

  /**
   * Raw cosines of this embedder run lower than a dense model's for the same rewording, so
   * they are mapped linearly onto the threshold scale: {@link HASHING_CALIBRATION_POINT}
   * maps to 0.95, 1 stays 1.
   */
  calibrate(cosine: number): number {
    const scaled = 1 - ((1 - cosine) * 0.05) / (1 - HASHING_CALIBRATION_POINT);
    return Math.max(0, Math.min(1, scaled));
  }
}
