import {
  ANTONYMS,
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
  | 'content'
  | 'order';

/** Every {@link RejectionReason}, in the order the checks run. */
export const REJECTION_REASONS: readonly RejectionReason[] = [
  'language',
  'numbers',
  'units',
  'quoted',
  'entities',
  'negation',
  'format',
  'time',
  'question',
  'content',
  'order',
];

/**
 * How strictly each kind of difference is judged. Everything that changes which answer is
 * right — language, numbers, units, quoted text and code, names and identifiers, negation,
 * requested format or length, time references, question word — must be *equal* (threshold
 * 1, not configurable). Only plain content words may differ, and only for a counterpart
 * whose word vector is at least {@link CONTENT_WORD_SIMILARITY} similar and that is not an
 * opposite ({@link ANTONYMS}, or the same word with a negating prefix).
 */
export interface VerifyOptions {
  /** Word-vector similarity of two lower-cased words (the embedder's); absent: content words must match exactly. */
  wordSimilarity?: (a: string, b: string) => number | undefined;
  /**
   * Vector similarity alone from which a content word counts as a rewording (no thesaurus
   * needed). @defaultValue {@link CONTENT_WORD_SIMILARITY}; the cache turns it off (`Infinity`)
   */
  contentWordSimilarity?: number;
  /**
   * WordNet synonymy of two lower-cased words (the embedder's); a synonym whose vector is at
   * least {@link SYNONYM_SENSE_SIMILARITY} similar counts as a rewording.
   */
  synonyms?: (a: string, b: string) => boolean | undefined;
  /**
   * Most content words of the shorter prompt that may be matched by similarity instead of
   * spelling, as a fraction (at least one word is always allowed). @defaultValue {@link MAX_REWORDED_SHARE}
   */
  maxRewordedShare?: number;
  /** Vector similarity from which a WordNet synonym counts as the same sense. @defaultValue {@link SYNONYM_SENSE_SIMILARITY} */
  synonymSenseSimilarity?: number;
  /**
   * Vector similarity to some content word of the other prompt from which a word one prompt
   * adds (with no counterpart to replace) counts as an elaboration of what both say:
   * "herbivorous animals" / "herbivores", "mentally strong" / "emotionally and mentally
   * strong". @defaultValue {@link ELABORATION_SIMILARITY}
   */
  elaborationSimilarity?: number;
  /** Most added or dropped words per pair (elaborations and {@link LIGHT_WORDS}). @defaultValue {@link MAX_ELABORATIONS} */
  maxElaborations?: number;
}

/**
 * Cosine of two words' vectors from which one counts as a rewording of the other when
 * vector similarity alone is enabled: synonyms such as big/large sit at 0.71, buy/purchase
 * 0.83 — but so do siblings (cat/dog 0.88), which is why the cache leaves it off.
 */
export const CONTENT_WORD_SIMILARITY = 0.7;
/**
 * Vector similarity a WordNet synonym must also have: WordNet lists rare senses ("cat" is in
 * a synset with "guy"), and a low vector similarity says the prompt means another sense.
 */
export const SYNONYM_SENSE_SIMILARITY = 0.4;
/**
 * See {@link VerifyOptions.elaborationSimilarity}. Tuned on the dev halves of the public sets
 * (`pnpm diagnose:cache`, threshold 0.90): 0.65 → 0.6 → 0.55 bought QQP duplicates 17.5 →
 * 18.5 → 19.5 % but raised PAWS false hits 1.0 → 2.0 → 2.0 % and QQP's 1.5 → 2.0 → 3.5 %;
 * 0.65 is the lowest that keeps PAWS at ≤ 1 %.
 */
export const ELABORATION_SIMILARITY = 0.65;
/** See {@link VerifyOptions.maxElaborations}: allowing two bought QQP dev one duplicate for three false hits. */
export const MAX_ELABORATIONS = 1;
/** See {@link VerifyOptions.maxRewordedShare}. */
export const MAX_REWORDED_SHARE = 0.34;

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
  /** Each content word (as {@link contentWords} spells it) → the word as typed, lower-cased. */
  readonly surface: ReadonlyMap<string, string>;
  /** Content words and relation words (`@to`, `@by`, …) in the order they appear: who does what to whom. */
  readonly sequence: readonly string[];
  /** Every word, lower-cased and stemmed, for "does the other prompt mention X at all". */
  readonly words: ReadonlySet<string>;
  /** Content words next to "and"/"or": members of a list, each a thing of its own. */
  readonly coordinated: ReadonlySet<string>;
}

