import { completionToChunks } from '@sluice/cache';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CompletionJobResult, ChatRequest } from '@sluice/queues';
import { ChatRequestSchema } from '@sluice/queues';
import { ApiError, errorBody } from '../errors.ts';
import { EventFeed } from '../events.ts';
import type { ApiContext } from '../context.ts';
import { readControls } from '../submit.ts';
import { jobError, timeoutError } from '../pipeline.ts';

/** The `x-sluice-*` headers describing how a job was answered. */
export function resultHeaders(
  jobId: string,
  r: Pick<CompletionJobResult, 'tier' | 'model' | 'cache' | 'cacheKind' | 'cacheSimilarity'> & { costUsd?: number },
): Record<string, string> {
  const h: Record<string, string> = {
    'x-sluice-job-id': jobId,
    'x-sluice-tier': r.tier,
    'x-sluice-model': r.model,
    'x-sluice-cache': r.cache,
  };
  if (r.cacheKind) h['x-sluice-cache-kind'] = r.cacheKind;
  if (r.cacheSimilarity !== undefined) h['x-sluice-cache-similarity'] = r.cacheSimilarity.toFixed(4);
  if (r.costUsd !== undefined) h['x-sluice-cost-usd'] = r.costUsd.toFixed(9);
  return h;
}

/** `POST /v1/chat/completions`: JSON or SSE, answered when the job finishes. */
export function registerCompletions(app: FastifyInstance, ctx: ApiContext): void {
  app.post(
    '/v1/chat/completions',
    { schema: { body: ChatRequestSchema } },
    async (request: FastifyRequest, reply: FastifyReply) => {
      const body = request.body as ChatRequest;
      const tenant = request.tenant!;
      const controls = readControls(request.headers, tenant, { sync: true });
      const data = ctx.submitter.prepare(body, tenant, controls);
      // A cache hit is answered before anything is enqueued (not for idempotent submits, which
      // must bind the key to a job first). It does not queue, so backpressure does not refuse
      // it: only the tenant's quota applies.
      const limitHeaders = (h: Record<string, string>) => void reply.headers(h);
      const cached = controls.idempotencyKey
        ? undefined
        : await ctx.fastPath(data, async () => limitHeaders(await ctx.admit(tenant, data, { backpressure: false })));
      if (!cached) limitHeaders(await ctx.admit(tenant, data, { clientWaitMs: controls.clientWaitMs, sync: true }));
      if (cached) {
        if (!data.stream) return reply.headers(resultHeaders(data.id, cached)).send(cached.completion);
        const replay = new EventFeed();
        replay.replay(await ctx.store.events(data.id));
        return streamAnswer(reply, replay, data.id, body);
      }
      const feed = new EventFeed();
      const submission = await ctx.submitter.submit(data, controls, feed.push);
      const jobId = submission.jobId;
      try {
        if (submission.reused) feed.replay(await ctx.store.events(jobId));
        else feed.release();
        const timer = setTimeout(() => feed.close(), ctx.config.api.syncTimeoutMs);
        // The response closing before it finished means the client left. Without an
        // Idempotency-Key it can never find this job again (the id travels in the answer's
        // headers), so the job is cancelled rather than run for nobody; with a key, a retry
        // re-attaches, so the job goes on.
        const abandon = ctx.config.api.cancelOnDisconnect && !controls.idempotencyKey;
        reply.raw.once('close', () => {
          if (reply.raw.writableFinished) return;
          feed.close();
          if (abandon) {
            ctx.store.cancel(jobId, Date.now(), 'client_disconnected').then(
              (cancelled) =>
                cancelled && request.log.info({ jobId }, 'client disconnected before its answer; job cancelled'),
              (error: unknown) =>
                request.log.warn({ err: error, jobId }, 'could not cancel the job of a disconnected client'),
            );
          }
        });
        try {
          if (data.stream) return await streamAnswer(reply, feed, jobId, body, ctx.config.api.sseKeepAliveMs);
          return await jsonAnswer(reply, feed, jobId);
        } finally {
          clearTimeout(timer);
        }
      } finally {
        await submission.unsubscribe();
      }
    },
  );
}

async function jsonAnswer(reply: FastifyReply, feed: EventFeed, jobId: string) {
  for (let e = await feed.next(); e; e = await feed.next()) {
    if (e.event.type === 'done') {
      const r = e.event.result;
      return reply.headers(resultHeaders(jobId, r)).send(r.completion);
    }
    if (e.event.type === 'error') throw jobError(jobId, e.event.error);
  }
  throw timeoutError(jobId);
}

