/**
 * Cache-hit latency through the API (issue 3): open-loop requests at a fixed rate that the
 * cache answers, exact repeats and semantic rewordings (the eval set's rewording pairs), with
 * a direct call to the simulator in the same run for scale. Latency from intended send time.
 *
 *   pnpm bench:cache-hits [--rate 300] [--duration 15]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runOpenLoop, type OpenLoopResult } from './driver.ts';
import { startBenchStack } from './processes.ts';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const rate = arg('rate', 300);
const duration = arg('duration', 15);
const pairs = (
  JSON.parse(readFileSync(fileURLToPath(new URL('../../packages/cache/eval/pairs.json', import.meta.url)), 'utf8')) as {
    pairs: Array<{ expect: string; cached: string; query: string }>;
  }
).pairs.filter((p) => p.expect === 'hit');

const stack = await startBenchStack({ simArgs: ['--profile', 'fixed', '--latency-ms', '50'] });
const url = `${stack.apiUrl}/v1/chat/completions`;
const headers = { authorization: `Bearer ${stack.apiKey}` };
const body = (content: string) => ({ model: 'auto', messages: [{ role: 'user', content }] });
try {
  // Fill the cache: each pair's first prompt once, answered by the simulator.
  for (const p of pairs)
    await fetch(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(body(p.cached)),
    });
  const phases: Array<[string, OpenLoopResult, Record<string, number>]> = [];
  for (const [name, prompts] of [
    ['exact repeats', pairs.map((p) => p.cached)],
    ['semantic rewordings', pairs.map((p) => p.query)],
  ] as const) {
    const outcomes: Record<string, number> = {};
    const r = await runOpenLoop({
      rate,
      durationSeconds: duration,
      capture: true,
      makeRequest: (i) => ({ url, headers, body: body(prompts[i % prompts.length]!) }),
      onResponse: (rec) => {
        const o = `${rec.headers?.['x-sluice-cache'] ?? rec.status}${rec.headers?.['x-sluice-cache-kind'] ? `:${rec.headers['x-sluice-cache-kind']}` : ''}`;
        outcomes[o] = (outcomes[o] ?? 0) + 1;
      },
    });
    phases.push([name, r, outcomes]);
    console.error(`${name}: p50 ${r.p50} ms p99 ${r.p99} ms ok ${r.ok}/${r.sent}`, outcomes);
  }
  console.log(
    `\nCache hits through the API at ${rate} req/s for ${duration} s each (${pairs.length} prompts, simulator fixed 50 ms)\n`,
  );
  console.log(
    '| phase | P50 ms | P99 ms | max ms | throughput req/s | outcomes |\n| --- | --- | --- | --- | --- | --- |',
  );
  for (const [name, r, o] of phases)
    console.log(
      `| ${name} | ${r.p50} | ${r.p99} | ${r.max} | ${r.throughput} | ${Object.entries(o)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')} |`,
    );
} finally {
  await stack.stop();
}
