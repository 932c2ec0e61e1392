/**
 * Dependency-free SVG charts for the report: line charts (linear or log x), bar charts and
 * 100 % stacked bars. Output is deterministic for the same input, so tests can assert on it.
 */

/** Series colours, colour-blind friendly (Okabe–Ito). */
export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#F0E442', '#000000'];

const W = 720;
const H = 400;
const M = { top: 40, right: 170, bottom: 50, left: 70 };

/** Escape text for SVG. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const fmt = (v: number) =>
  Math.abs(v) >= 1000 ? `${Math.round(v / 100) / 10}k`.replace('.0k', 'k') : String(Math.round(v * 1000) / 1000);

/** About `count` round tick values covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let k = Math.ceil(min / step - 1e-9); k * step <= max + step * 1e-9; k++)
    ticks.push(Number((k * step).toPrecision(12)));
  return ticks;
}

/** 1-2-5 ticks per decade covering [min, max] (both > 0). */
export function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= min * 0.999 && v <= max * 1.001) ticks.push(v);
    }
  }
  return ticks;
}

function frame(title: string, body: string[], width = W, height = H): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="600">${escapeXml(title)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

function legend(names: readonly string[], x: number, y: number): string[] {
  return names.flatMap((name, i) => [
    `<rect x="${x}" y="${y + i * 20 - 9}" width="12" height="12" fill="${PALETTE[i % PALETTE.length]}"/>`,
    `<text x="${x + 18}" y="${y + i * 20 + 1}">${escapeXml(name)}</text>`,
  ]);
}

/** Options for {@link lineChart}. */
export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: ReadonlyArray<{ name: string; points: ReadonlyArray<readonly [number, number]> }>;
  /** Log-scale x axis (values must be > 0). @defaultValue false */
  xLog?: boolean;
  /** @defaultValue data range */
  yMin?: number;
  yMax?: number;
  /** Tick label of y values. @defaultValue plain numbers */
  yFormat?: (v: number) => string;
  /** Draw steps (a CDF) instead of straight segments. @defaultValue false */
  step?: boolean;
}

/** A line chart with a legend on the right. */
export function lineChart(o: LineChartOptions): string {
  const all = o.series.flatMap((s) => s.points);
  const body: string[] = [];
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  if (all.length === 0)
    return frame(o.title, [`<text x="${W / 2}" y="${H / 2}" text-anchor="middle" fill="#666">no data</text>`]);
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  let xMin = Math.min(...xs);
  let xMax = Math.max(...xs);
  if (o.xLog) {
    xMin = Math.max(xMin, 1e-3);
    xMax = Math.max(xMax, xMin * 10);
  } else if (xMax === xMin) xMax = xMin + 1;
  const yMin = o.yMin ?? Math.min(0, ...ys);
  const yMax = o.yMax ?? (Math.max(...ys) === yMin ? yMin + 1 : Math.max(...ys));
  const lx = (v: number) => (o.xLog ? Math.log10(Math.max(v, xMin)) : v);
  const sx = (v: number) => M.left + ((lx(v) - lx(xMin)) / (lx(xMax) - lx(xMin) || 1)) * pw;
  const sy = (v: number) => M.top + ph - ((v - yMin) / (yMax - yMin || 1)) * ph;
  const yf = o.yFormat ?? fmt;
  body.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  for (const t of niceTicks(yMin, yMax)) {
    body.push(
      `<line x1="${M.left}" x2="${M.left + pw}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" stroke="#eee"/>`,
    );
    body.push(`<text x="${M.left - 6}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end">${escapeXml(yf(t))}</text>`);
  }
  for (const t of o.xLog ? logTicks(xMin, xMax) : niceTicks(xMin, xMax)) {
    body.push(
      `<line x1="${sx(t).toFixed(1)}" x2="${sx(t).toFixed(1)}" y1="${M.top}" y2="${M.top + ph}" stroke="#eee"/>`,
    );
    body.push(`<text x="${sx(t).toFixed(1)}" y="${M.top + ph + 16}" text-anchor="middle">${escapeXml(fmt(t))}</text>`);
  }
  body.push(`<text x="${M.left + pw / 2}" y="${H - 10}" text-anchor="middle">${escapeXml(o.xLabel)}</text>`);
  body.push(
    `<text x="16" y="${M.top + ph / 2}" text-anchor="middle" transform="rotate(-90 16 ${M.top + ph / 2})">${escapeXml(o.yLabel)}</text>`,
  );
  o.series.forEach((s, i) => {
    if (!s.points.length) return;
    const pts: string[] = [];
    s.points.forEach(([x, y], j) => {
      if (o.step && j > 0) pts.push(`${sx(x).toFixed(1)},${sy(s.points[j - 1]![1]).toFixed(1)}`);
      pts.push(`${sx(x).toFixed(1)},${sy(y).toFixed(1)}`);
    });
    body.push(
      `<polyline fill="none" stroke="${PALETTE[i % PALETTE.length]}" stroke-width="2" points="${pts.join(' ')}"/>`,
    );
  });
  body.push(
    ...legend(
      o.series.map((s) => s.name),
      W - M.right + 16,
      M.top + 10,
    ),
  );
  return frame(o.title, body);
}

