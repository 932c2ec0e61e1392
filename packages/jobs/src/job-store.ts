import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { defineError, SluiceError, toErrorRecord } from '@sluice/errors';
import { loadScripts, type Keys, type Redis } from '@sluice/redis';
import type { CompletionJobResult, TierName } from '@sluice/queues';
import type { JobErrorBody, JobEvent, JobRecord, JobStatus, StoredJobEvent } from './types.ts';

const tracer = trace.getTracer('@sluice/jobs');

/** Codes of cancelled jobs, registered once in `@sluice/errors`. */
const JOB_ERRORS = {
  cancelled: defineError({
    code: 'job_cancelled',
    status: 409,
    openaiType: 'cancelled',
    subsystem: '@sluice/jobs',
    message: 'The job was cancelled.',
  }),
  clientDisconnected: defineError({
    code: 'client_disconnected',
    status: 409,
    openaiType: 'cancelled',
    subsystem: '@sluice/jobs',
    message:
      'The client closed the connection before the answer, so the job was cancelled (no tokens are spent on an answer nobody receives). Send an Idempotency-Key to keep a job running after a disconnect.',
  }),
  // No record, so no client to tell: the job fails on the queue and in the log.
  recordMissing: defineError({
    code: 'job_record_missing',
    status: 500,
    openaiType: 'server_error',
    retryable: true,
    expose: false,
    subsystem: '@sluice/jobs',
    message: (jobId: string) =>
      `the job record of ${jobId} does not exist (expired, or written to a Redis this worker does not see)`,
  }),
} as const;

/**
 * A queued job whose job record does not exist. Workers retry it like any failure (a record
 * not yet visible appears meanwhile); after the last attempt the BullMQ job fails with this
 * message, so it is never dropped without a word.
 */
export class JobRecordMissingError extends SluiceError {
  override readonly name = 'JobRecordMissingError';
  constructor(readonly jobId: string) {
    super(JOB_ERRORS.recordMissing, JOB_ERRORS.recordMissing.format(jobId));
  }
}

/** What {@link JobStore.appendEvent} did: appended, or refused because the job is finished or has no record. */
export type AppendOutcome = 'appended' | 'finished' | 'missing';

/** Options for {@link JobStore}. */
export interface JobStoreOptions {
  redis: Redis;
  keys: Keys;
  /** How long a job's record and events live after the last write (s). */
  ttlSeconds: number;
}

const SCRIPTS = loadScripts('jobs', new URL('./lua/', import.meta.url), {
  finish: {},
  appendEvent: {},
  createAnswered: {},
  attachReply: {},
});

/**
 * A final event's JSON up to its payload: the finish script appends the payload and `}`, so
 * `EVENT_HEAD.done + JSON.stringify(result) + '}'` is `JSON.stringify({ type: 'done', result })`
 * and the result goes over the wire once instead of twice.
 */
const EVENT_HEAD = { done: '{"type":"done","result":', error: '{"type":"error","error":' } as const;

/**
 * Durable job state and the job's event log. Writers (classifier, executor) append events;
 * the API reads the record, replays the log and listens live via {@link JobEventSubscriber}.
 * Finishing is exactly-once (Lua), so a job retried after its worker died still gives the
 * client exactly one final answer.
 */
export class JobStore {
  readonly #redis: Redis;
  readonly #keys: Keys;
  readonly #ttl: number;

  constructor(options: JobStoreOptions) {
    if (!Number.isInteger(options.ttlSeconds) || options.ttlSeconds < 1) {
      throw new Error(`Expected \`ttlSeconds\` to be an integer ≥ 1, got \`${options.ttlSeconds}\``);
    }
    this.#redis = options.redis;
    this.#keys = options.keys;
    this.#ttl = options.ttlSeconds;
  }

