import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobStore, type JobRecord } from '@sluice/jobs';
import { createKeys } from '@sluice/redis';
import { freePort, startRedisServer, type RunningRedis } from '@sluice/redis-server';
import { spawnApp, startStack, until, type TestStack } from './harness.ts';

/** Read an SSE response as it arrives; `onEvent` sees each `data:` payload (parsed unless `[DONE]`). */
async function readSse(response: Response, onEvent: (data: unknown) => void): Promise<void> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of block.split('\n')) {
        if (!line.startsWith('data: ')) continue;
        const payload = line.slice(6);
        onEvent(payload === '[DONE]' ? '[DONE]' : JSON.parse(payload));
      }
    }
  }
}

type Chunk = { choices?: Array<{ delta?: { content?: string } }>; error?: { code: string; message: string } };

/**
 * No accepted job is lost (ARCHITECTURE.md invariant 1): an executor killed with SIGKILL mid-job,
 * and a Redis restart with AOF on while jobs wait.
 */
describe('faults', () => {
  describe('an executor killed with SIGKILL mid-job', () => {
    let stack: TestStack;
    let store: JobStore;
    beforeAll(async () => {
      // A short lock, so the dead executor's jobs are taken over within seconds.
      stack = await startStack({ executor: false, env: { SLUICE_LOCK_DURATION_MS: '2000' } });
      store = new JobStore({ redis: stack.redis, keys: createKeys(stack.config.redis.prefix), ttlSeconds: 3600 });
      // Slow tokens: a 40-token answer streams for about 6 s, so the kill lands mid-stream.
      stack.sim.updateModel('sim-small', { perTokenMs: 150 });
    });
    afterAll(() => stack.stop());

    it(
      'the jobs are taken over and complete; the JSON client gets one answer, the streaming client no mixed runs',
      { timeout: 240_000 },
      async () => {
        const key = await stack.key('killed');
        const client = new OpenAI({ baseURL: `${stack.apiUrl}/v1`, apiKey: key, maxRetries: 0, timeout: 200_000 });
        const first = spawnApp('executor', stack.env);
        let second: ReturnType<typeof spawnApp> | undefined;
        try {
          const json = client.chat.completions
            .create(
              {
                model: 'small',
                max_tokens: 40,
                messages: [{ role: 'user', content: 'kill me, plain [[sim:slow=1000]]' }],
              },
              { headers: { 'cache-control': 'no-store' } },
            )
            .withResponse();
          const streamResponse = await fetch(`${stack.apiUrl}/v1/chat/completions`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${key}`,
              'content-type': 'application/json',
              'cache-control': 'no-store',
            },
            body: JSON.stringify({
              model: 'small',
              stream: true,
              max_tokens: 40,
              messages: [{ role: 'user', content: 'kill me, streamed' }],
            }),
          });
          expect(streamResponse.status).toBe(200);
          const streamJobId = streamResponse.headers.get('x-sluice-job-id')!;
          const events: Chunk[] = [];
          let killed = false;
          const streamed = readSse(streamResponse, (data) => {
            if (data === '[DONE]') return;
            events.push(data as Chunk);
            // Kill the executor once the client has seen part of the answer.
            if (!killed && events.filter((e) => e.choices?.[0]?.delta?.content).length >= 2) {
              killed = true;
              first.child.kill('SIGKILL');
              second = spawnApp('executor', stack.env);
            }
          });
          await streamed;
          expect(killed).toBe(true);
          expect(await first.exited).toBe(null);

          // The stream ended with `stream_interrupted` right after the first run's chunks:
          // nothing of the second run was spliced in.
          const last = events.at(-1)!;
          expect(last.error?.code).toBe('stream_interrupted');
          expect(last.error?.message).toContain(`GET /v1/jobs/${streamJobId}`);
          const content = events.map((e) => e.choices?.[0]?.delta?.content ?? '').join('');
          expect(events.slice(0, -1).every((e) => !e.error)).toBe(true);

          // The JSON client gets exactly one final answer.
          const { data, response } = await json;
          const jsonJobId = response.headers.get('x-sluice-job-id')!;
          expect(data.choices[0]!.message.content).toContain('[sim:');

          // Both jobs completed once, after two runs each, numbered apart.
          for (const jobId of [jsonJobId, streamJobId]) {
            const record = await until(
              async () => {
                const r = await store.get(jobId);
                return r?.status === 'completed' ? r : undefined;
              },
              120_000,
              250,
            );
            const log = await store.events(jobId);
            expect(log.filter((e) => e.event.type === 'done')).toHaveLength(1);
            const runs = log.flatMap((e) => (e.event.type === 'attempt' ? [e.event.attempt] : []));
            expect(runs.length).toBeGreaterThanOrEqual(2);
            expect(new Set(runs).size).toBe(runs.length);
            if (jobId === streamJobId) {
              // What the client saw is the start of the final answer, once.
              const final = (record as JobRecord).result!.completion as {
                choices: Array<{ message: { content: string } }>;
              };
              expect(final.choices[0]!.message.content.startsWith(content)).toBe(true);
              expect(content.length).toBeGreaterThan(0);
            }
          }
          const final = await fetch(`${stack.apiUrl}/v1/jobs/${streamJobId}`, {
            headers: { authorization: `Bearer ${key}` },
          });
          expect(((await final.json()) as { status: string }).status).toBe('completed');
        } finally {
          if (first.child.exitCode === null && first.child.signalCode === null) first.child.kill('SIGKILL');
          if (second) {
            second.child.kill('SIGTERM');
            await second.exited;
          }
        }
      },
    );
  });

  describe('Redis stopped and restarted (AOF on) while jobs wait', () => {
    let redis: RunningRedis;
    let dataDir: string;
    let port: number;
    let stack: TestStack;
    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'sluice-restart-'));
      port = await freePort();
      redis = await startRedisServer({ port, dataDir });
      // Few executor slots and slow answers, so most jobs are still waiting at the stop.
      stack = await startStack({ env: { REDIS_URL: redis.url, SLUICE_EXECUTOR_CONCURRENCY: '2' } });
    });
    afterAll(async () => {
      await stack.stop();
      await redis.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it(
      'answers 503 with retry-after while Redis is away, recovers without a restart, and completes every job',
      { timeout: 180_000 },
      async () => {
        const key = await stack.key('restart');
        const headers = {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          'cache-control': 'no-store',
        };
        const submit = (i: number) =>
          fetch(`${stack.apiUrl}/v1/jobs`, {
            method: 'POST',
            headers,
            body: JSON.stringify({
              model: 'small',
              messages: [{ role: 'user', content: `restart job ${i} [[sim:slow=1500]]` }],
            }),
          });
        const ids: string[] = [];
        for (let i = 0; i < 12; i++) {
          const res = await submit(i);
          expect(res.status).toBe(202);
          ids.push(((await res.json()) as { id: string }).id);
        }

        const statuses = await Promise.all(
          ids.map(
            async (id) =>
              ((await (await fetch(`${stack.apiUrl}/v1/jobs/${id}`, { headers })).json()) as { status: string }).status,
          ),
        );
        expect(statuses.filter((s) => s !== 'completed').length).toBeGreaterThanOrEqual(6);

        await redis.stop();
        // While Redis is away: 503 with retry-after on every Redis-backed path, answered fast.
        for (const attempt of [
          () => submit(100),
          () => fetch(`${stack.apiUrl}/v1/jobs/${ids[0]}`, { headers }),
          () =>
            fetch(`${stack.apiUrl}/v1/chat/completions`, {
              method: 'POST',
              headers,
              body: JSON.stringify({ model: 'small', messages: [{ role: 'user', content: 'while away' }] }),
            }),
        ]) {
          const started = Date.now();
          const res = await attempt();
          expect(res.status).toBe(503);
          expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
          expect(((await res.json()) as { error: { code: string } }).error.code).toBe('redis_unavailable');
          expect(Date.now() - started).toBeLessThan(5_000);
        }
        // A key the API has not seen yet goes through the tenant store (node-redis): also 503.
        const unseen = await fetch(`${stack.apiUrl}/v1/jobs/${ids[0]}`, {
          headers: { authorization: 'Bearer sk-sluice-not-cached' },
        });
        expect(unseen.status).toBe(503);
        expect((await fetch(`${stack.apiUrl}/readyz`)).status).toBe(503);
        await new Promise((r) => setTimeout(r, 2_000));

        redis = await startRedisServer({ port, dataDir });
        // The same API process recovers on its own.
        await until(async () => (await submit(200)).status === 202, 30_000, 250);
        for (const id of ids) {
          await until(
            async () => {
              const res = await fetch(`${stack.apiUrl}/v1/jobs/${id}`, { headers });
              return res.status === 200 && ((await res.json()) as { status: string }).status === 'completed';
            },
            120_000,
            500,
          );
        }
      },
    );
  });
});
