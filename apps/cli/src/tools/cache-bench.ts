/**
 * `npx tsx apps/cli/src/tools/cache-bench.ts [--url redis://…] [--entries 100000] [--seconds 5] [--concurrency 32] [--rate 300] [--embedder sif|hashing]`
 *
 * Fills one namespace with `--entries` synthetic prompts (the default word-vector embedder,
 * prompts drawn from its vocabulary, or `--embedder hashing` on made-up words; Q8), then
 * measures for `--seconds` each: raw `VSIM … COUNT 5` throughput (closed loop, `--concurrency`
 * callers; Redis's defaults, and the cache's `EF 100 NOTHREAD`), and `ResponseCache.lookup` latency at a fixed arrival rate
 * (open loop, `--rate` per second) for exact hits, semantic hits (embed + GET + VSIM + MGET +
 * verification) and misses. Without `--url` it starts a throwaway Redis 8. Timings on shared
 * machines are noisy: compare within one run.
 */
import { randomUUID } from 'node:crypto';
import { createKeys, createRedis, type Redis } from '@sluice/redis';
import { startRedisServer, type RunningRedis } from '@sluice/redis-server';
import { join } from 'node:path';
import { EVAL_CONFIG, HashingEmbedder, ResponseCache, loadSifEmbedder, type Embedder } from '@sluice/cache';
import { sluiceCacheDir } from '@sluice/config';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const entries = flag('entries', 100_000);
const seconds = flag('seconds', 5);
const concurrency = flag('concurrency', 32);
const rate = flag('rate', 300);

