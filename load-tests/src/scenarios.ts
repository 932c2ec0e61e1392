/**
 * The storm scenarios: one workload, one arrival schedule, one simulator whose large model has a
 * provider rate limit the offered load exceeds. Each scenario gets its own model variants on
 * the simulator (`sim-large@cache`…: own limits, own counters) and, for Sluice, its own
 * processes and key prefix on the shared Redis, switched only by configuration.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { analyzeScenario, promptTokenOffset, spendFromStats, type AnsweredRecord } from './analysis.ts';
import { runOpenLoop, type Sender, type SendOutcome } from './driver.ts';
import { startSim, startSluice, type SimProcess, type SluiceStack } from './processes.ts';
import type { ScenarioName, ScenarioResult } from './results.ts';
import { createRandom, type Workload } from './workload.ts';

/** How a scenario is switched. */
export interface ScenarioSpec {
  name: ScenarioName;
  title: string;
  /** Env of the Sluice processes; absent: the client calls the simulator directly. */
  env?: Record<string, string>;
  /** `model` of every request: `large` pins the tier (no routing), `auto` routes. */
  model: 'large' | 'auto';
}

/** Switches of the routing scenarios. */
export interface RoutingSwitches {
  /** `SLUICE_ROUTING_STRATEGY`. */
  strategy: string;
  /** `SLUICE_ROUTING_LOW_CONFIDENCE` (`large` or `cascade`); unset: the build's default. */
  lowConfidence?: string;
}

/**
 * Context pruning belongs to routing (packages/routing): scenarios without routing switch it
 * off by raising the context budget past any conversation of the workload.
 */
const NO_PRUNING = { SLUICE_CONTEXT_MAX_INPUT_TOKENS: '1000000' };

/** The scenarios, by name. */
export function scenarioSpecs(routing: RoutingSwitches): Record<ScenarioName, ScenarioSpec> {
  const routed = {
    SLUICE_ROUTING_STRATEGY: routing.strategy,
    ...(routing.lowConfidence ? { SLUICE_ROUTING_LOW_CONFIDENCE: routing.lowConfidence } : {}),
  };
  return {
    direct: { name: 'direct', title: 'Direct (openai SDK → large model)', model: 'large' },
    gateway: {
      name: 'gateway',
      title: 'Sluice, cache off, no routing',
      model: 'large',
      env: { SLUICE_CACHE_ENABLED: 'false', ...NO_PRUNING },
    },
    cache: {
      name: 'cache',
      title: 'Semantic cache only',
      model: 'large',
      env: { SLUICE_CACHE_ENABLED: 'true', SLUICE_CACHE_SEMANTIC: 'true', ...NO_PRUNING },
    },
    routing: {
      name: 'routing',
      title: 'Tiered routing only',
      model: 'auto',
      env: { SLUICE_CACHE_ENABLED: 'false', ...routed },
    },
    all: {
      name: 'all',
      title: 'Everything on',
      model: 'auto',
      env: { SLUICE_CACHE_ENABLED: 'true', SLUICE_CACHE_SEMANTIC: 'true', ...routed },
    },
  };
}

/** Provider limits of the simulated models in the storm. */
export interface ProviderLimits {
  large: { rpm: number; tpm: number };
  small: { rpm: number; tpm: number };
  router: { rpm: number; tpm: number };
}

/** Options for {@link runStormPhase}. */
export interface StormOptions {
  workload: Workload;
  scenarios: readonly ScenarioSpec[];
  rate: number;
  durationSeconds: number;
  deadlineMs: number;
  limits: ProviderLimits;
  redisUrl: string;
  runId: string;
  /** Executor processes per Sluice scenario. */
  executors: number;
  /** Buckets of the hit-ratio series (s). */
  bucketSeconds: number;
  log: (line: string) => void;
}

/** A models file for the simulator: realistic latency, the storm's provider limits. */
export function writeModelsFile(limits: ProviderLimits): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-load-'));
  const file = join(dir, 'models.json');
  writeFileSync(
    file,
    JSON.stringify([
      { id: 'sim-router', rpm: limits.router.rpm, tpm: limits.router.tpm },
      { id: 'sim-small', rpm: limits.small.rpm, tpm: limits.small.tpm },
      { id: 'sim-large', rpm: limits.large.rpm, tpm: limits.large.tpm },
      { id: 'sim-embed' },
    ]),
  );
  return file;
}