  /**
   * Record an accepted job. `reply`: the channel of the API process waiting for its answer
   * ({@link JobEventSubscriber.replyChannel}); its events are then published there instead of
   * on the job's own channel, so no subscription per job is needed.
   */
  async create(job: {
    id: string;
    tenant: string;
    stream: boolean;
    model: string;
    createdAt: number;
    reply?: string;
  }): Promise<void> {
    const key = this.#keys.job(job.id);
    // Two plain commands, not a MULTI: ioredis builds a pipeline object per MULTI, which was
    // 8 % of the API's CPU on the cache-miss path (CPU profile under closed-loop load). Sent
    // together on one connection they run in order; only a connection lost between the two
    // could leave a record without its TTL, and then the job was not enqueued either (callers
    // await this before enqueueing: on a cluster the queue is on another shard).
    await Promise.all([
      this.#redis.hset(key, {
        tenant: job.tenant,
        status: 'queued',
        createdAt: job.createdAt,
        stream: job.stream ? '1' : '0',
        model: job.model,
        ...(job.reply ? { reply: job.reply } : {}),
      }),
      this.#redis.expire(key, this.#ttl),
    ]);
  }

  /**
   * Record a job answered as it arrived (the API's cache fast path): created completed, with
   * its result, prompt and `done` event, in one atomic step. Nothing is published (nobody
   * can be listening to a job id not handed out yet). One script instead of `create`,
   * `complete` and `annotate`: 5 Redis commands instead of 12 per exact hit.
   */
  async createAnswered(
    job: { id: string; tenant: string; stream: boolean; model: string; createdAt: number; prompt: string },
    result: CompletionJobResult,
    finishedAt = Date.now(),
  ): Promise<void> {
    await SCRIPTS.createAnswered.run(
      this.#redis,
      [this.#keys.job(job.id), this.#keys.jobEvents(job.id)],
      [
        job.tenant,
        job.createdAt,
        job.stream ? '1' : '0',
        job.model,
        JSON.stringify(result),
        finishedAt,
        job.prompt,
        this.#ttl,
      ],
    );
  }

  /**
   * Remove the record and event log of a job that was never enqueued (its enqueue failed):
   * a record left behind would stay `queued` until its TTL, with an event stream that never ends.
   */
  async discard(id: string): Promise<void> {
    await this.#redis.del(this.#keys.job(id), this.#keys.jobEvents(id));
  }

  /** Read a job; undefined when unknown or expired. */
  async get(id: string): Promise<JobRecord | undefined> {
    const h = await this.#redis.hgetall(this.#keys.job(id));
    if (!h.tenant) return undefined;
    return {
      id,
      tenant: h.tenant,
      status: h.status as JobStatus,
      createdAt: Number(h.createdAt),
      finishedAt: h.finishedAt ? Number(h.finishedAt) : undefined,
      stream: h.stream === '1',
      model: h.model ?? '',
      tier: h.tier as TierName | undefined,
      category: h.category,
      result: h.result ? (JSON.parse(h.result) as CompletionJobResult) : undefined,
      error: h.error ? (JSON.parse(h.error) as JobErrorBody) : undefined,
      prompt: h.prompt,
    };
  }

  /** Only the status (cheap check workers make before spending tokens). */
  async status(id: string): Promise<JobStatus | undefined> {
    return ((await this.#redis.hget(this.#keys.job(id), 'status')) ?? undefined) as JobStatus | undefined;
  }

  /** Set non-terminal fields (tier, category) without an event. */
  async annotate(id: string, fields: Record<string, string>): Promise<void> {
    await this.#redis.hset(this.#keys.job(id), fields);
  }

  /**
   * Append an event (and optionally move to a non-terminal status, setting `fields` on the job
   * record in the same atomic step). Returns false when the job is already finished, which
   * tells a worker to stop: its answer is no longer wanted (or when it has no record:
   * {@link appendEvent} tells the two apart).
   */
  async append(
    id: string,
    event: JobEvent,
    status?: Exclude<JobStatus, 'completed' | 'failed' | 'cancelled'>,
    fields: Record<string, string> = {},
  ): Promise<boolean> {
    return (await this.appendEvent(id, event, status, fields)) === 'appended';
  }

  /**
   * {@link append}, telling a finished job from one without a record, so a worker can skip
   * reading the status first: the append is the check.
   */
  async appendEvent(
    id: string,
    event: JobEvent,
    status?: Exclude<JobStatus, 'completed' | 'failed' | 'cancelled'>,
    fields: Record<string, string> = {},
  ): Promise<AppendOutcome> {
    const pairs = Object.entries(fields).flat();
    const res = await SCRIPTS.appendEvent.run(
      this.#redis,
      [this.#keys.job(id), this.#keys.jobEvents(id)],
      [this.#keys.jobChannel(id), id, JSON.stringify(event), this.#ttl, status ?? '', ...pairs],
    );
    return res === null ? 'finished' : res === 0 ? 'missing' : 'appended';
  }

  /** Finish with a result. Returns false when the job had already finished (this result is dropped). */
  async complete(id: string, result: CompletionJobResult, now = Date.now()): Promise<boolean> {
    return (await this.#finish(id, 'completed', 'result', JSON.stringify(result), EVENT_HEAD.done, now)) === 1;
  }

  /** Finish with an error the client can read. Returns false when already finished. */
  async fail(id: string, error: JobErrorBody, now = Date.now()): Promise<boolean> {
    return (await this.#finish(id, 'failed', 'error', JSON.stringify(error), EVENT_HEAD.error, now)) === 1;
  }

  /**
   * Cancel; returns false when the job had already finished. Workers skip a cancelled job
   * (their next event append is refused) and abort one in flight (cancel broadcast).
   * `reason` `client_disconnected`: the synchronous caller went away before its answer.
   */
  async cancel(
    id: string,
    now = Date.now(),
    reason: 'requested' | 'client_disconnected' = 'requested',
  ): Promise<boolean> {
    const error: JobErrorBody = toErrorRecord(
      new SluiceError(reason === 'client_disconnected' ? JOB_ERRORS.clientDisconnected : JOB_ERRORS.cancelled),
    );
    const finished = (await this.#finish(id, 'cancelled', 'error', JSON.stringify(error), EVENT_HEAD.error, now)) === 1;
    if (finished) await this.#redis.publish(this.#keys.cancelChannel, id);
    return finished;
  }

  /** Events after `afterId` (exclusive), oldest first. */
  async events(id: string, afterId = '-'): Promise<StoredJobEvent[]> {
    const start = afterId === '-' ? '-' : `(${afterId}`;
    const entries = await this.#redis.xrange(this.#keys.jobEvents(id), start, '+');
    return entries.map(([streamId, fields]) => ({ id: streamId, event: JSON.parse(fields[1]!) as JobEvent }));
  }

  /**
   * Claim an idempotency key for a tenant: returns the job already bound to it (with the
   * fingerprint of the request that bound it), or undefined when this call bound `jobId`
   * (the caller then creates the job). `fingerprint` identifies the request body, so a key
   * reused with another body can be refused instead of answered with the first job.
   */
  async claimIdempotency(
    tenant: string,
    key: string,
    jobId: string,
    fingerprint = '',
  ): Promise<{ jobId: string; fingerprint: string } | undefined> {
    const k = this.#keys.idempotency(tenant, key);
    const set = await this.#redis.set(k, fingerprint ? `${jobId} ${fingerprint}` : jobId, 'EX', this.#ttl, 'NX');
    if (set === 'OK') return undefined;
    const value = await this.#redis.get(k);
    if (value === null) return undefined;
    const space = value.indexOf(' ');
    return space < 0
      ? { jobId: value, fingerprint: '' }
      : { jobId: value.slice(0, space), fingerprint: value.slice(space + 1) };
  }

  /**
   * Have a job's events published on `channel` too (a caller attaching to a job another
   * request started). Returns false when the job publishes only on its own channel (accepted
   * without a reply channel, or unknown): subscribe to that one instead.
   */
  async attachReply(id: string, channel: string): Promise<boolean> {
    return (await SCRIPTS.attachReply.run(this.#redis, [this.#keys.job(id)], [channel])) === 1;
  }

  /** Release an idempotency claim whose job could not be enqueued. */
  async releaseIdempotency(tenant: string, key: string, jobId: string): Promise<void> {
    const k = this.#keys.idempotency(tenant, key);
    const value = await this.#redis.get(k);
    if (value === jobId || value?.startsWith(`${jobId} `)) await this.#redis.del(k);
  }

  /**
   * Store the final state and publish it to the job's channel in one script: this is the
   * result's delivery, traced as `sluice.job.deliver` (a no-op span when tracing is off).
   */
  #finish(
    id: string,
    status: JobStatus,
    field: string,
    payload: string,
    eventHead: string,
    now: number,
  ): Promise<number> {
    return tracer.startActiveSpan(
      'sluice.job.deliver',
      { kind: SpanKind.PRODUCER, attributes: { 'sluice.job.id': id, 'sluice.job.status': status } },
      async (span) => {
        try {
          const finished = (await SCRIPTS.finish.run(
            this.#redis,
            [this.#keys.job(id), this.#keys.jobEvents(id)],
            [this.#keys.jobChannel(id), id, status, field, payload, eventHead, this.#ttl, now],
          )) as number;
          span.setAttribute('sluice.job.first_finish', finished === 1);
          return finished;
        } catch (error) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
          throw error;
        } finally {
          span.end();
        }
      },
    );
  }
}
