/**
 * Reads Arena-Bench v1's published single-answer judge scores (lmarena/arena-hard-auto, then
 * lm-sys/arena-bench, at commit {@link ARENA_BENCH_COMMIT}: `data/arena-bench-v1/question.jsonl`
 * and `data/arena-bench-v1/model_judgment/{Mixtral-8x7B-Instruct-v0.1,gpt-4-turbo}.jsonl`) from
 * a local folder holding those three files as `question.jsonl`, `mixtral-judgment.jsonl` and
 * `gpt-4-turbo-judgment.jsonl`. 300 open-ended Chatbot Arena prompts, each answered by the same
 * weak and strong models as RouteLLM's sets (Mixtral-8x7B-Instruct, gpt-4-1106-preview) and
 * scored 1–10 by a GPT-4 judge against a reference answer. Nothing here downloads.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabelledPrompt } from './routellm-data.ts';

/** The arena-hard-auto commit the three files were taken from. */
export const ARENA_BENCH_COMMIT = 'ac4ad9a93a452cb256e83fe6d89957676c64f19b';

function readJsonl<T>(path: string): T[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);
}

/** Word 8-grams of a text, lower-cased, punctuation dropped. */
function shingles(text: string): Set<string> {
  const words = text
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  const out = new Set<string>();
  for (let i = 0; i + 8 <= words.length; i++) out.add(words.slice(i, i + 8).join(' '));
  if (words.length < 8) out.add(words.join(' '));
  return out;
}

/**
 * Arena-Bench prompts with both models' judge scores; a prompt sharing a word 8-gram with any
 * of `exclude` (the test sets' prompts) is dropped, so no test prompt is trained on.
 */
export function loadArenaBench(
  folder: string,
  exclude: readonly string[],
): { items: LabelledPrompt[]; dropped: number } {
  const questions = readJsonl<{ question_id: string; turns: string[] }>(join(folder, 'question.jsonl'));
  const score = (file: string) =>
    new Map(
      readJsonl<{ question_id: string; score: number | null }>(join(folder, file)).map((j) => [j.question_id, j.score]),
    );
  const weak = score('mixtral-judgment.jsonl');
  const strong = score('gpt-4-turbo-judgment.jsonl');
  const banned = new Set<string>();
  for (const text of exclude) for (const s of shingles(text)) banned.add(s);
  const items: LabelledPrompt[] = [];
  let dropped = 0;
  for (const q of questions) {
    const w = weak.get(q.question_id);
    const s = strong.get(q.question_id);
    const prompt = q.turns[0];
    if (typeof w !== 'number' || typeof s !== 'number' || !prompt) continue;
    if ([...shingles(prompt)].some((x) => banned.has(x))) {
      dropped++;
      continue;
    }
    items.push({ set: 'arena-bench', domain: 'arena-bench-v1', prompt, weak: w, strong: s });
  }
  return { items, dropped };
}
