import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@sluice/redis-server';
import { spawnApp, startStack, until, type TestStack } from './harness.ts';

type Spawned = ReturnType<typeof spawnApp>;

/**
 * Classifier and executor processes as Kubernetes runs them: each serves /metrics, /healthz
 * and /readyz on SLUICE_METRICS_PORT, and its metrics count the jobs it handled.
 */
describe('worker processes serve metrics and probes on SLUICE_METRICS_PORT', () => {
  let stack: TestStack;
  const procs: Record<'classifier' | 'executor', { app: Spawned; url: string }> = {} as never;
  beforeAll(async () => {
    stack = await startStack({ classifier: false, executor: false });
    for (const kind of ['classifier', 'executor'] as const) {
      const port = await freePort();
      procs[kind] = {
        app: spawnApp(kind, { ...stack.env, SLUICE_METRICS_PORT: String(port) }),
        url: `http://127.0.0.1:${port}`,
      };
    }
  }, 60_000);
  afterAll(async () => {
    for (const { app } of Object.values(procs)) {
      app.child.kill('SIGTERM');
      await app.exited;
    }
    await stack.stop();
  }, 60_000);

  it('answers the probes, then counts a job it routed and executed', { timeout: 90_000 }, async () => {
    for (const [kind, { app, url }] of Object.entries(procs)) {
      await until(
        () =>
          fetch(`${url}/readyz`)
            .then((r) => r.status === 200)
            .catch(() => false),
        45_000,
        200,
      ).catch((error: unknown) => {
        throw new Error(`${kind} never became ready: ${(error as Error).message}\n${app.output()}`);
      });
      expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
      const ready = (await (await fetch(`${url}/readyz`)).json()) as { checks: Record<string, string> };
      expect(ready.checks.redis).toBe('ok');
      expect(
        Object.entries(ready.checks)
          .filter(([k]) => k.startsWith('worker '))
          .every(([, v]) => v === 'running'),
      ).toBe(true);
    }

    const client = new OpenAI({ baseURL: `${stack.apiUrl}/v1`, apiKey: await stack.key('acme'), maxRetries: 0 });
    const completion = await client.chat.completions.create(
      { model: 'auto', messages: [{ role: 'user', content: 'What is the capital of Spain?' }] },
      { headers: { 'x-sluice-priority': 'interactive' } },
    );

    const classifier = await (await fetch(`${procs.classifier.url}/metrics`)).text();
    expect(classifier).toMatch(/sluice_routing_decisions_total\{tier="small",strategy="rules",category="[a-z_]+"\} 1/);
    expect(classifier).toMatch(/sluice_queue_wait_seconds_count\{queue="\{route\}",priority="interactive"\} 1/);
    expect(classifier).toMatch(/sluice_jobs_finished_total\{queue="\{route\}",outcome="completed"\} 1/);
    expect(classifier).toContain('sluice_classifier_process_cpu_seconds_total');

    // The executor counts after BullMQ has acknowledged the job, just after the answer.
    const executorText = () => fetch(`${procs.executor.url}/metrics`).then((r) => r.text());
    const executor = await until(async () => {
      const text = await executorText();
      return /sluice_cost_usd_total\{kind="actual"\}/.test(text) ? text : undefined;
    }, 10_000);
    expect(executor).toMatch(/sluice_queue_wait_seconds_count\{queue="\{tier-small\}",priority="interactive"\} 1/);
    expect(executor).toContain('sluice_cache_lookups_total{result="miss",kind="none"} 1');
    expect(executor).toContain(
      `sluice_tokens_total{direction="input",tier="small"} ${completion.usage!.prompt_tokens}`,
    );
    expect(executor).toContain(
      `sluice_tokens_total{direction="output",tier="small"} ${completion.usage!.completion_tokens}`,
    );
    expect(executor).toMatch(/sluice_cost_usd_total\{kind="counterfactual"\} [0-9.e-]+/);
    expect(executor).toContain('sluice_upstream_requests_total{deployment="sim-small",outcome="success"} 1');
    expect(executor).toContain('sluice_circuit_state{deployment="sim-small",state="closed"} 1');
    expect(executor).toMatch(/sluice_upstream_in_flight\{deployment="sim-small"\} 0/);

    // The API reports queue depth per priority.
    const api = await (await fetch(`${stack.apiUrl}/metrics`)).text();
    expect(api).toContain('sluice_queue_waiting_jobs{queue="{route}",priority="interactive"} 0');
  });
});
