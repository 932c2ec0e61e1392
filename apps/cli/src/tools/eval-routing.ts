/**
 * Routing eval: `pnpm eval:routing [--strategy rules|knn|llm|all] [--set prompts|holdout] [--embedder local|cache|sif] [--json] [--routellm DIR]`.
 *
 * - `--routellm DIR`: also the cost–quality curves on RouteLLM's published per-prompt results
 *   (a local copy of lm-sys/RouteLLM `routellm/evals/`): per test set, the share sent large
 *   against the quality gap recovered at several quality settings, beside a random router;
 *   written to `eval/routellm/report.md` and `eval/routellm/curve.svg` (`--out DIR` elsewhere).
 *
 * - rules: the rules strategy alone.
 * - knn: the kNN strategy over the shipped exemplars (none of which is in the eval set), and
 *   5-fold over the eval set (each fold decided with the other four folds added as exemplars),
 *   with the offline hashing embedder. Needs Redis 8: `--redis-url`, else a throwaway one is
 *   started (infra/redis).
 * - llm: the LLM router against an OpenAI-compatible endpoint (`--llm-base-url`,
 *   `--llm-model`, key in the env var named by `--llm-key-env`, default OPENAI_API_KEY); skipped
 *   when none is configured.
 * - all: each of the above, then the composed routers rules, rules → knn and
 *   rules → knn → llm (first confident strategy decides; low confidence → large).
 *
 * An entry point: it reads the environment once (the LLM key, and the validated config for
 * where the word vectors are) and passes the values to `@sluice/routing`.
 */
import { parseArgs } from 'node:util';
import { HashingEmbedder, loadSifEmbedder } from '@sluice/cache';
import { loadConfig } from '@sluice/config';
import { startRedisServer } from '@sluice/redis-server';
import type { ChatMessage, RouteDecision } from '@sluice/queues';
import { createKeys, createRedis, type Redis } from '@sluice/redis';
import {
  createHashingEmbedder,
  createRouter,
  DEFAULT_EXEMPLARS,
  evalMessages,
  formatReport,
  knnStrategy,
  learnedStrategy,
  llmStrategy,
  loadEvalSet,
  rulesStrategy,
  scoreDecisions,
  writeRouteLlmReport,
  type CompleteFunction,
  type EvalItem,
  type EvalReport,
  type Exemplar,
  type RoutingStrategy,
} from '@sluice/routing';

/** The environment, read here only. */
const env = process.env;

const { values } = parseArgs({
  options: {
    strategy: { type: 'string', default: 'all' },
    json: { type: 'boolean', default: false },
    'redis-url': { type: 'string' },
    'llm-base-url': { type: 'string' },
    'llm-model': { type: 'string', default: 'gpt-4o-mini' },
    'llm-key-env': { type: 'string', default: 'OPENAI_API_KEY' },
    threshold: { type: 'string', default: '0.7' },
    set: { type: 'string', default: 'prompts' },
    embedder: { type: 'string', default: 'local' },
    routellm: { type: 'string' },
    out: { type: 'string' },
  },
});
const which = values.strategy!;
if (!['rules', 'knn', 'llm', 'all'].includes(which)) {
  console.error(`Expected --strategy to be rules, knn, llm or all, got \`${which}\``);
  process.exit(2);
}
const threshold = Number(values.threshold);
if (values.set !== 'prompts' && values.set !== 'holdout') {
  console.error(`Expected --set to be prompts or holdout, got \`${values.set}\``);
  process.exit(2);
}
const items = loadEvalSet(values.set);
const reports: EvalReport[] = [];
const notes: string[] = [];
// `local`: this package's test embedder; `cache`: the cache's offline HashingEmbedder, which
// the classifier hands to knn in production.
let embed = createHashingEmbedder(256);
let embedderId = 'routing-hashing-256';
if (values.embedder === 'cache') {
  const embedder = new HashingEmbedder({ dimensions: 256 });
  embed = (texts) => embedder.embed([...texts]);
  embedderId = embedder.id;
} else if (values.embedder === 'sif') {
  // The cache's default embedder, and so the one the classifier's kNN compares with.
  // Where every process finds the model: the config resolves SLUICE_EMBEDDINGS_MODEL_DIR or the cache folder.
  const sif = loadSifEmbedder(loadConfig({ env }).embeddings.modelDir);
  if (!sif.embedder) {
    console.error(`--embedder sif: ${sif.notice}`);
    process.exit(2);
  }
  const embedder = sif.embedder;
  embed = (texts) => embedder.embed([...texts]);
  embedderId = embedder.id;
} else if (values.embedder !== 'local') {
  console.error(`Expected --embedder to be local, cache or sif, got \`${values.embedder}\``);
  process.exit(2);
}

async function run(
  name: string,
  strategy: RoutingStrategy,
  subset: readonly EvalItem[] = items,
): Promise<RouteDecision[]> {
  const decisions: RouteDecision[] = [];
  for (const item of subset) {
    const messages = evalMessages(item);
    decisions.push(await strategy.decide({ request: { model: 'auto', messages } }));
  }
  return decisions;
}

