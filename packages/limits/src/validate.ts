import { LimitsConfigError } from './errors.ts';

/** Throw unless `value` is an integer ≥ `min`. */
export function expectInteger(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new LimitsConfigError(`Expected \`${name}\` to be an integer ≥ ${min}, got \`${String(value)}\``);
  }
  return value;
}

/** Throw unless `value` is a finite number in the interval. */
export function expectNumber(
  name: string,
  value: number,
  range: { min: number; max: number; minExclusive?: boolean },
): number {
  const low = range.minExclusive ? value > range.min : value >= range.min;
  if (typeof value !== 'number' || !Number.isFinite(value) || !low || value > range.max) {
    const interval = `${range.minExclusive ? '(' : '['}${range.min}, ${range.max}]`;
    throw new LimitsConfigError(`Expected \`${name}\` to be a number in ${interval}, got \`${String(value)}\``);
  }
  return value;
}

/** Throw unless `value` is a non-empty string. */
export function expectId(name: string, value: string): string {
  if (typeof value !== 'string' || value === '')
    throw new LimitsConfigError(`Expected \`${name}\` to be a non-empty string, got \`${String(value)}\``);
  return value;
}
