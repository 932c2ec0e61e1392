import { describe, expect, it } from 'vitest';
import { cosineSimilarity, embedText, encodeEmbeddingBase64, shortenEmbedding } from './embeddings.ts';

const norm = (vector: readonly number[]): number => Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0));

describe('embedText', () => {
  it('is deterministic and unit length', () => {
    const vector = embedText('The queue is full', 256);
    expect(vector).toHaveLength(256);
    expect(norm(vector)).toBeCloseTo(1, 6);
    expect(embedText('The queue is full', 256)).toEqual(vector);
  });

  it('ranks paraphrases above unrelated text', () => {
    const query = embedText('How do I cancel my subscription?', 256);
    const paraphrase = embedText('how can i cancel my subscription', 256);
    const typo = embedText('How do I cancle my subscripton?', 256);
    const unrelated = embedText('Recipe for sourdough bread with rye flour', 256);
    expect(cosineSimilarity(query, paraphrase)).toBeGreaterThan(0.7);
    expect(cosineSimilarity(query, typo)).toBeGreaterThan(cosineSimilarity(query, unrelated) + 0.3);
    expect(Math.abs(cosineSimilarity(query, unrelated))).toBeLessThan(0.3);
  });

  it('ignores case and punctuation', () => {
    expect(cosineSimilarity(embedText('Hello, World!', 128), embedText('hello world', 128))).toBeCloseTo(1, 6);
  });

  it('gives punctuation-only input a stable non-zero vector', () => {
    const vector = embedText('?!', 64);
    expect(norm(vector)).toBeCloseTo(1, 6);
    expect(embedText('?!', 64)).toEqual(vector);
  });

  it('shortens to unit length', () => {
    const short = shortenEmbedding(embedText('dimensions test', 256), 32);
    expect(short).toHaveLength(32);
    expect(norm(short)).toBeCloseTo(1, 6);
  });
});

describe('encodeEmbeddingBase64', () => {
  it('is little-endian float32, as the openai SDK decodes it', () => {
    const vector = [1, -0.5, 0.25];
    const bytes = Buffer.from(encodeEmbeddingBase64(vector), 'base64');
    expect(bytes).toHaveLength(12);
    expect([bytes.readFloatLE(0), bytes.readFloatLE(4), bytes.readFloatLE(8)]).toEqual(vector);
  });
});
