import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { ChatRequestSchema, type ChatRequest } from '@sluice/queues';
import { TERMINAL, type JobRecord } from '@sluice/jobs';
import { learningScope } from '@sluice/routing';
import { ApiError, notFound } from '../errors.ts';
import { EventFeed } from '../events.ts';
import type { ApiContext } from '../context.ts';
import { readControls } from '../submit.ts';

const JobParams = Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }) });

/** The public view of a job. */
export function jobView(job: JobRecord) {
  return {
    id: job.id,
    object: 'sluice.job',
    status: job.status,
    created_at: Math.floor(job.createdAt / 1000),
    finished_at: job.finishedAt ? Math.floor(job.finishedAt / 1000) : null,
    model: job.model,
    tier: job.result?.tier ?? job.tier ?? null,
    category: job.category ?? null,
    cache: job.result?.cache ?? null,
    cost_usd: job.result?.costUsd ?? null,
    result: job.result?.completion ?? null,
    error: job.error ? { message: job.error.message, type: job.error.type, code: job.error.code } : null,
  };
}

/** `/v1/jobs`: async submit, read, live events, cancel. A tenant only ever sees its own jobs. */
export function registerJobs(app: FastifyInstance, ctx: ApiContext): void {
  const ownJob = async (id: string, tenant: string) => {
    const job = await ctx.store.get(id);
    // Another tenant's job answers exactly like a missing one: existence is not disclosed.
    if (!job || job.tenant !== tenant) throw notFound(`No job with id \`${id}\`.`);
    return job;
  };

  app.post('/v1/jobs', { schema: { body: ChatRequestSchema } }, async (request, reply) => {
    const tenant = request.tenant!;
    const body = request.body as ChatRequest;
    const controls = readControls(request.headers, tenant);
    const data = ctx.submitter.prepare(body, tenant, controls);
    await ctx.admit(tenant, data, { clientWaitMs: controls.clientWaitMs });
    const { jobId, reused } = await ctx.submitter.submit(data, controls);
    const job = await ctx.store.get(jobId);
    return reply
      .status(reused ? 200 : 202)
      .headers({ 'x-sluice-job-id': jobId, location: `/v1/jobs/${jobId}` })
      .send(job ? jobView(job) : { id: jobId, object: 'sluice.job', status: 'queued' });
  });

  app.get('/v1/jobs/:id', { schema: { params: JobParams } }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const job = await ownJob(id, request.tenant!.name);
    return reply.header('x-sluice-job-id', id).send(jobView(job));
  });

  app.delete('/v1/jobs/:id', { schema: { params: JobParams } }, async (request, reply) => {
    const { id } = request.params as { id: string };
    const job = await ownJob(id, request.tenant!.name);
    const cancelled = await ctx.store.cancel(id);
    if (!cancelled)
      throw new ApiError('job_finished', `Job \`${id}\` already finished (${job.status}); nothing to cancel.`);
    // Take it out of whichever queue holds it; an active one is aborted by its executor.
    await Promise.allSettled(Object.values(ctx.queues).map((q) => q.remove(id)));
    return reply.send({ id, object: 'sluice.job', status: 'cancelled' });
  });

  app.get('/v1/jobs/:id/events', { schema: { params: JobParams } }, async (request, reply) => {
    const { id } = request.params as { id: string };
    await ownJob(id, request.tenant!.name);
    const lastEventId = typeof request.headers['last-event-id'] === 'string' ? request.headers['last-event-id'] : '-';
    if (lastEventId !== '-' && !/^\d+-\d+$/.test(lastEventId))
      throw new ApiError('invalid_value', 'Last-Event-ID must be an id this endpoint sent.', {
        param: 'Last-Event-ID',
      });
    const feed = new EventFeed();
    const unsubscribe = await ctx.subscriber.subscribe(id, feed.push);
    try {
      const [events, status] = await Promise.all([ctx.store.events(id, lastEventId), ctx.store.status(id)]);
      feed.replay(events);
      // A finished job's last event is written with its final status, in one step: a finished
      // job with no final event after Last-Event-ID was seen to its end by this client (an
      // EventSource reconnecting after the end), so the stream ends now instead of idling.
      if (
        status !== undefined &&
        TERMINAL.has(status) &&
        !events.some((e) => e.event.type === 'done' || e.event.type === 'error')
      )
        feed.close();
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        'x-sluice-job-id': id,
      });
      request.raw.once('close', () => feed.close());
      const keepAlive = setInterval(() => raw.write(': keep-alive\n\n'), 15_000);
      try {
        for (let e = await feed.next(); e; e = await feed.next()) {
          raw.write(`id: ${e.id}\nevent: ${e.event.type}\ndata: ${JSON.stringify(e.event)}\n\n`);
          if (e.event.type === 'done' || e.event.type === 'error') break;
        }
      } finally {
        clearInterval(keepAlive);
        raw.end();
      }
    } finally {
      await unsubscribe();
    }
    return reply;
  });

  app.post('/v1/route', { schema: { body: ChatRequestSchema } }, async (request) => {
    const tenant = request.tenant!;
    const body = request.body as ChatRequest;
    const controls = readControls(request.headers, tenant);
    const data = ctx.submitter.prepare(body, tenant, controls);
    const { cascade, ...decision } = await ctx.router.decide(
      { request: data.request, learningScope: learningScope(data.tenant, data.shareGroup) },
      { pinnedTier: data.pinnedTier, quality: data.routingQuality },
    );
    return { ...decision, cascade };
  });
}
