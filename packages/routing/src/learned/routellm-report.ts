import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { evalMessages, scoreDecisions, type EvalItem } from '../evaluation.ts';
import { createRouter } from '../router.ts';
import { rulesStrategy } from '../rules.ts';
import { curveSvg, evaluateSet, formatSet, type SetReport } from './routellm-eval.ts';
import { isTrainingDomain, loadRouteLlm, ROUTELLM_COMMIT } from './routellm-data.ts';
import { createLearnedModel } from './model.ts';
import type { LearnedStrategy } from './strategy.ts';

/** Options of {@link writeRouteLlmReport}. */
export interface RouteLlmReportOptions {
  /** Local copy of lm-sys/RouteLLM `routellm/evals/` (or the repository around it). */
  folder: string;
  /** Where `report.md` and `curve.svg` go. */
  outDir: string;
  learned: LearnedStrategy;
  /** The project's labelled sets, whose figures stay in the report. */
  labelled: { prompts: EvalItem[]; holdout: EvalItem[] };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** Evaluate the shipped router on RouteLLM's test sets and the labelled sets; write the report and chart; return the report. */
export async function writeRouteLlmReport(options: RouteLlmReportOptions): Promise<string> {
  const { learned } = options;
  const data = loadRouteLlm(options.folder);
  const router = createRouter({ strategies: [rulesStrategy({ lengthIsEvidence: false }), learned] });
  const sets: [string, typeof data.mmlu][] = [
    ['MMLU domains i–z (test)', data.mmlu.filter((x) => !isTrainingDomain(x.domain))],
    ['GSM8K (test)', data.gsm8k],
    ['MT-Bench (test)', data.mtBench],
  ];
  const reports: SetReport[] = [];
  const timing: string[] = [];
  for (const [name, items] of sets) {
    const t0 = performance.now();
    reports.push(await evaluateSet(name, items, learned, router));
    timing.push(`${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }

  // Cost of the learned router on this machine: loading the shipped file, scoring a prompt,
  // and a whole decision (rules features included), medians over 2,000 MMLU prompts.
  const sample = data.mmlu.filter((x) => !isTrainingDomain(x.domain)).slice(0, 2000);
  const t0 = performance.now();
  const loaded = createLearnedModel(JSON.parse(readFileSync(new URL('./learned-model.json', import.meta.url), 'utf8')));
  const loadMs = performance.now() - t0;
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const scoreMs = median(
    sample.map((x) => {
      const t = performance.now();
      loaded.smallSuffices(x.prompt, 0);
      return performance.now() - t;
    }),
  );
  const decideMs: number[] = [];
  for (const x of sample) {
    const t = performance.now();
    await router.decide({ request: { model: 'auto', messages: [{ role: 'user', content: x.prompt }] } });
    decideMs.push(performance.now() - t);
  }
  const cost = `loading the model ${loadMs.toFixed(0)} ms once per process; scoring a prompt ${(scoreMs * 1000).toFixed(0)} µs (median); a whole decision, rules features included, ${median(decideMs).toFixed(2)} ms (median over ${sample.length} MMLU prompts, loaded shared machine)`;

  // The labelled sets, through the same default router.
  const labelled: string[] = [];
  for (const [set, items] of Object.entries(options.labelled)) {
    const decisions = [];
    for (const item of items)
      decisions.push(await router.decide({ request: { model: 'auto', messages: evalMessages(item) } }));
    const r = scoreDecisions(`rules → learned, quality ${learned.quality}`, items, decisions);
    labelled.push(
      `| ${set}${set === 'holdout' ? ' (never tuned on)' : ' (tuned on; also in the training data ×3)'} | ${r.n} | ${pct(r.accuracy)} | ${pct(r.complexToSmall)} (${r.missedComplex.length}) | ${pct(r.simpleToSmall)} | ${pct(r.saving)} |`,
    );
  }

  const headline = reports.map(
    (r) =>
      `| ${r.name} | ${r.n} | ${pct(r.defaultRow.largeShare)} | ${pct(r.defaultRow.pgr)} | ${(r.defaultRow.aboveRandom * 100).toFixed(1)} | ${pct(r.others[0]!.largeShare)} / ${pct(r.others[0]!.pgr)} | ${pct(r.defaultRow.saving)} |`,
  );
  const md = [
    '# Routing on public per-prompt results (RouteLLM)',
    '',
    `Command: \`pnpm eval:routing --strategy rules --routellm ~/.cache/sluice/eval-data/routellm\` (a local copy of`,
    `github.com/lm-sys/RouteLLM at ${ROUTELLM_COMMIT}, folder \`routellm/evals/\`; its files are not in this repository).`,
    '',
    "Each prompt is given the large model's (GPT-4-1106-preview) published result when routed large and",
    "the small model's (Mixtral-8x7B-Instruct) otherwise; PGR is the share of the gap between all-small and",
    'all-large that the routing recovers; a random router that sends a share s large recovers s. Contaminated',
    `prompts listed by RouteLLM are dropped (MMLU ${data.dropped.mmlu}, GSM8K ${data.dropped.gsm8k}, MT-Bench ${data.dropped.mtBench} questions).`,
    'The learned router was trained and its default picked on MMLU domains a–h and `prompts.json` only;',
    'none of the sets below was used for training or for any threshold. MT-Bench is scored as RouteLLM does:',
    "routed on the first turn, the routed model's judge score averaged over both turns.",
    '',
    `Saving: cost against sending everything large at list prices (small $0.15 / $0.60, large $2.50 / $10 per`,
    'million input / output tokens, gpt-4o-mini and gpt-4o); input tokens counted, output tokens of the',
    'published answers (GSM8K, MT-Bench first turn), one token per MMLU answer (its answers are not published).',
    '',
    '## At the default setting',
    '',
    '| test set | prompts | to large | PGR | PGR − random (points) | old default: to large / PGR | saving vs all-large |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...headline,
    '',
    '![curves](curve.svg)',
    '',
    "## The project's labelled sets, same router",
    '',
    '| set | prompts | tier accuracy | complex → small (≤ 5 %) | simple → small | saving vs all-large |',
    '| --- | --- | --- | --- | --- | --- |',
    ...labelled,
    '',
    '## Curves per test set',
    '',
    ...reports.flatMap((r) => [formatSet(r), '']),
    '## Notes',
    '',
    `- Every prompt of every set was also routed through \`router.decide\` at the default setting and matched the`,
    `  table's decision (${reports.reduce((s, r) => s + r.checkedPrompts, 0)} prompts).`,
    "- The cascade rows use the quality gate on the small model's published answer (GSM8K, MT-Bench): it",
    '  escalates refusals, hedges and cut-off answers; a wrong answer given with confidence passes it. Both',
    '  calls of an escalated prompt are paid.',
    ...learned.model.file.trainedOn.notes.map((n) => `- Training: ${n}.`),
    `- Cost: ${cost}.`,
    `- Time to evaluate (rules, learned score and the router's check on every prompt): ${timing.join('; ')}.`,
    '',
  ].join('\n');
  mkdirSync(options.outDir, { recursive: true });
  writeFileSync(join(options.outDir, 'report.md'), md);
  writeFileSync(join(options.outDir, 'curve.svg'), curveSvg(reports));
  return md;
}
