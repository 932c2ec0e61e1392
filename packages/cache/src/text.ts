/**
 * Tokenisation shared by the offline embedder and verification: Unicode-normalised, with
 * contractions expanded (`don't` → `do not`, `France's` → `France`) so that a negation or a
 * possessive reads the same however it was typed.
 */

/** One token of a prompt. */
export interface Token {
  /** As typed (after NFKC), e.g. `France`, `Node.js`, `15`. */
  readonly raw: string;
  /** Lower-cased, contractions expanded. */
  readonly lower: string;
  readonly kind: 'word' | 'number' | 'symbol';
  /** First word of a sentence: its capital letter says nothing about it being a name. */
  readonly sentenceStart: boolean;
  /** Directly preceded by a number token (`5 km`, `15%`). */
  readonly afterNumber: boolean;
}

// Numbers keep their separators (1,000 / 3.14); words keep inner dots, slashes, apostrophes
// and a trailing ++ or # so that Node.js, km/h, don't, C++ and C# stay one token.
const TOKEN =
  /(\d+(?:[.,]\d+)*)|(\p{L}[\p{L}\p{N}]*(?:'\p{L}+)*(?:[./]\p{L}[\p{L}\p{N}]*)*(?:\+\+|#)?)|([%$€£¥°])|([.!?;:\n¿¡]+)/gu;

const IS_CONTRACTION_BASES = new Set([
  'it',
  'that',
  'what',
  'where',
  'who',
  'how',
  'there',
  'here',
  'he',
  'she',
  'when',
  'why',
  'which',
  'this',
]);

/** Expand a lower-cased word with an apostrophe into the words it stands for. */
function expandContraction(word: string): string[] {
  const apostrophe = word.indexOf("'");
  if (apostrophe < 0) return [word];
  const base = word.slice(0, apostrophe);
  const tail = word.slice(apostrophe + 1);
  if (tail === 't' && base.endsWith('n')) {
    const stem = base.slice(0, -1);
    const full =
      stem === 'ca' ? 'can' : stem === 'wo' ? 'will' : stem === 'sha' ? 'shall' : stem === 'ai' ? 'is' : stem;
    return [full, 'not'];
  }
  switch (tail) {
    case 's':
      if (base === 'let') return ['let', 'us'];
      // "what's" is "what is"; "France's" is a possessive and reads as "France".
      return IS_CONTRACTION_BASES.has(base) ? [base, 'is'] : [base];
    case 're':
      return [base, 'are'];
    case 've':
      return [base, 'have'];
    case 'll':
      return [base, 'will'];
    case 'd':
      return [base, 'would'];
    case 'm':
      return [base, 'am'];
    default:
      return [word.replace(/'/g, '')];
  }
}

/** Split a prompt into tokens. */
export function tokenize(text: string): Token[] {
  const normalised = text.normalize('NFKC').replace(/[’‘`´]/g, "'");
  const tokens: Token[] = [];
  let sentenceStart = true;
  let previousNumber = false;
  for (const match of normalised.matchAll(TOKEN)) {
    const [, number, word, symbol, boundary] = match;
    if (boundary !== undefined) {
      sentenceStart = true;
      previousNumber = false;
      continue;
    }
    if (number !== undefined) {
      tokens.push({ raw: number, lower: number, kind: 'number', sentenceStart, afterNumber: previousNumber });
      sentenceStart = false;
      previousNumber = true;
      continue;
    }
    if (symbol !== undefined) {
      tokens.push({ raw: symbol, lower: symbol, kind: 'symbol', sentenceStart: false, afterNumber: previousNumber });
      previousNumber = symbol === '$' || symbol === '€' || symbol === '£' || symbol === '¥' ? false : previousNumber;
      continue;
    }
    if (word !== undefined) {
      const parts = expandContraction(word.toLowerCase());
      parts.forEach((lower, i) => {
        tokens.push({
          raw: i === 0 ? word.split("'")[0]! : lower,
          lower,
          kind: 'word',
          sentenceStart: sentenceStart && i === 0,
          afterNumber: previousNumber && i === 0,
        });
      });
      sentenceStart = false;
      previousNumber = false;
    }
  }
  return tokens;
}

/**
 * A light English stemmer: plurals only (`spiders` → `spider`, `boxes` → `box`,
 * `cities` → `city`). Heavier stemming merges words whose answers differ (`general` /
 * `generous`); the character n-grams of the embedder cover other inflections.
 */
export function stem(word: string): string {
  if (word.length <= 3 || !/^\p{L}+$/u.test(word)) return word;
  if (word.endsWith('ies') && word.length > 4) return `${word.slice(0, -3)}y`;
  if (/(?:x|ch|sh|ss|z)es$/.test(word)) return word.slice(0, -2);
  if (word.endsWith('s') && !/(?:ss|us|is|ous)$/.test(word)) return word.slice(0, -1);
  return word;
}

/** Parse a number token (`1,000`, `3.14`, `2,5`) into a canonical string (`1000`, `3.14`, `2.5`). */
export function canonicalNumber(raw: string): string {
  // A comma followed by exactly three digits groups thousands; otherwise it is a decimal comma.
  const cleaned = /^\d{1,3}(?:,\d{3})+(?:\.\d+)?$/.test(raw) ? raw.replace(/,/g, '') : raw.replace(',', '.');
  const value = Number(cleaned);
  return Number.isFinite(value) ? String(value) : raw;
}

/**
 * Normalise a prompt for the exact level: Unicode NFKC, whitespace collapsed, and only the
 * first letter of each sentence lower-cased. Case elsewhere is kept on purpose: "US" and "us",
 * "Turkey" and "turkey" are different questions, and the semantic level (with verification)
 * already catches harmless case differences.
 */
export function normalizeForExactMatch(text: string): string {
  const collapsed = text.normalize('NFKC').replace(/\s+/g, ' ').trim();
  return collapsed.replace(
    /(^|[.!?]\s+)(\p{Lu})(?=\p{Ll})/gu,
    (_, before: string, letter: string) => before + letter.toLowerCase(),
  );
}