let redis: Redis | undefined;
let stopRedis: (() => Promise<void>) | undefined;
async function getRedis(): Promise<Redis> {
  if (redis) return redis;
  let url = values['redis-url'];
  if (!url) {
    const server = await startRedisServer({ log: () => undefined });
    url = server.url;
    stopRedis = server.stop;
  }
  redis = createRedis({ url, role: 'worker', name: 'routing-eval' });
  return redis;
}
const keys = createKeys(`routing-eval-${process.pid}-${Date.now()}`);

function llmComplete(): CompleteFunction | undefined {
  const key = env[values['llm-key-env']!];
  const baseUrl = values['llm-base-url'] ?? (key ? 'https://api.openai.com/v1' : undefined);
  if (!baseUrl) return undefined;
  const apiKey = key ?? '';
  return async (messages: ChatMessage[], { signal }) => {
    const response = await fetch(`${baseUrl.replace(/\/$/, '')}/chat/completions`, {
      method: 'POST',
      signal,
      headers: { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
      body: JSON.stringify({
        model: values['llm-model'],
        messages,
        temperature: 0,
        max_tokens: 80,
        response_format: { type: 'json_object' },
      }),
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const body = (await response.json()) as { choices?: { message?: { content?: string } }[] };
    return body.choices?.[0]?.message?.content ?? '';
  };
}

const rules = rulesStrategy();
if (which === 'rules' || which === 'all') reports.push(scoreDecisions('rules', items, await run('rules', rules)));

let knn: RoutingStrategy | undefined;
if (which === 'knn' || which === 'all') {
  const client = await getRedis();
  knn = knnStrategy({ redis: client, keys, embed, embedderId, namespace: 'shipped' });
  reports.push(
    scoreDecisions(`knn (${embedderId}, shipped exemplars, eval set held out)`, items, await run('knn', knn)),
  );
  // 5-fold: the eval set's own labels as exemplars, each fold decided without itself.
  const folds = 5;
  const decisions: RouteDecision[] = new Array(items.length);
  for (let f = 0; f < folds; f++) {
    const train: Exemplar[] = items
      .filter((_, i) => i % folds !== f)
      .map((item) => ({
        text: item.prompt ?? String(evalMessages(item).at(-1)?.content ?? ''),
        tier: item.tier,
        category: item.category,
      }));
    const foldKnn = knnStrategy({
      redis: client,
      keys,
      embed,
      embedderId,
      namespace: `fold-${f}`,
      exemplars: [...DEFAULT_EXEMPLARS, ...train],
    });
    const testIdx = items.map((_, i) => i).filter((i) => i % folds === f);
    const out = await run(
      'knn-fold',
      foldKnn,
      testIdx.map((i) => items[i]!),
    );
    testIdx.forEach((i, j) => (decisions[i] = out[j]!));
  }
  reports.push(scoreDecisions(`knn 5-fold (${embedderId}, shipped + other folds)`, items, decisions));
}

let llm: RoutingStrategy | undefined;
if (which === 'llm' || which === 'all') {
  const complete = llmComplete();
  if (complete) {
    llm = llmStrategy({ complete, timeoutMs: 10_000 });
    reports.push(scoreDecisions(`llm (${values['llm-model']})`, items, await run('llm', llm)));
  } else {
    notes.push('llm: skipped, no model configured (pass --llm-base-url, or set OPENAI_API_KEY).');
  }
}

async function runRouter(strategies: RoutingStrategy[]): Promise<void> {
  const router = createRouter({ strategies, threshold, lowConfidence: 'large' });
  const decisions: RouteDecision[] = [];
  for (const item of items)
    decisions.push(await router.decide({ request: { model: 'auto', messages: evalMessages(item) } }));
  reports.push(
    scoreDecisions(
      `router ${strategies.map((s) => s.name).join('→')} (threshold ${threshold}, low confidence → large)`,
      items,
      decisions,
    ),
  );
}
const learned = learnedStrategy();
if (which === 'rules' || which === 'all') await runRouter([rules]);
if (which === 'rules' || which === 'all') await runRouter([rules, learned]);
if (which === 'all') {
  if (knn) await runRouter([rules, knn]);
  if (llm) await runRouter([rules, knn, llm].filter((s): s is RoutingStrategy => s !== undefined));
}

if (values.json) console.log(JSON.stringify({ reports, notes }, null, 2));
else {
  for (const r of reports) console.log(`${formatReport(r)}\n`);
  for (const n of notes) console.log(n);
}
if (values.routellm) {
  const reportDir = values.out ?? new URL('../../../../packages/routing/eval/routellm/', import.meta.url).pathname;
  console.log(
    await writeRouteLlmReport({
      folder: values.routellm,
      outDir: reportDir,
      learned,
      labelled: { prompts: loadEvalSet('prompts'), holdout: loadEvalSet('holdout') },
    }),
  );
}
await redis?.quit();
await stopRedis?.();
