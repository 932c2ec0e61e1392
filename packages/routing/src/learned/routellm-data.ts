/**
 * Reads RouteLLM's published per-prompt results from a local copy of the repository's
 * `routellm/evals/` folder (lm-sys/RouteLLM; the figures in `eval/routellm/` were taken at
 * commit {@link ROUTELLM_COMMIT}). Nothing here downloads: an operator fetches the folder once
 * into a cache outside the repository (`~/.cache/sluice/eval-data/routellm/`), and the
 * training and evaluation scripts read it from there.
 *
 * - MMLU: `mmlu/responses/mmlu_<domain>.csv`, per question whether Mixtral-8x7B-Instruct and
 *   GPT-4-1106-preview answered correctly.
 * - GSM8K: `gsm8k/gsm8k_responses.csv`, the same plus both models' answers.
 * - MT-Bench: `mt_bench/question.jsonl` and `mt_bench/judgements.jsonl` (GPT-4 judge scores
 *   1–10 of both models on both turns).
 * - Each set's `contaminated_prompts.jsonl` lists prompts too close to an item of RouteLLM's
 *   training data; they are dropped here, as RouteLLM's own evaluation does.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The RouteLLM commit whose `routellm/evals/` the committed figures were measured on. */
export const ROUTELLM_COMMIT = '0b64fdafe049e596a3f5657c219329f24af24198';

/** Column names of the weak and strong models in RouteLLM's files. */
export const WEAK_MODEL = 'mistralai/Mixtral-8x7B-Instruct-v0.1';
export const STRONG_MODEL = 'gpt-4-1106-preview';

/** One prompt with both models' quality on it (correctness 0/1, or a judge score). */
export interface LabelledPrompt {
  /** Set it belongs to: `mmlu`, `gsm8k`, `mt-bench`. */
  set: 'mmlu' | 'gsm8k' | 'mt-bench' | 'arena-bench';
  /** MMLU domain (`college_mathematics`), MT-Bench category (`writing`), or `gsm8k`. */
  domain: string;
  prompt: string;
  /** Weak model's quality on it: 1/0 correct, or MT-Bench's judge score (mean of both turns). */
  weak: number;
  /** Strong model's quality on it. */
  strong: number;
  /** The weak model's answer, where the source has it (GSM8K; MT-Bench first turn). */
  weakAnswer?: string;
  /** The strong model's answer, where the source has it. */
  strongAnswer?: string;
}

/** What was read, and what was dropped. */
export interface RouteLlmData {
  mmlu: LabelledPrompt[];
  gsm8k: LabelledPrompt[];
  mtBench: LabelledPrompt[];
  /** Prompts dropped per set as contaminated. */
  dropped: { mmlu: number; gsm8k: number; mtBench: number };
  /** Source files, relative to the evals folder, for the report. */
  sources: string[];
}

/** Parse RFC 4180 CSV (quoted fields may hold commas, quotes and newlines). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
      continue;
    }
    if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

function readJsonl<T>(path: string): T[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);
}

function contaminated(dir: string, set: string): Set<string> {
  return new Set(
    readJsonl<{ eval_prompt: string }>(join(dir, set, 'contaminated_prompts.jsonl')).map((r) => r.eval_prompt),
  );
}

function bool(value: string | undefined, where: string): number {
  if (value === 'True') return 1;
  if (value === 'False') return 0;
  throw new Error(`Expected True or False in ${where}, got \`${value}\``);
}

/** Rows of a RouteLLM responses CSV as objects keyed by its header. */
function csvObjects(path: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(readFileSync(path, 'utf8'));
  if (!header) return [];
  return rows
    .filter((r) => r.length === header.length)
    .map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]!])));
}

/**
 * Read RouteLLM's evals folder (`<repo>/routellm/evals`, or a folder holding it).
 * @throws when the folder does not look like RouteLLM's `routellm/evals/`.
 */
