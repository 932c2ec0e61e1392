import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPooledFetch } from './pooled-fetch.ts';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

describe('createPooledFetch', () => {
  const handlers = new Map<string, Handler>();
  let server: Server;
  let base: string;
  const pooled = createPooledFetch();

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => handlers.get(req.url ?? '')?.(req, body, res));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('sends method, headers and body, and returns status, every header and the body', async () => {
    handlers.set('/echo', (req, body, res) => {
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '3' });
      res.end(JSON.stringify({ method: req.method, auth: req.headers.authorization, body }));
    });
    const headers = new Headers({ authorization: 'Bearer k', 'content-type': 'application/json' });
    const res = await pooled(`${base}/echo`, { method: 'post', headers, body: '{"x":1}' });
    expect(res.status).toBe(429);
    expect(res.ok).toBe(false);
    expect(res.headers.get('retry-after')).toBe('3');
    expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(await res.json()).toEqual({ method: 'POST', auth: 'Bearer k', body: '{"x":1}' });
  });

  it('serves a whole reply from the text it read: every reader, again, and from a clone', async () => {
    const text = JSON.stringify({ answer: 'héllo', n: 2 });
    handlers.set('/whole', (_req, _body, out) => {
      out.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      out.end(text);
    });
    const res = await pooled(`${base}/whole`);
    expect(res).toBeInstanceOf(Response);
    expect(await res.text()).toBe(text);
    expect(await res.json()).toEqual({ answer: 'héllo', n: 2 });
    expect(new TextDecoder().decode(await res.arrayBuffer())).toBe(text);
    const blob = await res.blob();
    expect(blob.type).toBe('application/json; charset=utf-8');
    expect(await blob.text()).toBe(text);
    const copy = res.clone();
    expect(copy.status).toBe(200);
    expect(copy.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await copy.json()).toEqual({ answer: 'héllo', n: 2 });
    handlers.set('/broken', (_req, _body, out) => {
      out.writeHead(200, { 'content-type': 'application/json' });
      out.end('{"cut');
    });
    await expect((await pooled(`${base}/broken`)).json()).rejects.toThrow(SyntaxError);
  });

  it('hands a streamed reply over as it arrives, not when it ends', async () => {
    let finish!: () => void;
    const ended = new Promise<void>((r) => (finish = r));
    handlers.set('/sse', (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n');
      void ended.then(() => res.end('data: [DONE]\n\n'));
    });
    const res = await pooled(`${base}/sse`, { method: 'GET' });
    const reader = res.body!.getReader();
    const first = await reader.read();
    // The server has not ended the reply: this chunk was read while the stream was open.
    expect(new TextDecoder().decode(first.value)).toBe('data: first\n\n');
    finish();
    let rest = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    expect(rest).toBe('data: [DONE]\n\n');
  });

  it('gives a 204 no body, and rejects an aborted request and a refused connection', async () => {
    handlers.set('/empty', (_req, _body, res) => {
      res.writeHead(204);
      res.end();
    });
    const empty = await pooled(`${base}/empty`);
    expect(empty.status).toBe(204);
    expect(empty.body).toBeNull();

    handlers.set('/stall', () => {});
    const controller = new AbortController();
    const pending = pooled(`${base}/stall`, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });

    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await expect(pooled(`http://127.0.0.1:${port}/`)).rejects.toThrow();
  });

  it('keeps the official SDK’s errors: a status error with its headers, a timeout, a refused connection', async () => {
    handlers.set('/v1/chat/completions', (_req, _body, res) => {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after-ms': '250' });
      res.end(JSON.stringify({ error: { message: 'slow down', type: 'rate_limit' } }));
    });
    const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'k', maxRetries: 0, fetch: pooled });
    const refused = await client.chat.completions
      .create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    expect((refused as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after-ms')).toBe('250');

    handlers.set('/v1/chat/completions', () => {});
    const slow = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'k', maxRetries: 0, timeout: 100, fetch: pooled });
    const timedOut = await slow.chat.completions
      .create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(timedOut).toBeInstanceOf(OpenAI.APIConnectionTimeoutError);

    const gone = new OpenAI({ baseURL: 'http://127.0.0.1:9/v1', apiKey: 'k', maxRetries: 0, fetch: pooled });
    const failed = await gone.chat.completions
      .create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(OpenAI.APIConnectionError);
  });
});
