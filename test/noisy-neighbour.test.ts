import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeys } from '@sluice/redis';
import { startStack, type TestStack } from './harness.ts';

type Json = Record<string, any>;

/** Nearest-rank percentile. */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One tenant's bad requests cost another tenant nothing (ARCHITECTURE.md invariant 6): tenant A sends
 * poison at a steady rate while tenant B sends ordinary requests on the same tier. A's poison is
 * every kind the probe found: a body nested thousands deep, a json_schema response format
 * without a schema (it crashed the simulator, was retried five times and opened the tier's
 * circuit, so B then waited 27–80 s), a malformed tool_choice, and a prompt past the model's
 * context window (only the upstream can know: it answers 400). B's P99 with A sending stays
 * within 2× of its P99 with A silent, every answer to A is a 4xx, and no circuit opens.
 */
describe('noisy neighbour', () => {
  let stack: TestStack;
  let a: string;
  let b: string;
  beforeAll(async () => {
    stack = await startStack();
    // A realistic first-token wait makes the P99s comparable on a loaded machine; a small
    // context window lets A's long prompt be refused by the upstream alone.
    for (const id of ['sim-small', 'sim-large', 'sim-router'])
      stack.sim.updateModel(id, { ttftMs: 150, contextWindow: 200 });
    a = await stack.key('tenant-a');
    b = await stack.key('tenant-b');
  });
  afterAll(() => stack.stop());

  const post = (key: string, body: string) =>
    fetch(`${stack.apiUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'cache-control': 'no-store' },
      body,
      signal: AbortSignal.timeout(60_000),
    });

  const long = 'word '.repeat(300);
  const poisons = [
    JSON.stringify({ model: 'small', messages: [{ role: 'user', content: long }] }),
    JSON.stringify({
      model: 'small',
      messages: [{ role: 'user', content: 'json please' }],
      response_format: { type: 'json_schema' },
    }),
    `{"model":"small","messages":[{"role":"user","content":"deep"}],"x":${'['.repeat(3_000)}${']'.repeat(3_000)}}`,
    JSON.stringify({ model: 'small', messages: [{ role: 'user', content: 'tools' }], tool_choice: 42 }),
  ];

  /** B sends one request every `everyMs` for `ms` (open loop); resolves with each latency. */
  async function tenantB(
    ms: number,
    everyMs: number,
    tag: string,
  ): Promise<{ latencies: number[]; statuses: number[] }> {
    const runs: Promise<{ latency: number; status: number }>[] = [];
    const until = Date.now() + ms;
    for (let i = 0; Date.now() < until; i++) {
      const started = performance.now();
      runs.push(
        post(
          b,
          JSON.stringify({
            model: 'small',
            max_tokens: 8,
            messages: [{ role: 'user', content: `B ${tag} ordinary question ${i}` }],
          }),
        ).then(async (res) => {
          await res.arrayBuffer();
          return { latency: performance.now() - started, status: res.status };
        }),
      );
      await sleep(everyMs);
    }
    const done = await Promise.all(runs);
    return { latencies: done.map((d) => d.latency), statuses: done.map((d) => d.status) };
  }

  /** A sends the poisons in turn, one every `everyMs`, until `stop.stopped`. */
  async function tenantA(
    stop: { stopped: boolean },
    everyMs: number,
    from: number,
  ): Promise<{ statuses: number[]; codes: string[] }> {
    const runs: Promise<{ status: number; code: string }>[] = [];
    for (let i = from; !stop.stopped; i++) {
      runs.push(
        post(a, poisons[i % poisons.length]!).then(async (res) => ({
          status: res.status,
          code: ((await res.json()) as Json).error?.code ?? '',
        })),
      );
      await sleep(everyMs);
    }
    const done = await Promise.all(runs);
    return { statuses: done.map((d) => d.status), codes: done.map((d) => d.code) };
  }

  it(
    "B's P99 with A sending poison stays within 2x of B's P99 with A silent, and no circuit opens",
    { timeout: 120_000 },
    async () => {
      // Warm up (connections, the routing set, JIT) outside the measurement.
      const warm = await tenantB(1_500, 100, 'warm');
      // Quiet and noisy slices alternate, so the other load on a shared machine, which drifts
      // over tens of seconds, weighs on both conditions alike. A sends at B's rate (10/s).
      const quiet = { latencies: [] as number[], statuses: [] as number[] };
      const noisy = { latencies: [] as number[], statuses: [] as number[] };
      const poison = { statuses: [] as number[], codes: [] as string[] };
      for (let slice = 0; slice < 3; slice++) {
        const q = await tenantB(3_000, 100, `quiet${slice}`);
        quiet.latencies.push(...q.latencies);
        quiet.statuses.push(...q.statuses);
        const stop = { stopped: false };
        const poisoning = tenantA(stop, 100, slice);
        const n = await tenantB(3_000, 100, `noisy${slice}`);
        stop.stopped = true;
        const p = await poisoning;
        noisy.latencies.push(...n.latencies);
        noisy.statuses.push(...n.statuses);
        poison.statuses.push(...p.statuses);
        poison.codes.push(...p.codes);
      }

      const quietP99 = percentile(quiet.latencies, 99);
      const noisyP99 = percentile(noisy.latencies, 99);
      const summary = {
        quiet: { n: quiet.latencies.length, p50: percentile(quiet.latencies, 50), p99: quietP99 },
        noisy: { n: noisy.latencies.length, p50: percentile(noisy.latencies, 50), p99: noisyP99 },
        poison: poison.statuses.length,
        ratio: noisyP99 / quietP99,
      };
      console.log(`noisy neighbour: ${JSON.stringify(summary)}`);

      expect(quiet.statuses.every((s) => s === 200)).toBe(true);
      expect(noisy.statuses.every((s) => s === 200)).toBe(true);
      expect(poison.statuses.length).toBeGreaterThan(50);
      // Every poison is refused as the caller's fault, never a 5xx; the upstream-only one is the
      // upstream's own 400, failed at once.
      expect(poison.statuses.every((s) => s === 400)).toBe(true);
      expect(new Set(poison.codes)).toEqual(
        new Set(['upstream_bad_request', 'missing_required_parameter', 'json_too_deep', 'invalid_value']),
      );
      expect(noisyP99).toBeLessThanOrEqual(2 * quietP99);

      // No deployment's circuit counted a failure, let alone opened.
      const keys = createKeys(stack.config.redis.prefix);
      for (const d of stack.config.deployments) {
        const circuit = await stack.redis.hgetall(keys.family('limit', encodeURIComponent(d.id), 'circuit'));
        expect(circuit.state ?? 'closed', d.id).toBe('closed');
        expect(Number(circuit.opens ?? 0), d.id).toBe(0);
        expect(Number(circuit.failures ?? 0), d.id).toBe(0);
      }
      // The upstream saw each of A's long prompts once (no retries) and each of B's requests once.
      const upstreamRejected = poison.codes.filter((c) => c === 'upstream_bad_request').length;
      expect(upstreamRejected).toBeGreaterThan(10);
      expect(stack.sim.stats().models['sim-small']!.requests).toBe(
        warm.latencies.length + quiet.latencies.length + noisy.latencies.length + upstreamRejected,
      );
    },
  );
});
