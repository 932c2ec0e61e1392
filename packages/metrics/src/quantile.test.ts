import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { histogramQuantile, summarizeHistogram } from './quantile.ts';

describe('histogramQuantile', () => {
  it('interpolates inside the bucket the rank falls in, as Prometheus does', () => {
    const buckets = [
      { le: 0.1, count: 10 },
      { le: 0.5, count: 30 },
      { le: 1, count: 40 },
      { le: Infinity, count: 40 },
    ];
    // rank 20 falls in (0.1, 0.5]: 10 of its 20 observations in → 0.1 + 0.4 × 10/20.
    expect(histogramQuantile(0.5, buckets)).toBeCloseTo(0.3, 10);
    // rank 4 in the first bucket, whose lower bound is 0.
    expect(histogramQuantile(0.1, buckets)).toBeCloseTo(0.04, 10);
    expect(histogramQuantile(0.99, buckets)).toBeCloseTo(0.5 + (0.5 * (39.6 - 30)) / 10, 10);
  });

  it('answers the highest finite bound when the rank falls in +Inf, and nothing without observations', () => {
    expect(
      histogramQuantile(0.99, [
        { le: 1, count: 1 },
        { le: Infinity, count: 10 },
      ]),
    ).toBe(1);
    expect(
      histogramQuantile(0.5, [
        { le: 1, count: 0 },
        { le: Infinity, count: 0 },
      ]),
    ).toBeUndefined();
  });
});

describe('summarizeHistogram', () => {
  it('sums the matching series bucket by bucket and ignores the others', async () => {
    const registry = new Registry();
    const h = new Histogram({
      name: 'x_seconds',
      help: 'x',
      labelNames: ['route', 'method'] as const,
      buckets: [0.1, 1],
      registers: [registry],
    });
    for (let i = 0; i < 9; i++) h.observe({ route: '/a', method: 'POST' }, 0.05);
    h.observe({ route: '/a', method: 'GET' }, 0.5);
    h.observe({ route: '/b', method: 'POST' }, 5);
    const summary = summarizeHistogram(await h.get(), 'x_seconds', { route: '/a' });
    expect(summary.count).toBe(10);
    expect(summary.sum).toBeCloseTo(0.95, 10);
    // 9 of 10 at ≤ 0.1: the median interpolates in the first bucket, p99 in the second.
    expect(summary.p50).toBeCloseTo(0.1 * (5 / 9), 10);
    expect(summary.p99).toBeCloseTo(0.1 + 0.9 * ((9.9 - 9) / 1), 10);
  });
});
