import { describe, expect, it } from 'vitest';
import { WriteBehindCounters, type CounterBatch } from './write-behind-counters.ts';

const plain = (batch: CounterBatch) =>
  Object.fromEntries([...batch].map(([key, fields]) => [key, Object.fromEntries(fields)]));

describe('WriteBehindCounters', () => {
  it('adds increments up and writes them in one batch after flushMs', async () => {
    const writes: object[] = [];
    const counters = new WriteBehindCounters({ flushMs: 20, write: async (batch) => void writes.push(plain(batch)) });
    counters.add('k1', 'hits');
    counters.add('k1', 'hits', 2);
    counters.addAll('k2', [
      ['a', 1],
      ['b', 5],
    ]);
    expect(counters.pending).toBe(3);
    expect(writes).toEqual([]);
    await expect.poll(() => writes.length).toBe(1);
    expect(writes[0]).toEqual({ k1: { hits: 3 }, k2: { a: 1, b: 5 } });
    expect(counters.pending).toBe(0);
  });

  it('keeps a failed batch and what a write reports unwritten, and writes them with the next batch', async () => {
    const writes: object[] = [];
    const errors: unknown[] = [];
    let calls = 0;
    const counters = new WriteBehindCounters({
      flushMs: 60_000,
      onError: (error) => errors.push(error),
      write: async (batch) => {
        calls += 1;
        if (calls === 1) throw new Error('Redis away');
        writes.push(plain(batch));
        if (calls === 2) return new Map([['k', new Map([['x', 4]])]]);
        return undefined;
      },
    });
    counters.add('k', 'x', 4);
    await counters.flush();
    expect(errors).toHaveLength(1);
    expect(counters.pending).toBe(1);
    counters.add('k', 'y');
    await counters.flush();
    expect(writes).toEqual([{ k: { x: 4, y: 1 } }]);
    expect(counters.pending).toBe(1);
    await counters.flush();
    expect(writes[1]).toEqual({ k: { x: 4 } });
    expect(counters.pending).toBe(0);
  });

  it('writes one batch at a time, in order, and at once after close', async () => {
    const order: string[] = [];
    let release: () => void = () => {};
    const counters = new WriteBehindCounters({
      flushMs: 60_000,
      write: async (batch) => {
        const fields = [...batch.get('k')!.keys()].join(',');
        order.push(`start ${fields}`);
        if (fields === 'a') await new Promise<void>((resolve) => (release = resolve));
        order.push(`end ${fields}`);
      },
    });
    counters.add('k', 'a');
    const first = counters.flush();
    // The write of 'a' has started (a batch is taken when its write starts) and not ended.
    await expect.poll(() => order).toEqual(['start a']);
    counters.add('k', 'b');
    const second = counters.flush();
    await new Promise((r) => setTimeout(r, 10));
    expect(order).toEqual(['start a']);
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['start a', 'end a', 'start b', 'end b']);
    await counters.close();
    counters.add('k', 'c');
    await expect.poll(() => order.at(-1)).toBe('end c');
  });

  it('refuses a negative or non-finite flushMs', () => {
    expect(() => new WriteBehindCounters({ flushMs: -1, write: async () => {} })).toThrow(/flushMs/);
    expect(() => new WriteBehindCounters({ flushMs: Number.NaN, write: async () => {} })).toThrow(/flushMs/);
  });
});
