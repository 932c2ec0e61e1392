/**
 * `pnpm bench:vsim-lookup [--url redis://…] [--entries 100000] [--queries 2000] [--max-fill-seconds 300]`
 *
 * The semantic level's search alone, at a namespace size: fills one vector set with
 * `--entries` SIF vectors of synthetic prompts (words of frequency rank 500–20 500, as the
 * cache stores them: FP32 in, Q8, Redis's default M and build EF; pipelined `VADD … CAS`,
 * so filling takes a minute or two instead of the store script's quarter of an hour), then
 * runs `--queries` sequential `VSIM` calls with the cache's own arguments (`WITHSCORES COUNT
 * 5 EF 100`, threaded, as `ResponseCache` sends them) and prints client-side P50/P90/P99 and
 * Redis's own time per call (`INFO commandstats`). Queries are other synthetic prompts and
 * the sentences of the public eval sets when they are built (`~/.cache/sluice/eval-data`).
 * Without `--url` it starts a throwaway Redis 8. Bounded: the fill stops at
 * `--max-fill-seconds` and the size reached is printed.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { loadSifEmbedder, loadPublicSet, PUBLIC_SOURCES } from '@sluice/cache';
import { createRedis } from '@sluice/redis';
import { startRedisServer, type RunningRedis } from '@sluice/redis-server';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const urlFlag = args.includes('--url') ? args[args.indexOf('--url') + 1] : undefined;
const entries = flag('entries', 100_000);
const queries = flag('queries', 2_000);
const maxFillMs = flag('max-fill-seconds', 300) * 1_000;

const root = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'sluice');
const { embedder, notice } = loadSifEmbedder(join(root, 'embeddings'));
if (!embedder) throw new Error(notice);

let seed = 42;
const random = () => (seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32;
const vocabulary = Array.from({ length: 20_000 }, (_, i) => embedder.vectors.wordAt(500 + i)).filter((w) =>
  /^\p{L}+$/u.test(w),
);
const openers = ['What is', 'How do I', 'Explain', 'Why does', 'Describe', 'Who made', 'Write a', 'Summarize'];
const prompt = (i: number) =>
  `${openers[i % openers.length]} ${Array.from({ length: 4 + (i % 9) }, () => vocabulary[Math.floor(random() * vocabulary.length)]).join(' ')}?`;
const blob = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

let server: RunningRedis | undefined;
const url = urlFlag ?? (server = await startRedisServer()).url;
const redis = createRedis({ url, role: 'worker', name: 'vsim-lookup' });
const key = `vsim-lookup:${process.pid}`;
try {
  await redis.del(key);
  const fillStart = performance.now();
  let filled = 0;
  const batch = 500;
  while (filled < entries && performance.now() - fillStart < maxFillMs) {
    const pipeline = redis.pipeline();
    const n = Math.min(batch, entries - filled);
    for (let k = 0; k < n; k += 1)
      pipeline.call('VADD', key, 'FP32', blob(embedder.embedOne(prompt(filled + k))), `e${filled + k}`, 'CAS', 'Q8');
    const results = await pipeline.exec();
    const failed = results?.find(([error]) => error);
    if (failed) throw failed[0];
    filled += n;
  }
  const fillSeconds = (performance.now() - fillStart) / 1_000;
  const card = Number(await redis.call('VCARD', key));
  const memory = /used_memory:(\d+)/.exec(String(await redis.info('memory')))?.[1];
  console.log(
    `filled ${card} vectors (${embedder.id}, Q8) in ${fillSeconds.toFixed(1)} s (${Math.round(card / fillSeconds)}/s); used_memory ${(Number(memory) / 1e6).toFixed(0)} MB`,
  );

  const texts: string[] = [];
  for (const source of PUBLIC_SOURCES) {
    for (const split of ['dev', 'holdout'] as const)
      for (const p of loadPublicSet(join(root, 'eval-data'), source.name, split) ?? []) texts.push(p.query);
  }
  const queryTexts = Array.from({ length: queries }, (_, i) =>
    i % 2 === 0 && texts.length ? texts[(i * 7919) % texts.length]! : prompt(entries + i),
  );
  const vectors = queryTexts.map((t) => blob(embedder.embedOne(t)));
  const searchArgs = ['WITHSCORES', 'COUNT', '5', 'EF', '100'];
  for (let i = 0; i < 50; i += 1) await redis.call('VSIM', key, 'FP32', vectors[i % vectors.length]!, ...searchArgs);
  await redis.config('RESETSTAT');
  const latencies: number[] = [];
  for (const v of vectors) {
    const t = performance.now();
    await redis.call('VSIM', key, 'FP32', v, ...searchArgs);
    latencies.push(performance.now() - t);
  }
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!.toFixed(2);
  const stats = String(await redis.info('commandstats'));
  const perCall = /^cmdstat_vsim:.*usec_per_call=([\d.]+)/im.exec(stats)?.[1];
  const load = (await import('node:os'))
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  console.log(
    `VSIM COUNT 5 EF 100 at ${card} entries, ${latencies.length} sequential calls: p50 ${at(0.5)} ms, p90 ${at(0.9)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms (client side, incl. the round trip); Redis-side ${perCall ?? '?'} µs per call; load average ${load}`,
  );
} finally {
  await redis.del(key).catch(() => undefined);
  await redis.quit();
  await server?.stop();
}