export function loadRouteLlm(folder: string): RouteLlmData {
  const dir = [folder, join(folder, 'routellm', 'evals'), join(folder, 'evals')].find((d) =>
    existsSync(join(d, 'mmlu', 'responses')),
  );
  if (!dir)
    throw new Error(
      `No RouteLLM evals folder under \`${folder}\` (expected mmlu/responses/, gsm8k/, mt_bench/ from lm-sys/RouteLLM routellm/evals/)`,
    );
  const sources: string[] = [];

  const mmluBad = contaminated(dir, 'mmlu');
  const mmlu: LabelledPrompt[] = [];
  let mmluDropped = 0;
  const files = readdirSync(join(dir, 'mmlu', 'responses'))
    .filter((f) => /^mmlu_.+\.csv$/.test(f))
    .sort();
  for (const file of files) {
    const domain = file.replace(/^mmlu_/, '').replace(/\.csv$/, '');
    for (const row of csvObjects(join(dir, 'mmlu', 'responses', file))) {
      if (mmluBad.has(row.prompt!)) {
        mmluDropped++;
        continue;
      }
      mmlu.push({
        set: 'mmlu',
        domain,
        prompt: row.prompt!,
        weak: bool(row[WEAK_MODEL], file),
        strong: bool(row[STRONG_MODEL], file),
      });
    }
  }
  sources.push('mmlu/responses/mmlu_*.csv', 'mmlu/contaminated_prompts.jsonl');

  const gsmBad = contaminated(dir, 'gsm8k');
  const gsm8k: LabelledPrompt[] = [];
  let gsmDropped = 0;
  for (const row of csvObjects(join(dir, 'gsm8k', 'gsm8k_responses.csv'))) {
    if (gsmBad.has(row.prompt!)) {
      gsmDropped++;
      continue;
    }
    gsm8k.push({
      set: 'gsm8k',
      domain: 'gsm8k',
      prompt: row.prompt!,
      weak: bool(row[WEAK_MODEL], 'gsm8k_responses.csv'),
      strong: bool(row[STRONG_MODEL], 'gsm8k_responses.csv'),
      weakAnswer: row[`${WEAK_MODEL}_response`],
      strongAnswer: row[`${STRONG_MODEL}_response`],
    });
  }
  sources.push('gsm8k/gsm8k_responses.csv', 'gsm8k/contaminated_prompts.jsonl');

  // MT-Bench as RouteLLM scores it: routed on the first turn, and the routed model's judge
  // score averaged over both turns; a question is dropped when either turn is contaminated.
  const mtBad = contaminated(dir, 'mt_bench');
  const questions = readJsonl<{ question_id: number; category: string; turns: string[] }>(
    join(dir, 'mt_bench', 'question.jsonl'),
  );
  const judgements = readJsonl<{
    question_id: number;
    model: string;
    score: number;
    turn: number;
    user_prompt: string;
  }>(join(dir, 'mt_bench', 'judgements.jsonl'));
  const mtBench: LabelledPrompt[] = [];
  let mtDropped = 0;
  for (const q of questions) {
    if (q.turns.some((t) => mtBad.has(t))) {
      mtDropped++;
      continue;
    }
    const scores = (model: string) => judgements.filter((j) => j.question_id === q.question_id && j.model === model);
    const weak = scores(WEAK_MODEL);
    const strong = scores(STRONG_MODEL);
    if (!weak.length || !strong.length) continue;
    const mean = (js: typeof weak) => js.reduce((s, j) => s + j.score, 0) / js.length;
    mtBench.push({
      set: 'mt-bench',
      domain: q.category,
      prompt: q.turns[0]!,
      weak: mean(weak),
      strong: mean(strong),
      weakAnswer: firstTurnAnswer(weak.find((j) => j.turn === 1)?.user_prompt),
      strongAnswer: firstTurnAnswer(strong.find((j) => j.turn === 1)?.user_prompt),
    });
  }
  sources.push('mt_bench/question.jsonl', 'mt_bench/judgements.jsonl', 'mt_bench/contaminated_prompts.jsonl');
  return { mmlu, gsm8k, mtBench, dropped: { mmlu: mmluDropped, gsm8k: gsmDropped, mtBench: mtDropped }, sources };
}

/** The assistant's answer inside a first-turn judge prompt (`[The Start of Assistant's Answer] … [The End …]`). */
function firstTurnAnswer(judgePrompt: string | undefined): string | undefined {
  const m = judgePrompt?.match(/\[The Start of Assistant's Answer\]\n?([\s\S]*?)\n?\[The End of Assistant's Answer\]/);
  return m?.[1];
}

/** MMLU domains the learned router is trained and tuned on: names beginning with a–h. */
export function isTrainingDomain(domain: string): boolean {
  return /^[a-h]/.test(domain);
}
