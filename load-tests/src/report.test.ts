import { describe, expect, it } from 'vitest';
import { costReduction, headlineTable, renderReport } from './report.ts';
import type { RunResults, ScenarioResult } from './results.ts';
import { barChart, escapeXml, lineChart, logTicks, niceTicks, stackedBarChart } from './svg.ts';

function scenario(name: ScenarioResult['name'], over: Partial<ScenarioResult> = {}): ScenarioResult {
  return {
    name,
    title: `title ${name}`,
    switches: { model: 'large' },
    sent: 100,
    ok: 100,
    errors: 0,
    statuses: { '200': 100 },
    successRate: 1,
    okLatency: { p50: 1200, p90: 2000, p99: 3100.5, max: 4000 },
    allLatency: { p50: 1200, p90: 2000, p99: 3100.5, max: 4000 },
    throughput: 5,
    elapsedS: 20,
    latencyCdf: [
      [300, 0],
      [1200, 0.5],
      [3100.5, 0.99],
      [4000, 1],
    ],
    spend: [
      {
        model: `sim-large@${name}`,
        promptTokens: 1000,
        completionTokens: 500,
        usd: 0.0075,
        requests: 100,
        accepted: 100,
        rateLimited: 0,
        maxAcceptedIn60s: 80,
        maxInFlight: 9,
      },
    ],
    costUsd: 0.0075,
    costPerThousandOk: 0.075,
    unusedUpstreamCalls: 0,
    servedBy: { large: 100 },
    cache: { hits: 0, exact: 0, semantic: 0, misses: 100, bypass: 0, hitRatio: 0 },
    hitRatioSeries: [
      { t: 2.5, value: 0, n: 50 },
      { t: 7.5, value: 0, n: 50 },
    ],
    quality: {
      checked: 100,
      own: 100,
      sameIntent: 0,
      falseHits: 0,
      wrongNotHit: 0,
      crossTenant: 0,
      timeSensitiveHits: 0,
      unattributed: 0,
      unreadable: 0,
    },
    routing: { complex: 25, complexOnSmall: 0, simple: 75, simpleOnLarge: 75 },
    pruning: { turns: 10, clientPromptTokens: 5000, upstreamPromptTokens: 5000, savedTokens: 0, prunedTurns: 0 },
    providerLimit: { model: `sim-large@${name}`, rpm: 90, tpm: 400000 },
    ...over,
  };
}

const results: RunResults = {
  mode: 'short',
  seed: 6,
  command: 'tsx load-tests/src/run.ts --mode short',
  startedAt: '2026-11-27T10:00:00.000Z',
  finishedAt: '2026-11-27T10:05:00.000Z',
  git: { commit: 'abcdef0123456789', dirty: false },
  machine: {
    cpus: 2,
    cpuModel: 'Test CPU',
    memoryGb: 24,
    node: 'v20',
    os: 'Linux',
    loadAverageStart: [1, 1, 1],
    loadAverageEnd: [2, 2, 2],
  },
  settings: { rate: 5, durationSeconds: 20, deadlineMs: 60000 },
  scenarios: [
    scenario('direct', { ok: 50, successRate: 0.5, statuses: { '200': 50, '429': 50 }, costPerThousandOk: 0.2 }),
    scenario('all', {
      costPerThousandOk: 0.05,
      servedBy: { hit: 40, small: 45, large: 15 },
      cache: { hits: 40, exact: 30, semantic: 10, misses: 60, bypass: 0, hitRatio: 0.4 },
      quality: {
        checked: 100,
        own: 90,
        sameIntent: 8,
        falseHits: 2,
        wrongNotHit: 0,
        crossTenant: 0,
        timeSensitiveHits: 0,
        unattributed: 0,
        unreadable: 0,
      },
      routing: { complex: 25, complexOnSmall: 3, simple: 75, simpleOnLarge: 5 },
    }),
  ],
  overhead: {
    rate: 20,
    durationSeconds: 10,
    rounds: 2,
    simLatencyMs: 50,
    direct: { p50: 52, p99: 60, throughput: 20, errors: 0 },
    sluice: { p50: 61.5, p99: 90, throughput: 20, errors: 0 },
    addedP50: 9.5,
    addedP99: 30,
  },
  ceiling: {
    clientConcurrency: 32,
    windowSeconds: 10,
    rounds: 2,
    sluice: [300, 320],
    bare: [1500, 1700],
    sluiceMedian: 310,
    bareMedian: 1600,
    ratio: 310 / 1600,
    sluiceErrors: 0,
    bareErrors: 0,
  },
  scaling: {
    simLatencyMs: 1000,
    clientConcurrency: 24,
    windowSeconds: 15,
    steps: [1, 2, 4].map((n) => ({
      executors: n,
      concurrency: 4,
      limit: { rpm: 6000, maxConcurrency: 0 },
      ideal: 4 * n,
      warmedSeconds: 8,
      windowSeconds: 15,
      throughput: 3.9 * n,
      p50: 1000,
      p99: 1100,
      errors: 0,
      provider: { accepted: 60 * n, rateLimited: 0, maxAcceptedIn60s: 60 * n, maxInFlight: 4 * n },
    })),
  },
  phaseSeconds: { storm: 300 },
  notes: ['a note'],
};

