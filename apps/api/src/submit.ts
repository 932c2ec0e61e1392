import { createHash } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { SluiceConfig } from '@sluice/config';
import { JobEventSubscriber, JobStore, newJobId, TERMINAL, type StoredJobEvent } from '@sluice/jobs';
import { messageText } from '@sluice/llm';
import {
  checkChatRequest,
  completionJobOptions,
  PRIORITY,
  TIERS,
  type CacheMode,
  type ChatRequest,
  type CompletionJobData,
  type TierName,
} from '@sluice/queues';
import { InvalidCompletionWindowError, isBatchError, parseDeadline } from '@sluice/batch';
import { resolvePin } from '@sluice/routing';
import type { Tenant } from '@sluice/tenants';
import { ApiError, badRequest } from './errors.ts';

/** Request controls read from headers (ARCHITECTURE.md, Request controls). */
export interface Controls {
  priority: number;
  pinnedTier?: TierName;
  cacheMode: CacheMode;
  idempotencyKey?: string;
  /**
   * How long the caller is willing to wait for its answer (ms): `x-sluice-max-wait-ms`, or on a
   * synchronous call the timeout the openai SDK sends with a per-request `timeout` option
   * (`x-stainless-timeout`, seconds; a client-wide timeout is not sent). Admission
   * refuses a job that would queue past it instead of accepting one whose client leaves first.
   */
  clientWaitMs?: number;
  /**
   * A deferrable job's deadline (ms since the epoch), from `x-sluice-completion-window` or
   * `x-sluice-deadline`: it may be answered through a provider's batch API at its discount.
   */
  deadline?: number;
  /** The learned router's cost–quality setting for this request (`x-sluice-quality`, 0..1). */
  quality?: number;
}

/** Longest `x-sluice-max-wait-ms` accepted (a day): longer is no bound at all. */
const MAX_CLIENT_WAIT_MS = 86_400_000;

/**
 * Read and validate the `x-sluice-*`, `Cache-Control` and `Idempotency-Key` headers.
 * `sync`: the caller waits on this request for the answer, so the openai SDK's timeout header
 * says how long it will wait (an async submit returns at once; its client polls).
 */
export function readControls(
  headers: Record<string, string | string[] | undefined>,
  tenant: Tenant,
  options: { sync?: boolean } = {},
): Controls {
  const one = (name: string) => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  let priority = tenant.priority || PRIORITY.default;
  const p = one('x-sluice-priority');
  if (p !== undefined) {
    if (p === 'interactive') priority = PRIORITY.interactive;
    else if (p === 'batch') priority = PRIORITY.batch;
    else if (/^\d+$/.test(p) && Number(p) >= 1 && Number(p) <= 1000) priority = Number(p);
    else
      throw badRequest(
        `Invalid x-sluice-priority \`${p}\`: use interactive, batch, or an integer 1..1000 (lower runs first).`,
        'x-sluice-priority',
      );
  }
  const t = one('x-sluice-tier');
  let pinnedTier: TierName | undefined;
  if (t !== undefined) {
    if (!TIERS.includes(t as TierName))
      throw badRequest(`Invalid x-sluice-tier \`${t}\`: use router, small or large.`, 'x-sluice-tier');
    pinnedTier = t as TierName;
  }
  const cc = (one('cache-control') ?? '').toLowerCase();
  const cacheMode: CacheMode = /\bno-store\b/.test(cc) ? 'no-store' : /\bno-cache\b/.test(cc) ? 'no-cache' : 'default';
  const idempotencyKey = one('idempotency-key');
  if (idempotencyKey !== undefined && !/^[\x21-\x7e]{1,255}$/.test(idempotencyKey)) {
    throw badRequest('Idempotency-Key must be 1 to 255 visible ASCII characters.', 'Idempotency-Key');
  }
  let clientWaitMs: number | undefined;
  const w = one('x-sluice-max-wait-ms');
  if (w !== undefined) {
    if (!/^\d+$/.test(w) || Number(w) < 1 || Number(w) > MAX_CLIENT_WAIT_MS)
      throw badRequest(
        `Invalid x-sluice-max-wait-ms \`${w}\`: use an integer 1..${MAX_CLIENT_WAIT_MS} (milliseconds the caller will wait for its answer).`,
        'x-sluice-max-wait-ms',
      );
    clientWaitMs = Number(w);
  } else if (options.sync) {
    // Not our header, so not ours to reject: a malformed one is ignored.
    const sdkTimeout = Number(one('x-stainless-timeout'));
    if (Number.isFinite(sdkTimeout) && sdkTimeout > 0) clientWaitMs = Math.min(sdkTimeout * 1000, MAX_CLIENT_WAIT_MS);
  }
  let deadline: number | undefined;
  try {
    deadline = parseDeadline(
      { window: one('x-sluice-completion-window'), deadline: one('x-sluice-deadline') },
      Date.now(),
    );
  } catch (error) {
    if (isBatchError(error) && error instanceof InvalidCompletionWindowError)
      throw badRequest(error.message, error.param);
    throw error;
  }
  if (deadline !== undefined) {
    if (options.sync)
      throw badRequest(
        'A completion window makes a job deferrable, and a deferrable job is answered asynchronously: submit it to POST /v1/jobs.',
        'x-sluice-completion-window',
      );
    // Work that can wait runs after interactive work unless the caller said otherwise, and
    // queues for as long as its window allows.
    if (p === undefined) priority = PRIORITY.batch;
    clientWaitMs = deadline - Date.now();
  }
  let quality: number | undefined;
  const q = one('x-sluice-quality');
  if (q !== undefined) {
    if (!/^(0(\.\d+)?|1(\.0+)?)$/.test(q.trim()))
      throw badRequest(
        `Invalid x-sluice-quality \`${q}\`: use a number from 0 to 1 (higher sends more requests to the large tier).`,
        'x-sluice-quality',
      );
    quality = Number(q);
  }
  return {
    priority,
    pinnedTier,
    cacheMode,
    idempotencyKey,
    ...(clientWaitMs ? { clientWaitMs } : {}),
    ...(deadline === undefined ? {} : { deadline }),
    ...(quality !== undefined ? { quality } : {}),
  };
}

