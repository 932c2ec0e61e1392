import { createOpenAI } from '@ai-sdk/openai';
import { ChatOpenAI, OpenAIEmbeddings } from '@langchain/openai';
import { generateObject, generateText, streamText } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startStack, type TestStack } from './harness.ts';

describe('third-party SDKs against a running stack', () => {
  let stack: TestStack;
  let apiKey: string;
  beforeAll(async () => {
    stack = await startStack();
    apiKey = await stack.key('acme');
  });
  afterAll(() => stack.stop());

  describe("Vercel AI SDK, default openai('auto') (the Responses API)", () => {
    const provider = () => createOpenAI({ baseURL: `${stack.apiUrl}/v1`, apiKey });

    it('generateText', async () => {
      const result = await generateText({
        model: provider()('auto'),
        system: 'Be brief.',
        prompt: 'What is the capital of France?',
        maxRetries: 0,
      });
      expect(result.text).toContain('[sim:');
      expect(result.finishReason).toBe('stop');
      expect(result.usage.inputTokens).toBeGreaterThan(0);
      expect(result.usage.outputTokens).toBeGreaterThan(0);
      expect(result.response.id).toMatch(/^resp_/);
    });

    it('streamText', async () => {
      const result = streamText({ model: provider()('auto'), prompt: 'Write a haiku about queues.', maxRetries: 0 });
      const parts: string[] = [];
      for await (const delta of result.textStream) parts.push(delta);
      expect(parts.length).toBeGreaterThan(1);
      expect(parts.join('')).toContain('[sim:');
      expect(await result.text).toBe(parts.join(''));
      expect(await result.finishReason).toBe('stop');
      expect((await result.usage).outputTokens).toBeGreaterThan(0);
    });

    it('generateObject with a zod schema (text.format json_schema)', async () => {
      const schema = z.object({ city: z.string(), population: z.number().int(), landmarks: z.array(z.string()) });
      const { object } = await generateObject({
        model: provider()('auto'),
        schema,
        prompt: 'Describe a city.',
        maxRetries: 0,
      });
      expect(schema.safeParse(object).success).toBe(true);
      expect(typeof object.city).toBe('string');
    });
  });

  describe('LangChain JS', () => {
    it('ChatOpenAI with useResponsesApi', async () => {
      const chat = new ChatOpenAI({
        model: 'auto',
        apiKey,
        configuration: { baseURL: `${stack.apiUrl}/v1` },
        useResponsesApi: true,
        maxRetries: 0,
      });
      const reply = await chat.invoke([
        ['system', 'Be brief.'],
        ['human', 'What is the capital of France?'],
      ]);
      expect(String(reply.text)).toContain('[sim:');
      expect(reply.usage_metadata?.input_tokens).toBeGreaterThan(0);
      expect(String(reply.response_metadata.id)).toMatch(/^resp_/);
    });

    it('OpenAIEmbeddings', async () => {
      const embeddings = new OpenAIEmbeddings({
        model: 'sim-embed',
        apiKey,
        configuration: { baseURL: `${stack.apiUrl}/v1` },
        maxRetries: 0,
      });
      const query = await embeddings.embedQuery('alpha beta');
      const docs = await embeddings.embedDocuments(['alpha beta', 'gamma delta']);
      expect(query).toHaveLength(stack.config.embeddings.dimensions);
      expect(docs).toHaveLength(2);
      query.forEach((v, i) => expect(v).toBeCloseTo(docs[0]![i]!, 6));
      expect(docs[1]).not.toEqual(docs[0]);
    });
  });
});
