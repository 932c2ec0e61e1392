/**
 * Provider prompt caching against context pruning (issue 17): long conversations played turn
 * by turn on the large tier, three ways, against one simulator whose prompt cache reports
 * `cached_tokens` as OpenAI's does (prompts of 1,024+ tokens, matched prefix in 128-token steps):
 *
 * - **direct**: the client sends the whole history to the provider every turn (no Sluice); the
 *   provider's cache serves the repeated history;
 * - **sluice, client history**: the same, through Sluice, which prunes a history over
 *   `SLUICE_CONTEXT_MAX_INPUT_TOKENS` to its last turns, a rolling summary and the constraint
 *   buffer;
 * - **sluice, stored**: Sluice keeps the history under `conversation_id`.
 *
 * Every cost is priced with cached tokens at the cached rate (sim-large: $2.50 input, $1.25
 * cached, $10 output per million). Sluice's figures include the rolling summaries' cost (router
 * tier). Reported per turn range, so it says where each wins.
 *
 *   pnpm bench:prompt-cache [--conversations 3] [--turns 60] [--max-input-tokens 4096]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { costUsd } from '@sluice/llm';
import { generateConversation } from '@sluice/routing';
import { ROOT, startRedis, startSim, startSluice } from './processes.ts';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const conversations = arg('conversations', 3);
const turns = arg('turns', 60);
const maxInputTokens = arg('max-input-tokens', 4096);

const LARGE = { inputPricePerMTok: 2.5, outputPricePerMTok: 10, cachedInputPricePerMTok: 1.25 };
const SYSTEM = `You are a patient planning assistant for a family. ${'Answer in short paragraphs, name concrete options, and say what each costs in time and money. '.repeat(12)}`;
const RANGES = [
  [1, 10],
  [11, 30],
  [31, turns],
] as const;

type Path = 'direct' | 'client' | 'stored';
interface TurnCost {
  turn: number;
  cost: number;
  listCost: number;
  promptTokens: number;
  cachedTokens: number;
}

const redis = await startRedis(process.env.REDIS_URL);
const sim = await startSim(['--profile', 'fast']);
// The conversations measure prices, not the provider's limits.
for (const model of [
  'sim-router',
  'sim-small',
  'sim-large',
  'sim-large@direct',
  'sim-large@client',
  'sim-large@stored',
]) {
  const res = await fetch(`${sim.baseUrl}/sim/models/${model}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ rpm: 0, tpm: 0 }),
  });
  if (!res.ok) throw new Error(`could not lift the limits of ${model}: ${res.status}`);
}
// Each path has its own model variant, so one path's prompts never warm another's cache.
const deployments = (large: string) =>
  JSON.stringify([
    { id: 'sim-router', tier: 'router', baseUrl: sim.apiUrl, model: 'sim-router' },
    { id: 'sim-small', tier: 'small', baseUrl: sim.apiUrl, model: 'sim-small' },
    { id: 'sim-large', tier: 'large', baseUrl: sim.apiUrl, model: large },
  ]);
const stack = (path: 'client' | 'stored') =>
  startSluice({
    redisUrl: redis.url,
    simUrl: sim.apiUrl,
    prefix: `pcache${path}${Date.now().toString(36)}`,
    tenants: [path],
    env: {
      SLUICE_CONTEXT_MAX_INPUT_TOKENS: String(maxInputTokens),
      SLUICE_TENANT_RPM: '100000',
      SLUICE_DEPLOYMENTS: deployments(`sim-large@${path}`),
    },
  });
const sluices = { client: await stack('client'), stored: await stack('stored') };
try {
  const direct = new OpenAI({ baseURL: sim.apiUrl, apiKey: 'sim', maxRetries: 0 });
  const viaSluice = (tenant: 'client' | 'stored') =>
    new OpenAI({
      baseURL: `${sluices[tenant].apiUrl}/v1`,
      apiKey: sluices[tenant].apiKeys[tenant]!,
      maxRetries: 0,
      defaultHeaders: { 'cache-control': 'no-store' },
    });
  const clients = { client: viaSluice('client'), stored: viaSluice('stored') };
  const costs: Record<Path, TurnCost[]> = { direct: [], client: [], stored: [] };

  for (let c = 0; c < conversations; c++) {
    const userTurns = generateConversation(c + 1, turns)
      .messages.filter((m) => m.role === 'user')
      .map((m) => String(m.content));
    const histories: Record<'direct' | 'client', OpenAI.ChatCompletionMessageParam[]> = {
      direct: [{ role: 'system', content: SYSTEM }],
      client: [{ role: 'system', content: SYSTEM }],
    };
    const conversationId = `bench-${c}-${Date.now().toString(36)}`;
    for (let t = 0; t < userTurns.length; t++) {
      const user = { role: 'user' as const, content: userTurns[t]! };
      for (const path of ['direct', 'client'] as const) {
        histories[path].push(user);
        const { data, response } = await (path === 'direct' ? direct : clients.client).chat.completions
          .create({ model: path === 'direct' ? 'sim-large@direct' : 'large', messages: histories[path] })
          .withResponse();
        histories[path].push({ role: 'assistant', content: data.choices[0]!.message.content ?? '' });
        const usage = data.usage!;
        const cachedTokens = usage.prompt_tokens_details?.cached_tokens ?? 0;
        const listCost = costUsd(
          { inputPricePerMTok: LARGE.inputPricePerMTok, outputPricePerMTok: LARGE.outputPricePerMTok },
          usage,
        );
        // Sluice's answer carries its own price of the call (the pruned prompt's usage is not the client's).
        const cost = path === 'direct' ? costUsd(LARGE, usage) : Number(response.headers.get('x-sluice-cost-usd'));
        costs[path].push({ turn: t + 1, cost, listCost, promptTokens: usage.prompt_tokens, cachedTokens });
      }
      const { response } = await clients.stored.chat.completions
        .create({
          model: 'large',
          messages: [...(t === 0 ? [{ role: 'system' as const, content: SYSTEM }] : []), user],
          conversation_id: conversationId,
        } as never)
        .withResponse();
      costs.stored.push({
        turn: t + 1,
        cost: Number(response.headers.get('x-sluice-cost-usd')),
        listCost: 0,
        promptTokens: 0,
        cachedTokens: 0,
      });
    }
    process.stdout.write(`conversation ${c + 1}/${conversations} done\n`);
  }

  // Summaries are billed apart from the jobs: the price of pruning.
  const summaries = async (tenant: 'client' | 'stored') =>
    (
      (await (
        await fetch(`${sluices[tenant].apiUrl}/v1/usage`, {
          headers: { authorization: `Bearer ${sluices[tenant].apiKeys[tenant]}` },
        })
      ).json()) as { summaries: { cost_usd: number; jobs: number } }
    ).summaries;
  const summary = { client: await summaries('client'), stored: await summaries('stored') };
  const sum = (rows: TurnCost[], from: number, to: number, field: 'cost' | 'listCost' = 'cost') =>
    rows.filter((r) => r.turn >= from && r.turn <= to).reduce((a, r) => a + r[field], 0);
  const fmt = (usd: number) => `$${usd.toFixed(4)}`;
  const directCached =
    costs.direct.reduce((a, r) => a + r.cachedTokens, 0) /
    Math.max(
      1,
      costs.direct.reduce((a, r) => a + r.promptTokens, 0),
    );
  const lines = [
    '# Provider prompt cache against context pruning',
    '',
    `\`pnpm bench:prompt-cache --conversations ${conversations} --turns ${turns} --max-input-tokens ${maxInputTokens}\` on ${new Date().toISOString().slice(0, 10)}: ${conversations} generated`,
    `${turns}-turn conversations (packages/routing's generator, a ${SYSTEM.split(/\s+/).length}-word system prompt), large tier, on the simulator's`,
    "OpenAI-style prompt cache (each path on its own model variant, so no path warms another's cache); cached",
    'tokens priced at the cached rate ($1.25 against $2.50 per million).',
    '',
    '| turns | direct, no cache discount | direct (provider cache) | Sluice, client history | Sluice, stored conversation |',
    '| --- | --- | --- | --- | --- |',
    ...RANGES.map(
      ([from, to]) =>
        `| ${from}–${to} | ${fmt(sum(costs.direct, from, to, 'listCost'))} | ${fmt(sum(costs.direct, from, to))} | ${fmt(sum(costs.client, from, to))} | ${fmt(sum(costs.stored, from, to))} |`,
    ),
    `| summaries (router tier) | – | – | ${fmt(summary.client.cost_usd)} (${summary.client.jobs} jobs) | ${fmt(summary.stored.cost_usd)} (${summary.stored.jobs} jobs) |`,
    `| **all** | ${fmt(sum(costs.direct, 1, turns, 'listCost'))} | ${fmt(sum(costs.direct, 1, turns))} | ${fmt(sum(costs.client, 1, turns) + summary.client.cost_usd)} | ${fmt(sum(costs.stored, 1, turns) + summary.stored.cost_usd)} |`,
    '',
    `The provider's cache served ${(directCached * 100).toFixed(1)} % of the direct path's prompt tokens.`,
    '',
  ];
  const report = lines.join('\n');
  writeFileSync(join(ROOT, 'load-tests/reports/prompt-cache.md'), report);
  process.stdout.write(`\n${report}\n`);
} finally {
  await sluices.client.stop();
  await sluices.stored.stop();
  await sim.stop();
  await redis.stop();
}
