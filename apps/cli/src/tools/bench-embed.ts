/**
 * `pnpm bench:embed [--dir DIR]` — the word-vector model's load time (median of 5 loads),
 * its resident size (RSS and external memory grown by one load), and the time to embed one
 * prompt in process (median and p99 of 20 rounds over 500 prompts of 5–40 words).
 */
import { loadConfig } from '@sluice/config';
import { existsSync } from 'node:fs';
import { SifEmbedder, Synonyms, synonymsPath, wordVectorsPath, WordVectors } from '@sluice/embeddings';

const args = process.argv.slice(2);
const at = args.indexOf('--dir');
const dir = at >= 0 ? args[at + 1]! : loadConfig({ env: process.env }).embeddings.modelDir;
const path = wordVectorsPath(dir);
if (!existsSync(path)) throw new Error(`not provisioned: ${path}`);

const before = process.memoryUsage();
const loads: number[] = [];
let vectors: WordVectors | undefined;
for (let i = 0; i < 5; i += 1) {
  const t = performance.now();
  vectors = WordVectors.load(path);
  loads.push(performance.now() - t);
}
const synonyms = existsSync(synonymsPath(dir)) ? Synonyms.load(synonymsPath(dir)) : undefined;
const after = process.memoryUsage();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(
  `model ${path}: ${vectors!.count} words × ${vectors!.dimensions}, file ${(vectors!.byteLength / 1e6).toFixed(1)} MB (+ synonyms ${((synonyms?.byteLength ?? 0) / 1e6).toFixed(1)} MB)`,
);
console.log(`load: median ${median(loads).toFixed(1)} ms of 5 (${loads.map((l) => l.toFixed(1)).join(', ')})`);
console.log(
  `memory after 5 loads (4 garbage): rss +${((after.rss - before.rss) / 1e6).toFixed(1)} MB, arrayBuffers +${((after.arrayBuffers - before.arrayBuffers) / 1e6).toFixed(1)} MB; one model's buffers: ${((vectors!.byteLength + (synonyms?.byteLength ?? 0)) / 1e6).toFixed(1)} MB`,
);

const embedder = new SifEmbedder({ vectors: vectors!, synonyms });
let seed = 7;
const random = () => (seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32;
const prompts = Array.from({ length: 500 }, () =>
  Array.from({ length: 5 + Math.floor(random() * 36) }, () => vectors!.wordAt(Math.floor(random() * 20_000))).join(' '),
);
const rounds: number[] = [];
for (let r = 0; r < 20; r += 1) {
  const t = performance.now();
  for (const p of prompts) embedder.embedOne(p);
  rounds.push(((performance.now() - t) * 1000) / prompts.length);
}
const sorted = [...rounds].sort((a, b) => a - b);
console.log(
  `embed one prompt (5–40 words): median ${median(rounds).toFixed(1)} µs, worst round ${sorted[sorted.length - 1]!.toFixed(1)} µs (20 rounds × 500 prompts)`,
);