/** `SLUICE_DEPLOYMENTS` for a scenario: its own variants, limits as the provider publishes them. */
export function deploymentsEnv(simUrl: string, variant: string, limits: ProviderLimits): string {
  return JSON.stringify(
    (['router', 'small', 'large'] as const).map((tier) => ({
      id: `${tier}-${variant}`,
      tier,
      baseUrl: simUrl,
      model: `sim-${tier}@${variant}`,
      rpm: limits[tier].rpm,
      tpm: limits[tier].tpm,
    })),
  );
}

function outcomeOf(error: unknown, signal: AbortSignal): SendOutcome {
  if (signal.aborted) return { status: 'deadline', ok: false };
  if (error instanceof OpenAI.APIError && error.status) return { status: String(error.status), ok: false };
  if (error instanceof OpenAI.APIConnectionTimeoutError) return { status: 'timeout', ok: false };
  if (error instanceof OpenAI.APIConnectionError) return { status: 'connection_error', ok: false };
  return { status: `client_error:${(error as Error)?.name ?? 'unknown'}`, ok: false };
}

/**
 * A sender using the official `openai` SDK with its default retries (2, honouring
 * `retry-after`), as an application would: one client per tenant.
 */
export function sdkSender(workload: Workload, clients: Record<string, OpenAI>, model: string): Sender {
  return async (i, { signal }) => {
    const req = workload.requests[i]!;
    try {
      const { data, response } = await clients[req.tenant]!.chat.completions.create(
        { model, messages: req.messages },
        { signal },
      ).withResponse();
      const headers: Record<string, string> = {};
      response.headers.forEach((v, k) => {
        if (k.startsWith('x-sluice-')) headers[k] = v;
      });
      return {
        status: String(response.status),
        ok: true,
        headers,
        content: data.choices[0]?.message?.content ?? undefined,
        usage: data.usage
          ? { prompt_tokens: data.usage.prompt_tokens, completion_tokens: data.usage.completion_tokens }
          : undefined,
      };
    } catch (error) {
      return outcomeOf(error, signal);
    }
  };
}

/**
 * Warm-up outside the measurement: JIT, tokenizers, embedder, connection pools, BullMQ and
 * limiter scripts in every process (a cold stack took 6–13 s for its first answers on the
 * shared 2-core machine). Unique prompts on the small tier from a tenant of its own, so the
 * large model's provider window and the workload tenants' cache namespaces stay untouched;
 * the spend is subtracted from the scenario's.
 */
