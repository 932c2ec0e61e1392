import { InvalidCompletionWindowError } from './errors.ts';

/** Shortest completion window a deferrable job may ask for. */
export const MIN_COMPLETION_WINDOW_MS = 60_000;
/** Longest: the providers' batch window. */
export const MAX_COMPLETION_WINDOW_MS = 86_400_000;

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000 };

/**
 * The deadline of a deferrable job from its `x-sluice-completion-window` (`24h`, `90m`, `3600s`)
 * or `x-sluice-deadline` (an ISO 8601 time) header, as ms since the epoch. At most one of
 * the two; the window must lie between one minute and 24 hours from now.
 */
export function parseDeadline(headers: { window?: string; deadline?: string }, now: number): number | undefined {
  if (headers.window !== undefined && headers.deadline !== undefined) {
    throw new InvalidCompletionWindowError(
      'Send either x-sluice-completion-window or x-sluice-deadline, not both.',
      'x-sluice-deadline',
    );
  }
  let deadline: number;
  let param: string;
  if (headers.window !== undefined) {
    param = 'x-sluice-completion-window';
    const match = /^(\d{1,9})(s|m|h)$/.exec(headers.window.trim());
    if (!match)
      throw new InvalidCompletionWindowError(
        `Invalid x-sluice-completion-window \`${headers.window.slice(0, 40)}\`: use a duration such as 24h, 90m or 3600s.`,
        param,
      );
    deadline = now + Number(match[1]) * UNIT_MS[match[2]!]!;
  } else if (headers.deadline !== undefined) {
    param = 'x-sluice-deadline';
    deadline = Date.parse(headers.deadline);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(headers.deadline) || !Number.isFinite(deadline)) {
      throw new InvalidCompletionWindowError(
        `Invalid x-sluice-deadline \`${headers.deadline.slice(0, 40)}\`: use an ISO 8601 time such as 2026-12-04T09:00:00Z.`,
        param,
      );
    }
  } else {
    return undefined;
  }
  const windowMs = deadline - now;
  if (windowMs < MIN_COMPLETION_WINDOW_MS || windowMs > MAX_COMPLETION_WINDOW_MS) {
    throw new InvalidCompletionWindowError(
      `The completion window must be between 1 minute and 24 hours from now; ${param} gives ${Math.round(windowMs / 1000)} s.`,
      param,
    );
  }
  return deadline;
}
