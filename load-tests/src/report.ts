/**
 * Renders a run's results as a markdown report and SVG charts. Pure: results in, text out;
 * every number printed is read from the results.
 */
import type { RunResults, ScenarioResult } from './results.ts';
import { barChart, lineChart, stackedBarChart } from './svg.ts';

/** A rendered report: markdown plus chart files (name → SVG text). */
export interface RenderedReport {
  markdown: string;
  charts: Record<string, string>;
  /** The headline table alone (for the README). */
  table: string;
}

const pct = (x: number, digits = 1) => (Number.isFinite(x) ? `${(x * 100).toFixed(digits)}%` : '–');
const ms = (x: number) => (Number.isFinite(x) ? (x >= 100 ? `${Math.round(x)} ms` : `${x.toFixed(1)} ms`) : '–');
const usd = (x: number) => (x >= 1 ? `$${x.toFixed(2)}` : `$${x.toFixed(4)}`);
const num = (x: number) => (Number.isFinite(x) ? String(Math.round(x * 10) / 10) : '–');
const frac = (a: number, b: number) => (b ? `${a} / ${b} (${pct(a / b)})` : `${a} / 0`);

/** Cost reduction of a scenario against direct calls, per successful answer. */
export function costReduction(s: ScenarioResult, direct: ScenarioResult | undefined): number {
  if (!direct || !direct.ok || !s.ok || direct.costPerThousandOk <= 0) return Number.NaN;
  return 1 - s.costPerThousandOk / direct.costPerThousandOk;
}

