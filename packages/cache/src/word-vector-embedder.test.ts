import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { wordVectorsPath } from '@sluice/embeddings';
import { createKeys, createRedis } from '@sluice/redis';
import { createSimulator, type Simulator } from '@sluice/sim';
import { createEmbedder, loadSifEmbedder, SIF_REMOTE_MODEL } from './create-embedder.ts';
import { cosineSimilarity } from './embedder.ts';
import { EVAL_CONFIG } from './evaluation.ts';
import { HashingEmbedder } from './hashing-embedder.ts';
import type { OpenAIEmbedder } from './openai-embedder.ts';
import { ResponseCache } from './response-cache.ts';

const modelDir = inject('embeddingsModelDir');
const provisioned = existsSync(wordVectorsPath(modelDir));

describe('createEmbedder without the model', () => {
  it('falls back on the hashing embedder and says why', () => {
    const embedder = createEmbedder({
      baseUrl: '',
      model: '',
      dimensions: 256,
      modelDir: mkdtempSync(join(tmpdir(), 'no-model-')),
    });
    expect(embedder).toBeInstanceOf(HashingEmbedder);
    expect(embedder.id).toBe('hashing-v1/256');
    expect(embedder.notice).toMatch(/not provisioned at .*hashing embedder serves instead/);
  });
});

describe.skipIf(!provisioned)('word-vector (SIF) embedder', () => {
  const sif = loadSifEmbedder(modelDir).embedder!;

  it('is the default, loads a compact model, and embeds to unit vectors of 100 dimensions', async () => {
    const embedder = createEmbedder({ baseUrl: '', model: '', dimensions: 256, modelDir });
    expect(embedder.id).toBe('sif:wink-sg100d-q8/100');
    expect(embedder.notice).toBeUndefined();
    expect(sif.vectors.count).toBe(200_000);
    expect(sif.vectors.byteLength).toBeLessThan(100e6);
    const [v] = await embedder.embed(['How do I reverse a list in Python?']);
    expect(v).toHaveLength(100);
    expect(Math.hypot(...v!)).toBeCloseTo(1, 5);
  });

  it('places a paraphrase with new words closer than an unrelated question', () => {
    const a = sif.embedOne('Why does Earth have seasons?');
    const b = sif.embedOne('What causes the seasons on Earth?');
    const c = sif.embedOne('How do I bake sourdough bread?');
    expect(cosineSimilarity(a, b)).toBeGreaterThan(0.75);
    expect(cosineSimilarity(a, c)).toBeLessThan(0.3);
    // The hashing embedder sees no shared spelling in the rewording.
    const hashing = new HashingEmbedder();
    expect(cosineSimilarity(a, b)).toBeGreaterThan(
      cosineSimilarity(
        hashing.embedOne('Why does Earth have seasons?'),
        hashing.embedOne('What causes the seasons on Earth?'),
      ),
    );
  });

  it('says which vectors served: word vectors for English, the hashed fallback for words it does not know', () => {
    expect(sif.embedDetailed('How do I sort a dictionary by value?').source).toBe('word-vectors');
    const other = sif.embedDetailed('如何 在 Python 中 反转 列表');
    expect(other.source).toBe('hashing');
    expect(other.known).toBe(1); // "python"
    expect(sif.wordSimilarity('buy', 'purchase')).toBeGreaterThan(0.8);
    expect(sif.wordSimilarity('buy', 'zzqxv')).toBeUndefined();
  });
});

describe.skipIf(!provisioned)('remote embeddings (simulator serving the same model)', () => {
  let sim: Simulator;
  let url: string;
  const local = loadSifEmbedder(modelDir).embedder!;

  beforeAll(async () => {
    sim = createSimulator({ profile: 'fixed', latencyMs: 20, sentenceEmbedder: local });
    url = `${(await sim.listen({ port: 0, host: '127.0.0.1' })).url}/v1`;
  });
  afterAll(() => sim?.close());

  it('shares the local vector space, batches concurrent texts into one call, caches exact texts, falls back on the local model', async () => {
    const remote = createEmbedder({
      baseUrl: url,
      model: SIF_REMOTE_MODEL,
      dimensions: 256,
      modelDir,
      timeoutMs: 2_000,
    }) as OpenAIEmbedder;
    expect(remote.id).toBe(local.id);
    const texts = [
      'How do I reverse a list?',
      'What is a monad?',
      'Why is the sky blue?',
      'Explain TCP slow start',
      'Best way to learn Rust',
    ];
    const vectors = await Promise.all(texts.map((t) => remote.embed([t]).then(([v]) => v!)));
    expect(remote.calls).toBe(1);
    expect(remote.served.remote).toBe(5);
    texts.forEach((t, i) => expect(cosineSimilarity(vectors[i]!, local.embedOne(t))).toBeGreaterThan(0.9999));
    await remote.embed([texts[0]!]);
    expect(remote.served.cache).toBe(1);
    expect(remote.calls).toBe(1);
    await sim.close();
    const [fallback] = await remote.embed(['A text the endpoint never saw']);
    expect(remote.served.fallback).toBe(1);
    expect(cosineSimilarity(fallback!, local.embedOne('A text the endpoint never saw'))).toBeGreaterThan(0.9999);
  });
});

describe.skipIf(!provisioned)('WordNet synonyms next to the model', () => {
  const sif = loadSifEmbedder(modelDir).embedder!;
  it('tells synonyms from siblings the vectors confuse', () => {
    expect(sif.synonyms('film', 'movies')).toBe(true);
    expect(sif.synonyms('purchased', 'buy')).toBe(true);
    expect(sif.synonyms('cat', 'dog')).toBe(false);
    expect(sif.wordSimilarity('cat', 'dog')).toBeGreaterThan(sif.wordSimilarity('buy', 'purchase')! - 0.1);
  });
});

describe.skipIf(!provisioned)('a job embedded by another embedder (rolling upgrade)', () => {
  const redis = createRedis({ url: inject('redisUrl'), role: 'worker', name: 'mixed-embedder-test' });
  afterAll(() => redis.disconnect());

  it('embeds the prompt again instead of failing the store or the semantic lookup', async () => {
    const cache = new ResponseCache({
      redis,
      keys: createKeys(`test-${randomUUID()}`),
      embedder: loadSifEmbedder(modelDir).embedder!,
      config: EVAL_CONFIG,
    });
    const old = new HashingEmbedder({ dimensions: 256 });
    const base = { tenant: 't', tier: 'small' as const, model: 'm', category: 'general' as const };
    const ask = (content: string) => ({ model: 'm', messages: [{ role: 'user' as const, content }] });
    const completion = {
      id: 'c',
      object: 'chat.completion',
      created: 0,
      model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Everest.' }, finish_reason: 'stop' }],
    };
    const cached = 'What is the tallest mountain in the world?';
    const stored = await cache.store({
      ...base,
      request: ask(cached),
      completion,
      jobId: 'j1',
      embedding: old.embedOne(cached),
    });
    expect(stored.stored).toBe(true);
    const query = 'Which mountain is the tallest in the world?';
    const result = await cache.lookup({ ...base, request: ask(query), embedding: old.embedOne(query) });
    expect(result.hit && result.kind).toBe('semantic');
    await cache.close();
  });
});