/**
 * Relay a job as OpenAI SSE. Headers are sent with the first chunk (or the final answer), so
 * they carry tier, model and cache outcome; the cost, known only at the end, follows as an HTTP trailer.
 *
 * Policy when an attempt dies mid-stream (worker killed, upstream stream dropped) and the job
 * runs again (a retry, a takeover once the dead worker's lock expired, a hand-back at
 * shutdown; each run has its own number in the event log): the client has already seen part
 * of run A, and run B's text will differ, so chunks of two runs are never mixed. If no chunk
 * was sent yet, the stream simply follows run B. Otherwise the stream ends with an error
 * event `stream_interrupted` naming the job id; the job still completes and its single final
 * answer is at `GET /v1/jobs/:id`.
 */
async function streamAnswer(
  reply: FastifyReply,
  feed: EventFeed,
  jobId: string,
  body: ChatRequest,
  keepAliveMs?: number,
) {
  const includeUsage = body.stream_options?.include_usage === true;
  const raw = reply.raw;
  let started = false;
  let committedAttempt: number | undefined;
  let sentChunks = false;
  // Headers wait for the first chunk: a run that fails over to another deployment before
  // answering announces again, and the client's headers must name the one that answered.
  let attemptHeaders: Record<string, string> | undefined;
  const start = (headers: Record<string, string>) => {
    if (started) return;
    started = true;
    reply.hijack();
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      trailer: 'x-sluice-cost-usd',
      // Set before the hijack (CORS, x-ratelimit-*): a hijacked reply does not send them itself.
      ...(reply.getHeaders() as Record<string, string>),
      ...headers,
    });
  };
  const write = (payload: unknown) => raw.write(`data: ${JSON.stringify(payload)}\n\n`);
  const forward = (chunk: Record<string, unknown>) => {
    const isUsageOnly = Array.isArray(chunk.choices) && chunk.choices.length === 0;
    if (isUsageOnly && !includeUsage) return;
    if (!includeUsage && 'usage' in chunk) {
      const { usage: _usage, ...rest } = chunk;
      write(rest);
    } else write(chunk);
  };
  // While the job waits in a queue nothing flows; a proxy would cut the idle connection. Past
  // `keepAliveMs` the stream starts (headers name the job, and the attempt once one began)
  // and a comment line keeps it alive until the first chunk.
  let keepAlive: NodeJS.Timeout | undefined;
  if (keepAliveMs) {
    keepAlive = setInterval(() => {
      if (raw.destroyed) return;
      if (!started) start(attemptHeaders ?? { 'x-sluice-job-id': jobId });
      if (!sentChunks) raw.write(': keep-alive\n\n');
    }, keepAliveMs);
  }
  try {
    return await relay();
  } finally {
    clearInterval(keepAlive);
  }

  async function relay() {
    for (let e = await feed.next(); e; e = await feed.next()) {
      const ev = e.event;
      if (ev.type === 'attempt') {
        if (sentChunks && committedAttempt !== ev.attempt) {
          write(
            errorBody(
              new ApiError(
                'stream_interrupted',
                `The upstream attempt was interrupted and the job is being retried; fetch the final answer at GET /v1/jobs/${jobId}.`,
              ),
            ),
          );
          raw.end('data: [DONE]\n\n');
          return reply;
        }
        committedAttempt = ev.attempt;
        attemptHeaders = resultHeaders(jobId, {
          tier: ev.tier,
          model: ev.model,
          cache: ev.cache,
          cacheKind: ev.cacheKind,
          cacheSimilarity: ev.cacheSimilarity,
        });
      } else if (ev.type === 'chunk') {
        if (ev.attempt !== committedAttempt) continue;
        start(attemptHeaders ?? { 'x-sluice-job-id': jobId });
        sentChunks = true;
        forward(ev.chunk);
      } else if (ev.type === 'done') {
        const r = ev.result;
        start(resultHeaders(jobId, r));
        if (!sentChunks) for (const chunk of completionToChunks(r.completion, { includeUsage })) write(chunk);
        raw.addTrailers({ 'x-sluice-cost-usd': r.costUsd.toFixed(9) });
        raw.end('data: [DONE]\n\n');
        return reply;
      } else if (ev.type === 'error') {
        if (!started) throw jobError(jobId, ev.error);
        write(errorBody(jobError(jobId, ev.error)));
        raw.end('data: [DONE]\n\n');
        return reply;
      }
    }
    if (!started) throw timeoutError(jobId);
    if (!raw.destroyed) {
      write(errorBody(new ApiError('job_timeout', `The job did not finish in time; poll GET /v1/jobs/${jobId}.`)));
      raw.end();
    }
    return reply;
  }
}
