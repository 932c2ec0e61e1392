import { CacheOptionsError } from './errors.ts';

/** `value` when it is an integer ≥ `min`; a {@link CacheOptionsError} naming `name` otherwise. */
export function checkInteger(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min)
    throw new CacheOptionsError(`Expected \`${name}\` to be an integer ≥ ${min}, got \`${String(value)}\``);
  return value;
}

/** Throws a {@link CacheOptionsError} naming `name` unless `value` is a number in [0, 1]. */
export function checkThreshold(name: string, value: unknown): void {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1))
    throw new CacheOptionsError(`Expected \`${name}\` to be a number in [0, 1], got \`${String(value)}\``);
}
