// Sluice savings dashboard: polls /admin/dashboard/data and draws it. Plain browser
// JavaScript, no build step, no dependency. Every figure element also carries its raw value in
// `data-value`, so what the page shows can be checked against /metrics and /v1/usage.
(() => {
  'use strict';
  const params = new URLSearchParams(location.search);
  const refreshMs = Math.max(1000, Number(params.get('refresh')) * 1000 || 5000);
  const SVG = 'http://www.w3.org/2000/svg';

  const usd = (v) => {
    if (!Number.isFinite(v)) return '–';
    const abs = Math.abs(v);
    if (abs === 0) return '$0';
    if (abs >= 100) return `$${v.toFixed(0)}`;
    if (abs >= 1) return `$${v.toFixed(2)}`;
    return `$${v.toPrecision(3)}`;
  };
  const pct = (v) => (Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : '–');
  const int = (v) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '–');
  const msText = (v) =>
    v === null || v === undefined ? '–' : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(1)} ms`;

  /** Show `text` in element `id` and keep the raw value next to it. */
  const show = (id, value, format) => {
    const el = document.getElementById(id);
    if (!el) return;
    el.textContent = format(value);
    el.dataset.value = value === null || value === undefined ? '' : String(value);
  };

  const drawTiers = (tiers) => {
    const total = tiers.router + tiers.small + tiers.large;
    const bar = document.getElementById('tier-bar');
    bar.replaceChildren();
    for (const [tier, color] of [
      ['router', 'var(--router)'],
      ['small', 'var(--small)'],
      ['large', 'var(--large)'],
    ]) {
      const part = document.createElement('div');
      part.style.width = total ? `${(tiers[tier] / total) * 100}%` : '0';
      part.style.background = color;
      part.title = `${tier}: ${tiers[tier]}`;
      bar.append(part);
    }
    for (const tier of ['router', 'small', 'large'])
      show(`tier-${tier}`, tiers[tier], (v) => `${int(v)}${total ? ` (${pct(v / total)})` : ''}`);
  };

  const drawQueues = (queues) => {
    const body = document.getElementById('queues');
    body.replaceChildren();
    for (const q of queues) {
      const tr = document.createElement('tr');
      tr.dataset.queue = q.queue;
      for (const key of ['queue', 'waiting', 'active', 'delayed', 'failed', 'completed']) {
        const td = document.createElement('td');
        td.textContent = key === 'queue' ? q.queue.replace(/[{}]/g, '') : int(q[key]);
        td.dataset.key = key;
        td.dataset.value = String(q[key]);
        tr.append(td);
      }
      body.append(tr);
    }
  };

  /** Bars per minute: `series` are [key, color] drawn side by side within each minute's slot. */
  const drawBars = (id, timeline, series) => {
    const svg = document.getElementById(id);
    svg.replaceChildren();
    const width = 600;
    const height = 140;
    const max = Math.max(1e-12, ...timeline.flatMap((m) => series.map(([key]) => m[key])));
    const slot = width / Math.max(1, timeline.length);
    const barWidth = Math.max(1, (slot - 1) / series.length);
    timeline.forEach((m, i) => {
      series.forEach(([key, color], s) => {
        const h = (m[key] / max) * (height - 12);
        if (h <= 0) return;
        const rect = document.createElementNS(SVG, 'rect');
        rect.setAttribute('x', String(i * slot + s * barWidth));
        rect.setAttribute('y', String(height - h));
        rect.setAttribute('width', String(barWidth));
        rect.setAttribute('height', String(h));
        rect.setAttribute('fill', color);
        const title = document.createElementNS(SVG, 'title');
        title.textContent = `${new Date(m.minute).toLocaleTimeString()} ${key}: ${m[key]}`;
        rect.append(title);
        svg.append(rect);
      });
    });
    // The scale goes next to the legend: text inside a stretched SVG would be stretched too.
    const scale = document.getElementById(`${id}-max`);
    if (scale)
      scale.textContent = `top of scale: ${series.some(([key]) => key.endsWith('Usd')) ? usd(max) : int(max)} per minute · last ${timeline.length} min`;
  };

  const render = (d) => {
    show('saved-usd', d.savings.savedUsd, usd);
    show('saved-share', d.savings.savedShare, pct);
    show('cost-usd', d.savings.costUsd, usd);
    show('counterfactual-usd', d.savings.counterfactualUsd, usd);
    show('jobs', d.savings.jobs, int);
    show('summaries-usd', d.savings.summariesUsd, usd);
    show('hit-ratio', d.cache.hitRatio, pct);
    show('cache-hit', d.cache.hit, int);
    show('cache-exact', d.cache.exact, int);
    show('cache-semantic', d.cache.semantic, int);
    show('cache-miss', d.cache.miss, int);
    show('cache-bypass', d.cache.bypass, int);
    drawTiers(d.tiers);
    show('latency-p50', d.latency.p50Ms, msText);
    show('latency-p95', d.latency.p95Ms, msText);
    show('latency-p99', d.latency.p99Ms, msText);
    show('latency-count', d.latency.count, int);
    show('upstream-429', d.throttling.upstream429, int);
    show('held-back', d.throttling.heldBack, int);
    show('client-429', d.throttling.client429, int);
    show('client-429-replica', d.throttling.client429ThisReplica, int);
    const by = Object.entries(d.throttling.upstream429ByDeployment);
    document.getElementById('upstream-429-by').textContent = by.length
      ? `by deployment: ${by.map(([k, v]) => `${k} ${v}`).join(', ')}`
      : '';
    drawQueues(d.queues);
    drawBars('chart-cost', d.timeline, [
      ['counterfactualUsd', '#8b98a5'],
      ['costUsd', '#3fb950'],
    ]);
    // 429s only: calls the global limiter held back are not answers and are counted above.
    drawBars('chart-429', d.timeline, [
      ['upstream429', '#f85149'],
      ['client429', '#58a6ff'],
    ]);
  };

  const statusLine = document.getElementById('status');
  let polls = 0;
  const poll = async () => {
    try {
      const response = await fetch('/admin/dashboard/data', { cache: 'no-store', credentials: 'same-origin' });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const data = await response.json();
      render(data);
      polls += 1;
      statusLine.textContent = `live · updated ${new Date(data.at).toLocaleTimeString()} · every ${refreshMs / 1000} s`;
      statusLine.classList.remove('stale');
      document.body.dataset.polls = String(polls);
      document.body.dataset.at = String(data.at);
    } catch (error) {
      statusLine.textContent = `not updating: ${error.message}`;
      statusLine.classList.add('stale');
    } finally {
      setTimeout(poll, refreshMs);
    }
  };
  poll();
})();