/** Field limits beyond the schema, with messages naming the field. */
export function checkLimits(body: ChatRequest, config: SluiceConfig): void {
  if (body.messages.length > config.api.maxMessages) {
    throw badRequest(
      `\`messages\` has ${body.messages.length} items; at most ${config.api.maxMessages} are accepted.`,
      'messages',
    );
  }
  body.messages.forEach((m, i) => {
    const text = messageText(m.content);
    if (text.length > config.api.maxMessageChars) {
      throw badRequest(
        `\`messages[${i}].content\` is ${text.length} characters long; at most ${config.api.maxMessageChars} are accepted.`,
        `messages[${i}].content`,
      );
    }
    if (
      (m.role === 'user' || m.role === 'system' || m.role === 'developer') &&
      (m.content === undefined || m.content === null)
    ) {
      throw badRequest(`\`messages[${i}].content\` is required for role \`${m.role}\`.`, `messages[${i}].content`);
    }
  });
  // A stored conversation's new turn may hold only tool results: its user turns are stored.
  if (!body.conversation_id && !body.messages.some((m) => m.role === 'user'))
    throw badRequest('`messages` must contain at least one message with role `user`.', 'messages');
  const problem = checkChatRequest(body);
  if (problem) throw badRequest(problem.message, problem.param, problem.code);
}

/** What identifies a request body for Idempotency-Key reuse: a hash of its JSON as received. */
export function requestFingerprint(request: ChatRequest): string {
  return createHash('sha256').update(JSON.stringify(request)).digest('base64url').slice(0, 22);
}

/** What {@link Submitter.submit} returns. */
export interface Submission {
  jobId: string;
  /** True when an Idempotency-Key matched an earlier job: nothing new was enqueued. */
  reused: boolean;
  data: CompletionJobData;
}

/** Options for {@link Submitter}. */
export interface SubmitterOptions {
  config: SluiceConfig;
  store: JobStore;
  subscriber: JobEventSubscriber;
  routeQueue: Queue<CompletionJobData>;
  /**
   * The job store and the route queue are on one Redis, so commands sent together run in
   * order (false on a cluster). @defaultValue false: one round trip more per job, always safe
   */
  ordered?: boolean;
}

/**
 * Accepts jobs: validates, resolves the model pin, honours Idempotency-Key, records the job,
 * listens to its events (when the caller listens) *before* enqueueing, then enqueues.
 */
export class Submitter {
  constructor(private readonly options: SubmitterOptions) {}

