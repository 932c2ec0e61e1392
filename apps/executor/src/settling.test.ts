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

describe('deferred settling', () => {
  it('holds a job’s steps until its answer is published, then starts every released job’s steps together', async () => {
    const settling = createSettling({ groupCommitMs: 5 });
    const started: string[] = [];
    const step = (name: string) => () => {
      started.push(name);
      return Promise.resolve();
    };
    settling.defer('a', step('a-release'));
    settling.defer('a', step('a-meter'));
    settling.defer('b', step('b-release'));
    expect(settling.pending).toBe(3);
    await new Promise((r) => setTimeout(r, 10));
    expect(started).toEqual([]);
    settling.published('a');
    settling.published('a');
    settling.published('b');
    // Not in the same macrotask as the publish: the group goes out together a few ms later.
    expect(started).toEqual([]);
    await new Promise((r) => setTimeout(r, 15));
    expect(started).toEqual(['a-release', 'a-meter', 'b-release']);
    expect(settling.pending).toBe(0);
  });

  it('drain starts what was never published and waits for it; a step that throws fails nothing', async () => {
    const settling = createSettling({ groupCommitMs: 1_000 });
    const slow = deferred();
    let ran = false;
    settling.defer('x', () => slow.promise.then(() => (ran = true)));
    settling.defer('y', () => {
      throw new Error('bug');
    });
    settling.published('y');
    let drained = false;
    const drain = settling.drain().then(() => (drained = true));
    await new Promise((r) => setTimeout(r, 5));
    expect(drained).toBe(false);
    slow.resolve();
    await drain;
    expect(ran).toBe(true);
    expect(settling.pending).toBe(0);
  });
});
