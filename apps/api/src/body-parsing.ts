import { PassThrough, type Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { ApiError, badRequest } from './errors.ts';

/** Options for {@link installBodyParsing}. */
export interface BodyParsingOptions {
  /** Deepest nesting of arrays and objects accepted. @defaultValue `config.api.maxJsonDepth` (64) */
  maxJsonDepth: number;
}

/** What `Content-Encoding` a body may carry, and how to undo it. */
const DECODERS: Readonly<Record<string, () => NodeJS.ReadWriteStream>> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/**
 * The depth at which `text` (JSON) first nests deeper than `limit`, or 0 when it does not.
 * Scans the raw text before it is parsed: a body nested thousands deep is refused without
 * building it, since a deep object later overflowed the stack in code that walks it (ajv, the
 * cache scope's hashing, the SDK serializing it upstream; seen at depth 3,000).
 */
export function jsonDepthBeyond(text: string, limit: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return depth;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return 0;
}

/** 415 in OpenAI's body. */
const unsupportedMedia = (message: string) => new ApiError('unsupported_media_type', message);

/**
 * The API's body handling, in one place:
 * - JSON only (`text/plain` is refused with 415 instead of being parsed as a string and failing
 *   validation as a 400), with the nesting depth bounded before parsing (400 naming the limit);
 *   prototype poisoning is refused as by Fastify's own parser.
 * - `Content-Encoding: gzip`, `deflate` or `br` is decoded; the body limit applies to the
 *   decoded bytes, so a small compressed body cannot expand past it. Any other encoding is a 415.
 */
export function installBodyParsing(app: FastifyInstance, options: BodyParsingOptions): void {
  const { maxJsonDepth } = options;
  const defaultJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    const depth = jsonDepthBeyond(text, maxJsonDepth);
    if (depth) {
      done(
        badRequest(
          `The JSON body nests deeper than ${maxJsonDepth} levels of arrays and objects; flatten it.`,
          null,
          'json_too_deep',
        ),
        undefined,
      );
      return;
    }
    defaultJson(request, text, done);
  });

  app.addHook('preParsing', async (request, _reply, payload) => {
    const header = request.headers['content-encoding'];
    if (header === undefined) return payload;
    const encodings = String(header)
      .split(',')
      .map((e) => e.trim().toLowerCase())
      .filter((e) => e && e !== 'identity');
    if (encodings.length === 0) return payload;
    if (encodings.length > 1 || !DECODERS[encodings[0]!]) {
      throw unsupportedMedia(
        `Content-Encoding \`${String(header)}\` is not supported: send the body uncompressed or with gzip, deflate or br.`,
      );
    }
    const decoder = DECODERS[encodings[0]!]!();
    // Fastify compares Content-Length with `receivedEncodedLength` when a hook decodes the body.
    const out = new PassThrough() as PassThrough & { receivedEncodedLength: number };
    out.receivedEncodedLength = 0;
    payload.on('data', (chunk: Buffer) => (out.receivedEncodedLength += chunk.length));
    // Fastify listens for the decoded stream's errors only while it reads the body; a body it
    // never reads (a 415, a route without one) must not turn a bad encoding into a crash.
    out.on('error', () => {});
    decoder.on('error', (error: Error) =>
      out.destroy(
        Object.assign(
          badRequest(`The ${encodings[0]} body could not be decoded: ${error.message}`, null, 'invalid_encoding'),
          { statusCode: 400 },
        ),
      ),
    );
    (payload as Readable).pipe(decoder).pipe(out);
    return out;
  });
}
