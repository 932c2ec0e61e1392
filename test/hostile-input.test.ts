import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeys, createRedis } from '@sluice/redis';
import { startStack, until, type TestStack } from './harness.ts';

type Json = Record<string, any>;
const admin = { authorization: `Basic ${Buffer.from('admin:test-admin-pw').toString('base64')}` };

/** A raw HTTP request: the path goes out exactly as written (fetch would normalize it). */
function raw(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string | Buffer,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers: { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) },
      },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** `{"x":{"x":…}}` nested `depth` deep. */
const nested = (depth: number) => `${'{"x":'.repeat(depth)}1${'}'.repeat(depth)}`;

/**
 * The probe's defects (issue 12), each as a regression test against a real stack: each failed
 * before its fix.
 */
describe('hostile input', () => {
  let stack: TestStack;
  let acme: string;
  const ask = (content: string, extra: Json = {}) => ({
    model: 'auto',
    messages: [{ role: 'user', content }],
    ...extra,
  });
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
  const jobRecords = async () =>
    (await stack.redis.keys(`${stack.config.redis.prefix}:{job:*}`)).filter((k) => k.endsWith('}'));

  beforeAll(async () => {
    stack = await startStack();
    acme = await stack.key('acme');
  });
  afterAll(() => stack.stop());

  describe('defect 1: authentication on the matched route, never the raw URL', () => {
    it('a percent-encoded /v1 path is 401 without a key, as the plain one', async () => {
      const res = await call('/v1/jobs', { method: 'POST', json: ask('for feedback') });
      const jobId = ((await res.json()) as Json).id as string;
      await until(
        async () => ((await (await call(`/v1/jobs/${jobId}`)).json()) as Json).status === 'completed',
        15_000,
      );
      for (const [method, path, body] of [
        ['GET', '/%761/usage', undefined],
        ['GET', '/v%31/usage', undefined],
        ['POST', '/%761/feedback', JSON.stringify({ job_id: jobId, rating: 'inadequate' })],
        ['POST', '/%761/feedback', JSON.stringify({ job_id: 'missing-job', rating: 'inadequate' })],
        ['GET', `/%761/jobs/${jobId}`, undefined],
      ] as const) {
        const r = await raw(stack.apiUrl, method, path, body ? { 'content-type': 'application/json' } : {}, body);
        expect(r.status, `${method} ${path}`).toBe(401);
        expect(JSON.parse(r.body).error.code).toBe('invalid_api_key');
      }
      // With a key the decoded path is the real route.
      const ok = await raw(stack.apiUrl, 'GET', '/%761/usage', { authorization: `Bearer ${acme}` });
      expect(ok.status).toBe(200);
    });
  });

  describe('defect 3: deep nesting is a 400 at parse time, and no record is left without a job', () => {
    it('refuses bodies nested past the limit on every JSON endpoint, naming the limit', async () => {
      const before = (await jobRecords()).length;
      for (const [path, depth] of [
        ['/v1/jobs', 10_000],
        ['/v1/chat/completions', 3_000],
        ['/v1/route', 65],
      ] as const) {
        const body = `{"model":"auto","messages":[{"role":"user","content":"hi"}],"deep":${nested(depth)}}`;
        const res = await call(path, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
        expect(res.status, path).toBe(400);
        const error = ((await res.json()) as Json).error;
        expect(error.message).toMatch(/deeper than 64 levels/);
        expect(error.code).toBe('json_too_deep');
      }
      // A request within the limit passes (64 levels, the messages' own nesting included).
      const ok = await call('/v1/route', {
        method: 'POST',
        body: `{"model":"auto","messages":[{"role":"user","content":"hi"}],"deep":${nested(62)}}`,
        headers: { 'content-type': 'application/json' },
      });
      expect(ok.status).toBe(200);
      expect((await jobRecords()).length).toBe(before);
    });

    it('an enqueue that fails removes the record it wrote', async () => {
      // A payload BullMQ cannot serialize makes the add fail after the record was sent.
      const queue = new Queue('{route}', {
        connection: createRedis({ url: stack.config.redis.url, role: 'worker' }) as never,
        prefix: createKeys(stack.config.redis.prefix).bullPrefix,
      });
      try {
        const { Submitter } = await import('../apps/api/src/submit.ts');
        const { JobStore, JobEventSubscriber } = await import('@sluice/jobs');
        const keys = createKeys(stack.config.redis.prefix);
        const store = new JobStore({ redis: stack.redis, keys, ttlSeconds: 60 });
        const submitter = new Submitter({
          config: stack.config,
          store,
          subscriber: new JobEventSubscriber({
            subscriber: createRedis({ url: stack.config.redis.url, role: 'worker', subscriber: true }),
            keys,
          }),
          routeQueue: queue as never,
          ordered: true,
        });
        const data = {
          id: 'orphan-check-1',
          tenant: 'acme',
          acceptedAt: Date.now(),
          request: { ...ask('x'), poison: 1n } as never,
          stream: false,
          priority: 5,
          cacheMode: 'default' as const,
        };
        await expect(submitter.submit(data, { priority: 5, cacheMode: 'default' })).rejects.toThrow(/BigInt/);
        expect(await stack.redis.exists(keys.job('orphan-check-1'))).toBe(0);
        expect(await queue.getJob('orphan-check-1')).toBeUndefined();
      } finally {
        await queue.close();
      }
    });
  });

  describe('defect 4: the OpenAI request structure is checked at ingest (400 naming the field)', () => {
    const tool = {
      type: 'function',
      function: { name: 'get_weather', parameters: { type: 'object', properties: {} } },
    };
    const cases: Array<[string, Json, string, RegExp]> = [
      [
        'tool_choice a number',
        ask('hi', { tools: [tool], tool_choice: 42 }),
        'tool_choice',
        /Invalid type for 'tool_choice'/,
      ],
      [
        'tool_choice an unknown mode',
        ask('hi', { tools: [tool], tool_choice: 'always' }),
        'tool_choice',
        /Supported values are: 'none', 'auto', 'required'/,
      ],
      [
        'tool_choice naming no declared tool',
        ask('hi', { tools: [tool], tool_choice: { type: 'function', function: { name: 'nope' } } }),
        'tool_choice.function.name',
        /no tool named 'nope'/,
      ],
      [
        'tool_choice without tools',
        ask('hi', { tool_choice: 'auto' }),
        'tool_choice',
        /only allowed when 'tools' are specified/,
      ],
      ['tools not an array', ask('hi', { tools: { a: 1 } }), 'tools', /Invalid type for 'tools'/],
      [
        'a tool without function',
        ask('hi', { tools: [{ type: 'function' }] }),
        'tools[0].function',
        /Missing required parameter: 'tools\[0\]\.function'/,
      ],
      [
        'a tool with a bad name',
        ask('hi', { tools: [{ type: 'function', function: { name: 'get weather!' } }] }),
        'tools[0].function.name',
        /does not match pattern/,
      ],
      [
        'a tool of unknown type',
        ask('hi', { tools: [{ type: 'retrieval' }] }),
        'tools[0].type',
        /Invalid value: 'retrieval'/,
      ],
      [
        'tool parameters not an object',
        ask('hi', { tools: [{ type: 'function', function: { name: 'f', parameters: 'x' } }] }),
        'tools[0].function.parameters',
        /expected an object/,
      ],
      [
        'response_format json_schema without a schema',
        ask('hi', { response_format: { type: 'json_schema' } }),
        'response_format.json_schema',
        /Missing required parameter: 'response_format\.json_schema'/,
      ],
      [
        'response_format of unknown type',
        ask('hi', { response_format: { type: 'yaml' } }),
        'response_format.type',
        /Invalid value: 'yaml'/,
      ],
      [
        'response_format a string',
        ask('hi', { response_format: 'json' }),
        'response_format',
        /Invalid type for 'response_format'/,
      ],
      [
        'json_schema schema not an object',
        ask('hi', { response_format: { type: 'json_schema', json_schema: { name: 'x', schema: [1] } } }),
        'response_format.json_schema.schema',
        /expected an object/,
      ],
      [
        'a tool message without tool_call_id',
        {
          model: 'auto',
          messages: [
            { role: 'user', content: 'hi' },
            { role: 'tool', content: 'result' },
          ],
        },
        'messages[1].tool_call_id',
        /Missing required parameter: 'messages\[1\]\.tool_call_id'/,
      ],
      [
        'a tool message answering no tool call',
        {
          model: 'auto',
          messages: [
            { role: 'user', content: 'hi' },
            { role: 'tool', tool_call_id: 'call_1', content: 'result' },
          ],
        },
        'messages[1].tool_call_id',
        /must be a response to a preceding message with 'tool_calls'/,
      ],
      [
        'tool calls left unanswered',
        {
          model: 'auto',
          messages: [
            { role: 'user', content: 'hi' },
            {
              role: 'assistant',
              tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }],
            },
            { role: 'user', content: 'and?' },
          ],
        },
        'messages[1].tool_calls',
        /did not have response messages: call_1/,
      ],
      [
        'an assistant message with neither content nor tool calls',
        {
          model: 'auto',
          messages: [{ role: 'user', content: 'hi' }, { role: 'assistant' }, { role: 'user', content: 'x' }],
        },
        'messages[1].content',
        /needs 'content' or 'tool_calls'/,
      ],
      [
        'a tool call without function',
        {
          model: 'auto',
          messages: [
            { role: 'user', content: 'hi' },
            { role: 'assistant', tool_calls: [{ id: 'c', type: 'function' }] },
          ],
        },
        'messages[1].tool_calls[0].function',
        /Missing required parameter/,
      ],
      [
        'stream_options without stream',
        ask('hi', { stream_options: { include_usage: true } }),
        'stream_options',
        /only allowed when 'stream' is enabled/,
      ],
      [
        'an image part in a system message',
        {
          model: 'auto',
          messages: [
            { role: 'system', content: [{ type: 'image_url', image_url: { url: 'x' } }] },
            { role: 'user', content: 'hi' },
          ],
        },
        'messages[0].content[0].type',
        /Invalid value: 'image_url'/,
      ],
      [
        'a text part without text',
        { model: 'auto', messages: [{ role: 'user', content: [{ type: 'text' }] }] },
        'messages[0].content[0].text',
        /Missing required parameter/,
      ],
      ['frequency_penalty out of range', ask('hi', { frequency_penalty: 3 }), 'frequency_penalty', /frequency_penalty/],
    ];
    for (const [name, body, param, message] of cases) {
      it(name, async () => {
        const before = (await jobRecords()).length;
        for (const path of ['/v1/jobs', '/v1/chat/completions']) {
          const res = await call(path, { method: 'POST', json: body });
          expect(res.status, path).toBe(400);
          const error = ((await res.json()) as Json).error;
          expect(error.param).toBe(param);
          expect(error.message).toMatch(message);
          expect(error.type).toBe('invalid_request_error');
        }
        expect((await jobRecords()).length).toBe(before);
      });
    }

    it('well-formed tool use passes: tools, a named tool_choice, the tool round trip', async () => {
      const messages = [
        { role: 'user', content: 'Weather in Oslo?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '3 °C' },
      ];
      const res = await call('/v1/chat/completions', {
        method: 'POST',
        json: {
          model: 'auto',
          messages,
          tools: [tool],
          tool_choice: { type: 'function', function: { name: 'get_weather' } },
        },
      });
      expect(res.status).toBe(200);
      const schema = await call('/v1/chat/completions', {
        method: 'POST',
        json: ask('colours', {
          response_format: {
            type: 'json_schema',
            json_schema: { name: 'colours', schema: { type: 'object', properties: { c: { type: 'string' } } } },
          },
        }),
      });
      expect(schema.status).toBe(200);
    });
  });

  describe("defect 6: a finished job's event stream ends at once past its last event", () => {
    it('Last-Event-ID at the last event (an EventSource reconnecting after the end) gets an empty, ended stream', async () => {
      const created = (await (await call('/v1/jobs', { method: 'POST', json: ask('events end') })).json()) as Json;
      await until(
        async () => ((await (await call(`/v1/jobs/${created.id}`)).json()) as Json).status === 'completed',
        15_000,
      );
      const all = await (await call(`/v1/jobs/${created.id}/events`)).text();
      const ids = [...all.matchAll(/^id: (\S+)$/gm)].map((m) => m[1]!);
      expect(ids.length).toBeGreaterThan(1);
      for (const last of [ids.at(-1)!, '99999999999999-0']) {
        const started = Date.now();
        const res = await call(`/v1/jobs/${created.id}/events`, {
          headers: { 'last-event-id': last },
          signal: AbortSignal.timeout(5_000),
        });
        expect(res.status).toBe(200);
        expect(await res.text()).toBe('');
        expect(Date.now() - started).toBeLessThan(2_000);
      }
      // From an earlier event it replays the rest, ending with the final one.
      const rest = await (
        await call(`/v1/jobs/${created.id}/events`, {
          headers: { 'last-event-id': ids[0]! },
          signal: AbortSignal.timeout(5_000),
        })
      ).text();
      expect(rest).toMatch(/event: done/);
    });
  });

  describe('defect 8: the smaller ones', () => {
    it('x-sluice-tier conflicting with a pinned model is a 400; agreeing or with auto it pins', async () => {
      const conflict = await call('/v1/chat/completions', {
        method: 'POST',
        json: { ...ask('hi'), model: 'small' },
        headers: { 'x-sluice-tier': 'large' },
      });
      expect(conflict.status).toBe(400);
      const error = ((await conflict.json()) as Json).error;
      expect(error).toMatchObject({ param: 'x-sluice-tier', code: 'pin_conflict' });
      const agree = await call('/v1/chat/completions', {
        method: 'POST',
        json: { ...ask('hi agree'), model: 'large' },
        headers: { 'x-sluice-tier': 'large' },
      });
      expect(agree.status).toBe(200);
      expect(agree.headers.get('x-sluice-tier')).toBe('large');
      const auto = await call('/v1/chat/completions', {
        method: 'POST',
        json: ask('hi auto'),
        headers: { 'x-sluice-tier': 'large' },
      });
      expect(auto.headers.get('x-sluice-tier')).toBe('large');
    });

    it('purge {"namespace":"*"} is a 400, not a 500', async () => {
      for (const namespace of ['*', 'abc', 'A'.repeat(32)]) {
        const res = await fetch(`${stack.apiUrl}/admin/cache/purge`, {
          method: 'POST',
          headers: { ...admin, 'content-type': 'application/json' },
          body: JSON.stringify({ namespace }),
        });
        expect(res.status, namespace).toBe(400);
        expect(((await res.json()) as Json).error.param).toBe('namespace');
      }
      const ok = await fetch(`${stack.apiUrl}/admin/cache/purge`, {
        method: 'POST',
        headers: { ...admin, 'content-type': 'application/json' },
        body: JSON.stringify({ namespace: '0'.repeat(32) }),
      });
      expect(ok.status).toBe(200);
    });

    it("headers too large: 431 with OpenAI's error body", async () => {
      const url = new URL(stack.apiUrl);
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(url.port), url.hostname, () =>
          socket.write(`GET /v1/usage HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(40_000)}\r\n\r\n`),
        );
        let text = '';
        socket.on('data', (d) => (text += d));
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
      expect(answer).toMatch(/^HTTP\/1\.1 431 /);
      const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as Json;
      expect(body.error).toMatchObject({
        type: 'invalid_request_error',
        code: 'request_headers_too_large',
        param: null,
      });
    });

    it("a path parameter past the router's limit: 414 with OpenAI's error body (found by the fuzz suite)", async () => {
      const res = await call(`/v1/jobs/${'a'.repeat(600)}/events`);
      expect(res.status).toBe(414);
      expect(((await res.json()) as Json).error).toMatchObject({
        type: 'invalid_request_error',
        code: 'uri_too_long',
        param: null,
      });
    });

    it('text/plain is a 415; so is an unknown Content-Encoding', async () => {
      const plain = await call('/v1/chat/completions', {
        method: 'POST',
        body: JSON.stringify(ask('hi')),
        headers: { 'content-type': 'text/plain' },
      });
      expect(plain.status).toBe(415);
      expect(((await plain.json()) as Json).error.code).toBe('unsupported_media_type');
      const weird = await raw(
        stack.apiUrl,
        'POST',
        '/v1/chat/completions',
        { authorization: `Bearer ${acme}`, 'content-type': 'application/json', 'content-encoding': 'compress' },
        JSON.stringify(ask('hi')),
      );
      expect(weird.status).toBe(415);
      expect(JSON.parse(weird.body).error.message).toMatch(/Content-Encoding `compress` is not supported/);
    });

    it('Content-Encoding: gzip is decoded; a broken one is a 400; the body limit applies to the decoded size', async () => {
      const zipped = gzipSync(JSON.stringify(ask('hello gzip')));
      const res = await raw(
        stack.apiUrl,
        'POST',
        '/v1/chat/completions',
        { authorization: `Bearer ${acme}`, 'content-type': 'application/json', 'content-encoding': 'gzip' },
        zipped,
      );
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body).choices[0].message.content).toContain('[sim:');
      const broken = await raw(
        stack.apiUrl,
        'POST',
        '/v1/chat/completions',
        { authorization: `Bearer ${acme}`, 'content-type': 'application/json', 'content-encoding': 'gzip' },
        Buffer.from('not gzip at all'),
      );
      expect(broken.status).toBe(400);
      expect(JSON.parse(broken.body).error.code).toBe('invalid_encoding');
      const bomb = gzipSync(JSON.stringify(ask('x'.repeat(stack.config.api.bodyLimitBytes + 10))));
      expect(bomb.length).toBeLessThan(stack.config.api.bodyLimitBytes / 10);
      const big = await raw(
        stack.apiUrl,
        'POST',
        '/v1/chat/completions',
        { authorization: `Bearer ${acme}`, 'content-type': 'application/json', 'content-encoding': 'gzip' },
        bomb,
      );
      expect(big.status).toBe(413);
      expect(JSON.parse(big.body).error.code).toBe('request_too_large');
    });

    it('a reused Idempotency-Key with a different body is a 422; with the same body, the same job', async () => {
      const key = `idem-${Date.now()}`;
      const first = await call('/v1/jobs', {
        method: 'POST',
        json: ask('first body'),
        headers: { 'idempotency-key': key },
      });
      expect(first.status).toBe(202);
      const id = ((await first.json()) as Json).id;
      const again = await call('/v1/jobs', {
        method: 'POST',
        json: ask('first body'),
        headers: { 'idempotency-key': key },
      });
      expect(again.status).toBe(200);
      expect(((await again.json()) as Json).id).toBe(id);
      for (const path of ['/v1/jobs', '/v1/chat/completions']) {
        const other = await call(path, {
          method: 'POST',
          json: ask('another body'),
          headers: { 'idempotency-key': key },
        });
        expect(other.status, path).toBe(422);
        const error = ((await other.json()) as Json).error;
        expect(error).toMatchObject({ code: 'idempotency_key_reused', param: 'Idempotency-Key' });
      }
    });

    it('Bull Board answers with a CSP and frame protection', async () => {
      for (const path of ['/admin/queues', '/admin/queues/api/queues']) {
        const res = await fetch(`${stack.apiUrl}${path}`, { headers: admin });
        expect(res.status, path).toBe(200);
        expect(res.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
        expect(res.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
        expect(res.headers.get('x-frame-options')).toBe('DENY');
      }
    });

    it('still serves after all of that', async () => {
      const res = await call('/v1/chat/completions', { method: 'POST', json: ask('still there?') });
      expect(res.status).toBe(200);
    });
  });
});

