import { completionToChunks } from '@sluice/cache';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { JobErrorBody } from '@sluice/jobs';
import type { ChatRequest, CompletionJobData, CompletionJobResult } from '@sluice/queues';
import type { ApiContext } from './context.ts';
import { errorDefinition, INTERNAL_ERROR, toOpenAIError } from '@sluice/errors';
import { ApiError } from './errors.ts';
import { EventFeed } from './events.ts';
import { readControls } from './submit.ts';

/** A chat job started for a synchronous caller of any protocol (Responses, Messages, …). */
export interface ChatRun {
  jobId: string;
  data: CompletionJobData;
  /** Its events, in order: live, or replayed from the log (a cache hit, an idempotent re-attach). */
  feed: EventFeed;
  /** Unsubscribe and stop the timeout. Call once the answer is sent. */
  finish(): Promise<void>;
}

/** Options for {@link startChatRun}. */
export interface ChatRunOptions {
  /** Adjust the prepared job before it is admitted (e.g. attach a stored conversation). */
  prepare?: (data: CompletionJobData) => CompletionJobData | Promise<CompletionJobData>;
}

/**
 * Run a chat job the way `POST /v1/chat/completions` does, for a route that speaks another
 * protocol: the same tenant controls, cache fast path, admission (quota, backpressure),
 * submit-after-subscribe, sync timeout and cancel-on-disconnect. The caller translates the
 * events into its own wire format.
 */
export async function startChatRun(
  ctx: ApiContext,
  request: FastifyRequest,
  reply: FastifyReply,
  body: ChatRequest,
  options: ChatRunOptions = {},
): Promise<ChatRun> {
  const tenant = request.tenant!;
  const controls = readControls(request.headers, tenant, { sync: true });
  let data = ctx.submitter.prepare(body, tenant, controls);
  if (options.prepare) data = await options.prepare(data);
  const limitHeaders = (h: Record<string, string>) => void reply.headers(h);
  const cached = controls.idempotencyKey
    ? undefined
    : await ctx.fastPath(data, async () => limitHeaders(await ctx.admit(tenant, data, { backpressure: false })));
  if (cached) {
    const feed = new EventFeed();
    feed.replay(await ctx.store.events(data.id));
    return { jobId: data.id, data, feed, finish: async () => {} };
  }
  limitHeaders(await ctx.admit(tenant, data, { clientWaitMs: controls.clientWaitMs, sync: true }));
  const feed = new EventFeed();
  const submission = await ctx.submitter.submit(data, controls, feed.push);
  const jobId = submission.jobId;
  try {
    if (submission.reused) feed.replay(await ctx.store.events(jobId));
    else feed.release();
  } catch (error) {
    await submission.unsubscribe();
    throw error;
  }
  const timer = setTimeout(() => feed.close(), ctx.config.api.syncTimeoutMs);
  const abandon = ctx.config.api.cancelOnDisconnect && !controls.idempotencyKey;
  reply.raw.once('close', () => {
    if (reply.raw.writableFinished) return;
    feed.close();
    if (abandon) {
      ctx.store
        .cancel(jobId, Date.now(), 'client_disconnected')
        .catch((error: unknown) =>
          request.log.warn({ err: error, jobId }, 'could not cancel the job of a disconnected client'),
        );
    }
  });
  return {
    jobId,
    data: { ...data, id: jobId },
    feed,
    async finish() {
      clearTimeout(timer);
      await submission.unsubscribe();
    },
  };
}

/**
 * The job's error as the API error the error handler maps (its status, type and code kept).
 * A server-side failure comes after Sluice's own attempts (retries, failover), so it says
 * `x-should-retry: false`: the openai SDKs would otherwise retry it twice, each retry a new
 * job of as many attempts.
 */
export function jobError(jobId: string, e: JobErrorBody): ApiError {
  // A worker stored the record through `@sluice/errors`, so its code is in the table and keeps
  // its status and type; one the table does not know (a worker of another version) is a 500.
  const definition = errorDefinition(e.code) ?? INTERNAL_ERROR;
  return new ApiError(definition, definition === INTERNAL_ERROR ? definition.format() : e.message, {
    param: e.param ?? null,
    headers: {
      'x-sluice-job-id': jobId,
      ...(definition.status >= 500 ? { 'x-should-retry': 'false' } : {}),
    },
  });
}

