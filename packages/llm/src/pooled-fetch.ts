import { Readable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';

/** The `fetch` signature the official SDKs accept as their `fetch` option. */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** Response media types whose body is read as it arrives (relayed chunks), not buffered whole. */
const STREAMED = /text\/event-stream|ndjson/i;

/**
 * A `fetch` for the provider SDKs built on undici's `request()` over one keep-alive pool.
 *
 * Node's global `fetch` runs the whole WHATWG fetch algorithm per call (request and header
 * objects, validation, body mixins); the SDKs need none of it, and on the executor's path it
 * was the largest single cost of an upstream call. `request()` sends on the same undici
 * connection pool without that layer. The reply is still a real `Response`, so the SDKs'
 * parsing, errors and stream handling are unchanged:
 * - a JSON (or any non-streamed) reply is read whole before it is returned, inside the SDK's
 *   timeout, and handed over as a {@link bufferedResponse}: its text is served as it was read,
 *   without the web stream a `Response` body would wrap around it and read back;
 * - a streamed reply (`text/event-stream`, NDJSON) is handed over as a web stream that reads
 *   the socket as chunks arrive; cancelling it, or the request's signal, closes the request.
 *
 * A body this cannot send as it is (a form, a stream) goes through the global `fetch`, as
 * does a `Request` object: none of the SDK calls Sluice makes sends one. Redirects are not
 * followed: a provider API that answers 3xx is misconfigured, and the SDK raises that status
 * as an error instead of resending the call elsewhere.
 *
 * The pool is an `undici` Agent with undici's defaults, as Node's own `fetch` uses: idle
 * sockets are kept 4 s unless the server says otherwise, under the 5 s many servers close them
 * at, so a request is not sent on a socket the server is closing.
 */
export function createPooledFetch(): FetchLike {
  const dispatcher = new Agent();
  return async (input, init = {}) => {
    const body = init.body;
    const sendable = body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array;
    if (!sendable || (typeof input !== 'string' && !(input instanceof URL))) return fetch(input, init);
    const reply = await request(input, {
      method: (init.method ?? 'GET').toUpperCase() as Dispatcher.HttpMethod,
      headers: headerRecord(init.headers),
      body: body ?? undefined,
      signal: init.signal ?? undefined,
      dispatcher,
    });
    const headers = new Headers();
    for (const [name, value] of Object.entries(reply.headers)) {
      if (value === undefined) continue;
      if (Array.isArray(value)) for (const v of value) headers.append(name, v);
      else headers.set(name, value);
    }
    // A status that carries no body (204, 304) must be built with none.
    if (reply.statusCode === 204 || reply.statusCode === 304) {
      reply.body.resume();
      return new Response(null, { status: reply.statusCode, headers });
    }
    if (STREAMED.test(headers.get('content-type') ?? '')) {
      return new Response(Readable.toWeb(reply.body) as ReadableStream<Uint8Array>, {
        status: reply.statusCode,
        headers,
      });
    }
    return bufferedResponse(await reply.body.text(), { status: reply.statusCode, headers });
  };
}

/**
 * A `Response` whose body was read before it was made: `text()`, `json()` and the byte readers
 * answer from that text. A `Response` made from a string wraps it in a web stream that every
 * read then drains and decodes again, about 15 µs per reply for nothing. `body` is null (the
 * SDKs read non-streamed replies only through these methods); `bodyUsed` stays false, so the
 * text can be read again, as from a clone.
 */
export function bufferedResponse(text: string, init: ResponseInit): Response {
  const response = new Response(null, init);
  const bytes = () => new TextEncoder().encode(text);
  Object.defineProperties(response, {
    text: { value: async () => text },
    json: { value: async () => JSON.parse(text) as unknown },
    arrayBuffer: { value: async () => bytes().buffer },
    bytes: { value: async () => bytes() },
    blob: { value: async () => new Blob([text], { type: response.headers.get('content-type') ?? '' }) },
    clone: {
      value: () =>
        bufferedResponse(text, { status: response.status, statusText: response.statusText, headers: response.headers }),
    },
  });
  return response;
}
/** The request's headers as the plain record `request()` takes. */
function headerRecord(headers: RequestInit['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  if (headers instanceof Headers) {
    headers.forEach((value, name) => {
      out[name] = value;
    });
  } else if (Array.isArray(headers)) {
    for (const [name, value] of headers) if (name !== undefined && value !== undefined) out[name] = value;
  } else {
    for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name] = String(value);
  }
  return out;
}

let shared: FetchLike | undefined;

/** The process's one pooled fetch (see {@link createPooledFetch}), made on first use. */
export function pooledFetch(): FetchLike {
  return (shared ??= createPooledFetch());
}
