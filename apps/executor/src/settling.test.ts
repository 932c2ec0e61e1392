import { describe, expect, it } from 'vitest';
import { createSettling } from './settling.ts';

const deferred = () => {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

describe('settling', () => {
  it('drains every tracked step, those tracked while draining too, and forgets settled ones', async () => {
    const settling = createSettling();
    const first = deferred();
    const second = deferred();
    settling.track(first.promise);
    expect(settling.pending).toBe(1);
    let drained = false;
    const drain = settling.drain().then(() => (drained = true));
    settling.track(second.promise);
    first.resolve();
    await new Promise((r) => setTimeout(r, 5));
    // The step tracked after drain() began still holds it.
    expect(drained).toBe(false);
    expect(settling.pending).toBe(1);
    second.resolve();
    await drain;
    expect(drained).toBe(true);
    expect(settling.pending).toBe(0);
  });

  it('is not failed by a step that rejects', async () => {
    const settling = createSettling();
    const step = deferred();
    settling.track(step.promise);
    step.reject(new Error('redis away'));
    await expect(settling.drain()).resolves.toBeUndefined();
    expect(settling.pending).toBe(0);
  });
});
