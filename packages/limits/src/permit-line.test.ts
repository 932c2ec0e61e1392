import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PermitLine, type LineTurn } from './permit-line.ts';

/** Collects what each waiter was told, in the order the line told them. */
function recorder() {
  const told: string[] = [];
  const track = (name: string, p: Promise<LineTurn>) =>
    p.then(
      (turn) => {
        told.push(turn.kind === 'ask' ? `${name}:ask` : `${name}:park`);
        return turn;
      },
      (error: unknown) => {
        told.push(`${name}:aborted`);
        throw error;
      },
    );
  return { told, track };
}

const entry = (priority: number, acceptedAt: number, deadline = Number.POSITIVE_INFINITY, signal?: AbortSignal) => ({
  priority,
  acceptedAt,
  deadline,
  signal,
});

describe('PermitLine', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('is open until a denial blocks it; the block ends on time; congested for a hold bound after a denial', async () => {
    const line = new PermitLine({ holdMs: 5_000 });
    expect(line.open()).toBe(true);
    expect(line.congested()).toBe(false);
    line.block(800);
    expect(line.congested()).toBe(true);
    expect(line.open()).toBe(false);
    expect(line.blockedMs()).toBe(800);
    const { told, track } = recorder();
    void track('a', line.wait(entry(5, 1)));
    await vi.advanceTimersByTimeAsync(799);
    expect(told).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(told).toEqual(['a:ask']);
    // The turn is held until the asker reports: the line is not open meanwhile.
    expect(line.open()).toBe(false);
    line.granted();
    expect(line.open()).toBe(true);
    expect(line.congested()).toBe(true);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(line.congested()).toBe(false);
  });

  it('one waiter asks at a time, by priority then acceptance; a grant lets the next ask at once, a denial delays it', async () => {
    const line = new PermitLine({ holdMs: 10_000 });
    line.block(100);
    const { told, track } = recorder();
    void track('batch', line.wait(entry(10, 1)));
    void track('late', line.wait(entry(5, 3)));
    void track('early', line.wait(entry(5, 2)));
    void track('interactive', line.wait(entry(1, 4)));
    expect(line.length).toBe(4);
    await vi.advanceTimersByTimeAsync(100);
    expect(told).toEqual(['interactive:ask']);
    // Nobody else asks while the turn is held.
    await vi.advanceTimersByTimeAsync(1_000);
    expect(told).toEqual(['interactive:ask']);
    line.granted();
    await vi.advanceTimersByTimeAsync(0);
    expect(told).toEqual(['interactive:ask', 'early:ask']);
    line.denied(300);
    await vi.advanceTimersByTimeAsync(299);
    expect(told).toEqual(['interactive:ask', 'early:ask']);
    await vi.advanceTimersByTimeAsync(1);
    expect(told).toEqual(['interactive:ask', 'early:ask', 'late:ask']);
    line.release();
    await vi.advanceTimersByTimeAsync(0);
    expect(told).toEqual(['interactive:ask', 'early:ask', 'late:ask', 'batch:ask']);
  });

  it("a block longer than the hold bound or the job's deadline parks the job instead of holding it", async () => {
    const line = new PermitLine({ holdMs: 2_000 });
    line.block(3_000);
    expect(await line.wait(entry(5, 1))).toEqual({ kind: 'park', ms: 3_000, reason: 'blocked' });
    const short = new PermitLine({ holdMs: 10_000 });
    short.block(500);
    expect(await short.wait(entry(5, 1, Date.now() + 400))).toEqual({ kind: 'park', ms: 500, reason: 'held' });
  });

  it('waiters whose bound a new denial outlasts park at once; the others keep their place', async () => {
    const line = new PermitLine({ holdMs: 2_000 });
    line.block(100);
    const { told, track } = recorder();
    void track('asker', line.wait(entry(1, 1)));
    const parked = track('soon-due', line.wait(entry(5, 2, Date.now() + 1_000)));
    void track('patient', line.wait(entry(5, 3)));
    await vi.advanceTimersByTimeAsync(100);
    expect(told).toEqual(['asker:ask']);
    line.denied(1_500);
    await vi.advanceTimersByTimeAsync(0);
    expect(await parked).toEqual({ kind: 'park', ms: 1_500, reason: 'held' });
    expect(told).toEqual(['asker:ask', 'soon-due:park']);
    await vi.advanceTimersByTimeAsync(1_500);
    expect(told).toEqual(['asker:ask', 'soon-due:park', 'patient:ask']);
  });

  it('a job that asks, is refused and joins again keeps its hold bound from when it first joined', async () => {
    const line = new PermitLine({ holdMs: 1_000 });
    line.block(400);
    const joinedAt = Date.now();
    const join = async () => {
      const turn = line.wait({ ...entry(5, 1), joinedAt });
      await vi.advanceTimersByTimeAsync(400);
      return turn;
    };
    // Asks at 400 ms and 800 ms; the block after that would end at 1200 ms, past its 1 s
    // bound, so it parks at once instead of waiting for it.
    expect(await join()).toEqual({ kind: 'ask' });
    line.denied(400);
    expect(await join()).toEqual({ kind: 'ask' });
    line.denied(400);
    expect(await line.wait({ ...entry(5, 1), joinedAt })).toEqual({ kind: 'park', ms: 400, reason: 'held' });
  });

  it('an aborted waiter leaves the line with the abort reason; close parks everyone left', async () => {
    const line = new PermitLine({ holdMs: 5_000 });
    line.block(1_000);
    const { told, track } = recorder();
    const controller = new AbortController();
    const cancelled = track('cancelled', line.wait(entry(1, 1, Number.POSITIVE_INFINITY, controller.signal)));
    const closedOut = track('waiting', line.wait(entry(5, 2)));
    controller.abort('cancelled');
    await expect(cancelled).rejects.toBe('cancelled');
    expect(line.length).toBe(1);
    line.close();
    expect(await closedOut).toEqual({ kind: 'park', ms: 1, reason: 'closed' });
    expect(told).toEqual(['cancelled:aborted', 'waiting:park']);
    // A closed line parks newcomers too (the executor is shutting down).
    expect((await line.wait(entry(5, 3))).kind).toBe('park');
    expect(line.open()).toBe(false);
  });
});
