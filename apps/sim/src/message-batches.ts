import { randomBytes } from 'node:crypto';
import { BatchRun, type BatchLineAnswer, type SimBatchOptions } from './batch-run.ts';
import { SimInvalidRequestError } from './errors.ts';

/** One request of a Message Batch: an id the caller chose and Messages API parameters. */
export interface MessageBatchRequest {
  custom_id: string;
  params: Record<string, unknown>;
}

/** Anthropic's `request_counts`: every request is `processing` until the whole batch ends. */
export interface MessageBatchCounts {
  processing: number;
  succeeded: number;
  errored: number;
  canceled: number;
  expired: number;
}

/** Anthropic's Message Batch object, as `/v1/messages/batches` returns it. */
export interface SimMessageBatch {
  id: string;
  type: 'message_batch';
  processing_status: 'in_progress' | 'canceling' | 'ended';
  request_counts: MessageBatchCounts;
  created_at: string;
  expires_at: string;
  ended_at: string | null;
  archived_at: null;
  cancel_initiated_at: string | null;
  results_url: string | null;
}

/** Anthropic's caps: 100,000 requests per batch; `custom_id` like this. */
export const MAX_MESSAGE_BATCH_REQUESTS = 100_000;
const CUSTOM_ID = /^[a-zA-Z0-9_-]{1,64}$/;

interface StoredMessageBatch {
  id: string;
  run: BatchRun<MessageBatchRequest>;
  cancelInitiatedMs?: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Anthropic's Message Batches in the simulator, in memory, on the same {@link BatchRun} as the
 * OpenAI Batch API (same processing time, expiry and `/sim/batches/:id/expire` hook). Each
 * request is answered in process by the live `/v1/messages` route (`run`), so a request the
 * Messages API would refuse ends `errored` with that route's error, and an answer is what the
 * synchronous call would give.
 */
export class MessageBatchStore {
  readonly #batches = new Map<string, StoredMessageBatch>();

  constructor(
    private readonly options: SimBatchOptions,
    private readonly now: () => number,
    private readonly run: (request: MessageBatchRequest) => Promise<BatchLineAnswer>,
  ) {}

  /** Whether `id` names a Message Batch of this store. */
  has(id: string): boolean {
    return this.#batches.has(id);
  }

  /**
   * Checks the requests as Anthropic does when a batch is created (ids, uniqueness, the
   * required parameters, no streaming) and starts the batch. What only the Messages API
   * itself can judge (the model, the messages' content) ends the request `errored` instead.
   */
  create(body: { requests?: unknown }, baseUrl: string): SimMessageBatch {
    const requests = body.requests;
    if (!Array.isArray(requests) || requests.length === 0)
      throw new SimInvalidRequestError('requests: List should have at least 1 item', { param: 'requests' });
    if (requests.length > MAX_MESSAGE_BATCH_REQUESTS) {
      throw new SimInvalidRequestError(
        `requests: a batch takes at most ${MAX_MESSAGE_BATCH_REQUESTS} requests, got ${requests.length}`,
        { param: 'requests' },
      );
    }
    const ids = new Set<string>();
    requests.forEach((request: unknown, index) => {
      const at = `requests.${index}`;
      const r = request as Partial<MessageBatchRequest> | null;
      if (typeof r !== 'object' || r === null)
        throw new SimInvalidRequestError(`${at}: Input should be an object`, { param: at });
      if (typeof r.custom_id !== 'string' || !CUSTOM_ID.test(r.custom_id)) {
        throw new SimInvalidRequestError(`${at}.custom_id: String should match pattern '${CUSTOM_ID.source}'`, {
          param: `${at}.custom_id`,
        });
      }
      if (ids.has(r.custom_id))
        throw new SimInvalidRequestError(
          `${at}.custom_id: '${r.custom_id}' is used by more than one request; custom_id values must be unique within a batch`,
          { param: `${at}.custom_id` },
        );
      ids.add(r.custom_id);
      const params = r.params as Record<string, unknown> | undefined;
      if (typeof params !== 'object' || params === null || Array.isArray(params))
        throw new SimInvalidRequestError(`${at}.params: Field required`, { param: `${at}.params` });
      for (const field of ['model', 'max_tokens', 'messages'] as const) {
        if (params[field] === undefined)
          throw new SimInvalidRequestError(`${at}.params.${field}: Field required`, { param: `${at}.params.${field}` });
      }
      if (params.stream === true)
        throw new SimInvalidRequestError(`${at}.params.stream: streaming is not supported in a Message Batch`, {
          param: `${at}.params.stream`,
        });
    });
    const id = `msgbatch_${randomBytes(12).toString('hex')}`;
    const stored: StoredMessageBatch = {
      id,
      run: new BatchRun(requests as MessageBatchRequest[], this.now(), this.options, this.run),
    };
    this.#batches.set(id, stored);
    return this.#view(stored, baseUrl);
  }

  /** A batch as of now (ended when its time has come). */
  async retrieve(id: string, baseUrl: string): Promise<SimMessageBatch> {
    const stored = this.#require(id);
    await stored.run.advance(this.now());
    return this.#view(stored, baseUrl);
  }

