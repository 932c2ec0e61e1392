/**
 * Gateway overhead benchmark (issue 2): open-loop requests at a fixed rate to the simulator
 * directly and through Sluice, same simulator latency, same run, alternating phases so machine
 * noise hits both. Reports added P50/P99 latency and achieved throughput.
 *
 *   pnpm bench:overhead [--rate 200] [--duration 20] [--latency-ms 50] [--rounds 2]
 *
 * `measureOverhead` is also a phase of the load run (`run.ts`).
 */
import { pathToFileURL } from 'node:url';
import { runOpenLoop, type HttpRequestSpec, type OpenLoopResult } from './driver.ts';
import { startRedis, startSim, startSluice } from './processes.ts';
import type { OverheadResult } from './results.ts';
import { writeModels } from './scaling.ts';
import { median } from './stats.ts';

/** Options for {@link measureOverhead}. */
export interface OverheadOptions {
  rate: number;
  durationSeconds: number;
  simLatencyMs: number;
  rounds: number;
  /** Use this Redis. @defaultValue one started for the measurement */
  redisUrl?: string;
  /** Key prefix of the Sluice stack. @defaultValue `lt-overhead` */
  prefix?: string;
  log?: (line: string) => void;
  /** Print a live progress line. @defaultValue false */
  progress?: boolean;
}

/** Direct vs through Sluice on one simulator with a fixed latency; medians of rounds. */
export async function measureOverhead(options: OverheadOptions): Promise<OverheadResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const redis = await startRedis(options.redisUrl);
  // No provider limits: the simulator's default 5,000 rpm on sim-small would make this measure
  // queueing behind the limit above 83 req/s, not overhead.
  const sim = await startSim([
    '--profile',
    'fixed',
    '--latency-ms',
    String(options.simLatencyMs),
    '--models',
    writeModels(['sim-router', 'sim-small', 'sim-large', 'sim-embed'].map((id) => ({ id, rpm: 0, tpm: 0 }))),
  ]);
  const stack = await startSluice({
    redisUrl: redis.url,
    simUrl: sim.apiUrl,
    prefix: options.prefix ?? 'lt-overhead',
  }).catch(async (error) => {
    await sim.stop();
    await redis.stop();
    throw error;
  });
  const apiKey = stack.apiKeys.bench!;
  const body = (i: number, model: string) => ({
    model,
    messages: [{ role: 'user', content: `Benchmark prompt number ${i}: say something short.` }],
  });
  const results: Record<'direct' | 'sluice', OpenLoopResult[]> = { direct: [], sluice: [] };
  try {
    // Warm-up: JIT, connection pools, BullMQ scripts.
    await runOpenLoop({
      rate: Math.min(20, options.rate),
      durationSeconds: Math.max(3, 40 / Math.min(20, options.rate)),
      makeRequest: (i) => ({
        url: `${stack.apiUrl}/v1/chat/completions`,
        headers: { authorization: `Bearer ${apiKey}` },
        body: body(i + 9e6, 'small'),
      }),
    });
    for (let round = 0; round < options.rounds; round++) {
      for (const target of ['direct', 'sluice'] as const) {
        const r = await runOpenLoop({
          rate: options.rate,
          durationSeconds: options.durationSeconds,
          onProgress: options.progress || undefined,
          label: `overhead ${target}`,
          makeRequest: (i): HttpRequestSpec =>
            target === 'direct'
              ? { url: `${sim.apiUrl}/chat/completions`, headers: {}, body: body(i + round * 1e6, 'sim-small') }
              : // `small` pins the tier, as a direct call pins its model; Cache-Control keeps
                // the comparison about the queue path, not about cache hits.
                {
                  url: `${stack.apiUrl}/v1/chat/completions`,
                  headers: { authorization: `Bearer ${apiKey}`, 'cache-control': 'no-store' },
                  body: body(i + round * 1e6, 'small'),
                },
        });
        results[target].push(r);
        log(
          `round ${round + 1} ${target.padEnd(6)} p50 ${r.p50} ms  p99 ${r.p99} ms  max ${r.max} ms  ok ${r.ok}/${r.sent}  ${r.throughput} req/s`,
        );
      }
    }
  } finally {
    await stack.stop();
    await sim.stop();
    await redis.stop();
  }
  const row = (rs: OpenLoopResult[]) => ({
    p50: median(rs.map((r) => r.p50)),
    p99: median(rs.map((r) => r.p99)),
    throughput: median(rs.map((r) => r.throughput)),
    errors: rs.reduce((a, r) => a + r.errors, 0),
  });
  const direct = row(results.direct);
  const sluice = row(results.sluice);
  const round2 = (x: number) => Math.round(x * 100) / 100;
  return {
    rate: options.rate,
    durationSeconds: options.durationSeconds,
    rounds: options.rounds,
    simLatencyMs: options.simLatencyMs,
    direct,
    sluice,
    addedP50: round2(sluice.p50 - direct.p50),
    addedP99: round2(sluice.p99 - direct.p99),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name: string, def: number) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? Number(process.argv[i + 1]) : def;
  };
  const r = await measureOverhead({
    rate: arg('rate', 200),
    durationSeconds: arg('duration', 20),
    simLatencyMs: arg('latency-ms', 50),
    rounds: arg('rounds', 2),
  });
  console.log(
    `\nOverhead at ${r.rate} req/s, simulator fixed latency ${r.simLatencyMs} ms, ${r.durationSeconds} s x ${r.rounds} rounds (medians of rounds)\n`,
  );
  console.log('| path | P50 ms | P99 ms | throughput req/s | errors |\n| --- | --- | --- | --- | --- |');
  for (const [name, x] of [
    ['direct', r.direct],
    ['sluice', r.sluice],
  ] as const)
    console.log(`| ${name} | ${x.p50} | ${x.p99} | ${x.throughput} | ${x.errors} |`);
  console.log(`\nadded by Sluice: P50 +${r.addedP50} ms, P99 +${r.addedP99} ms`);
}
