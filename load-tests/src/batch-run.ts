/**
 * Deferrable jobs through the provider Batch API (issue 17): `--jobs` deferrable jobs
 * (`x-sluice-completion-window: 24h`, small tier, unique prompts) are sent to Sluice, whose
 * batcher answers them through the simulator's `/v1/files` + `/v1/batches`. During the run the
 * batcher is SIGKILLed once (a provider batch in flight) and started again, and Redis (AOF on)
 * is stopped and started again. Then the same prompts go synchronously as another tenant.
 * Reported: every job's final status from `GET /v1/jobs/:id`, both tenants' cost from
 * `GET /v1/usage`, their ratio, and the provider batches the simulator saw.
 *
 * With `--api anthropic` the small tier is a deployment that speaks Anthropic's Messages API,
 * and the batcher answers through the simulator's Message Batches (`/v1/messages/batches`).
 *
 *   pnpm bench:batch [--jobs 1000] [--rate 100] [--batch-ms 8000] [--api openai|anthropic]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startRedisServer } from '@sluice/redis-server';
import { createTenantStore } from '@sluice/tenants';
import { ROOT, spawnEntry, startSim, waitHttp, type BenchProcess } from './processes.ts';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const jobs = arg('jobs', 1000);
const rate = arg('rate', 100);
const batchMs = arg('batch-ms', 8000);
const apiFlag = process.argv.indexOf('--api');
const api = apiFlag >= 0 ? process.argv[apiFlag + 1] : 'openai';
if (api !== 'openai' && api !== 'anthropic') throw new Error(`--api is openai or anthropic, got ${api}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (message: string) => process.stdout.write(`[batch ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

const dataDir = mkdtempSync(join(tmpdir(), 'sluice-bench-batch-'));
const redisPort = await freePort();
let redis = await startRedisServer({ port: redisPort, dataDir });
const sim = await startSim(['--profile', 'fast', '--batch-ms', String(batchMs)]);
const apiPort = await freePort();
const prefix = `batch${Date.now().toString(36)}`;
const env: NodeJS.ProcessEnv = {
  REDIS_URL: redis.url,
  SLUICE_SIM_URL: sim.apiUrl,
  SLUICE_API_PORT: String(apiPort),
  SLUICE_API_HOST: '127.0.0.1',
  SLUICE_LOG_LEVEL: 'warn',
  SLUICE_REDIS_PREFIX: prefix,
  SLUICE_DRAIN_TIMEOUT_MS: '2000',
  SLUICE_BATCH_MAX_SIZE: '250',
  SLUICE_BATCH_MAX_AGE_MS: '2000',
  SLUICE_BATCH_POLL_MS: '1000',
  SLUICE_BATCH_TICK_MS: '200',
  SLUICE_TENANT_RPM: '100000',
  SLUICE_BACKPRESSURE_MAX_WAIT_MS: '86400000',
  ...(api === 'anthropic'
    ? {
        SLUICE_DEPLOYMENTS: JSON.stringify([
          { id: 'sim-router', tier: 'router', model: 'sim-router', baseUrl: sim.apiUrl },
          { id: 'claude-small', tier: 'small', model: 'sim-small', baseUrl: sim.apiUrl, api: 'anthropic', batch: true },
          { id: 'sim-large', tier: 'large', model: 'sim-large', baseUrl: sim.apiUrl },
        ]),
      }
    : {}),
};
const processes: BenchProcess[] = [];
const spawnBatcher = () => spawnEntry('batcher', 'apps/batcher/src/index.ts', [], env);
let batcher: BenchProcess | undefined;
try {
  processes.push(spawnEntry('api', 'apps/api/src/index.ts', [], env));
  processes.push(spawnEntry('classifier', 'apps/classifier/src/index.ts', [], env));
  processes.push(spawnEntry('executor', 'apps/executor/src/index.ts', [], env));
  batcher = spawnBatcher();
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  await waitHttp(`${apiUrl}/readyz`, 240_000, processes[0]!.child);
  const tenants = await createTenantStore({ redisUrl: redis.url, prefix });
  const keys = {
    deferred: await tenants.createKey('deferred', 'bench'),
    sync: await tenants.createKey('sync', 'bench'),
  };
  await tenants.close();
  const headers = (key: string) => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json' });
  const prompt = (i: number) => `Deferred report ${i}: summarise the quarter in two sentences.`;
  const body = (i: number) => JSON.stringify({ model: 'small', messages: [{ role: 'user', content: prompt(i) }] });
  /** Retries while Redis is away (503) or the API is momentarily refusing. */
  const retrying = async (request: () => Promise<Response>): Promise<Response> => {
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await request();
        if (res.status !== 503 || attempt > 60) return res;
      } catch (error) {
        if (attempt > 60) throw error;
      }
      await sleep(500);
    }
  };

  /** The provider batches the simulator holds, in one shape for both APIs. */
  const providerBatches = async (): Promise<Array<{ status: string; total: number }>> => {
    try {
      if (api === 'anthropic') {
        const res = await fetch(`${sim.apiUrl}/messages/batches?limit=100`, {
          headers: { 'x-api-key': 'bench', 'anthropic-version': '2023-06-01' },
        });
        const { data } = (await res.json()) as {
          data: Array<{ processing_status: string; request_counts: Record<string, number> }>;
        };
        return data.map((b) => ({
          status: b.processing_status,
          total: Object.values(b.request_counts).reduce((sum, n) => sum + n, 0),
        }));
      }
      const { data } = (await (await fetch(`${sim.apiUrl}/batches?limit=100`)).json()) as {
        data: Array<{ status: string; request_counts: { total: number } }>;
      };
      return data.map((b) => ({ status: b.status, total: b.request_counts.total }));
    } catch {
      return [];
    }
  };
  const waitFor = async (check: () => Promise<boolean>) => {
    while (!(await check())) await sleep(100);
  };
  // The faults, while work is in flight: the batcher is killed once a provider batch is being
  // processed, and Redis stops once a later batch is.
  const chaos = (async () => {
    await waitFor(async () => (await providerBatches()).some((b) => b.status === 'in_progress'));
    log(`SIGKILL the batcher (${(await providerBatches()).length} provider batches so far); a new one starts in 1 s`);
    batcher!.child.kill('SIGKILL');
    await sleep(1000);
    batcher = spawnBatcher();
    const seen = (await providerBatches()).length;
    await waitFor(async () => (await providerBatches()).length > seen);
    log(`stopping Redis (AOF on) for 2 s (${(await providerBatches()).length} provider batches so far)`);
    await redis.stop();
    await sleep(2000);
    redis = await startRedisServer({ port: redisPort, dataDir });
    log('Redis is back');
  })();

  log(`submitting ${jobs} deferrable jobs at ${rate}/s`);
  const started = Date.now();
  const ids: string[] = new Array(jobs);
  const submits: Promise<void>[] = [];
  for (let i = 0; i < jobs; i++) {
    await sleep(Math.max(0, started + (i * 1000) / rate - Date.now()));
    submits.push(
      (async () => {
        const res = await retrying(() =>
          fetch(`${apiUrl}/v1/jobs`, {
            method: 'POST',
            headers: { ...headers(keys.deferred), 'x-sluice-completion-window': '24h' },
            body: body(i),
          }),
        );
        if (res.status !== 202) throw new Error(`job ${i}: ${res.status} ${await res.text()}`);
        ids[i] = ((await res.json()) as { id: string }).id;
      })(),
    );
  }
  await Promise.all(submits);
  log('all submitted');
  await chaos;
  log('waiting for every job');

  const statuses = new Map<string, { status: string; cost: number }>();
  const deadline = Date.now() + 600_000;
  while (statuses.size < jobs && Date.now() < deadline) {
    const open = ids.filter((id) => !statuses.has(id));
    for (let i = 0; i < open.length; i += 50) {
      await Promise.all(
        open.slice(i, i + 50).map(async (id) => {
          const res = await retrying(() => fetch(`${apiUrl}/v1/jobs/${id}`, { headers: headers(keys.deferred) }));
          const job = (await res.json()) as { status: string; cost_usd: number | null };
          if (job.status === 'completed' || job.status === 'failed' || job.status === 'cancelled')
            statuses.set(id, { status: job.status, cost: job.cost_usd ?? 0 });
        }),
      );
    }
    if (statuses.size < jobs) await sleep(1000);
  }
  const elapsedS = (Date.now() - started) / 1000;
  const completed = [...statuses.values()].filter((s) => s.status === 'completed').length;
  log(`${completed}/${jobs} completed in ${elapsedS.toFixed(1)} s; now the same prompts synchronously`);

  for (let i = 0; i < jobs; i += 20) {
    await Promise.all(
      Array.from({ length: Math.min(20, jobs - i) }, async (_, k) => {
        const res = await retrying(() =>
          fetch(`${apiUrl}/v1/chat/completions`, {
            method: 'POST',
            headers: { ...headers(keys.sync), 'cache-control': 'no-store' },
            body: body(i + k),
          }),
        );
        if (res.status !== 200) throw new Error(`sync ${i + k}: ${res.status}`);
        await res.arrayBuffer();
      }),
    );
  }
  const usage = async (key: string) =>
    (
      (await (await fetch(`${apiUrl}/v1/usage`, { headers: headers(key) })).json()) as {
        totals: { jobs: number; cost_usd: number; prompt_tokens: number; completion_tokens: number };
      }
    ).totals;
  const [deferredUsage, syncUsage] = [await usage(keys.deferred), await usage(keys.sync)];
  const batches = await providerBatches();
  const lines = batches.reduce((sum, b) => sum + b.total, 0);
  const ratio = deferredUsage.cost_usd / syncUsage.cost_usd;

  const report = [
    `# Deferrable jobs through ${api === 'anthropic' ? "Anthropic's Message Batches" : "OpenAI's Batch API"}`,
    '',
    `\`pnpm bench:batch --jobs ${jobs} --rate ${rate} --batch-ms ${batchMs} --api ${api}\` on ${new Date().toISOString().slice(0, 10)}: ${jobs} deferrable jobs`,
    `(\`x-sluice-completion-window: 24h\`, small tier, unique prompts) through the simulator's ${api === 'anthropic' ? 'Message Batches (`/v1/messages/batches`)' : 'Batch API (`/v1/files`, `/v1/batches`)'}; the`,
    'batcher SIGKILLed once while a provider batch was in progress and restarted, Redis (AOF on) stopped for 2 s',
    'and restarted while a later one was; then the same',
    'prompts synchronously as another tenant. Costs from `GET /v1/usage`.',
    '',
    '| | jobs | completed (`GET /v1/jobs/:id`) | cost (USD) | prompt tokens | completion tokens |',
    '| --- | --- | --- | --- | --- | --- |',
    `| deferred (batch API) | ${deferredUsage.jobs} | ${completed} of ${jobs} | ${deferredUsage.cost_usd.toFixed(6)} | ${deferredUsage.prompt_tokens} | ${deferredUsage.completion_tokens} |`,
    `| synchronous | ${syncUsage.jobs} | ${syncUsage.jobs} | ${syncUsage.cost_usd.toFixed(6)} | ${syncUsage.prompt_tokens} | ${syncUsage.completion_tokens} |`,
    '',
    `Deferred cost / synchronous cost: **${ratio.toFixed(3)}**. Provider batches: ${batches.length} (${batches.map((b) => b.status).join(', ')}), ${lines} lines for ${jobs} jobs`,
    `(lines beyond the job count are jobs sent again after the kill). Last answer ${elapsedS.toFixed(1)} s after the first submit.`,
    '',
  ].join('\n');
  writeFileSync(join(ROOT, `load-tests/reports/${api === 'anthropic' ? 'batch-anthropic' : 'batch'}.md`), report);
  process.stdout.write(`\n${report}\n`);
  if (completed !== jobs) process.exitCode = 1;
} finally {
  await batcher?.stop();
  for (const p of [...processes].reverse()) await p.stop();
  await sim.stop();
  await redis.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
