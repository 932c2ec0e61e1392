import {
  FILLERS,
  FORMAT_WORDS,
  GAZETTEER,
  LANGUAGE_NAMES,
  LANGUAGE_STOPWORDS,
  NEGATIONS,
  NUMBER_WORDS,
  PAST_COPULAS,
  PERIOD_WORDS,
  PRESENT_COPULAS,
  QUESTION_WORDS,
  SHORT_UNITS,
  STOPWORDS,
  SYNONYMS,
  TIME_WORDS,
  UNITS,
} from './lexicon.ts';
import { canonicalNumber, stem, tokenize, type Token } from './text.ts';

/**
 * Why a semantic candidate was rejected although its vector was close enough. Each names a
 * way two similar prompts can need different answers.
 */
export type RejectionReason =
  | 'numbers'
  | 'units'
  | 'quoted'
  | 'entities'
  | 'negation'
  | 'format'
  | 'language'
  | 'time'
  | 'question'
  | 'content';

/** Every {@link RejectionReason}, in the order the checks run. */
export const REJECTION_REASONS: readonly RejectionReason[] = [
  'language', 'numbers', 'units', 'quoted', 'entities', 'negation', 'format', 'time', 'question', 'content',
];

/** What verification concluded about a candidate. */
export type Verdict = { ok: true } | { ok: false; reason: RejectionReason; detail: string };

/** The features of one prompt that verification compares. Computed once per prompt. */
export interface PromptFeatures {
  readonly numbers: readonly string[];
  readonly units: readonly string[];
  readonly quoted: readonly string[];
  /** Lower-cased names in order of first appearance. */
  readonly entities: readonly string[];
  readonly negations: number;
  readonly formats: ReadonlySet<string>;
  readonly languageNames: ReadonlySet<string>;
  /** Detected writing language (`en`, `es`, …, or a script such as `cyrillic`), if confident. */
  readonly language: string | undefined;
  readonly script: string;
  readonly timeWords: ReadonlySet<string>;
  readonly tense: 'past' | 'present' | undefined;
  readonly questionWords: ReadonlySet<string>;
  readonly contentWords: ReadonlySet<string>;
  /** Every word, lower-cased and stemmed, for "does the other prompt mention X at all". */
  readonly words: ReadonlySet<string>;
}

const QUOTED = /"([^"\n]{1,200})"|“([^”\n]{1,200})”|«([^»\n]{1,200})»|(?<![\p{L}\p{N}])'([^'\n]{1,200})'(?![\p{L}\p{N}])|‘([^’\n]{1,200})’|```([\s\S]{1,20000}?)```|`([^`\n]{1,200})`/gu;

const SCRIPTS: Array<[string, RegExp]> = [
  ['latin', /\p{Script=Latin}/gu],
  ['han', /\p{Script=Han}/gu],
  ['kana', /[\p{Script=Hiragana}\p{Script=Katakana}]/gu],
  ['hangul', /\p{Script=Hangul}/gu],
  ['cyrillic', /\p{Script=Cyrillic}/gu],
  ['greek', /\p{Script=Greek}/gu],
  ['arabic', /\p{Script=Arabic}/gu],
  ['hebrew', /\p{Script=Hebrew}/gu],
  ['devanagari', /\p{Script=Devanagari}/gu],
  ['thai', /\p{Script=Thai}/gu],
];
const NON_LATIN_LETTER = /[^\P{L}\p{Script=Latin}]/u;

/** The script most letters of the text are written in. */
function detectScript(text: string): string {
  // Most prompts are pure Latin: one scan answers them.
  if (!NON_LATIN_LETTER.test(text)) return /\p{L}/u.test(text) ? 'latin' : 'none';
  const counts = new Map(SCRIPTS.map(([script, re]) => [script, text.match(re)?.length ?? 0]));
  let best = 'none';
  let bestCount = 0;
  for (const [script, count] of counts) {
    if (count > bestCount) [best, bestCount] = [script, count];
  }
  // Japanese mixes kanji with kana: any kana makes it Japanese rather than Chinese.
  if (best === 'han' && (counts.get('kana') ?? 0) > 0) return 'kana';
  return best;
}

