import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, until, type TestStack } from './harness.ts';

type Json = Record<string, any>;

describe('API contract', () => {
  let stack: TestStack;
  let acme: string;
  let other: string;
  const call = (path: string, init: RequestInit & { key?: string | null; json?: unknown } = {}) => {
    const headers: Record<string, string> = { ...(init.headers as Record<string, string>) };
    if (init.key !== null) headers.authorization = `Bearer ${init.key ?? acme}`;
    if (init.json !== undefined) headers['content-type'] = 'application/json';
    return fetch(`${stack.apiUrl}${path}`, {
      ...init,
      headers,
      body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
    });
  };
  const ask = (content: string) => ({ model: 'auto', messages: [{ role: 'user', content }] });

  beforeAll(async () => {
    stack = await startStack({ overrides: { api: { bodyLimitBytes: 4096 } } as never });
    acme = await stack.key('acme');
    other = await stack.key('globex');
  });
  afterAll(() => stack.stop());

  describe('bad input gets a 4xx with an OpenAI error body naming the problem', () => {
    const cases: Array<[string, RequestInit & { key?: string | null; json?: unknown }, number, RegExp, string | null]> =
      [
        [
          'malformed JSON',
          { method: 'POST', body: '{"model": "auto", "messages": [', headers: { 'content-type': 'application/json' } },
          400,
          /parse the JSON/,
          null,
        ],
        [
          'missing messages',
          { method: 'POST', json: { model: 'auto' } },
          400,
          /Missing required parameter: `messages`/,
          'messages',
        ],
        [
          'wrong type of messages',
          { method: 'POST', json: { model: 'auto', messages: 'hello' } },
          400,
          /`messages`/,
          'messages',
        ],
        [
          'wrong type of temperature',
          { method: 'POST', json: { ...ask('hi'), temperature: 'hot' } },
          400,
          /`temperature`/,
          'temperature',
        ],
        [
          'wrong type of content',
          { method: 'POST', json: { model: 'auto', messages: [{ role: 'user', content: 42 }] } },
          400,
          /`messages\[0\]\.content`/,
          'messages[0].content',
        ],
        [
          'unknown role',
          { method: 'POST', json: { model: 'auto', messages: [{ role: 'wizard', content: 'x' }] } },
          400,
          /`messages\[0\]\.role`/,
          'messages[0].role',
        ],
        [
          'empty message list',
          { method: 'POST', json: { model: 'auto', messages: [] } },
          400,
          /`messages`.*fewer than 1/,
          'messages',
        ],
        [
          'oversized body',
          { method: 'POST', json: ask('x'.repeat(10_000)) },
          413,
          /larger than the 4096 byte limit/,
          null,
        ],
        [
          'unknown model',
          { method: 'POST', json: { ...ask('hi'), model: 'gpt-99' } },
          404,
          /model `gpt-99` does not exist/,
          'model',
        ],
        ['missing key', { method: 'POST', json: ask('hi'), key: null }, 401, /Missing API key/, null],
        ['wrong key', { method: 'POST', json: ask('hi'), key: 'sk-sluice-nope' }, 401, /Incorrect API key/, null],
        [
          'bad priority header',
          { method: 'POST', json: ask('hi'), headers: { 'x-sluice-priority': 'urgent!' } },
          400,
          /x-sluice-priority/,
          'x-sluice-priority',
        ],
        [
          'bad tier header',
          { method: 'POST', json: ask('hi'), headers: { 'x-sluice-tier': 'huge' } },
          400,
          /x-sluice-tier/,
          'x-sluice-tier',
        ],
      ];
    for (const [name, init, status, message, param] of cases) {
      it(name, async () => {
        const res = await call('/v1/chat/completions', init);
        expect(res.status).toBe(status);
        const body = (await res.json()) as Json;
        expect(body.error.message).toMatch(message);
        expect(body.error.param ?? null).toBe(param);
        expect(typeof body.error.type).toBe('string');
        expect('code' in body.error).toBe(true);
      });
    }

    it('keeps serving after all of that', async () => {
      const res = await call('/v1/chat/completions', { method: 'POST', json: ask('still there?') });
      expect(res.status).toBe(200);
      expect(((await res.json()) as Json).choices[0].message.content).toContain('[sim:');
    });
  });

  it('async jobs: 202, poll, events replay, and the same job for a repeated Idempotency-Key', async () => {
    const headers = { 'idempotency-key': 'order-42' };
    const first = await call('/v1/jobs', { method: 'POST', json: ask('Tell me a fact about otters.'), headers });
    expect(first.status).toBe(202);
    const job = (await first.json()) as Json;
    expect(first.headers.get('location')).toBe(`/v1/jobs/${job.id}`);
    const again = await call('/v1/jobs', { method: 'POST', json: ask('Tell me a fact about otters.'), headers });
    expect(((await again.json()) as Json).id).toBe(job.id);
    const done = await until(async () => {
      const j = (await (await call(`/v1/jobs/${job.id}`)).json()) as Json;
      return j.status === 'completed' ? j : undefined;
    });
    expect(done.result.choices[0].message.content).toContain('[sim:');
    expect(done.cost_usd).toBeGreaterThan(0);
    const events = await (await call(`/v1/jobs/${job.id}/events`)).text();
    expect(events).toMatch(/event: routed/);
    expect(events).toMatch(/event: done/);
    // A repeated synchronous call with the same key answers with the finished job, not a new one.
    const sync = await call('/v1/chat/completions', {
      method: 'POST',
      json: ask('Tell me a fact about otters.'),
      headers,
    });
    expect(sync.headers.get('x-sluice-job-id')).toBe(job.id);
  });

  it('a tenant can never read or cancel another tenant’s job', async () => {
    const res = await call('/v1/jobs', { method: 'POST', json: ask('private question'), key: acme });
    const { id } = (await res.json()) as Json;
    expect((await call(`/v1/jobs/${id}`, { key: other })).status).toBe(404);
    expect((await call(`/v1/jobs/${id}/events`, { key: other })).status).toBe(404);
    expect((await call(`/v1/jobs/${id}`, { method: 'DELETE', key: other })).status).toBe(404);
    expect((await call(`/v1/jobs/${id}`, { key: acme })).status).toBe(200);
  });

  it('cancels a waiting job', async () => {
    await stack.executor!.close();
    try {
      const res = await call('/v1/jobs', { method: 'POST', json: ask('cancel me') });
      const { id } = (await res.json()) as Json;
      const del = await call(`/v1/jobs/${id}`, { method: 'DELETE' });
      expect(del.status).toBe(200);
      const j = (await (await call(`/v1/jobs/${id}`)).json()) as Json;
      expect(j.status).toBe('cancelled');
      expect((await call(`/v1/jobs/${id}`, { method: 'DELETE' })).status).toBe(409);
    } finally {
      stack.executor = await stack.startExecutor();
    }
  });

  it('Bull Board answers 401 without the admin password and shows the queues with it', async () => {
    const anon = await fetch(`${stack.apiUrl}/admin/queues`);
    expect(anon.status).toBe(401);
    const wrong = await fetch(`${stack.apiUrl}/admin/queues/api/queues`, {
      headers: { authorization: `Basic ${Buffer.from('admin:nope').toString('base64')}` },
    });
    expect(wrong.status).toBe(401);
    const auth = { authorization: `Basic ${Buffer.from('admin:test-admin-pw').toString('base64')}` };
    const page = await fetch(`${stack.apiUrl}/admin/queues`, { headers: auth });
    expect(page.status).toBe(200);
    const api = (await (await fetch(`${stack.apiUrl}/admin/queues/api/queues`, { headers: auth })).json()) as Json;
    const names = api.queues.map((q: Json) => q.name).sort();
    expect(names).toEqual(['batch', 'batch-poll', 'route', 'tier-large', 'tier-router', 'tier-small']);
  });

  it('health, readiness and metrics', async () => {
    expect((await fetch(`${stack.apiUrl}/healthz`)).status).toBe(200);
    const ready = await fetch(`${stack.apiUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as Json).checks.redis).toBe('ok');
    const metrics = await (await fetch(`${stack.apiUrl}/metrics`)).text();
    expect(metrics).toMatch(
      /sluice_http_requests_total\{route="\/v1\/chat\/completions",method="POST",status="200"\} \d+/,
    );
    expect(metrics).toMatch(/sluice_queue_jobs\{queue="\{route\}",state="waiting"\}/);
  });
});
