import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenantQuotas } from '@sluice/limits';
import { createKeys } from '@sluice/redis';
import { fingerprintMessages } from '@sluice/sim';
import { startStack, until, type TestStack } from './harness.ts';

describe('chat completions, complete: n, pass-through fields, retry and CORS headers', () => {
  let stack: TestStack;
  let client: OpenAI;
  beforeAll(async () => {
    stack = await startStack({
      env: { SLUICE_JOB_ATTEMPTS: '2', SLUICE_JOB_BACKOFF_MS: '10', SLUICE_CORS_ORIGINS: 'https://app.example.com' },
    });
    client = new OpenAI({ baseURL: `${stack.apiUrl}/v1`, apiKey: await stack.key('acme'), maxRetries: 0 });
  });
  afterAll(() => stack.stop());

  it('answers n: 2 with two choices, plain and streamed', async () => {
    const messages = [{ role: 'user' as const, content: 'Give me two taglines for a queue.' }];
    const plain = await client.chat.completions.create({ model: 'auto', messages, n: 2 });
    expect(plain.choices.map((c) => c.index)).toEqual([0, 1]);
    for (const c of plain.choices) expect(c.message.content).toContain(`[sim:${fingerprintMessages(messages)}]`);
    const stream = await client.chat.completions.create({
      model: 'auto',
      messages: [{ role: 'user', content: 'Two more, streamed.' }],
      n: 2,
      stream: true,
    });
    const texts = ['', ''];
    const finishes: Array<string | null> = [null, null];
    for await (const chunk of stream) {
      for (const c of chunk.choices) {
        texts[c.index] += c.delta.content ?? '';
        if (c.finish_reason) finishes[c.index] = c.finish_reason;
      }
    }
    expect(finishes).toEqual(['stop', 'stop']);
    for (const t of texts) expect(t).toContain('[sim:');
  });

  it('passes logprobs, refusal, system_fingerprint and usage details through when not streamed', async () => {
    const r = await client.chat.completions.create({
      model: 'auto',
      messages: [{ role: 'user', content: 'Say something with logprobs.' }],
      logprobs: true,
    });
    expect(r.system_fingerprint).toMatch(/^fp_/);
    expect(r.choices[0]!.message.refusal).toBeNull();
    const lp = r.choices[0]!.logprobs!.content!;
    expect(lp.length).toBeGreaterThan(1);
    expect(lp.map((t) => t.token).join('')).toBe(r.choices[0]!.message.content);
    expect(r.usage!.prompt_tokens_details).toEqual({ cached_tokens: 0 });
    expect(r.usage!.completion_tokens_details).toEqual({ reasoning_tokens: 0 });
  });

  it('says x-should-retry: false on a 5xx after its own attempts, and the SDK does not retry', async () => {
    const upstreamCalls = () => Object.values(stack.sim.stats().models).reduce((sum, m) => sum + (m?.accepted ?? 0), 0);
    const before = upstreamCalls();
    const retrying = new OpenAI({ baseURL: `${stack.apiUrl}/v1`, apiKey: client.apiKey, maxRetries: 2 });
    const { response } = await retrying.chat.completions
      .create({ model: 'auto', messages: [{ role: 'user', content: 'Fail please [[sim:error]]' }] })
      .withResponse()
      .then(
        () => {
          throw new Error('expected a failure');
        },
        (error: unknown) => ({ response: error as InstanceType<typeof OpenAI.APIError> }),
      );
    expect(response.status).toBeGreaterThanOrEqual(500);
    expect(response.headers?.get('x-should-retry')).toBe('false');
    // One job of two attempts: without the header the SDK's two retries would make three jobs.
    expect(upstreamCalls() - before).toBe(2);
  });

  it('answers a CORS preflight from a configured origin without auth, and refuses others', async () => {
    const pre = await fetch(`${stack.apiUrl}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(pre.headers.get('access-control-allow-headers')).toBe('authorization, content-type');
    expect(pre.headers.get('access-control-allow-methods')).toContain('POST');
    const other = await fetch(`${stack.apiUrl}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const real = await fetch(`${stack.apiUrl}/v1/models`, {
      headers: { origin: 'https://app.example.com', authorization: `Bearer ${client.apiKey}` },
    });
    expect(real.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(real.headers.get('access-control-expose-headers')).toContain('x-sluice-job-id');
  });

  it("sends x-ratelimit-* headers with the tenant's remaining requests and tokens", async () => {
    await stack.tenants.upsertTenant('limited', { rpm: 50, tokensPerDay: 100_000 });
    const limited = new OpenAI({ baseURL: `${stack.apiUrl}/v1`, apiKey: await stack.key('limited'), maxRetries: 0 });
    const first = await limited.chat.completions
      .create({ model: 'auto', messages: [{ role: 'user', content: 'Rate limit headers, first.' }] })
      .withResponse();
    expect(first.response.headers.get('x-ratelimit-limit-requests')).toBe('50');
    expect(first.response.headers.get('x-ratelimit-remaining-requests')).toBe('49');
    expect(first.response.headers.get('x-ratelimit-limit-tokens')).toBe('100000');
    expect(first.response.headers.get('x-ratelimit-reset-tokens')).toMatch(/^(\d+h)?(\d+m)?\d+s$/);
    const spent = first.data.usage!.total_tokens;
    // The executor records the tokens after the answer is out.
    const quotas = createTenantQuotas({ redis: stack.redis, keys: createKeys(stack.config.redis.prefix) });
    await until(async () => (await quotas.tokensToday('limited')) === spent);
    const second = await limited.chat.completions
      .create({ model: 'auto', messages: [{ role: 'user', content: 'Rate limit headers, second.' }], stream: true })
      .withResponse();
    for await (const _ of second.data) void _;
    expect(second.response.headers.get('x-ratelimit-remaining-requests')).toBe('48');
    expect(Number(second.response.headers.get('x-ratelimit-remaining-tokens'))).toBe(100_000 - spent);
  });
});

describe('SSE keep-alive while a streamed job is queued', () => {
  let stack: TestStack;
  beforeAll(async () => {
    // No executor: the job stays queued.
    stack = await startStack({ executor: false, env: { SLUICE_SSE_KEEPALIVE_MS: '100' } });
  });
  afterAll(() => stack.stop());

  it('starts the stream and sends comment lines until the first chunk', async () => {
    const controller = new AbortController();
    const res = await fetch(`${stack.apiUrl}/v1/chat/completions`, {
      method: 'POST',
      signal: controller.signal,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await stack.key('acme')}` },
      body: JSON.stringify({
        model: 'auto',
        stream: true,
        messages: [{ role: 'user', content: 'Queued for a while.' }],
      }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    expect(res.headers.get('x-sluice-job-id')).toMatch(/^[A-Za-z0-9_-]{21}$/);
    const reader = res.body!.getReader();
    let text = '';
    while ((text.match(/: keep-alive/g) ?? []).length < 2)
      text += new TextDecoder().decode((await reader.read()).value);
    expect(text.startsWith(': keep-alive\n\n')).toBe(true);
    controller.abort();
  });
});
