import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMetricsServer, workerReadiness, type MetricsServer } from '@sluice/metrics';
import { TIER_QUEUES, createQueue } from '@sluice/queues';
import { createKeys } from '@sluice/redis';
import { ROOT, startStack, until, type TestStack } from './harness.ts';

/** The page's globals, inside `page.evaluate` (this file is compiled without the DOM library). */
declare const document: any;

/** Debian's Chromium; CI installs it (`apt-get install -y chromium`). */
const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM)
  console.warn(
    `dashboard test skipped: ${CHROMIUM} not found (install Debian's chromium: apt-get install -y chromium)`,
  );

const ARTIFACTS = join(ROOT, 'test-artifacts');
const ADMIN = { username: 'admin', password: 'test-admin-pw' };

type Sample = { name: string; labels: Record<string, string>; value: number };

/** Prometheus text format → samples (enough for counters, gauges and histograms). */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

const sum = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0);

/** histogram_quantile over the `_bucket` samples, written independently of the dashboard's own. */
function quantileFromText(samples: Sample[], name: string, labels: Record<string, string>, q: number): number {
  const byLe = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket` || !Object.entries(labels).every(([k, v]) => s.labels[k] === v)) continue;
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    byLe.set(le, (byLe.get(le) ?? 0) + s.value);
  }
  const buckets = [...byLe].sort((a, b) => a[0] - b[0]);
  const rank = q * buckets.at(-1)![1];
  let [prevLe, prevCount] = [0, 0];
  for (const [le, count] of buckets) {
    if (count >= rank)
      return le === Infinity ? prevLe : prevLe + ((le - prevLe) * (rank - prevCount)) / (count - prevCount);
    [prevLe, prevCount] = [le, count];
  }
  return prevLe;
}

describe.skipIf(!HAVE_CHROMIUM)('savings dashboard in headless Chromium', () => {
  let stack: TestStack;
  let browser: Browser;
  let page: Page;
  let executorMetrics: MetricsServer;
  const keys: Record<string, string> = {};
  const clients: Record<string, OpenAI> = {};

  beforeAll(async () => {
    // Two small deployments on one simulator. The first, preferred by weight, allows 2
    // requests a minute, which another client of the same provider uses up before Sluice
    // calls it: its first call draws a 429 and fails over to the second without waiting.
    stack = await startStack({
      overrides: {
        deployments: [
          { id: 'sim-router', tier: 'router', model: 'sim-router' },
          { id: 'sim-small', tier: 'small', model: 'sim-small', weight: 1000 },
          { id: 'sim-small-b', tier: 'small', model: 'sim-small@b', weight: 1 },
          { id: 'sim-large', tier: 'large', model: 'sim-large' },
        ],
      },
    });
    stack.sim.updateModel('sim-small', { rpm: 2 });
    // A variant starts as a copy of its base: give the second deployment no limit.
    stack.sim.updateModel('sim-small@b', { rpm: 0 });
    // The in-process executor's metrics, served as its own process serves them.
    executorMetrics = await startMetricsServer({
      registry: stack.registries.executors[0]!,
      port: 0,
      host: '127.0.0.1',
      ready: () => workerReadiness(stack.redis, stack.executor!.workers),
    });
    for (const tenant of ['acme', 'limited']) {
      keys[tenant] = await stack.key(tenant);
      clients[tenant] = new OpenAI({
        baseURL: `${stack.apiUrl}/v1`,
        apiKey: keys[tenant],
        maxRetries: 0,
        timeout: 60_000,
      });
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const context = await browser.newContext({ httpCredentials: ADMIN, viewport: { width: 1280, height: 1100 } });
    page = await context.newPage();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await executorMetrics?.close();
    await stack?.stop();
  });

  it(
    'shows cost saved, cache hit ratio, tier mix, latency, queue depth and 429s matching /metrics and /v1/usage, live',
    { timeout: 180_000 },
    async () => {
      const acme = clients.acme!;
      for (let i = 0; i < 2; i++) {
        const other = await fetch(`${stack.simUrl}/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'sim-small', messages: [{ role: 'user', content: 'another app' }] }),
        });
        expect(other.status).toBe(200);
      }
      stack.sim.resetStats();
      const ask = (content: string, model = 'auto') =>
        acme.chat.completions.create({ model, messages: [{ role: 'user', content }] });
      // Misses on both tiers, then repeats answered by the cache.
      await ask('What is the capital of France?');
      await ask('Name three prime numbers.');
      await ask(
        'Prove step by step that the square root of 2 is irrational, then derive a general theorem for all non-square integers and compare the proof strategies.',
      );
      await ask('Write a haiku about queues.', 'large');
      await ask('What is the capital of France?');
      await ask('Name three prime numbers.');
      // Small-tier traffic until the first deployment has answered a 429 (and the job failed over).
      for (let i = 0; i < 20 && !(stack.sim.stats().models['sim-small']?.rateLimited ?? 0); i++) {
        await acme.chat.completions.create(
          { model: 'small', messages: [{ role: 'user', content: `Say hello number ${i}` }] },
          { headers: { 'cache-control': 'no-store' } },
        );
      }
      const upstream429 = stack.sim.stats().models['sim-small']?.rateLimited ?? 0;
      expect(upstream429).toBeGreaterThan(0);
      // A tenant over its quota gets a 429 from the API.
      await stack.tenants.upsertTenant('limited', { rpm: 1 });
      await clients.limited!.chat.completions.create({ model: 'small', messages: [{ role: 'user', content: 'one' }] });
      await expect(
        clients.limited!.chat.completions.create({ model: 'small', messages: [{ role: 'user', content: 'two' }] }),
      ).rejects.toMatchObject({ status: 429 });
      // A job parked for later shows in the queue depth.
      const queue = createQueue(TIER_QUEUES.large, {
        connection: stack.redis,
        keys: createKeys(stack.config.redis.prefix),
      });
      await queue.add('completion', { id: 'later' } as never, { jobId: 'later', delay: 600_000 });
      await queue.close();

      const response = await page.goto(`${stack.apiUrl}/admin/dashboard?refresh=1`);
      expect(response?.status()).toBe(200);
      await page.waitForFunction(() => Number(document.body.dataset.polls ?? 0) >= 1, undefined, { timeout: 30_000 });
      // The shared counters are written once a second per process: wait until the last jobs
      // and 429s are in, then read the page and the sources right after one more poll.
      const auth = (tenant: string) => ({ authorization: `Bearer ${keys[tenant]}` });
      const usageOf = (tenant: string) =>
        fetch(`${stack.apiUrl}/v1/usage`, { headers: auth(tenant) }).then((r) => r.json() as Promise<any>);
      const expectedJobs = (await usageOf('acme')).totals.jobs + (await usageOf('limited')).totals.jobs;
      const shownValue = async (id: string) => Number(await page.locator(`#${id}`).getAttribute('data-value'));
      await until(
        async () =>
          (await shownValue('jobs')) === expectedJobs &&
          (await shownValue('client-429')) === 1 &&
          (await shownValue('upstream-429')) === upstream429,
        15_000,
        100,
      );
      const polls = await page.evaluate(() => Number(document.body.dataset.polls));
      await page.waitForFunction((n) => Number(document.body.dataset.polls) > n, polls, { timeout: 30_000 });
      const shown = await page.evaluate(() => {
        const get = (id: string) => {
          const el = document.getElementById(id)!;
          return { text: el.textContent ?? '', value: el.dataset.value === '' ? null : Number(el.dataset.value) };
        };
        const ids = [
          'saved-usd',
          'saved-share',
          'cost-usd',
          'counterfactual-usd',
          'jobs',
          'hit-ratio',
          'cache-hit',
          'cache-miss',
          'tier-router',
          'tier-small',
          'tier-large',
          'latency-p50',
          'latency-p95',
          'latency-p99',
          'latency-count',
          'upstream-429',
          'held-back',
          'client-429',
          'client-429-replica',
        ];
        const queues = [...document.querySelectorAll('#queues tr')].map((tr) =>
          Object.fromEntries(
            [...tr.querySelectorAll('td')].map((td) => [
              td.dataset.key!,
              td.dataset.key === 'queue' ? td.dataset.value : Number(td.dataset.value),
            ]),
          ),
        );
        return {
          figures: Object.fromEntries(ids.map((id) => [id, get(id)])),
          queues,
          status: document.getElementById('status')!.textContent,
        };
      });
      const [usageAcme, usageLimited, apiText, executorText] = await Promise.all([
        usageOf('acme'),
        usageOf('limited'),
        fetch(`${stack.apiUrl}/metrics`).then((r) => r.text()),
        fetch(`http://127.0.0.1:${executorMetrics.port}/metrics`).then((r) => r.text()),
      ]);
      const api = parseMetrics(apiText);
      const executor = parseMetrics(executorText);
      const f = shown.figures;
      expect(shown.status).toMatch(/^live/);

      // Savings against /v1/usage: the dashboard is Sluice-wide, the usage report per tenant.
      const usage = (pick: (u: any) => number) => pick(usageAcme) + pick(usageLimited);
      expect(f['jobs']!.value).toBe(usage((u) => u.totals.jobs));
      expect(f['cost-usd']!.value).toBeCloseTo(
        usage((u) => u.totals.cost_usd),
        9,
      );
      expect(f['counterfactual-usd']!.value).toBeCloseTo(
        usage((u) => u.totals.counterfactual_usd),
        9,
      );
      expect(f['saved-usd']!.value).toBeCloseTo(
        usage((u) => u.totals.saved_usd),
        9,
      );
      expect(f['saved-usd']!.value).toBeGreaterThan(0);
      expect(f['saved-share']!.value).toBeCloseTo(
        usage((u) => u.totals.saved_usd) / usage((u) => u.totals.counterfactual_usd),
        6,
      );
      for (const tier of ['router', 'small', 'large'])
        expect(f[`tier-${tier}`]!.value, tier).toBe(usage((u) => u.by_tier[tier].jobs));
      expect(f['tier-large']!.value).toBeGreaterThan(0);
      const [hits, misses] = [usage((u) => u.by_cache.hit.jobs), usage((u) => u.by_cache.miss.jobs)];
      expect(hits).toBeGreaterThanOrEqual(2);
      expect(f['cache-hit']!.value).toBe(hits);
      expect(f['cache-miss']!.value).toBe(misses);
      expect(f['hit-ratio']!.value).toBeCloseTo(hits / (hits + misses), 9);
      // …and against the Prometheus counters of the processes that finished the jobs.
      expect(
        sum(executor, 'sluice_cost_usd_total', { kind: 'actual' }) +
          sum(api, 'sluice_cost_usd_total', { kind: 'actual' }),
      ).toBeCloseTo(f['cost-usd']!.value!, 9);
      expect(
        sum(executor, 'sluice_cost_usd_total', { kind: 'counterfactual' }) +
          sum(api, 'sluice_cost_usd_total', { kind: 'counterfactual' }),
      ).toBeCloseTo(f['counterfactual-usd']!.value!, 9);

      // Latency and request count against the API's histogram.
      const route = { route: '/v1/chat/completions' };
      expect(f['latency-count']!.value).toBe(sum(api, 'sluice_http_request_duration_seconds_count', route));
      for (const [id, q] of [
        ['latency-p50', 0.5],
        ['latency-p95', 0.95],
        ['latency-p99', 0.99],
      ] as const) {
        expect(f[id]!.value, id).toBeCloseTo(
          quantileFromText(api, 'sluice_http_request_duration_seconds', route, q) * 1000,
          2,
        );
        expect(f[id]!.text, id).toMatch(/\d( ms| s)$/);
      }

      // Queue depth against sluice_queue_jobs.
      expect(shown.queues.map((q) => q.queue).sort()).toEqual([
        '{batch-poll}',
        '{batch}',
        '{route}',
        '{tier-large}',
        '{tier-router}',
        '{tier-small}',
      ]);
      for (const q of shown.queues) {
        for (const state of ['waiting', 'active', 'delayed', 'failed', 'completed']) {
          expect(q[state], `${q.queue} ${state}`).toBe(
            sum(api, 'sluice_queue_jobs', { queue: String(q.queue), state }),
          );
        }
      }
      expect(shown.queues.find((q) => q.queue === '{tier-large}')!.delayed).toBe(1);

      // 429s: answered to clients (the API's counter), received from upstream (the executor's
      // counter, and what the simulator says it sent).
      expect(f['client-429-replica']!.value).toBe(sum(api, 'sluice_http_requests_total', { status: '429' }));
      expect(f['client-429']!.value).toBe(1);
      expect(f['upstream-429']!.value).toBe(sum(executor, 'sluice_upstream_429_total'));
      expect(f['upstream-429']!.value).toBe(stack.sim.stats().models['sim-small']!.rateLimited);
      const chart = await page.locator('#chart-429 rect').count();
      expect(chart).toBeGreaterThan(0);

      // Visible text is formatted, not raw.
      expect(f['saved-usd']!.text).toMatch(/^\$/);
      expect(f['hit-ratio']!.text).toMatch(/%$/);

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });

      // Live: a new job shows up without reloading the page.
      const before = f['jobs']!.value!;
      await ask('What is the capital of Italy?');
      await until(
        async () => Number(await page.locator('#jobs').getAttribute('data-value')) === before + 1,
        15_000,
        100,
      );
    },
  );

  it('is behind admin auth', async () => {
    expect((await fetch(`${stack.apiUrl}/admin/dashboard`)).status).toBe(401);
    expect((await fetch(`${stack.apiUrl}/admin/dashboard/data`)).status).toBe(401);
    const data = await fetch(`${stack.apiUrl}/admin/dashboard/data?minutes=5`, {
      headers: { authorization: `Basic ${Buffer.from('admin:test-admin-pw').toString('base64')}` },
    });
    expect(data.status).toBe(200);
    expect(((await data.json()) as { timeline: unknown[] }).timeline).toHaveLength(5);
  });
});