function detectLanguage(words: readonly string[], script: string): string | undefined {
  if (script !== 'latin') return script === 'none' ? undefined : script;
  const scores = Object.entries(LANGUAGE_STOPWORDS).map(([language, stop]) => [language, words.filter((w) => stop.has(w)).length] as const);
  scores.sort((a, b) => b[1] - a[1]);
  const [first, second] = scores;
  // Two marker words and a clear lead, or no call: short prompts ("Tips for sleep") are
  // ambiguous, and "no call" falls back on the other checks instead of rejecting.
  if (!first || first[1] < 2 || (second && second[1] >= first[1])) return undefined;
  return first[0];
}

function isCapitalised(raw: string): boolean {
  return /^\p{Lu}/u.test(raw);
}

function isAllCaps(raw: string): boolean {
  return raw.length >= 2 && /^[\p{Lu}\p{N}.+#/-]+$/u.test(raw) && /\p{Lu}.*\p{Lu}/u.test(raw);
}

const DERIVATION_SUFFIXES = new Set(['', 'e', 's', 'es', 'd', 'ed', 'r', 'er', 'ing', 'ion', 'ation', 'ize', 'ise', 'y', 'ly', 'al', 'ment', 'ity', 'ive', 'ness', 'ization', 'isation']);

/** True when two words differ only by a common English suffix (`summarize` / `summary`). */
function sameFamily(a: string, b: string): boolean {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i += 1;
  if (i < 4) return false;
  return DERIVATION_SUFFIXES.has(a.slice(i)) && DERIVATION_SUFFIXES.has(b.slice(i));
}

/** Extract the features verification compares. */
export function analyzePrompt(text: string): PromptFeatures {
  const tokens = tokenize(text);
  const script = detectScript(text);
  const numbers: string[] = [];
  const units: string[] = [];
  const entities: string[] = [];
  const formats = new Set<string>();
  const languageNames = new Set<string>();
  const timeWords = new Set<string>();
  const questionWords = new Set<string>();
  const contentWords = new Set<string>();
  const words = new Set<string>();
  let negations = 0;
  let past = false;
  let present = false;

  const addEntity = (name: string) => {
    if (!entities.includes(name)) entities.push(name);
  };

  tokens.forEach((token: Token, index) => {
    const next = tokens[index + 1];
    if (token.kind === 'number') {
      const value = canonicalNumber(token.lower);
      numbers.push(value);
      if (/^(1[5-9]|20)\d\d$/.test(value)) timeWords.add(`year:${value}`);
      return;
    }
    if (token.kind === 'symbol') {
      const unit = SHORT_UNITS.get(token.lower);
      if (unit && (token.afterNumber || token.lower !== '°')) units.push(unit);
      return;
    }
    const lower = token.lower;
    words.add(lower);
    words.add(stem(lower));
    const unit = UNITS.get(lower) ?? (token.afterNumber ? SHORT_UNITS.get(lower) : undefined);
    if (unit) {
      units.push(unit);
      return;
    }
    const numberWord = NUMBER_WORDS.get(lower);
    if (numberWord !== undefined) {
      numbers.push(String(numberWord));
      return;
    }
    if (NEGATIONS.has(lower)) {
      negations += 1;
      return;
    }
    if (PAST_COPULAS.has(lower)) past = true;
    if (PRESENT_COPULAS.has(lower)) present = true;
    if (QUESTION_WORDS.has(lower)) {
      questionWords.add(lower);
      return;
    }
    if (LANGUAGE_NAMES.has(lower)) {
      languageNames.add(lower);
      return;
    }
    if (TIME_WORDS.has(lower) && (lower !== 'march' || isCapitalised(token.raw))) {
      timeWords.add(lower);
      return;
    }
    if ((lower === 'this' || lower === 'last' || lower === 'next' || lower === 'past') && next && PERIOD_WORDS.has(next.lower)) {
      timeWords.add(`${lower} ${next.lower}`);
      return;
    }
    const format = FORMAT_WORDS.get(lower);
    if (format) {
      formats.add(format);
      return;
    }
    const functional = STOPWORDS.has(lower) || FILLERS.has(lower);
    const named =
      GAZETTEER.has(lower) ||
      isAllCaps(token.raw) ||
      (isCapitalised(token.raw) && !token.sentenceStart && token.raw !== 'I' && !functional);
    if (named) addEntity(lower);
    if (functional) return;
    contentWords.add(stem(SYNONYMS.get(lower) ?? lower));
  });

  const quoted: string[] = [];
  for (const match of text.normalize('NFKC').matchAll(QUOTED)) {
    const inner = match.slice(1).find((group) => group !== undefined);
    if (inner !== undefined) quoted.push(inner.trim().replace(/\s+/g, ' ').toLowerCase());
  }
  quoted.sort();

  const lowerWords = tokens.filter((t) => t.kind === 'word').map((t) => t.lower);
  return {
    numbers,
    units,
    quoted,
    entities,
    negations,
    formats,
    languageNames,
    language: detectLanguage(lowerWords, script),
    script,
    timeWords,
    tense: past && !present ? 'past' : present && !past ? 'present' : undefined,
    questionWords,
    contentWords,
    words,
  };
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
const sameSet = (a: ReadonlySet<string>, b: ReadonlySet<string>) => a.size === b.size && [...a].every((x) => b.has(x));
const show = (x: Iterable<string>) => `[${[...x].join(', ')}]`;

/**
 * Decide whether the answer cached for `cached` is also right for `query`, given that their
 * vectors are close. Rejects when the prompts disagree on anything that changes the answer:
 * language, numbers and units (in order), quoted strings, named entities (and their order),
 * negation, requested format or length, time references, question word, or a content word
 * that one prompt has and the other lacks. Symmetric.
 *
 * Errs on the side of rejecting: a wrong rejection costs one upstream call, a wrong
 * acceptance serves a wrong answer.
 */
export function verifyMatch(query: PromptFeatures | string, cached: PromptFeatures | string): Verdict {
  const a = typeof query === 'string' ? analyzePrompt(query) : query;
  const b = typeof cached === 'string' ? analyzePrompt(cached) : cached;
  const reject = (reason: RejectionReason, detail: string): Verdict => ({ ok: false, reason, detail });

  if (a.script !== b.script || (a.language && b.language && a.language !== b.language)) {
    return reject('language', `${a.language ?? a.script} vs ${b.language ?? b.script}`);
  }
  if (!sameSet(a.languageNames, b.languageNames)) return reject('language', `${show(a.languageNames)} vs ${show(b.languageNames)}`);
  if (!sameList(a.numbers, b.numbers)) return reject('numbers', `${show(a.numbers)} vs ${show(b.numbers)}`);
  if (!sameList(a.units, b.units)) return reject('units', `${show(a.units)} vs ${show(b.units)}`);
  if (!sameList(a.quoted, b.quoted)) return reject('quoted', `${show(a.quoted)} vs ${show(b.quoted)}`);
  // A name in one prompt must appear, in any case, in the other ("mona lisa" matches "Mona Lisa").
  const missingInB = a.entities.filter((e) => !b.words.has(e) && !b.words.has(stem(e)));
  const missingInA = b.entities.filter((e) => !a.words.has(e) && !a.words.has(stem(e)));
  if (missingInB.length || missingInA.length) return reject('entities', `${show(missingInB)} vs ${show(missingInA)}`);
  // Shared names must come in the same order: "Is France bigger than Germany?" is not
  // "Is Germany bigger than France?".
  const orderA = a.entities.filter((e) => b.entities.includes(e));
  const orderB = b.entities.filter((e) => a.entities.includes(e));
  if (!sameList(orderA, orderB)) return reject('entities', `order ${show(orderA)} vs ${show(orderB)}`);
  if (a.negations !== b.negations) return reject('negation', `${a.negations} vs ${b.negations} negations`);
  if (!sameSet(a.formats, b.formats)) return reject('format', `${show(a.formats)} vs ${show(b.formats)}`);
  if (!sameSet(a.timeWords, b.timeWords)) return reject('time', `${show(a.timeWords)} vs ${show(b.timeWords)}`);
  if (a.tense && b.tense && a.tense !== b.tense) return reject('time', `${a.tense} vs ${b.tense} tense`);
  if (!sameSet(a.questionWords, b.questionWords)) return reject('question', `${show(a.questionWords)} vs ${show(b.questionWords)}`);
  const onlyA = [...a.contentWords].filter((w) => !b.contentWords.has(w) && ![...b.contentWords].some((v) => sameFamily(w, v)));
  const onlyB = [...b.contentWords].filter((w) => !a.contentWords.has(w) && ![...a.contentWords].some((v) => sameFamily(w, v)));
  if (onlyA.length || onlyB.length) return reject('content', `${show(onlyA)} vs ${show(onlyB)}`);
  return { ok: true };
}
