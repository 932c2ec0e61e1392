import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintMessages } from '@sluice/sim';
import { startStack, type TestStack } from './harness.ts';

describe('end to end through the official openai client', () => {
  let stack: TestStack;
  let client: OpenAI;
  beforeAll(async () => {
    stack = await startStack();
    client = new OpenAI({ baseURL: `${stack.apiUrl}/v1`, apiKey: await stack.key('acme'), maxRetries: 0 });
  });
  afterAll(() => stack.stop());

  it('answers a non-streamed completion with the x-sluice headers and the prompt fingerprint', async () => {
    const messages = [{ role: 'user' as const, content: 'What is the capital of France?' }];
    const { data, response } = await client.chat.completions.create({ model: 'auto', messages }).withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.choices[0]!.message.content).toContain(`[sim:${fingerprintMessages(messages)}]`);
    expect(data.usage!.prompt_tokens).toBeGreaterThan(0);
    const jobId = response.headers.get('x-sluice-job-id')!;
    expect(jobId).toMatch(/^[A-Za-z0-9_-]{21}$/);
    expect(data.id).toBe(`chatcmpl-${jobId}`);
    expect(response.headers.get('x-sluice-tier')).toBe('small');
    expect(response.headers.get('x-sluice-model')).toBe('sim-small');
    expect(['miss', 'hit', 'bypass']).toContain(response.headers.get('x-sluice-cache'));
    expect(Number(response.headers.get('x-sluice-cost-usd'))).toBeGreaterThan(0);
    // Completed BullMQ jobs are not kept by default (SLUICE_KEEP_COMPLETED=0): the job record
    // alone holds the result, and still answers GET /v1/jobs/:id.
    const queues = stack.api.context.queues;
    await expect
      .poll(
        async () =>
          (await Promise.all([queues['{route}']!.getJob(jobId), queues['{tier-small}']!.getJob(jobId)])).filter(Boolean)
            .length,
      )
      .toBe(0);
    const record = (await (
      await fetch(`${stack.apiUrl}/v1/jobs/${jobId}`, { headers: { authorization: `Bearer ${client.apiKey}` } })
    ).json()) as { status: string; result?: { choices: Array<{ message: { content: string } }> } };
    expect(record.status).toBe('completed');
    expect(record.result?.choices[0]!.message.content).toBe(data.choices[0]!.message.content);
  });

  it('streams a completion as OpenAI SSE chunks with usage', async () => {
    const messages = [{ role: 'user' as const, content: 'Write a haiku about queues.' }];
    const stream = await client.chat.completions.create({
      model: 'auto',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null = null;
    let usage: unknown;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text.startsWith(`[sim:${fingerprintMessages(messages)}]`)).toBe(true);
    expect(finish).toBe('stop');
    expect(usage).toMatchObject({ prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number) });
  });

  it('pins a tier by model name and routes complex work to the large tier', async () => {
    const pinned = await client.chat.completions
      .create({ model: 'large', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    expect(pinned.response.headers.get('x-sluice-tier')).toBe('large');
    const byModel = await client.chat.completions
      .create({ model: 'sim-small', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    expect(byModel.response.headers.get('x-sluice-model')).toBe('sim-small');
    const hard = await client.chat.completions
      .create({
        model: 'auto',
        messages: [
          {
            role: 'user',
            content:
              'Prove step by step that the square root of 2 is irrational, then derive a general theorem for all non-square integers and compare the proof strategies.',
          },
        ],
      })
      .withResponse();
    expect(hard.response.headers.get('x-sluice-tier')).toBe('large');
  });

  it('dry-runs routing at POST /v1/route', async () => {
    const res = await fetch(`${stack.apiUrl}/v1/route`, {
      method: 'POST',
      headers: { authorization: `Bearer ${client.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'auto',
        messages: [{ role: 'user', content: 'What is the weather in Paris today?' }],
      }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      tier: expect.stringMatching(/small|large/),
      category: 'time_sensitive',
      confidence: expect.any(Number),
    });
    expect(Array.isArray(body.reasons)).toBe(true);
  });
});