/** Start an SSE answer on a hijacked reply (headers from the attempt that answers). */
export function openSse(reply: FastifyReply, headers: Record<string, string>): void {
  reply.hijack();
  reply.raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    // Set before the hijack (CORS, x-ratelimit-*): a hijacked reply does not send them itself.
    ...(reply.getHeaders() as Record<string, string>),
    ...headers,
  });
}

/** 504 for a caller that waited its sync timeout: the job goes on, so a retry would only start another. */
export function timeoutError(jobId: string): ApiError {
  return new ApiError(
    'job_timeout',
    `The job did not finish in time; it goes on. Poll GET /v1/jobs/${jobId} for its result.`,
    { headers: { 'x-sluice-job-id': jobId, 'x-should-retry': 'false' } },
  );
}

/** Wait for the job's final result; throws its error, or a 504 when the sync timeout passes. */
export async function finalResult(run: ChatRun): Promise<CompletionJobResult> {
  for (let e = await run.feed.next(); e; e = await run.feed.next()) {
    if (e.event.type === 'done') return e.event.result;
    if (e.event.type === 'error') throw jobError(run.jobId, e.event.error);
  }
  throw timeoutError(run.jobId);
}

/** One step of a streamed chat job, protocol-neutral. */
export type ChatStreamStep =
  /** The attempt that will answer is known (tier, model, cache outcome). */
  | { kind: 'attempt'; result: Pick<CompletionJobResult, 'tier' | 'model' | 'cache' | 'cacheKind' | 'cacheSimilarity'> }
  /** An OpenAI `chat.completion.chunk` (usage chunks included). */
  | { kind: 'chunk'; chunk: Record<string, any> }
  | { kind: 'done'; result: CompletionJobResult }
  /** The job failed after chunks were sent, or an attempt died mid-stream (`code` says which). */
  | { kind: 'error'; error: { message: string; type: string; code: string } };

/**
 * The job's answer as a stream of chat chunks, with the policy of the chat route: chunks of
 * two runs are never mixed (an attempt dying after chunks were sent ends the stream with
 * `stream_interrupted`; its final answer is at `GET /v1/jobs/:id`), and an answer that was
 * not streamed live (a cache hit, a finished job re-attached) is cut into chunks. An error
 * before any step is thrown, so the route still answers it with an HTTP status.
 */
export async function* chatStream(run: ChatRun): AsyncGenerator<ChatStreamStep> {
  let committed: number | undefined;
  let attempt: (ChatStreamStep & { kind: 'attempt' })['result'] | undefined;
  let sent = false;
  let yielded = false;
  for (let e = await run.feed.next(); e; e = await run.feed.next()) {
    const ev = e.event;
    if (ev.type === 'attempt') {
      if (sent && committed !== ev.attempt) {
        yield {
          kind: 'error',
          error: toOpenAIError(
            new ApiError(
              'stream_interrupted',
              `The upstream attempt was interrupted and the job is being retried; fetch the final answer at GET /v1/jobs/${run.jobId}.`,
            ),
          ).body.error,
        };
        return;
      }
      committed = ev.attempt;
      attempt = {
        tier: ev.tier,
        model: ev.model,
        cache: ev.cache,
        cacheKind: ev.cacheKind,
        cacheSimilarity: ev.cacheSimilarity,
      };
    } else if (ev.type === 'chunk') {
      if (ev.attempt !== committed) continue;
      if (!sent && attempt) yield { kind: 'attempt', result: attempt };
      sent = true;
      yielded = true;
      yield { kind: 'chunk', chunk: ev.chunk };
    } else if (ev.type === 'done') {
      if (!sent) {
        yield { kind: 'attempt', result: ev.result };
        for (const chunk of completionToChunks(ev.result.completion, { includeUsage: true }))
          yield { kind: 'chunk', chunk };
      }
      yield { kind: 'done', result: ev.result };
      return;
    } else if (ev.type === 'error') {
      if (!yielded) throw jobError(run.jobId, ev.error);
      yield { kind: 'error', error: { message: ev.error.message, type: ev.error.type, code: ev.error.code } };
      return;
    }
  }
  if (!yielded) throw timeoutError(run.jobId);
  yield {
    kind: 'error',
    error: toOpenAIError(new ApiError('job_timeout', `The job did not finish in time; poll GET /v1/jobs/${run.jobId}.`))
      .body.error,
  };
}