describe('defect 7: routing feedback stays with the tenant that gave it', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack({ env: { SLUICE_ROUTING_STRATEGY: 'knn', SLUICE_ROUTING_THRESHOLD: '0.3' } });
  });
  afterAll(() => stack.stop());

  const api = async (key: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${stack.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'cache-control': 'no-store' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Json };
  };

  it("A's feedback changes neither where B's identical prompt goes nor what B's /v1/route says", async () => {
    const [a, b] = [await stack.key('tenant-a'), await stack.key('tenant-b')];
    const prompt = 'Suggest a name for a small bakery in a seaside town.';
    const body = { model: 'auto', messages: [{ role: 'user', content: prompt }] };
    const done = await api(a, 'POST', '/v1/chat/completions', body);
    expect(done.status).toBe(200);
    expect(
      (await api(a, 'POST', '/v1/feedback', { job_id: done.headers.get('x-sluice-job-id'), rating: 'inadequate' }))
        .body,
    ).toMatchObject({ recorded: true, tier: 'large' });

    const forA = await api(a, 'POST', '/v1/route', body);
    expect(forA.body).toMatchObject({ tier: 'large', strategy: 'knn' });
    expect(forA.body.reasons.join(' ')).toMatch(/1 learned/);
    const forB = await api(b, 'POST', '/v1/route', body);
    expect(forB.body).toMatchObject({ tier: 'small', strategy: 'knn' });
    expect(forB.body.reasons.join(' ')).not.toMatch(/learned|cosine 1\.00/);
    // And B's real request is routed as before.
    expect((await api(b, 'POST', '/v1/chat/completions', body)).headers.get('x-sluice-tier')).toBe('small');
  });
});
