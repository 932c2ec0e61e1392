import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { startMetricsServer, workerReadiness, type MetricsServer } from './server.ts';

describe('worker metrics server', () => {
  const started: MetricsServer[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((s) => s.close()));
  });
  const start = async (
    ready: () => Promise<{ ready: boolean; checks: Record<string, string> }>,
    extra: { readyTimeoutMs?: number } = {},
  ) => {
    const registry = new Registry();
    new Counter({ name: 'test_things_total', help: 'things', registers: [registry] }).inc(3);
    const server = await startMetricsServer({ registry, port: 0, host: '127.0.0.1', ready, ...extra });
    started.push(server);
    return `http://127.0.0.1:${server.port}`;
  };

  it('serves /metrics in Prometheus text format, /healthz, and /readyz from the readiness check', async () => {
    let ready = true;
    const url = await start(async () => ({ ready, checks: { redis: ready ? 'ok' : 'unreachable' } }));
    const metrics = await fetch(`${url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    expect(await metrics.text()).toContain('test_things_total 3');
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
    const up = await fetch(`${url}/readyz`);
    expect([up.status, await up.json()]).toEqual([200, { status: 'ready', checks: { redis: 'ok' } }]);
    ready = false;
    const down = await fetch(`${url}/readyz`);
    expect([down.status, await down.json()]).toEqual([503, { status: 'not ready', checks: { redis: 'unreachable' } }]);
    // Liveness does not follow readiness: a Redis blip must not restart the worker.
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/other`)).status).toBe(404);
    expect((await fetch(`${url}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('answers 503 when the readiness check hangs or throws', async () => {
    const hung = await start(() => new Promise(() => {}), { readyTimeoutMs: 100 });
    const res = await fetch(`${hung}/readyz`);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { checks: Record<string, string> }).checks.readiness).toMatch(
      /no answer within 100 ms/,
    );
    const failing = await start(async () => {
      throw new Error('boom');
    });
    expect((await fetch(`${failing}/readyz`)).status).toBe(503);
  });

  it('carries on without the server when the port is taken', async () => {
    const squatter = createServer();
    await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', () => r()));
    const port = (squatter.address() as AddressInfo).port;
    const warnings: unknown[] = [];
    try {
      const server = await startMetricsServer({
        registry: new Registry(),
        port,
        host: '127.0.0.1',
        ready: async () => ({ ready: true, checks: {} }),
        logger: { info() {}, warn: (o) => warnings.push(o) },
      });
      expect(server.port).toBeUndefined();
      expect(warnings).toEqual([{ port }]);
      await server.close();
    } finally {
      squatter.close();
    }
  });
});

describe('workerReadiness', () => {
  const worker = (name: string, running: boolean, closing = false) => ({
    name,
    isRunning: () => running,
    closing: closing ? Promise.resolve() : undefined,
  });

  it('is ready when Redis answers and every worker runs', async () => {
    expect(await workerReadiness({ ping: async () => 'PONG' }, [worker('{tier-small}', true)])).toEqual({
      ready: true,
      checks: { redis: 'ok', 'worker {tier-small}': 'running' },
    });
  });

  it('is not ready while a worker closes or has not started, or Redis is away', async () => {
    expect((await workerReadiness({ ping: async () => 'PONG' }, [worker('a', true, true)])).checks['worker a']).toBe(
      'closing',
    );
    expect((await workerReadiness({ ping: async () => 'PONG' }, [])).ready).toBe(false);
    const away = await workerReadiness({ ping: async () => Promise.reject(new Error('ECONNREFUSED')) }, [
      worker('a', true),
    ]);
    expect(away).toEqual({ ready: false, checks: { redis: 'unreachable: ECONNREFUSED', 'worker a': 'running' } });
  });
});