  /**
   * Batches, newest first; `before_id` / `after_id` page towards newer / older ones, as
   * Anthropic's list does.
   */
  async list(
    query: { limit: number; before_id?: string; after_id?: string },
    baseUrl: string,
  ): Promise<{ data: SimMessageBatch[]; has_more: boolean; first_id: string | null; last_id: string | null }> {
    const all = [...this.#batches.values()].reverse();
    let page: StoredMessageBatch[];
    let hasMore: boolean;
    if (query.before_id !== undefined) {
      const end = all.findIndex((b) => b.id === query.before_id);
      if (end === -1)
        throw new SimInvalidRequestError(`before_id: no Message Batch with id '${query.before_id}'`, {
          param: 'before_id',
        });
      page = all.slice(Math.max(0, end - query.limit), end);
      hasMore = end - query.limit > 0;
    } else {
      const start = query.after_id === undefined ? 0 : all.findIndex((b) => b.id === query.after_id) + 1;
      if (start === 0 && query.after_id !== undefined)
        throw new SimInvalidRequestError(`after_id: no Message Batch with id '${query.after_id}'`, {
          param: 'after_id',
        });
      page = all.slice(start, start + query.limit);
      hasMore = start + query.limit < all.length;
    }
    const data = await Promise.all(page.map((b) => this.retrieve(b.id, baseUrl)));
    return { data, has_more: hasMore, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
  }

  /**
   * Cancels a batch: requests answered so far keep their results, the rest end `canceled`.
   * The cancel's own answer says `canceling`, as Anthropic's does; the next read says `ended`.
   */
  async cancel(id: string, baseUrl: string): Promise<SimMessageBatch> {
    const stored = this.#require(id);
    if (await stored.run.advance(this.now())) return this.#view(stored, baseUrl);
    stored.cancelInitiatedMs = this.now();
    await stored.run.stop('cancelled', this.now());
    return { ...this.#view(stored, baseUrl), processing_status: 'canceling', ended_at: null, results_url: null };
  }

  /** Ends a batch's window now (the simulator's control plane): unanswered requests end `expired`. */
  async expire(id: string, baseUrl: string): Promise<SimMessageBatch> {
    const stored = this.#require(id);
    await stored.run.stop('expired', this.now());
    return this.#view(stored, baseUrl);
  }

  /** The results file (JSONL, one `{custom_id, result}` per request); only once the batch ended. */
  async results(id: string): Promise<string> {
    const stored = this.#require(id);
    const end = await stored.run.advance(this.now());
    if (!end)
      throw new SimInvalidRequestError(
        `Message Batch ${id} has not ended yet (in_progress); its results are available once processing ends.`,
        { param: 'message_batch_id' },
      );
    const lines = stored.run.lines.map((request, index) => {
      const answer = index < end.done ? stored.run.answers[index] : undefined;
      return JSON.stringify({ custom_id: request.custom_id, result: resultOf(answer, end.outcome) });
    });
    return `${lines.join('\n')}\n`;
  }

  #view(stored: StoredMessageBatch, baseUrl: string): SimMessageBatch {
    const { run } = stored;
    const end = run.end;
    const counts: MessageBatchCounts = {
      processing: end ? 0 : run.lines.length,
      succeeded: 0,
      errored: 0,
      canceled: 0,
      expired: 0,
    };
    if (end) {
      run.lines.forEach((_, index) => {
        const type = resultOf(index < end.done ? run.answers[index] : undefined, end.outcome).type;
        counts[
          type === 'succeeded'
            ? 'succeeded'
            : type === 'errored'
              ? 'errored'
              : type === 'canceled'
                ? 'canceled'
                : 'expired'
        ] += 1;
      });
    }
    return {
      id: stored.id,
      type: 'message_batch',
      processing_status: end ? 'ended' : 'in_progress',
      request_counts: counts,
      created_at: iso(run.createdMs),
      expires_at: iso(run.expiresMs),
      ended_at: end ? iso(end.endedMs) : null,
      archived_at: null,
      cancel_initiated_at: stored.cancelInitiatedMs === undefined ? null : iso(stored.cancelInitiatedMs),
      results_url: end ? `${baseUrl}/v1/messages/batches/${stored.id}/results` : null,
    };
  }

  #require(id: string): StoredMessageBatch {
    const stored = this.#batches.get(id);
    if (!stored)
      throw new SimInvalidRequestError(`No Message Batch found with id '${id}'.`, {
        param: 'message_batch_id',
        status: 404,
      });
    return stored;
  }
}

type MessageBatchResult =
  | { type: 'succeeded'; message: unknown }
  | { type: 'errored'; error: unknown }
  | { type: 'canceled' }
  | { type: 'expired' };

/** A request's result: its answer (a message, or the Messages API's error body), or why it never ran. */
function resultOf(
  answer: BatchLineAnswer | undefined,
  outcome: 'completed' | 'expired' | 'cancelled',
): MessageBatchResult {
  if (answer === undefined) return outcome === 'cancelled' ? { type: 'canceled' } : { type: 'expired' };
  if (answer.statusCode < 300) return { type: 'succeeded', message: answer.body };
  const body = answer.body as { type?: string; error?: { type?: string; message?: string } } | null;
  const error =
    body?.type === 'error' && body.error
      ? body.error
      : {
          type: answer.statusCode >= 500 ? 'api_error' : 'invalid_request_error',
          message: `status ${answer.statusCode}`,
        };
  return { type: 'errored', error: { type: 'error', error, request_id: null } };
}