  /** Build the job payload (throws 4xx errors for bad input). */
  prepare(body: ChatRequest, tenant: Tenant, controls: Controls): CompletionJobData {
    const { config } = this.options;
    checkLimits(body, config);
    const pin = resolvePin(body.model, config.deployments);
    // Two pins that disagree: refused rather than one silently winning (the header used to
    // override the model the body named).
    if (controls.pinnedTier && pin.kind !== 'auto' && pin.tier !== controls.pinnedTier) {
      throw badRequest(
        `x-sluice-tier \`${controls.pinnedTier}\` conflicts with \`model\` \`${body.model}\`, which is on the ${pin.tier} tier: send one of them, or model \`auto\` with the header.`,
        'x-sluice-tier',
        'pin_conflict',
      );
    }
    return {
      id: newJobId(),
      tenant: tenant.name,
      acceptedAt: Date.now(),
      request: body,
      stream: body.stream === true,
      priority: controls.priority,
      cacheMode: controls.cacheMode,
      pinnedTier: controls.pinnedTier ?? (pin.kind === 'auto' ? undefined : pin.tier),
      pinnedModel: pin.kind === 'model' ? pin.model : undefined,
      shareGroup: tenant.cacheShareGroup || undefined,
      ...(controls.deadline === undefined ? {} : { deadline: controls.deadline }),
      ...(controls.quality !== undefined ? { routingQuality: controls.quality } : {}),
    };
  }

  /**
   * Submit a prepared job. With `listen`, the listener is subscribed before the job is
   * enqueued and receives every event; the returned `unsubscribe` must be called.
   */
  async submit(
    data: CompletionJobData,
    controls: Controls,
    listen?: (e: StoredJobEvent) => void,
  ): Promise<Submission & { unsubscribe: () => Promise<void> }> {
    const { store, subscriber, routeQueue, config } = this.options;
    let jobId = data.id;
    if (controls.idempotencyKey) {
      const fingerprint = requestFingerprint(data.request);
      const claimed = await store.claimIdempotency(data.tenant, controls.idempotencyKey, data.id, fingerprint);
      // A key bound before fingerprints were kept has none: it matches any body.
      if (claimed && claimed.fingerprint && claimed.fingerprint !== fingerprint) {
        throw new ApiError(
          'idempotency_key_reused',
          `Idempotency-Key \`${controls.idempotencyKey}\` was already used with a different request body (job ${claimed.jobId}); use a new key for a new request.`,
          { param: 'Idempotency-Key' },
        );
      }
      const existing = claimed?.jobId;
      if (existing) {
        const unsubscribe = listen ? await subscriber.subscribe(existing, listen) : async () => {};
        return { jobId: existing, reused: true, data: { ...data, id: existing }, unsubscribe };
      }
    }
    jobId = data.id;
    // With the process's reply channel (subscribed once, before any job), listening is local
    // and the record names the channel; otherwise the job's own channel is subscribed first.
    const reply = listen ? subscriber.replyChannel : undefined;
    const unsubscribe = listen
      ? reply
        ? subscriber.listen(jobId, listen)
        : await subscriber.subscribe(jobId, listen)
      : async () => {};
    try {
      // The record must exist before a classifier can take the job. On one Redis, commands
      // sent together on one connection run in order, so both go in one round trip. On a
      // cluster the record and the route queue live on different shards and nothing orders
      // them: the record goes first (sent together, a classifier once took a job before its
      // record existed; seen in test/cluster.test.ts).
      const create = () =>
        store.create({
          id: jobId,
          tenant: data.tenant,
          stream: data.stream,
          model: data.request.model,
          createdAt: data.acceptedAt,
          ...(reply ? { reply } : {}),
        });
      const enqueue = () =>
        routeQueue.add('completion', data, completionJobOptions(jobId, data.priority, config.queues));
      if (this.options.ordered) {
        await Promise.all([create(), enqueue()]);
      } else {
        await create();
        await enqueue();
      }
    } catch (error) {
      // No record may outlive a job that was not enqueued (the add is refused before anything
      // is written when its payload cannot be serialized, so nothing runs for this record).
      await store.discard(jobId).catch(() => {});
      await unsubscribe();
      if (controls.idempotencyKey)
        await store.releaseIdempotency(data.tenant, controls.idempotencyKey, jobId).catch(() => {});
      throw error;
    }
    return { jobId, reused: false, data, unsubscribe };
  }

  /** Whether a job is finished (used when re-attaching to an idempotent job). */
  async finished(jobId: string): Promise<boolean> {
    const status = await this.options.store.status(jobId);
    return status !== undefined && TERMINAL.has(status);
  }
}
