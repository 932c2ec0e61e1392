import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type TestStack } from './harness.ts';

/**
 * One failure, one answer (issue 16): the same upstream failure met by the API itself
 * (embeddings call the upstream from the API process) and by an executor (a chat completion)
 * reaches the client with the same status, type and code.
 */
describe('the same upstream failure through the API and through an executor', () => {
  let stack: TestStack;
  let client: OpenAI;
  beforeAll(async () => {
    stack = await startStack();
    client = new OpenAI({ baseURL: `${stack.apiUrl}/v1`, apiKey: await stack.key('acme'), maxRetries: 0 });
  });
  afterAll(() => stack.stop());

  const rejection = async (call: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> => {
    const error = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OpenAI.APIError);
    return error as InstanceType<typeof OpenAI.APIError>;
  };

  it('an upstream 500 is a 502 upstream_server_error on both paths', { timeout: 60_000 }, async () => {
    stack.sim.updateModel('sim-small', { faults: { errorRate: 1 } });
    stack.sim.updateModel('sim-embed', { faults: { errorRate: 1 } });
    try {
      const viaExecutor = await rejection(
        client.chat.completions.create(
          { model: 'small', messages: [{ role: 'user', content: 'an executor meets this failure' }] },
          { headers: { 'cache-control': 'no-store' }, timeout: 50_000 },
        ),
      );
      const viaApi = await rejection(client.embeddings.create({ model: 'sim-embed', input: 'the API meets this one' }));
      for (const error of [viaExecutor, viaApi]) {
        expect(error).toMatchObject({ status: 502, type: 'upstream_error', code: 'upstream_server_error' });
      }
      // Not only the code: the whole client-visible shape agrees (the message may differ).
      const shape = (e: InstanceType<typeof OpenAI.APIError>) => ({ status: e.status, type: e.type, code: e.code });
      expect(shape(viaApi)).toEqual(shape(viaExecutor));
      expect(stack.sim.stats().models['sim-small']?.errors ?? 0).toBeGreaterThanOrEqual(1);
      expect(stack.sim.stats().models['sim-embed']?.errors ?? 0).toBeGreaterThanOrEqual(1);
    } finally {
      stack.sim.updateModel('sim-small', { faults: { errorRate: 0 } });
      stack.sim.updateModel('sim-embed', { faults: { errorRate: 0 } });
    }
  });
});