async function warmUp(
  sluice: { url: string; apiKey: string } | undefined,
  sim: SimProcess,
  variant: string,
): Promise<void> {
  const one = async (i: number) => {
    const messages = [{ role: 'user', content: `Warm-up ${variant} ${i}: say hello.` }];
    const res = sluice
      ? await fetch(`${sluice.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${sluice.apiKey}` },
          // `auto` warms the router too; a prompt this simple routes small.
          body: JSON.stringify({ model: i % 2 ? 'auto' : 'small', messages }),
        })
      : await fetch(`${sim.apiUrl}/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: `sim-small@${variant}`, messages }),
        });
    await res.text();
  };
  for (let i = 0; i < 10; i += 2) await Promise.all([one(i), one(i + 1)]);
}

/** Run every scenario, one after the other, on one simulator; returns their results. */
export async function runStormPhase(options: StormOptions): Promise<ScenarioResult[]> {
  const { workload, limits, log } = options;
  const sim: SimProcess = await startSim(['--profile', 'realistic', '--models', writeModelsFile(limits)]);
  const results: ScenarioResult[] = [];
  const tenants = [...new Set(workload.requests.map((r) => r.tenant))];
  const variantOf = (spec: ScenarioSpec) => `${spec.name}-${options.runId}`;
  // The Sluice stacks start before the first scenario, two at a time (startup is most of a
  // short run's wall time; four at once did not all get ready within 2 minutes on the shared
  // machine). An idle stack only waits on Redis; each stops as soon as its scenario is done.
  const stacks = new Map<ScenarioName, Promise<SluiceStack>>();
  const sluiceSpecs = options.scenarios.filter((spec) => spec.env);
  sluiceSpecs.forEach((spec, i) => {
    const variant = variantOf(spec);
    const env = { ...spec.env, SLUICE_DEPLOYMENTS: deploymentsEnv(sim.apiUrl, variant, limits) };
    const after: Promise<unknown> = i >= 2 ? stacks.get(sluiceSpecs[i - 2]!.name)! : Promise.resolve();
    const started = after
      .catch(() => {})
      .then(() => {
        log(
          `[${spec.name}] starting Sluice (${options.executors} executor${options.executors > 1 ? 's' : ''}) with ${Object.entries(
            spec.env!,
          )
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')}`,
        );
        return startSluice({
          redisUrl: options.redisUrl,
          simUrl: sim.apiUrl,
          prefix: `lt-${variant}`,
          executors: options.executors,
          env,
          tenants: [...tenants, 'warmup'],
        });
      });
    started.catch(() => {});
    stacks.set(spec.name, started);
  });
  const stopAll = async () => {
    await Promise.allSettled([...stacks.values()].map(async (p) => (await p).stop()));
    stacks.clear();
  };
  let offset = 0;
  try {
    await Promise.all(stacks.values());
    for (const spec of options.scenarios) {
      const variant = variantOf(spec);
      const stack = await stacks.get(spec.name);
      let clients: Record<string, OpenAI>;
      let model: string;
      const switches: Record<string, string> = {};
      if (!stack) {
        model = `sim-large@${variant}`;
        const client = new OpenAI({ baseURL: sim.apiUrl, apiKey: 'sim', timeout: options.deadlineMs });
        clients = Object.fromEntries(tenants.map((t) => [t, client]));
        switches.client = 'openai SDK, maxRetries default (2)';
        switches.model = model;
      } else {
        // The client tells the gateway how long it waits (x-sluice-max-wait-ms): a job that
        // would queue past it is refused with retry-after instead of answered for nobody.
        const defaultHeaders = { 'x-sluice-max-wait-ms': String(options.deadlineMs) };
        clients = Object.fromEntries(
          tenants.map((t) => [
            t,
            new OpenAI({
              baseURL: `${stack.apiUrl}/v1`,
              apiKey: stack.apiKeys[t]!,
              timeout: options.deadlineMs,
              defaultHeaders,
            }),
          ]),
        );
        switches.client = `openai SDK, maxRetries default (2), x-sluice-max-wait-ms ${options.deadlineMs}`;
        model = spec.model;
        Object.assign(switches, spec.env, { model: spec.model });
      }
      await warmUp(stack ? { url: stack.apiUrl, apiKey: stack.apiKeys.warmup! } : undefined, sim, variant);
      const before = await sim.stats();
      const records: AnsweredRecord[] = [];
      let run;
      try {
        run = await runOpenLoop({
          rate: options.rate,
          durationSeconds: options.durationSeconds,
          arrivals: 'poisson',
          // Same seed, same arrival times in every scenario.
          random: createRandom(workload.seed + 1),
          deadlineMs: options.deadlineMs,
          send: sdkSender(workload, clients, model),
          onResponse: (r) => records.push(r),
          onProgress: true,
          label: spec.name,
        });
      } finally {
        if (stack) {
          log(`[${spec.name}] stopping`);
          await stack.stop();
          stacks.delete(spec.name);
        }
      }
      const stats = await sim.stats();
      const spend = spendFromStats(stats, (m) => m.endsWith(`@${variant}`), before);
      if (spec.name === 'direct') offset = promptTokenOffset(workload, records);
      const result = analyzeScenario({
        name: spec.name,
        title: spec.title,
        switches,
        workload,
        records,
        run,
        spend,
        providerLimit: { model: `sim-large@${variant}`, ...limits.large },
        bucketSeconds: options.bucketSeconds,
        promptTokenOffset: offset,
      });
      log(
        `[${spec.name}] ok ${result.ok}/${result.sent}  p50 ${result.okLatency.p50} ms  p99 ${result.okLatency.p99} ms  cost $${result.costUsd.toFixed(4)}  hits ${result.cache.hits}  false hits ${result.quality.falseHits}  statuses ${JSON.stringify(result.statuses)}`,
      );
      results.push(result);
    }
  } finally {
    await stopAll();
    await sim.stop();
  }
  return results;
}
