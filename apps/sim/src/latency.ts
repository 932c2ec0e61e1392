import type { SimModelOptions } from './types.ts';

/** Timing of one answer, drawn once per request. */
export interface LatencyPlan {
  /** Milliseconds before the first token (including any `[[sim:slow=MS]]`). */
  ttftMs: number;
  /** Milliseconds per token after the first. */
  perTokenMs: number;
}

/** Draws the timing of one request: `ttftMs` and `perTokenMs`, each scaled by 1 ± jitter. */
export function sampleLatency(
  model: Pick<SimModelOptions, 'ttftMs' | 'perTokenMs' | 'jitter'>,
  random: () => number,
  extraMs = 0,
): LatencyPlan {
  const factor = (): number => (model.jitter === 0 ? 1 : Math.max(0, 1 + model.jitter * (2 * random() - 1)));
  return { ttftMs: model.ttftMs * factor() + extraMs, perTokenMs: model.perTokenMs * factor() };
}

/**
 * Waits `ms` unless `signal` aborts first. Resolves `true` when the full time passed and
 * `false` when aborted, so callers branch instead of catching.
 */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Resolves when `signal` aborts (immediately if it already has). */
export function waitForAbort(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
