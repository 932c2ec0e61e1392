import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, until, type TestStack } from './harness.ts';

/**
 * A synchronous caller that goes away before its answer: without an Idempotency-Key it can
 * never find its job again, so the job is cancelled and no upstream call is made for it; with a
 * key, a retry would re-attach, so the job runs.
 */
describe('a client that disconnects before its answer', () => {
  let stack: TestStack;
  let key: string;
  const upstreamCalls = () => stack.sim.stats().models['sim-large']?.requests ?? 0;

  beforeAll(async () => {
    // No executor yet: the jobs wait in the queue while their clients leave.
    stack = await startStack({ executor: false });
    key = await stack.key('acme');
  });
  afterAll(() => stack.stop());

  /** Send a completion and drop the connection once the job is queued; returns the job id. */
  const sendAndLeave = async (content: string, headers: Record<string, string> = {}) => {
    const before = new Set(await stack.redis.keys(`${stack.config.redis.prefix}:{job:*}`));
    const controller = new AbortController();
    const sent = fetch(`${stack.apiUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ model: 'large', messages: [{ role: 'user', content }] }),
      signal: controller.signal,
    }).catch((error: unknown) => error);
    const jobKey = await until(async () =>
      (await stack.redis.keys(`${stack.config.redis.prefix}:{job:*}`)).find(
        (k) => !before.has(k) && !k.endsWith(':events'),
      ),
    );
    controller.abort();
    expect(await sent).toBeInstanceOf(Error);
    return /\{job:([^}]+)\}/.exec(jobKey)![1]!;
  };

  const status = async (id: string) => {
    const res = await fetch(`${stack.apiUrl}/v1/jobs/${id}`, { headers: { authorization: `Bearer ${key}` } });
    return (await res.json()) as { status: string; error?: { code: string } };
  };

  it(
    'cancels the job when no Idempotency-Key was sent, and the executor never calls upstream for it',
    { timeout: 60_000 },
    async () => {
      const abandoned = await sendAndLeave('Summarise the history of the printing press.');
      const kept = await sendAndLeave('Summarise the history of the telegraph.', { 'idempotency-key': 'telegraph-1' });
      const cancelled = await until(async () => {
        const s = await status(abandoned);
        return s.status === 'cancelled' ? s : undefined;
      });
      expect(cancelled.error?.code).toBe('client_disconnected');
      expect(['queued', 'routed']).toContain((await status(kept)).status);

      const before = upstreamCalls();
      await stack.startExecutor();
      await until(async () => (await status(kept)).status === 'completed', 30_000);
      // Only the kept job reached the simulator; the abandoned one stayed cancelled.
      expect(upstreamCalls() - before).toBe(1);
      expect((await status(abandoned)).status).toBe('cancelled');
    },
  );
});
