import { describe, expect, it } from 'vitest';
import { addHashedFeature, fnv1a, lexicalHashEmbedding } from './feature-hashing.ts';

const cosine = (a: Float32Array, b: Float32Array) => a.reduce((sum, x, i) => sum + x * b[i]!, 0);

describe('feature hashing', () => {
  it('is 32-bit FNV-1a (the published test vectors), which stored artefacts depend on', () => {
    expect(fnv1a('')).toBe(0x811c9dc5);
    expect(fnv1a('a')).toBe(0xe40c292c);
    expect(fnv1a('foobar')).toBe(0xbf9cf968);
  });

  it('adds a feature to one slot with a sign, the same in every call', () => {
    const v = new Float64Array(64);
    addHashedFeature(v, 'w:queue', 2);
    const filled = [...v].filter((x) => x !== 0);
    expect(filled).toHaveLength(1);
    expect(Math.abs(filled[0]!)).toBe(2);
    addHashedFeature(v, 'w:queue', 2);
    expect([...v].filter((x) => x !== 0)).toEqual([2 * filled[0]!]);
  });

  it('embeds text to a unit vector whose cosine follows shared words and spellings', () => {
    const query = lexicalHashEmbedding('How do I cancel my subscription?', 256);
    expect(query).toHaveLength(256);
    expect(cosine(query, query)).toBeCloseTo(1, 5);
    expect(lexicalHashEmbedding('How do I cancel my subscription?', 256)).toEqual(query);
    const typo = lexicalHashEmbedding('how do i cancle my subscripton', 256);
    const unrelated = lexicalHashEmbedding('Recipe for sourdough bread with rye flour', 256);
    expect(cosine(query, typo)).toBeGreaterThan(0.5);
    expect(cosine(query, typo)).toBeGreaterThan(cosine(query, unrelated) + 0.3);
  });

  it('gives text without letters or digits a stable non-zero vector, and empty text a zero one', () => {
    const emoji = lexicalHashEmbedding('🙂🙂!', 32);
    expect(cosine(emoji, emoji)).toBeCloseTo(1, 5);
    expect([...lexicalHashEmbedding('', 32)].every((x) => x === 0)).toBe(true);
  });
});
