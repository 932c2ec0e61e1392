/** One cumulative histogram bucket: observations ≤ `le` (seconds; `Infinity` for `+Inf`). */
export interface Bucket {
  le: number;
  count: number;
}

/**
 * The `q`-quantile of a cumulative histogram, as Prometheus's `histogram_quantile` computes
 * it: linear interpolation inside the bucket the rank falls in, the lower bound of the first
 * bucket taken as 0, and the highest finite bound when the rank falls in `+Inf`. Undefined
 * with no observations.
 */
export function histogramQuantile(q: number, buckets: readonly Bucket[]): number | undefined {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted.at(-1)?.count ?? 0;
  if (total === 0 || !(q >= 0 && q <= 1)) return undefined;
  const rank = q * total;
  let previous = { le: 0, count: 0 };
  for (const bucket of sorted) {
    if (bucket.count >= rank) {
      if (bucket.le === Infinity) return previous.le;
      if (bucket.count === previous.count) return bucket.le;
      return previous.le + ((bucket.le - previous.le) * (rank - previous.count)) / (bucket.count - previous.count);
    }
    previous = bucket;
  }
  return previous.le;
}

/** Count, sum and p50/p95/p99 of a histogram. */
export interface HistogramSummary {
  count: number;
  sum: number;
  p50: number | undefined;
  p95: number | undefined;
  p99: number | undefined;
}

/** Sample values of a prom-client histogram (`await histogram.get()`). */
export interface HistogramValues {
  values: ReadonlyArray<{ metricName?: string; labels: Record<string, string | number | undefined>; value: number }>;
}

/**
 * Summarize the series of a prom-client histogram whose labels match `filter`, summing
 * matching series bucket by bucket (as `sum by (le)` would).
 */
export function summarizeHistogram(
  histogram: HistogramValues,
  name: string,
  filter: Record<string, string> = {},
): HistogramSummary {
  const matches = (labels: Record<string, string | number | undefined>) =>
    Object.entries(filter).every(([k, v]) => String(labels[k]) === v);
  const byLe = new Map<number, number>();
  let count = 0;
  let sum = 0;
  for (const v of histogram.values) {
    if (!matches(v.labels)) continue;
    if (v.metricName === `${name}_bucket`) {
      const le = v.labels.le === '+Inf' ? Infinity : Number(v.labels.le);
      byLe.set(le, (byLe.get(le) ?? 0) + v.value);
    } else if (v.metricName === `${name}_count`) count += v.value;
    else if (v.metricName === `${name}_sum`) sum += v.value;
  }
  const buckets = [...byLe].map(([le, c]) => ({ le, count: c }));
  return {
    count,
    sum,
    p50: histogramQuantile(0.5, buckets),
    p95: histogramQuantile(0.95, buckets),
    p99: histogramQuantile(0.99, buckets),
  };
}
