/**
 * Gateway overhead benchmark (issue 2): open-loop requests at a fixed rate to the simulator
 * directly and through Sluice, same simulator latency, same run, alternating phases so machine
 * noise hits both. Reports added P50/P99 latency and achieved throughput.
 *
 *   pnpm bench:overhead [--rate 200] [--duration 20] [--latency-ms 50] [--rounds 2]
 */
import { runOpenLoop, type OpenLoopResult } from './driver.ts';
import { startBenchStack } from './processes.ts';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const rate = arg('rate', 200);
const duration = arg('duration', 20);
const latencyMs = arg('latency-ms', 50);
const rounds = arg('rounds', 2);

const stack = await startBenchStack({ simArgs: ['--profile', 'fixed', '--latency-ms', String(latencyMs)] });
const body = (i: number, model: string) => ({ model, messages: [{ role: 'user', content: `Benchmark prompt number ${i}: say something short.` }] });
const results: Record<'direct' | 'sluice', OpenLoopResult[]> = { direct: [], sluice: [] };
try {
  // Warm-up: JIT, connection pools, BullMQ scripts.
  await runOpenLoop({ rate: 50, durationSeconds: 3, makeRequest: (i) => ({ url: `${stack.apiUrl}/v1/chat/completions`, headers: { authorization: `Bearer ${stack.apiKey}` }, body: body(i, 'small') }) });
  for (let round = 0; round < rounds; round++) {
    for (const target of ['direct', 'sluice'] as const) {
      const r = await runOpenLoop({
        rate,
        durationSeconds: duration,
        makeRequest: (i) =>
          target === 'direct'
            ? { url: `${stack.simUrl}/chat/completions`, headers: {}, body: body(i + round * 1e6, 'sim-small') }
            : // `small` pins the tier, as a direct call pins its model; Cache-Control keeps
              // the comparison about the queue path, not about cache hits.
              { url: `${stack.apiUrl}/v1/chat/completions`, headers: { authorization: `Bearer ${stack.apiKey}`, 'cache-control': 'no-store' }, body: body(i + round * 1e6, 'small') },
      });
      results[target].push(r);
      console.error(`round ${round + 1} ${target.padEnd(6)} p50 ${r.p50} ms  p99 ${r.p99} ms  max ${r.max} ms  ok ${r.ok}/${r.sent}  ${r.throughput} req/s`);
    }
  }
} finally {
  await stack.stop();
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const row = (name: string, rs: OpenLoopResult[]) => ({
  name,
  p50: median(rs.map((r) => r.p50)),
  p99: median(rs.map((r) => r.p99)),
  throughput: median(rs.map((r) => r.throughput)),
  errors: rs.reduce((a, r) => a + r.errors, 0),
});
const d = row('direct', results.direct);
const s = row('sluice', results.sluice);
console.log(`\nOverhead at ${rate} req/s, simulator fixed latency ${latencyMs} ms, ${duration} s x ${rounds} rounds (medians of rounds)\n`);
console.log('| path | P50 ms | P99 ms | throughput req/s | errors |\n| --- | --- | --- | --- | --- |');
for (const r of [d, s]) console.log(`| ${r.name} | ${r.p50} | ${r.p99} | ${r.throughput} | ${r.errors} |`);
console.log(`\nadded by Sluice: P50 +${Math.round((s.p50 - d.p50) * 100) / 100} ms, P99 +${Math.round((s.p99 - d.p99) * 100) / 100} ms`);
