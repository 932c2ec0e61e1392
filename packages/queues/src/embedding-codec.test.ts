import { describe, expect, it } from 'vitest';
import { decodeEmbedding, encodeEmbedding } from './embedding-codec.ts';

describe('embedding codec', () => {
  it('round-trips a vector exactly as float32, in a quarter of the JSON array’s size', () => {
    const vector = Float32Array.from({ length: 100 }, (_, i) => Math.sin(i + 0.5) / 7);
    const carried = encodeEmbedding(vector);
    expect(carried).toHaveLength(536);
    expect(carried.length * 3).toBeLessThan(JSON.stringify(Array.from(vector)).length);
    expect(decodeEmbedding(carried)).toEqual(vector);
  });

  it('encodes a view into a larger buffer by its own bytes only', () => {
    const backing = Float32Array.from([9, 1, 2, 3, 9]);
    expect(decodeEmbedding(encodeEmbedding(backing.subarray(1, 4)))).toEqual(Float32Array.from([1, 2, 3]));
  });

  it('reads the number array older processes wrote, and refuses what is not a vector', () => {
    expect(decodeEmbedding([0.5, -0.25])).toEqual(Float32Array.from([0.5, -0.25]));
    expect(decodeEmbedding(undefined)).toBeUndefined();
    expect(decodeEmbedding('')).toBeUndefined();
    expect(decodeEmbedding('AAE=')).toBeUndefined(); // 2 bytes: not a whole float
    expect(decodeEmbedding([])).toBeUndefined();
  });
});