const QUOTED =
  /"([^"\n]{1,200})"|“([^”\n]{1,200})”|«([^»\n]{1,200})»|(?<![\p{L}\p{N}])'([^'\n]{1,200})'(?![\p{L}\p{N}])|‘([^’\n]{1,200})’|```([\s\S]{1,20000}?)```|`([^`\n]{1,200})`/gu;

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
  const scores = Object.entries(LANGUAGE_STOPWORDS).map(
    ([language, stop]) => [language, words.filter((w) => stop.has(w)).length] as const,
  );
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

const DERIVATION_SUFFIXES = new Set([
  '',
  'e',
  's',
  'es',
  'd',
  'ed',
  'r',
  'er',
  'ing',
  'ion',
  'ation',
  'ize',
  'ise',
  'y',
  'ly',
  'al',
  'ment',
  'ity',
  'ive',
  'ness',
  'ization',
  'isation',
]);

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
  const sequence: string[] = [];
  const surface = new Map<string, string>();
  const words = new Set<string>();
  const coordinated = new Set<string>();
  let negations = 0;
  let past = false;
  let present = false;

  const addEntity = (name: string) => {
    if (!entities.includes(name)) entities.push(name);
  };

  const skipped = wayToPhrases(tokens);
  if (skipped.size) questionWords.add('how');
  tokens.forEach((token: Token, index) => {
    if (skipped.has(index)) return;
    const next = tokens[index + 1];
    if (token.kind === 'number') {
      const value = canonicalNumber(token.lower);
      numbers.push(value);
      // Numbers keep their place among the words: "retired in 1987, died in 2004" is not "died in 1987, retired in 2004".
      sequence.push(`#${value}`);
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
    if (
      (lower === 'this' || lower === 'last' || lower === 'next' || lower === 'past') &&
      next &&
      PERIOD_WORDS.has(next.lower)
    ) {
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
    if (RELATION_WORDS.has(lower)) sequence.push(`@${lower}`);
    // Who does what to whom also rides on pronouns: "Why do I not miss my ex?" is not "Why
    // doesn't my ex miss me?". Each person is one token, whatever its case.
    const person = PERSONS.get(lower);
    if (person) sequence.push(person);
    if (functional) return;
    const content = stem(SYNONYMS.get(lower) ?? lower);
    contentWords.add(content);
    const previous = tokens[index - 1];
    if (COORDINATORS.has(previous?.lower ?? '') || COORDINATORS.has(next?.lower ?? '')) coordinated.add(content);
    if (!surface.has(content)) surface.set(content, lower);
    sequence.push(content);
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
    surface,
    sequence,
    words,
    coordinated,
  };
}

const WAY_ADJECTIVES = new Set([
  'best',
  'good',
  'easiest',
  'easy',
  'right',
  'proper',
  'some',
  'a',
  'the',
  'any',
  'one',
]);
const WAY_NOUNS = new Set(['way', 'ways', 'method', 'methods']);

/**
 * "What is the best way to X" asks "How do I X": the indices of each such phrase's words
 * (question word to "to"/"of"), which are read as the question word `how`. Only that frame:
 * "the quickest way" or "the cheapest way" keep their adjective, which changes the answer.
 */
function wayToPhrases(tokens: readonly Token[]): Set<number> {
  const skipped = new Set<number>();
  for (let i = 0; i < tokens.length; i += 1) {
    if (tokens[i]!.lower !== 'what' && tokens[i]!.lower !== 'which') continue;
    let j = i + 1;
    if (tokens[j]?.lower !== 'is' && tokens[j]?.lower !== 'are') continue;
    j += 1;
    while (j < tokens.length && WAY_ADJECTIVES.has(tokens[j]!.lower) && j < i + 5) j += 1;
    if (!WAY_NOUNS.has(tokens[j]?.lower ?? '')) continue;
    j += 1;
    if (tokens[j]?.lower !== 'to' && tokens[j]?.lower !== 'of' && tokens[j]?.lower !== 'for') continue;
    for (let k = i; k <= j; k += 1) skipped.add(k);
  }
  return skipped;
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
export function verifyMatch(
  query: PromptFeatures | string,
  cached: PromptFeatures | string,
  options: VerifyOptions = {},
): Verdict {
  for (const failure of failures(query, cached, options)) return failure;
  return { ok: true };
}

/** Every rule two prompts fail, in the order the checks run (for diagnosis: {@link verifyMatch} stops at the first). */
export function verificationFailures(
  query: PromptFeatures | string,
  cached: PromptFeatures | string,
  options: VerifyOptions = {},
): Array<{ reason: RejectionReason; detail: string }> {
  return [...failures(query, cached, options)];
}

type Rejected = { ok: false; reason: RejectionReason; detail: string };

function* failures(
  query: PromptFeatures | string,
  cached: PromptFeatures | string,
  options: VerifyOptions,
): Generator<Rejected> {
  const a = typeof query === 'string' ? analyzePrompt(query) : query;
  const b = typeof cached === 'string' ? analyzePrompt(cached) : cached;
  const reject = (reason: RejectionReason, detail: string): Rejected => ({ ok: false, reason, detail });

  if (a.script !== b.script || (a.language && b.language && a.language !== b.language)) {
    yield reject('language', `${a.language ?? a.script} vs ${b.language ?? b.script}`);
  }
  if (!sameSet(a.languageNames, b.languageNames))
    yield reject('language', `${show(a.languageNames)} vs ${show(b.languageNames)}`);
  if (!sameList(a.numbers, b.numbers)) yield reject('numbers', `${show(a.numbers)} vs ${show(b.numbers)}`);
  if (!sameList(a.units, b.units)) yield reject('units', `${show(a.units)} vs ${show(b.units)}`);
  if (!sameList(a.quoted, b.quoted)) yield reject('quoted', `${show(a.quoted)} vs ${show(b.quoted)}`);
  // A name in one prompt must appear, in any case, in the other ("mona lisa" matches "Mona Lisa").
  const missingInB = a.entities.filter((e) => !b.words.has(e) && !b.words.has(stem(e)));
  const missingInA = b.entities.filter((e) => !a.words.has(e) && !a.words.has(stem(e)));
  if (missingInB.length || missingInA.length) yield reject('entities', `${show(missingInB)} vs ${show(missingInA)}`);
  // Shared names must come in the same order: "Is France bigger than Germany?" is not
  // "Is Germany bigger than France?".
  const orderA = a.entities.filter((e) => b.entities.includes(e));
  const orderB = b.entities.filter((e) => a.entities.includes(e));
  if (!sameList(orderA, orderB)) yield reject('entities', `order ${show(orderA)} vs ${show(orderB)}`);
  if (a.negations !== b.negations) yield reject('negation', `${a.negations} vs ${b.negations} negations`);
  if (!sameSet(a.formats, b.formats)) yield reject('format', `${show(a.formats)} vs ${show(b.formats)}`);
  if (!sameSet(a.timeWords, b.timeWords)) yield reject('time', `${show(a.timeWords)} vs ${show(b.timeWords)}`);
  if (a.tense && b.tense && a.tense !== b.tense) yield reject('time', `${a.tense} vs ${b.tense} tense`);
  if (!sameSet(a.questionWords, b.questionWords))
    yield reject('question', `${show(a.questionWords)} vs ${show(b.questionWords)}`);
  const content = contentFailure(a, b, options, reject);
  if (content) yield content;
  const order = checkOrder(a.sequence, b.sequence, reject);
  if (!order.ok) yield order;
}

function contentFailure(
  a: PromptFeatures,
  b: PromptFeatures,
  options: VerifyOptions,
  reject: (reason: RejectionReason, detail: string) => Rejected,
): Rejected | undefined {
  const onlyA = [...a.contentWords].filter(
    (w) => !b.contentWords.has(w) && ![...b.contentWords].some((v) => sameFamily(w, v)),
  );
  const onlyB = [...b.contentWords].filter(
    (w) => !a.contentWords.has(w) && ![...a.contentWords].some((v) => sameFamily(w, v)),
  );
  if (onlyA.length === 0 && onlyB.length === 0) return undefined;
  const similarity = options.wordSimilarity;
  if (!similarity) return reject('content', `${show(onlyA)} vs ${show(onlyB)}`);
  const substitution = options.contentWordSimilarity ?? CONTENT_WORD_SIMILARITY;
  const sense = options.synonymSenseSimilarity ?? SYNONYM_SENSE_SIMILARITY;
  const synonyms = options.synonyms;
  const surfaceOf = (features: PromptFeatures, word: string) => features.surface.get(word) ?? word;
  // One to one: a word's counterpart is one the other side lacks ("hugging and kissing" is
  // not "kissing" although hugging and kissing are close). Best pairs first, greedily.
  const edges: Array<{ x: string; y: string; value: number }> = [];
  for (const x of onlyA) {
    for (const y of onlyB) {
      const sx = surfaceOf(a, x);
      const sy = surfaceOf(b, y);
      const value = similarity(sx, sy) ?? -1;
      if (value >= substitution || (value >= sense && synonyms?.(sx, sy) === true)) edges.push({ x, y, value });
    }
  }
  edges.sort((p, q) => q.value - p.value);
  const pairedA = new Set<string>();
  const pairedB = new Set<string>();
  const opposite: string[] = [];
  for (const { x, y } of edges) {
    if (pairedA.has(x) || pairedB.has(y)) continue;
    pairedA.add(x);
    pairedB.add(y);
    if (areOpposites(surfaceOf(a, x), surfaceOf(b, y))) opposite.push(`${surfaceOf(a, x)}/${surfaceOf(b, y)}`);
  }
  if (opposite.length) return reject('content', `opposites ${show(opposite)}`);
  // A word left without a counterpart may still be an elaboration that adds nothing the
  // other side does not already say: a frequent, generic word ("people", "way", "time") or
  // one that sits next to a word of the other prompt ("herbivorous animals" / "herbivores").
  const absorb = options.elaborationSimilarity ?? ELABORATION_SIMILARITY;
  const unpaired: string[] = [];
  const elaborations: string[] = [];
  const judge = (word: string, own: PromptFeatures, other: PromptFeatures) => {
    const surface = surfaceOf(own, word);
    const close =
      Number.isFinite(absorb) &&
      [...other.contentWords].some((v) => {
        const value = similarity(surface, surfaceOf(other, v)) ?? -1;
        return value >= absorb && !areOpposites(surface, surfaceOf(other, v));
      });
    // Relation words say who does what to whom ("… against three opponents"), and a list
    // member is a thing of its own ("hugging and kissing" is not "kissing", "a cat and a
    // dog" not "a dog"): never an elaboration.
    const light = !RELATION_WORDS.has(surface) && !own.coordinated.has(word) && (LIGHT_WORDS.has(surface) || close);
    if (light) elaborations.push(word);
    else unpaired.push(word);
  };
  for (const x of onlyA) if (!pairedA.has(x)) judge(x, a, b);
  for (const y of onlyB) if (!pairedB.has(y)) judge(y, b, a);
  if (unpaired.length) return reject('content', `no close counterpart for ${show(unpaired)}`);
  const shorter = Math.min(a.contentWords.size, b.contentWords.size);
  const allowed = Math.max(1, Math.floor(shorter * (options.maxRewordedShare ?? MAX_REWORDED_SHARE)));
  const reworded = Math.max(onlyA.length, onlyB.length);
  if (reworded > allowed) return reject('content', `${reworded} reworded content words, at most ${allowed} allowed`);
  if (elaborations.length > (options.maxElaborations ?? MAX_ELABORATIONS))
    return reject('content', `elaborations ${show(elaborations)}`);
  return undefined;
}

/**
 * A word or a run of words may move ("banana bread recipe" / "recipe for banana bread", a
 * clause: "In 1972, the family moved" / "The family moved in 1972"), but two words may not
 * change places: "built … planned by his son" / "planned … built by his son", "from New York
 * to Chapel Hill" / "to New York from Chapel Hill", "reduce complexity and increase payload"
 * / the reverse. The shared words outside the longest common subsequence must be one run,
 * the same on both sides; a single word may move only in a short prompt (at most
 * {@link SHORT_SEQUENCE} shared content words: a question reordering a noun phrase), because in a
 * long sentence one displaced word usually changes who did what (on PAWS dev's word-swapped
 * non-paraphrases: 3.0 % false hits when allowed everywhere, 1.5 % with this limit, 0 % when
 * never allowed — which costs 7 of 36 hand-written rewordings).
 */
function checkOrder(
  a: readonly string[],
  b: readonly string[],
  reject: (reason: RejectionReason, detail: string) => Rejected,
): Verdict {
  const inB = new Set(b);
  const inA = new Set(a);
  const x = a.filter((w) => inB.has(w));
  const y = b.filter((w) => inA.has(w));
  if (x.length === 0 || y.length === 0) return { ok: true };
  const width = y.length + 1;
  const table = new Uint16Array((x.length + 1) * width);
  for (let i = x.length - 1; i >= 0; i -= 1) {
    for (let j = y.length - 1; j >= 0; j -= 1) {
      table[i * width + j] =
        x[i] === y[j]
          ? table[(i + 1) * width + j + 1]! + 1
          : Math.max(table[(i + 1) * width + j]!, table[i * width + j + 1]!);
    }
  }
  const keptX = new Array<boolean>(x.length).fill(false);
  const keptY = new Array<boolean>(y.length).fill(false);
  for (let i = 0, j = 0; i < x.length && j < y.length;) {
    if (x[i] === y[j]) {
      keptX[i++] = true;
      keptY[j++] = true;
    } else if (table[(i + 1) * width + j]! >= table[i * width + j + 1]!) i += 1;
    else j += 1;
  }
  const movedRun = (kept: boolean[], words: string[]) => {
    const moved = kept.flatMap((k, i) => (k ? [] : [i]));
    // Words only one prompt repeats are not moves.
    const counted = moved.filter(
      (i) =>
        words.filter((w) => w === words[i]).length <=
        Math.min(x.filter((w) => w === words[i]).length, y.filter((w) => w === words[i]).length),
    );
    if (counted.length === 0) return { ok: true, moved: [] as string[] };
    const contiguous = counted.every((index, k) => k === 0 || index === counted[k - 1]! + 1);
    return {
      ok:
        contiguous &&
        (counted.length >= 2 || Math.min(x.filter(isWord).length, y.filter(isWord).length) <= SHORT_SEQUENCE),
      moved: counted.map((i) => words[i]!),
    };
  };
  // Opposites on both sides must keep their order ("coldest in July, hottest in January").
  for (let i = 0; i < x.length; i += 1) {
    for (let j = i + 1; j < x.length; j += 1) {
      if (!areOpposites(x[i]!, x[j]!)) continue;
      if (y.indexOf(x[i]!) > y.indexOf(x[j]!)) return reject('order', `opposites swapped: ${x[i]} … ${x[j]}`);
    }
  }
  const mx = movedRun(keptX, x);
  const my = movedRun(keptY, y);
  // A clause that moved is the same run of words, in the same order, on both sides.
  if (mx.ok && my.ok && sameList(mx.moved, my.moved)) return { ok: true };
  // One word moved between the ends ("In 1972, the family moved …" / "… moved in 1972"; "In
  // JavaScript, how do I …" / "… in JavaScript"): a fronted or trailing phrase, at any length.
  if (mx.moved.length === 1 && sameList(mx.moved, my.moved)) {
    const word = mx.moved[0]!;
    const atEdge = (list: string[]) => list[0] === word || list[list.length - 1] === word;
    if (atEdge(x) && atEdge(y)) return { ok: true };
  }
  return reject('order', `moved ${show(mx.moved)} vs ${show(my.moved)}`);
}

/** See {@link checkOrder}: shared content words (relation and person tokens not counted). */
const SHORT_SEQUENCE = 4;
const isWord = (token: string) => !token.startsWith('@');

/** Personal pronouns by person (possessives excluded: "my ex" says nothing about roles). */
const PERSONS = new Map(
  Object.entries({
    i: '@1s',
    me: '@1s',
    we: '@1p',
    us: '@1p',
    he: '@3m',
    him: '@3m',
    she: '@3f',
    her: '@3f',
    they: '@3p',
    them: '@3p',
  }),
);

/**
 * Words a question may add or drop without asking for another answer: who is meant in
 * general ("How do people deal with jealousy?" / "How do I …"), and intensifiers.
 */
const COORDINATORS = new Set(['and', 'or', 'nor', '&']);
const LIGHT_WORDS = new Set([
  'people',
  'someone',
  'somebody',
  'person',
  'anyone',
  'anybody',
  'exactly',
  'actually',
  'really',
  'basically',
  'just',
  'please',
]);

/** Function words that say who does what to whom: their order is kept by the order check. */
const RELATION_WORDS = new Set(['to', 'from', 'by', 'into', 'onto', 'than', 'between', 'against', 'toward', 'towards']);

const NEGATING_PREFIXES = ['un', 'in', 'im', 'il', 'ir', 'dis', 'non', 'non-', 'anti', 'de', 'mis'];

/** True when two words are opposites that word vectors place close together (highest/lowest). */
function areOpposites(a: string, b: string): boolean {
  if (ANTONYMS.get(a)?.has(b) || ANTONYMS.get(b)?.has(a)) return true;
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  if (NEGATING_PREFIXES.some((p) => long === p + short)) return true;
  // -ful / -less: "useful" / "useless".
  return short.endsWith('ful') && long === `${short.slice(0, -3)}less`;
}