describe('renderReport', () => {
  it('reports the measured figures and ratios', () => {
    const r = renderReport(results);
    expect(costReduction(results.scenarios[1]!, results.scenarios[0]!)).toBeCloseTo(0.75, 9);
    expect(r.table).toContain('| title all | 75.0% | $0.0500 | 1200 ms | 3101 ms | 100.00% | 2 |');
    expect(r.table).toContain('| title direct | baseline | $0.2000 |');
    expect(r.markdown).toContain('P50 +9.5 ms, P99 +30.0 ms');
    expect(r.markdown).toContain('Ratio: **19.4%**');
    expect(r.markdown).toContain('3 / 25 (12.0%)');
    expect(r.markdown).toContain('| 4 | 4 | 15.6 req/s | 16 req/s (98%) | 4× |');
    expect(r.markdown).toContain('2 × Test CPU');
    expect(r.markdown).toMatch(/0 false hits with everything on: 2 → \*\*not met\*\*/);
    expect(r.markdown).toMatch(/cuts token cost by ≥ 60% against direct: 75\.0% → met/);
    expect(Object.keys(r.charts).sort()).toEqual([
      'cost.svg',
      'hit-ratio.svg',
      'latency-cdf.svg',
      'scaling.svg',
      'tier-mix.svg',
    ]);
    for (const svg of Object.values(r.charts)) {
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      expect(svg.trim().endsWith('</svg>')).toBe(true);
      expect(svg).not.toContain('NaN');
    }
  });

  it('leaves reduction blank without a direct scenario', () => {
    const table = headlineTable({ ...results, scenarios: [results.scenarios[1]!] });
    expect(table).toContain('| title all | – |');
  });
});

describe('svg charts', () => {
  it('draws one polyline per series and a legend entry per name', () => {
    const svg = lineChart({
      title: 'T <&>',
      xLabel: 'x',
      yLabel: 'y',
      series: [
        {
          name: 'a',
          points: [
            [1, 0],
            [10, 1],
          ],
        },
        {
          name: 'b',
          points: [
            [2, 0.2],
            [100, 1],
          ],
        },
      ],
      xLog: true,
      step: true,
    });
    expect(svg.match(/<polyline /g)).toHaveLength(2);
    expect(svg).toContain('T &lt;&amp;&gt;');
    expect(svg).toContain('>a</text>');
    expect(svg).toContain('>b</text>');
  });

  it('scales bars to the largest value and prints their labels', () => {
    const svg = barChart({
      title: 'cost',
      yLabel: 'USD',
      bars: [
        { label: 'direct', value: 2 },
        { label: 'all', value: 0.5 },
      ],
      valueFormat: (v) => `$${v}`,
    });
    const heights = [...svg.matchAll(/<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)" fill="#/g)].map(
      (m) => Number(m[1]),
    );
    expect(heights).toHaveLength(2);
    expect(heights[0]! / heights[1]!).toBeCloseTo(4, 1);
    expect(svg).toContain('>$0.5</text>');
  });

  it('stacks shares to 100 %', () => {
    const svg = stackedBarChart({
      title: 'mix',
      keys: ['hit', 'small', 'large'],
      rows: [{ label: 'all', parts: { hit: 1, small: 2, large: 1 } }],
    });
    expect(svg).toContain('hit: 25.0%');
    expect(svg).toContain('small: 50.0%');
    expect(svg).toContain('large: 25.0%');
  });

  it('says so when there is no data', () => {
    expect(lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [] })).toContain('no data');
  });

  it('picks round ticks', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(logTicks(1, 1000)).toEqual([1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]);
    expect(escapeXml('"a"')).toBe('&quot;a&quot;');
  });
});
