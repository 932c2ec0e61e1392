import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbedder } from './create-embedder.ts';
import { cosineSimilarity } from './embedder.ts';
import { isEmbeddingError } from './errors.ts';
import { HashingEmbedder } from './hashing-embedder.ts';
import { OpenAIEmbedder } from './openai-embedder.ts';

const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

describe('HashingEmbedder', () => {
  const embedder = new HashingEmbedder({ dimensions: 256 });

  it('is deterministic, unit length and of the configured size', async () => {
    const [a, b] = await embedder.embed(['What is the capital of France?', 'What is the capital of France?']);
    expect(a).toHaveLength(256);
    expect(Array.from(a!)).toEqual(Array.from(b!));
    expect(norm(a!)).toBeCloseTo(1, 5);
    expect(embedder.id).toBe('hashing-v1/256');
  });

  it('ranks a rewording above a different question above an unrelated one', async () => {
    const [q, reworded, near, unrelated] = await embedder.embed([
      'How do I reverse a list in Python?',
      'how to reverse a python list',
      'How do I read a file in Rust?',
      'Write a haiku about autumn leaves',
    ]);
    const sim = (x: Float32Array | undefined) => cosineSimilarity(q!, x!);
    expect(sim(reworded)).toBeGreaterThan(0.9);
    expect(sim(reworded)).toBeGreaterThan(sim(near));
    expect(sim(near)).toBeGreaterThan(sim(unrelated));
    expect(Math.abs(sim(unrelated))).toBeLessThan(0.3);
  });

  it('calibrates its cosine onto the threshold scale monotonically', () => {
    expect(embedder.calibrate(1)).toBe(1);
    expect(embedder.calibrate(0.7)).toBeCloseTo(0.95, 10);
    expect(embedder.calibrate(0.5)).toBeLessThan(embedder.calibrate(0.6));
    expect(embedder.calibrate(-1)).toBeGreaterThanOrEqual(0);
  });

  it('embeds empty and symbol-only text without NaN', async () => {
    const [empty, symbols] = await embedder.embed(['', '%%%']);
    expect(Array.from(empty!).every(Number.isFinite)).toBe(true);
    expect(Array.from(symbols!).every(Number.isFinite)).toBe(true);
  });

  it('refuses a nonsense dimension', () => {
    expect(() => new HashingEmbedder({ dimensions: 0 })).toThrow(/dimensions/);
  });
});

describe('OpenAIEmbedder', () => {
  let server: Server;
  let baseUrl: string;
  const requests: Array<{ body: Record<string, unknown>; auth: string | undefined }> = [];
  let mode: 'ok' | 'fail' | 'short' = 'ok';

  // A stand-in for an OpenAI-compatible /v1/embeddings: base64 when asked (the official SDK
  // asks by default), floats otherwise; vector i is unnormalised (i+1, 2, 0, …).
  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const body = JSON.parse(raw) as { input: string[]; dimensions?: number; encoding_format?: string };
    requests.push({ body, auth: req.headers.authorization });
    if (mode === 'fail') {
      res
        .writeHead(503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { message: 'overloaded', type: 'server_error' } }));
      return;
    }
    const dims = mode === 'short' ? 3 : (body.dimensions ?? 4);
    const data = body.input.map((_, i) => {
      const v = new Float32Array(dims);
      v[0] = i + 1;
      v[1] = 2;
      const embedding = body.encoding_format === 'base64' ? Buffer.from(v.buffer).toString('base64') : Array.from(v);
      return { object: 'embedding', index: i, embedding };
    });
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        object: 'list',
        data: data.reverse(),
        model: 'm',
        usage: { prompt_tokens: 1, total_tokens: 1 },
      }),
    );
  };

  beforeAll(async () => {
    server = createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('calls /v1/embeddings through the SDK, decodes base64, keeps order and normalises', async () => {
    mode = 'ok';
    requests.length = 0;
    const embedder = new OpenAIEmbedder({ baseUrl, model: 'text-embedding-3-small', dimensions: 8, apiKey: 'sk-test' });
    const vectors = await embedder.embed(['a', 'b', '']);
    expect(requests[0]!.body).toMatchObject({
      model: 'text-embedding-3-small',
      dimensions: 8,
      encoding_format: 'base64',
      input: ['a', 'b', ' '],
    });
    expect(requests[0]!.auth).toBe('Bearer sk-test');
    expect(vectors).toHaveLength(3);
    // Out-of-order `data` is put back in input order: vector i starts (i+1, 2).
    expect(vectors[1]![0]! / vectors[1]![1]!).toBeCloseTo(1, 5);
    expect(vectors[2]![0]! / vectors[2]![1]!).toBeCloseTo(1.5, 5);
    for (const v of vectors) expect(norm(v)).toBeCloseTo(1, 5);
    expect(embedder.id).toBe('openai:text-embedding-3-small/8');
  });

  it('splits long inputs into batches', async () => {
    mode = 'ok';
    requests.length = 0;
    const embedder = new OpenAIEmbedder({ baseUrl, model: 'm', dimensions: 4, batchSize: 2, sendDimensions: false });
    expect(await embedder.embed(['1', '2', '3', '4', '5'])).toHaveLength(5);
    expect(requests.map((r) => (r.body.input as string[]).length)).toEqual([2, 2, 1]);
    expect('dimensions' in requests[0]!.body).toBe(false);
  });

  it('raises a retryable EmbeddingError with the status on a 5xx', async () => {
    mode = 'fail';
    const embedder = new OpenAIEmbedder({ baseUrl, model: 'm', dimensions: 4, maxRetries: 0 });
    const error = await embedder.embed(['x']).catch((e: unknown) => e);
    expect(isEmbeddingError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'SLUICE_ERR_EMBEDDING', upstreamStatus: 503, retryable: true });
  });

  it('raises on vectors of the wrong size', async () => {
    mode = 'short';
    const embedder = new OpenAIEmbedder({ baseUrl, model: 'm', dimensions: 4, maxRetries: 0 });
    await expect(embedder.embed(['x'])).rejects.toMatchObject({ code: 'SLUICE_ERR_EMBEDDING_DIMENSIONS' });
  });

  it('createEmbedder picks by baseUrl', () => {
    expect(createEmbedder({ baseUrl: '', model: 'sim-embed', dimensions: 64 }).id).toBe('hashing-v1/64');
    expect(createEmbedder({ baseUrl, model: 'sim-embed', dimensions: 64 }).id).toBe('openai:sim-embed/64');
  });
});