/** Options for {@link barChart}. */
export interface BarChartOptions {
  title: string;
  yLabel: string;
  bars: ReadonlyArray<{ label: string; value: number }>;
  /** Label above each bar. @defaultValue plain number */
  valueFormat?: (v: number) => string;
}

/** Vertical bars, one colour per bar. */
export function barChart(o: BarChartOptions): string {
  const pw = W - M.left - 30;
  const ph = H - M.top - M.bottom;
  const max = Math.max(0, ...o.bars.map((b) => b.value)) || 1;
  // Headroom above the tallest bar for its label.
  const ticks = niceTicks(0, max * 1.12);
  const top = Math.max(max * 1.12, ticks[ticks.length - 1] ?? max);
  const sy = (v: number) => M.top + ph - (v / top) * ph;
  const slot = pw / Math.max(1, o.bars.length);
  const vf = o.valueFormat ?? fmt;
  const body: string[] = [
    `<line x1="${M.left}" x2="${M.left + pw}" y1="${M.top + ph}" y2="${M.top + ph}" stroke="#999"/>`,
  ];
  for (const t of ticks) {
    body.push(
      `<line x1="${M.left}" x2="${M.left + pw}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" stroke="#eee"/>`,
    );
    body.push(`<text x="${M.left - 6}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end">${escapeXml(vf(t))}</text>`);
  }
  o.bars.forEach((b, i) => {
    const x = M.left + i * slot + slot * 0.15;
    const w = slot * 0.7;
    const y = sy(Math.max(0, b.value));
    body.push(
      `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${(M.top + ph - y).toFixed(1)}" fill="${PALETTE[i % PALETTE.length]}"/>`,
    );
    body.push(
      `<text x="${(x + w / 2).toFixed(1)}" y="${(y - 5).toFixed(1)}" text-anchor="middle">${escapeXml(vf(b.value))}</text>`,
    );
    body.push(
      `<text x="${(x + w / 2).toFixed(1)}" y="${M.top + ph + 16}" text-anchor="middle">${escapeXml(b.label)}</text>`,
    );
  });
  body.push(
    `<text x="16" y="${M.top + ph / 2}" text-anchor="middle" transform="rotate(-90 16 ${M.top + ph / 2})">${escapeXml(o.yLabel)}</text>`,
  );
  return frame(o.title, body);
}

/** Options for {@link stackedBarChart}. */
export interface StackedBarChartOptions {
  title: string;
  rows: ReadonlyArray<{ label: string; parts: Readonly<Record<string, number>> }>;
  /** Part names in stacking order (legend order). */
  keys: readonly string[];
}

/** Horizontal 100 % stacked bars: each row's parts as shares of its total. */
export function stackedBarChart(o: StackedBarChartOptions): string {
  const left = 110;
  const pw = W - left - M.right;
  const rowH = 34;
  const height = Math.max(160, M.top + 20 + o.rows.length * rowH + 40);
  const body: string[] = [];
  o.rows.forEach((row, r) => {
    const total = o.keys.reduce((a, k) => a + (row.parts[k] ?? 0), 0);
    const y = M.top + 10 + r * rowH;
    body.push(`<text x="${left - 8}" y="${y + 16}" text-anchor="end">${escapeXml(row.label)}</text>`);
    let x = left;
    o.keys.forEach((k, i) => {
      const share = total ? (row.parts[k] ?? 0) / total : 0;
      if (share <= 0) return;
      const w = share * pw;
      body.push(
        `<rect x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${rowH - 10}" fill="${PALETTE[i % PALETTE.length]}"><title>${escapeXml(`${k}: ${(share * 100).toFixed(1)}%`)}</title></rect>`,
      );
      if (w > 34)
        body.push(
          `<text x="${(x + w / 2).toFixed(1)}" y="${y + 16}" text-anchor="middle" fill="#fff">${Math.round(share * 100)}%</text>`,
        );
      x += w;
    });
    if (!total) body.push(`<text x="${left + 4}" y="${y + 16}" fill="#666">no answers</text>`);
  });
  body.push(...legend(o.keys, W - M.right + 16, M.top + 20));
  return frame(o.title, body, W, height);
}
