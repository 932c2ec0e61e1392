import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type TestStack } from './harness.ts';

type Json = Record<string, any>;
const auth = { authorization: `Basic ${Buffer.from('admin:test-admin-pw').toString('base64')}` };
const SECRET = 'Summarize the memo about Project Nightingale and the 4411 budget line.';

async function runJob(stack: TestStack): Promise<string> {
  const client = new OpenAI({ baseURL: `${stack.apiUrl}/v1`, apiKey: await stack.key('acme'), maxRetries: 0 });
  const { response } = await client.chat.completions
    .create(
      { model: 'small', messages: [{ role: 'user', content: SECRET }] },
      { headers: { 'cache-control': 'no-store' } },
    )
    .withResponse();
  const id = response.headers.get('x-sluice-job-id')!;
  // The answer is published before each hop's BullMQ job is marked completed (publish first,
  // settle after): wait for both, so Bull Board has the return value to show.
  const deadline = Date.now() + 10_000;
  for (const queue of ['{route}', '{tier-small}']) {
    for (;;) {
      const job = await stack.api.context.queues[queue]!.getJob(id);
      if (job && (await job.isCompleted())) break;
      if (Date.now() > deadline) throw new Error(`job ${id} not completed in ${queue}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  return id;
}

const board = (stack: TestStack, path: string, init: RequestInit = {}) =>
  fetch(`${stack.apiUrl}/admin/queues/api${path}`, {
    ...init,
    headers: { ...auth, ...(init.headers as Record<string, string>) },
  });

describe('Bull Board by default: prompts redacted, actions allowed', () => {
  let stack: TestStack;
  let jobId: string;
  beforeAll(async () => {
    stack = await startStack({ env: { SLUICE_KEEP_COMPLETED: '100' } });
    jobId = await runJob(stack);
  });
  afterAll(() => stack.stop());

  it('shows jobs with tenant, route and cost, and no prompt or answer text', async () => {
    const route = (await (await board(stack, `/queues/${'route'}/${jobId}`)).json()) as Json;
    expect(route.job.data.tenant).toBe('acme');
    expect(route.job.data.request.messages).toEqual([{ role: 'user', content: `[redacted: ${SECRET.length} chars]` }]);
    const tier = (await (await board(stack, `/queues/${'tier-small'}/${jobId}`)).json()) as Json;
    expect(tier.job.data.route.tier).toBe('small');
    expect(tier.job.returnValue.costUsd).toBeGreaterThan(0);
    expect(tier.job.returnValue.completion.choices[0].message.content).toMatch(/^\[redacted: \d+ chars\]$/);
    const listing = await (
      await board(stack, `/queues?activeQueue=${'tier-small'}&status=completed&page=1&jobsPerPage=10`)
    ).text();
    expect(listing).toContain(jobId);
    for (const text of [JSON.stringify(route), JSON.stringify(tier), listing]) {
      expect(text).not.toContain('Nightingale');
      expect(text).not.toMatch(/\[sim:[0-9a-f]{16}\]/);
    }
  });

  it('names queues without hash-tag braces in its URLs, links no web font and has a favicon', async () => {
    const queues = ((await (await board(stack, '/queues')).json()) as Json).queues as Json[];
    expect(queues.map((q) => q.name).sort()).toEqual([
      'batch',
      'batch-poll',
      'route',
      'tier-large',
      'tier-router',
      'tier-small',
    ]);
    const page = await fetch(`${stack.apiUrl}/admin/queues/queue/tier-small`, { headers: auth });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<div id="root">');
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).toContain('href="/favicon.svg"');
    const icon = await fetch(`${stack.apiUrl}/favicon.ico`);
    expect(icon.headers.get('content-type')).toContain('image/svg+xml');
    expect(await icon.text()).toMatch(/^<svg /);
    const dashboard = await (await fetch(`${stack.apiUrl}/admin/dashboard`, { headers: auth })).text();
    expect(dashboard).toContain('href="/favicon.svg"');
    expect(dashboard).toContain('@media (max-width: 560px)');
  });

  it('describes each queue, allows actions, and refuses to write redacted data back', async () => {
    const queues = ((await (await board(stack, '/queues')).json()) as Json).queues as Json[];
    const route = queues.find((q) => q.name === 'route')!;
    expect(route.description).toMatch(/classifier/);
    expect(route.readOnlyMode).toBe(false);
    const edit = await board(stack, `/queues/${'route'}/${jobId}/update-data`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jobData: { tenant: 'x' } }),
    });
    expect(edit.status).toBe(403);
    expect(((await edit.json()) as Json).error.code).toBe('bullboard_data_redacted');
    const pause = await board(stack, `/queues/${'tier-large'}/pause`, { method: 'PUT' });
    expect(pause.status).toBe(200);
    expect(await stack.api.context.queues['{tier-large}']!.isPaused()).toBe(true);
    await stack.api.context.queues['{tier-large}']!.resume();
  });
});

describe('Bull Board with SLUICE_BULLBOARD_READONLY and SLUICE_BULLBOARD_SHOW_PROMPTS', () => {
  let stack: TestStack;
  let jobId: string;
  beforeAll(async () => {
    stack = await startStack({
      env: { SLUICE_BULLBOARD_READONLY: 'true', SLUICE_BULLBOARD_SHOW_PROMPTS: 'true', SLUICE_KEEP_COMPLETED: '100' },
    });
    jobId = await runJob(stack);
  });
  afterAll(() => stack.stop());

  it('shows prompts and answers when configured to', async () => {
    const tier = (await (await board(stack, `/queues/${'tier-small'}/${jobId}`)).json()) as Json;
    expect(tier.job.data.request.messages[0].content).toBe(SECRET);
    expect(tier.job.returnValue.completion.choices[0].message.content).toMatch(/^\[sim:[0-9a-f]{16}\]/);
  });

  it('refuses every action, in Bull Board and at the door', async () => {
    const queues = ((await (await board(stack, '/queues')).json()) as Json).queues as Json[];
    expect(queues.every((q) => q.readOnlyMode === true && q.allowRetries === false)).toBe(true);
    for (const [method, path] of [
      ['PUT', `/queues/${'tier-small'}/pause`],
      ['PUT', '/queues/pause'],
      ['PUT', `/queues/${'tier-small'}/${jobId}/retry`],
      ['PUT', `/queues/${'tier-small'}/clean/completed`],
      ['POST', `/queues/${'tier-small'}/add`],
      ['PUT', `/queues/${'route'}/obliterate`],
      ['PATCH', `/queues/${'tier-small'}/${jobId}/priority`],
    ] as const) {
      const res = await board(stack, path, {
        method,
        headers: { 'content-type': 'application/json' },
        body: method === 'PUT' ? undefined : JSON.stringify({ name: 'x', data: {}, priority: 1 }),
      });
      expect(res.status, `${method} ${path}`).toBe(405);
    }
    expect(await stack.api.context.queues['{tier-small}']!.isPaused()).toBe(false);
    expect(await stack.api.context.queues['{tier-small}']!.getJob(jobId)).toBeDefined();
    // Reading still works, and the page says it is read-only.
    expect((await fetch(`${stack.apiUrl}/admin/queues`, { headers: auth })).status).toBe(200);
  });
});
