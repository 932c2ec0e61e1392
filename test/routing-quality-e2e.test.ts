import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { complexityOf, shippedLearnedModel } from '@sluice/routing';
import { startStack, type TestStack } from './harness.ts';

// Not confidently simple by the rules (long, no simplicity marker), so the learned router decides it.
const PROMPT =
  'Which of the following best describes the role of the loan officer when a bank reviews a small business application?\nA. approving every request\nB. assessing the credit risk\nC. setting interest rates for the central bank\nD. auditing the bank\nAnswer:';

async function route(stack: TestStack, key: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${stack.apiUrl}/v1/route`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: PROMPT }] }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe('the cost–quality knob through the stack (default strategies: rules, learned)', () => {
  let stack: TestStack;
  let key: string;
  let client: OpenAI;
  beforeAll(async () => {
    stack = await startStack();
    key = await stack.key('acme');
    client = new OpenAI({ baseURL: `${stack.apiUrl}/v1`, apiKey: key, maxRetries: 0 });
  });
  afterAll(() => stack.stop());

  it('POST /v1/route decides at the configured quality, and x-sluice-quality moves the decision', async () => {
    const p = shippedLearnedModel().smallSuffices(
      PROMPT,
      complexityOf({ model: 'auto', messages: [{ role: 'user', content: PROMPT }] }).points,
    );
    const quality = stack.config.routing.quality;
    const byDefault = await route(stack, key);
    expect(byDefault.status).toBe(200);
    expect(byDefault.body).toMatchObject({
      strategy: 'learned',
      tier: p >= quality ? 'small' : 'large',
      cascade: false,
    });
    expect(byDefault.body.reasons.at(-1)).toContain(`quality ${quality}`);

    const cheap = await route(stack, key, { 'x-sluice-quality': '0' });
    expect(cheap.body).toMatchObject({ strategy: 'learned', tier: 'small' });
    const careful = await route(stack, key, { 'x-sluice-quality': '1' });
    expect(careful.body).toMatchObject({ strategy: 'learned', tier: 'large' });
    expect(careful.body.reasons.at(-1)).toContain('quality 1 (set by the request)');
    // Either side of the prompt's own score.
    expect((await route(stack, key, { 'x-sluice-quality': String(Math.floor(p * 1000) / 1000) })).body.tier).toBe(
      'small',
    );
    expect((await route(stack, key, { 'x-sluice-quality': String(Math.ceil(p * 1000) / 1000) })).body.tier).toBe(
      'large',
    );
  });

  it('the classifier honours the request quality: the same prompt is answered by small, then large', async () => {
    const small = await client.chat.completions
      .create(
        { model: 'auto', messages: [{ role: 'user', content: PROMPT }] },
        { headers: { 'x-sluice-quality': '0', 'cache-control': 'no-store' } },
      )
      .withResponse();
    expect(small.response.headers.get('x-sluice-tier')).toBe('small');
    expect(small.response.headers.get('x-sluice-model')).toBe('sim-small');
    const large = await client.chat.completions
      .create(
        { model: 'auto', messages: [{ role: 'user', content: PROMPT }] },
        { headers: { 'x-sluice-quality': '1', 'cache-control': 'no-store' } },
      )
      .withResponse();
    expect(large.response.headers.get('x-sluice-tier')).toBe('large');
    expect(large.response.headers.get('x-sluice-model')).toBe('sim-large');
  });

  it('answers 400 naming the header when x-sluice-quality is not a number in [0, 1]', async () => {
    for (const bad of ['1.5', 'high', '-0.1']) {
      const r = await route(stack, key, { 'x-sluice-quality': bad });
      expect(r.status).toBe(400);
      expect(r.body.error).toMatchObject({ param: 'x-sluice-quality', type: 'invalid_request_error' });
      expect(r.body.error.message).toContain(`Invalid x-sluice-quality \`${bad}\``);
    }
  });
});