// A deterministic pseudo-vocabulary, so prompts are diverse but reproducible.
let seed = 42;
const random = () => (seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32;
const syllables = ['ka', 'lo', 'mi', 'ra', 'ten', 'vo', 'shi', 'pan', 'dor', 'el', 'qu', 'ix', 'bo', 'nu', 'zet', 'ar'];
const embedderName = args.includes('--embedder') ? args[args.indexOf('--embedder') + 1] : 'sif';
const sif = embedderName === 'sif' ? loadSifEmbedder(join(sluiceCacheDir(process.env), 'embeddings')) : {};
if (embedderName === 'sif' && !sif.embedder) throw new Error(`--embedder sif: ${sif.notice}`);
const embedder: Embedder = sif.embedder ?? new HashingEmbedder({ dimensions: 256 });
// Real words (frequency ranks 500–20 500) for the word-vector model, made-up ones for hashing.
const vocabulary = sif.embedder
  ? Array.from({ length: 3_000 }, (_, i) => sif.embedder!.vectors.wordAt(500 + i * 6)).filter((w) =>
      /^\p{L}+$/u.test(w),
    )
  : Array.from({ length: 3_000 }, () =>
      Array.from(
        { length: 2 + Math.floor(random() * 3) },
        () => syllables[Math.floor(random() * syllables.length)],
      ).join(''),
    );
const openers = ['What is', 'How do I', 'Explain', 'Why does', 'Describe', 'Who made'];
const prompt = (i: number) => {
  const words = Array.from({ length: 4 + (i % 5) }, () => vocabulary[Math.floor(random() * vocabulary.length)]);
  return `${openers[i % openers.length]} ${words.join(' ')}?`;
};

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
const summary = (label: string, latencies: number[], elapsedMs: number, mode: string) => {
  const sorted = [...latencies].sort((a, b) => a - b);
  console.log(
    `${label.padEnd(34)} ${String(Math.round((latencies.length / elapsedMs) * 1_000)).padStart(7)} ops/s   p50 ${percentile(sorted, 0.5).toFixed(2)} ms   p99 ${percentile(sorted, 0.99).toFixed(2)} ms   (${latencies.length} ops, ${mode})`,
  );
};

/** Start `op` at a fixed rate for `seconds`, whatever the latency (open loop); per-op latencies in ms. */
async function atRate(op: (i: number) => Promise<unknown>): Promise<{ latencies: number[]; elapsedMs: number }> {
  const latencies: number[] = [];
  const total = Math.round(rate * seconds);
  const started = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i += 1) {
    const due = started + (i * 1_000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    // Latency counts from the scheduled start, so a stalled sender shows up as latency.
    pending.push(op(i).then(() => void latencies.push(performance.now() - due)));
  }
  await Promise.all(pending);
  return { latencies, elapsedMs: performance.now() - started };
}

/** Run `op` from `concurrency` loops for `seconds`; per-op latencies in ms. */
async function measure(op: (i: number) => Promise<unknown>): Promise<{ latencies: number[]; elapsedMs: number }> {
  const latencies: number[] = [];
  const started = performance.now();
  const until = started + seconds * 1_000;
  let counter = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const t = performance.now();
        await op(counter++);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { latencies, elapsedMs: performance.now() - started };
}

let server: RunningRedis | undefined;
const url = args.includes('--url') ? args[args.indexOf('--url') + 1]! : (server = await startRedisServer()).url;
const connections: Redis[] = Array.from({ length: 4 }, () => createRedis({ url, role: 'worker', name: 'cache-bench' }));
const keys = createKeys(`bench-${randomUUID()}`);
const config = { ...EVAL_CONFIG, namespaceCap: entries };
const caches = connections.map((redis) => new ResponseCache({ redis, keys, embedder, config }));
const ctx = { tenant: 'bench', tier: 'small' as const, model: 'bench-model', category: 'general' as const };
const ask = (text: string) => ({ model: 'bench-model', messages: [{ role: 'user' as const, content: text }] });
const completion = {
  id: 'c',
  object: 'chat.completion',
  created: 0,
  model: 'bench-model',
  choices: [
    {
      index: 0,
      message: { role: 'assistant', content: 'An answer of a typical short length for a cached reply.' },
      finish_reason: 'stop',
    },
  ],
};

try {
  const prompts = Array.from({ length: entries }, (_, i) => prompt(i));
  const fillStarted = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async (_, worker) => {
      for (let i = next++; i < entries; i = next++) {
        await caches[worker % caches.length]!.store({
          ...ctx,
          request: ask(prompts[i]!),
          completion,
          jobId: `job-${i}`,
        });
      }
    }),
  );
  const fillSeconds = (performance.now() - fillStarted) / 1_000;
  const namespace = caches[0]!.scope({ ...ctx, request: ask(prompts[0]!) }).namespace;
  const [vectorKey] = await connections[0]!.keys(`${keys.prefix}:{cache:${namespace}}:v:*`);
  const card = await connections[0]!.call('VCARD', vectorKey!);
  const memory = ((await connections[0]!.info('memory')).match(/used_memory_human:(\S+)/) ?? [])[1];
  console.log(`embedder ${embedder.id}`);
  console.log(
    `filled ${card} entries in one namespace in ${fillSeconds.toFixed(1)} s (${Math.round(entries / fillSeconds)} stores/s); Redis used_memory ${memory}`,
  );

  const queries = await embedder.embed(Array.from({ length: 2_000 }, (_, i) => prompt(entries + i)));
  const blobs = queries.map((v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength));
  const vsim = await measure((i) =>
    connections[i % connections.length]!.call(
      'VSIM',
      vectorKey!,
      'FP32',
      blobs[i % blobs.length]!,
      'WITHSCORES',
      'COUNT',
      5,
    ),
  );
  const closed = `closed loop, concurrency ${concurrency}`;
  const open = `open loop at ${rate}/s`;
  summary('VSIM COUNT 5, Redis defaults', vsim.latencies, vsim.elapsedMs, closed);
  const vsimMain = await measure((i) =>
    connections[i % connections.length]!.call(
      'VSIM',
      vectorKey!,
      'FP32',
      blobs[i % blobs.length]!,
      'WITHSCORES',
      'COUNT',
      5,
      'EF',
      100,
      'NOTHREAD',
    ),
  );
  summary('VSIM COUNT 5 EF 100 NOTHREAD', vsimMain.latencies, vsimMain.elapsedMs, closed);

  const exact = await atRate((i) =>
    caches[i % caches.length]!.lookup({ ...ctx, request: ask(prompts[(i * 7_919) % entries]!) }),
  );
  summary('lookup, exact hit', exact.latencies, exact.elapsedMs, open);

  // Rewordings of stored prompts (a filler word added): exact misses, semantic hits.
  const semantic = await atRate((i) =>
    caches[i % caches.length]!.lookup({ ...ctx, request: ask(`Please ${prompts[(i * 7_919) % entries]!}`) }),
  );
  summary('lookup, semantic hit', semantic.latencies, semantic.elapsedMs, open);
  const sample = await caches[0]!.lookup({ ...ctx, request: ask(`Please ${prompts[1]!}`) });
  console.log(
    `  sample semantic lookup: ${sample.hit ? `${sample.kind} hit, similarity ${sample.similarity.toFixed(3)}` : `miss (${sample.reason})`}`,
  );

  const fresh = await atRate((i) =>
    caches[i % caches.length]!.lookup({ ...ctx, request: ask(prompt(entries + 10_000 + i)) }),
  );
  summary('lookup, miss (embed + VSIM)', fresh.latencies, fresh.elapsedMs, open);

  // Redis's own CPU time per command: unlike client latencies, it does not include queueing
  // behind other processes on a busy machine.
  const commandStats = await connections[0]!.info('commandstats');
  for (const command of ['vsim', 'vadd', 'get', 'mget', 'evalsha', 'evalsha_ro']) {
    const match = new RegExp(`cmdstat_${command}:calls=(\\d+),usec=\\d+,usec_per_call=([\\d.]+)`, 'i').exec(
      commandStats,
    );
    if (match)
      console.log(
        `redis ${command.toUpperCase().padEnd(10)} ${match[2]!.padStart(8)} µs per call (${match[1]} calls; EVALSHA = store script incl. VADD, EVALSHA_RO = lookup script incl. VSIM)`,
      );
  }
} finally {
  await connections[0]!.del(...(await connections[0]!.keys(`${keys.prefix}:*`)));
  await Promise.all(caches.map((c) => c.close()));
  for (const c of connections) c.disconnect();
  await server?.stop();
}