/** The seed's table for this run. */
export function headlineTable(r: RunResults): string {
  const direct = r.scenarios.find((s) => s.name === 'direct');
  const rows = r.scenarios.map((s) => {
    const red = s.name === 'direct' ? 'baseline' : pct(costReduction(s, direct));
    return `| ${s.title} | ${red} | ${usd(s.costPerThousandOk)} | ${ms(s.okLatency.p50)} | ${ms(s.okLatency.p99)} | ${pct(s.successRate, 2)} | ${s.quality.falseHits} |`;
  });
  return [
    '| scenario | token cost reduction vs direct | cost per 1k answers | P50 | P99 | success rate | false hits |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

function chartsFor(r: RunResults): Record<string, string> {
  const charts: Record<string, string> = {};
  if (r.scenarios.length) {
    charts['latency-cdf.svg'] = lineChart({
      title: 'Latency CDF of successful requests (from intended send time)',
      xLabel: 'latency (ms, log scale)',
      yLabel: 'share of requests ≤ latency',
      xLog: true,
      yMin: 0,
      yMax: 1,
      step: true,
      yFormat: (v) => `${Math.round(v * 100)}%`,
      series: r.scenarios.map((s) => ({ name: s.name, points: s.latencyCdf })),
    });
    charts['cost.svg'] = barChart({
      title: 'Token cost per 1000 successful answers',
      yLabel: 'USD',
      bars: r.scenarios.map((s) => ({ label: s.name, value: s.costPerThousandOk })),
      valueFormat: (v) => `$${v.toFixed(v >= 1 ? 2 : 3)}`,
    });
    const keys = ['hit', 'small', 'large', 'router', 'unknown'];
    charts['tier-mix.svg'] = stackedBarChart({
      title: 'How successful answers were served',
      keys: keys.map((k) => (k === 'hit' ? 'cache hit' : k === 'unknown' ? 'unknown tier' : `${k} tier`)),
      rows: r.scenarios.map((s) => ({
        label: s.name,
        parts: Object.fromEntries(
          keys.map((k) => [
            k === 'hit' ? 'cache hit' : k === 'unknown' ? 'unknown tier' : `${k} tier`,
            s.servedBy[k] ?? 0,
          ]),
        ),
      })),
    });
    charts['hit-ratio.svg'] = lineChart({
      title: 'Cache hit ratio over time',
      xLabel: 'seconds since the scenario started (by intended send time)',
      yLabel: 'cache hits / requests sent',
      yMin: 0,
      yMax: 1,
      yFormat: (v) => `${Math.round(v * 100)}%`,
      series: r.scenarios
        .filter((s) => s.name !== 'direct')
        .map((s) => ({ name: s.name, points: s.hitRatioSeries.map((p) => [p.t, p.value] as [number, number]) })),
    });
  }
  if (r.scaling?.steps.length) {
    charts['scaling.svg'] = lineChart({
      title: 'Throughput against executor processes (upstream-latency-bound)',
      xLabel: 'executor processes',
      yLabel: 'req/s',
      yMin: 0,
      series: [
        { name: 'measured', points: r.scaling.steps.map((s) => [s.executors, s.throughput] as [number, number]) },
        {
          name: 'linear from 1',
          points: r.scaling.steps.map(
            (s) =>
              [s.executors, (r.scaling!.steps[0]!.throughput * s.executors) / r.scaling!.steps[0]!.executors] as [
                number,
                number,
              ],
          ),
        },
        {
          name: 'ideal (slots ÷ latency)',
          points: r.scaling.steps.map((s) => [s.executors, s.ideal] as [number, number]),
        },
      ],
    });
  }
  return charts;
}

function aims(r: RunResults): string[] {
  const out: string[] = [];
  const direct = r.scenarios.find((s) => s.name === 'direct');
  const all = r.scenarios.find((s) => s.name === 'all');
  const mark = (ok: boolean) => (ok ? 'met' : '**not met**');
  if (all && direct) {
    const red = costReduction(all, direct);
    out.push(`- Everything on cuts token cost by ≥ 60% against direct: ${pct(red)} → ${mark(red >= 0.6)}`);
    out.push(`- 0 false hits with everything on: ${all.quality.falseHits} → ${mark(all.quality.falseHits === 0)}`);
    out.push(
      `- Success ≥ 99.9% under the storm (everything on): ${pct(all.successRate, 2)} → ${mark(all.successRate >= 0.999)}`,
    );
    out.push(
      `- P99 below direct's: ${ms(all.okLatency.p99)} vs ${ms(direct.okLatency.p99)} → ${mark(all.okLatency.p99 < direct.okLatency.p99)}`,
    );
  }
  if (r.scaling && r.scaling.steps.length >= 2) {
    const first = r.scaling.steps[0]!;
    const last = r.scaling.steps[r.scaling.steps.length - 1]!;
    const eff = first.throughput > 0 ? last.throughput / first.throughput / (last.executors / first.executors) : 0;
    const held = [...r.scaling.steps, ...(r.scaling.limited ? [r.scaling.limited] : [])].every(
      (s) =>
        s.provider.rateLimited === 0 &&
        (s.limit.maxConcurrency === 0 || s.provider.maxInFlight <= s.limit.maxConcurrency),
    );
    out.push(
      `- Executors scale near-linearly (${first.executors}→${last.executors}: ${num(last.throughput / (first.throughput || 1))}×, efficiency ${pct(eff)}) → ${mark(eff >= 0.8)}; provider limit held at every step → ${mark(held)}`,
    );
  }
  return out;
}

/** Render the report of a run. */
export function renderReport(r: RunResults): RenderedReport {
  const charts = chartsFor(r);
  const table = headlineTable(r);
  const direct = r.scenarios.find((s) => s.name === 'direct');
  const md: string[] = [];
  md.push(`# Sluice load test — ${r.mode} run, ${r.startedAt.slice(0, 10)}`, '');
  md.push(`Command: \`${r.command}\`  `);
  md.push(
    `Seed ${r.seed}; started ${r.startedAt}, finished ${r.finishedAt}; commit \`${r.git.commit.slice(0, 12)}\`${r.git.dirty ? ' (work tree had uncommitted changes)' : ''}.  `,
  );
  const m = r.machine;
  md.push(
    `Machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGb} GB RAM, ${m.os}, Node ${m.node}; load average ${m.loadAverageStart.map((x) => x.toFixed(2)).join(' / ')} at start, ${m.loadAverageEnd.map((x) => x.toFixed(2)).join(' / ')} at the end (a shared machine: compare within this run). Phases took ${
      Object.entries(r.phaseSeconds ?? {})
        .map(([k, v]) => `${k} ${v} s`)
        .join(', ') || '–'
    }.`,
    '',
  );

  if (r.scenarios.length) {
    const s0 = r.scenarios[0]!;
    md.push('## The seed’s table, measured', '');
    md.push(
      `Same workload (${r.workload?.requests ?? s0.sent} requests), same Poisson arrival schedule at ${r.settings.rate} req/s for ${r.settings.durationSeconds} s, same simulator in one run; realistic per-model latency; provider limit on the large model ${s0.providerLimit.rpm} requests/min and ${s0.providerLimit.tpm} tokens/min (direct calls offer ${Math.round(Number(r.settings.rate) * 60)}/min). Each request has a ${Number(r.settings.deadlineMs) / 1000} s deadline from its intended send time. Latency is of successful requests, from the intended send time (no coordinated omission). Cost is the simulator's token count at list prices (large $2.50/$10, small $0.15/$0.60, router $0.10/$0.40 per M input/output tokens), per successful answer; reduction is against direct calls in this run.`,
      '',
    );
    md.push(table, '');
    md.push('![latency CDF](latency-cdf.svg)', '', '![cost per scenario](cost.svg)', '');

    md.push('## What the seed did not measure', '');
    md.push(
      '| scenario | cache hits (exact / semantic), share of requests | false hits | cross-tenant answers | time-sensitive answered from cache | wrong answers not marked as hits | complex prompts on small | simple prompts on large | unattributed answers |',
    );
    md.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const s of r.scenarios) {
      const q = s.quality;
      md.push(
        `| ${s.name} | ${s.cache.hits} (${s.cache.exact} / ${s.cache.semantic}), ${pct(s.cache.hitRatio)} | ${q.falseHits} | ${q.crossTenant} | ${q.timeSensitiveHits} | ${q.wrongNotHit} | ${s.routing.complex ? frac(s.routing.complexOnSmall, s.routing.complex) : '–'} | ${s.routing.simple ? frac(s.routing.simpleOnLarge, s.routing.simple) : '–'} | ${q.unattributed} |`,
      );
    }
    md.push('');
    md.push(
      'A false hit is a cache hit whose answer carries the simulator fingerprint of a prompt from another intent group (or another tenant). "Complex prompts on small" counts successful answers the gateway labelled `x-sluice-tier: small` for prompts the workload labels complex. Unattributed answers carry a fingerprint of messages the client never sent (the upstream saw a rewritten prompt, e.g. pruned context).',
      '',
    );
    md.push('![served by](tier-mix.svg)', '', '![hit ratio over time](hit-ratio.svg)', '');

    md.push('### Context pruning', '');
    md.push(
      '| scenario | conversation turns sent upstream | client prompt tokens | upstream prompt tokens | tokens saved | turns pruned |',
    );
    md.push('| --- | --- | --- | --- | --- | --- |');
    for (const s of r.scenarios) {
      const p = s.pruning;
      md.push(
        `| ${s.name} | ${p.turns} | ${p.clientPromptTokens} | ${p.upstreamPromptTokens} | ${p.savedTokens} | ${p.prunedTurns} |`,
      );
    }
    md.push('');

    md.push('### Provider limit and spend per model', '');
    md.push(
      '| scenario | model | requests | accepted | 429s | most accepted in 60 s (limit) | prompt tokens | completion tokens | cost |',
    );
    md.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const s of r.scenarios) {
      for (const sp of s.spend) {
        const limit = sp.model === s.providerLimit.model ? ` (${s.providerLimit.rpm})` : '';
        md.push(
          `| ${s.name} | ${sp.model} | ${sp.requests} | ${sp.accepted} | ${sp.rateLimited} | ${sp.maxAcceptedIn60s}${limit} | ${sp.promptTokens} | ${sp.completionTokens} | ${usd(sp.usd)} |`,
        );
      }
      if (s.headerCostUsd !== undefined)
        md.push(`| ${s.name} | sum of \`x-sluice-cost-usd\` of answers | | | | | | | ${usd(s.headerCostUsd)} |`);
    }
    md.push('');

    md.push('### Scenario details', '');
    md.push(
      '| scenario | switches | sent | ok | statuses | P50 / P90 / P99 / max (ok) | P99 (all requests) | throughput | upstream calls no client received |',
    );
    md.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const s of r.scenarios) {
      const sw = Object.entries(s.switches)
        .map(([k, v]) => `\`${k}=${v.length > 40 ? `${v.slice(0, 40)}…` : v}\``)
        .join(' ');
      const st = Object.entries(s.statuses)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ');
      const l = s.okLatency;
      md.push(
        `| ${s.name} | ${sw} | ${s.sent} | ${s.ok} | ${st} | ${ms(l.p50)} / ${ms(l.p90)} / ${ms(l.p99)} / ${ms(l.max)} | ${ms(s.allLatency.p99)} | ${num(s.throughput)} req/s | ${s.unusedUpstreamCalls} |`,
      );
    }
    md.push('');
  }

  if (r.overhead) {
    const o = r.overhead;
    md.push('## Gateway overhead against a direct call', '');
    md.push(
      `Open loop at ${o.rate} req/s, ${o.durationSeconds} s × ${o.rounds} rounds alternating direct and Sluice, simulator fixed latency ${o.simLatencyMs} ms, pinned small tier, \`Cache-Control: no-store\`; medians of rounds.`,
      '',
    );
    md.push('| path | P50 | P99 | throughput | errors |', '| --- | --- | --- | --- | --- |');
    md.push(
      `| direct | ${ms(o.direct.p50)} | ${ms(o.direct.p99)} | ${num(o.direct.throughput)} req/s | ${o.direct.errors} |`,
    );
    md.push(
      `| Sluice | ${ms(o.sluice.p50)} | ${ms(o.sluice.p99)} | ${num(o.sluice.throughput)} req/s | ${o.sluice.errors} |`,
    );
    md.push('', `Added by Sluice: **P50 +${ms(o.addedP50)}, P99 +${ms(o.addedP99)}**.`, '');
  }

  if (r.ceiling) {
    const c = r.ceiling;
    md.push('## Throughput ceiling of the cache-miss path against bare BullMQ', '');
    md.push(
      `Closed loop with ${c.clientConcurrency} requests in flight, ${c.windowSeconds} s windows, ${c.rounds} rounds alternating; simulator \`fast\` profile, no provider limits; Sluice with cache and routing on and unique prompts (every request misses); the bare pipeline is two BullMQ hops with no-op processors in two processes on the same Redis, result back over pub/sub.`,
      '',
    );
    md.push('| path | rounds (req/s) | median |', '| --- | --- | --- |');
    md.push(`| Sluice miss path | ${c.sluice.map(num).join(', ')} | ${num(c.sluiceMedian)} req/s |`);
    md.push(`| bare BullMQ two-hop | ${c.bare.map(num).join(', ')} | ${num(c.bareMedian)} jobs/s |`);
    md.push(
      '',
      `Ratio: **${pct(c.ratio)}** of the bare pipeline (errors: Sluice ${c.sluiceErrors}, bare ${c.bareErrors}).`,
      '',
    );
    const cpu = c.cpuMsPerRequest;
    if (cpu && (Object.keys(cpu.sluice).length || Object.keys(cpu.bare).length)) {
      const total = (x: Record<string, number>) => Object.values(x).reduce((a, b) => a + b, 0);
      md.push(
        'CPU time per completed request (ms, all rounds, /proc), where the throughput goes on a CPU-bound machine:',
        '',
      );
      md.push('| path | ' + ['per process', 'total'].join(' | ') + ' |', '| --- | --- | --- |');
      const fmtCpu = (x: Record<string, number>) =>
        Object.entries(x)
          .map(([k, v]) => `${k} ${v.toFixed(2)}`)
          .join(', ');
      md.push(`| Sluice miss path | ${fmtCpu(cpu.sluice)} | ${total(cpu.sluice).toFixed(2)} |`);
      md.push(`| bare BullMQ two-hop | ${fmtCpu(cpu.bare)} | ${total(cpu.bare).toFixed(2)} |`, '');
    }
  }

  if (r.scaling) {
    const sc = r.scaling;
    md.push('## Scaling executors', '');
    md.push(
      `Closed loop with ${sc.clientConcurrency} requests in flight, a window of at least ${sc.windowSeconds} s per step (longer where needed for ≥ 25 completions), after warming until steady; simulator fixed latency ${sc.simLatencyMs} ms (upstream-bound), pinned small tier, unique prompts, no cache; one stack, executors added between steps. The limited step is a second stack whose deployment (and simulator model) allows fewer calls in flight than its executors could make.`,
      '',
    );
    md.push(
      '| executors | concurrency each | throughput | ideal (slots ÷ latency) | vs 1 executor | P50 | P99 | errors | provider: accepted, 429s, most in 60 s (rpm limit), most in flight (limit) |',
    );
    md.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    const base = sc.steps[0];
    for (const s of [...sc.steps, ...(sc.limited ? [sc.limited] : [])]) {
      const label = s === sc.limited ? `${s.executors} (limited)` : String(s.executors);
      const speed = base && base.throughput ? `${num(s.throughput / base.throughput)}×` : '–';
      md.push(
        `| ${label} | ${s.concurrency} | ${num(s.throughput)} req/s | ${num(s.ideal)} req/s (${pct(s.ideal ? s.throughput / s.ideal : Number.NaN, 0)}) | ${speed} | ${ms(s.p50)} | ${ms(s.p99)} | ${s.errors} | ${s.provider.accepted}, ${s.provider.rateLimited}, ${s.provider.maxAcceptedIn60s} (${s.limit.rpm || '∞'}), ${s.provider.maxInFlight} (${s.limit.maxConcurrency || '∞'}) |`,
      );
    }
    md.push('', '![scaling](scaling.svg)', '');
  }

  const aimLines = aims(r);
  if (aimLines.length) md.push('## Aims of issue 6, as measured', '', ...aimLines, '');

  if (r.workload) {
    const w = r.workload;
    md.push('## Workload', '');
    md.push(
      `${w.requests} requests from seed ${r.seed}: ${w.complex} complex (${pct(w.complex / w.requests)}), ${w.conversationTurns} conversation turns in ${w.conversations} conversations, ${w.distinctIntentGroups} intent groups, ${w.distinctPrompts} distinct prompts; the most popular single intent takes ${pct(w.topIntentShare)} of single prompts (Zipf). Repeats a correct cache may serve: exact ${pct(w.exactRepeatShare)}, same intent ${pct(w.intentRepeatShare)} (same tenant, not time-sensitive).`,
      '',
    );
    md.push('| category | simple | complex |', '| --- | --- | --- |');
    for (const [c, v] of Object.entries(w.byCategory).sort()) md.push(`| ${c} | ${v.simple} | ${v.complex} |`);
    md.push(
      '',
      `Tenants: ${Object.entries(w.tenants)
        .map(([t, n]) => `${t} ${n}`)
        .join(', ')}.`,
      '',
    );
  }

  if (r.notes.length) md.push('## Notes', '', ...r.notes.map((n) => `- ${n}`), '');
  if (direct)
    md.push(
      'Direct calls use the official `openai` SDK with its default retries (2, honouring `retry-after`); so do the Sluice scenarios, pointed at the gateway.',
      '',
    );
  md.push('Settings of this run:', '', '```json', JSON.stringify(r.settings, null, 2), '```', '');
  return { markdown: md.join('\n'), charts, table };
}
