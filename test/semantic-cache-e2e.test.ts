import { existsSync } from 'node:fs';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { wordVectorsPath } from '@sluice/embeddings';
import { startStack, type TestStack } from './harness.ts';

const provisioned = existsSync(wordVectorsPath(inject('embeddingsModelDir')));

/** Issue 14: a reworded question is answered from the semantic level; its near-miss twin is not. */
describe.skipIf(!provisioned)(
  'semantic cache with the word-vector embedder, through the API and the official client',
  () => {
    let stack: TestStack;
    let client: OpenAI;

    beforeAll(async () => {
      stack = await startStack({ sim: { profile: 'fixed', latencyMs: 50 } });
      client = new OpenAI({ baseURL: `${stack.apiUrl}/v1`, apiKey: await stack.key('acme'), maxRetries: 0 });
    });
    afterAll(() => stack?.stop());

    const ask = (content: string) =>
      client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content }] }).withResponse();

    it('answers a rewording in other words ("what is the best way to" / "how do I") and not its twin with another name', async () => {
      const first = await ask('What is the best way to learn Python?');
      expect(first.response.headers.get('x-sluice-cache')).toBe('miss');
      const reworded = await ask('How do I learn Python?');
      expect(reworded.response.headers.get('x-sluice-cache')).toBe('hit');
      expect(reworded.response.headers.get('x-sluice-cache-kind')).toBe('semantic');
      expect(reworded.data.choices[0]!.message.content).toBe(first.data.choices[0]!.message.content);
      const twin = await ask('How do I learn Java?');
      expect(twin.response.headers.get('x-sluice-cache')).toBe('miss');
    });

    it('answers a rewording from the cache and not its near-miss twin', async () => {
      const first = await ask('What is the tallest mountain in the world?');
      expect(first.response.headers.get('x-sluice-cache')).toBe('miss');
      const reworded = await ask('Which mountain is the tallest in the world?');
      expect(reworded.response.headers.get('x-sluice-cache')).toBe('hit');
      expect(reworded.response.headers.get('x-sluice-cache-kind')).toBe('semantic');
      expect(reworded.data.choices[0]!.message.content).toBe(first.data.choices[0]!.message.content);
      const twin = await ask('Which mountain is the tallest in Europe?');
      expect(twin.response.headers.get('x-sluice-cache')).toBe('miss');
      expect(twin.data.choices[0]!.message.content).not.toBe(first.data.choices[0]!.message.content);
      // The API's cache says which embedder served (the word vectors, not the hashing fallback).
      const admin = { authorization: `Basic ${Buffer.from('admin:test-admin-pw').toString('base64')}` };
      const stats = (await (await fetch(`${stack.apiUrl}/admin/cache/stats`, { headers: admin })).json()) as {
        embedder?: { id: string; notice?: string };
      };
      expect(stats.embedder?.id).toBe('sif:wink-sg100d-q8/100');
      expect(stats.embedder?.notice).toBeUndefined();
    });
  },
);
if (!provisioned)
  console.warn(
    `word-vector model not provisioned in ${inject('embeddingsModelDir')}: the semantic-cache e2e test is skipped`,
  );
