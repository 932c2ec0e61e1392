import { BatchRun, type BatchLineAnswer, type BatchRunEnd, type SimBatchOptions } from './batch-run.ts';
import { responseId } from './context.ts';
import { SimInvalidRequestError } from './errors.ts';

export type { BatchLineAnswer, SimBatchOptions } from './batch-run.ts';

/** OpenAI's file object, as `POST /v1/files` and `GET /v1/files/:id` return it. */
export interface SimFile {
  id: string;
  object: 'file';
  bytes: number;
  created_at: number;
  filename: string;
  purpose: string;
  status: 'processed';
  expires_at: number | null;
}

/** OpenAI's batch statuses. */
export type SimBatchStatus =
  'validating' | 'failed' | 'in_progress' | 'finalizing' | 'completed' | 'expired' | 'cancelling' | 'cancelled';

/** OpenAI's batch object, as `/v1/batches` returns it. */
export interface SimBatch {
  id: string;
  object: 'batch';
  endpoint: string;
  errors: {
    object: 'list';
    data: Array<{ code: string; message: string; param: string | null; line: number | null }>;
  } | null;
  input_file_id: string;
  completion_window: string;
  status: SimBatchStatus;
  output_file_id: string | null;
  error_file_id: string | null;
  created_at: number;
  in_progress_at: number | null;
  expires_at: number;
  finalizing_at: number | null;
  completed_at: number | null;
  failed_at: number | null;
  expired_at: number | null;
  cancelling_at: number | null;
  cancelled_at: number | null;
  request_counts: { total: number; completed: number; failed: number };
  metadata: Record<string, string> | null;
}

/** One parsed line of a batch input file. */
export interface BatchInputLine {
  custom_id: string;
  method: 'POST';
  url: string;
  body: unknown;
}

/** Endpoints a batch line may name. */
const BATCH_ENDPOINTS = ['/v1/chat/completions', '/v1/embeddings'] as const;
/** OpenAI's cap on requests per batch. */
export const MAX_BATCH_LINES = 50_000;

interface StoredBatch {
  batch: SimBatch;
  run: BatchRun<BatchInputLine>;
}

const FINAL: ReadonlySet<SimBatchStatus> = new Set(['failed', 'completed', 'expired', 'cancelled']);

/**
 * The simulator's Files and Batch APIs, in memory. Each batch is a {@link BatchRun}: time is
 * derived, not scheduled, so a test with an injected clock can move a batch through every
 * state; the lines are answered at once, in process, by the same chat route as a live request
 * (`run`), so a batch's answers are exactly what the synchronous call would give.
 */
export class BatchStore {
  readonly #files = new Map<string, { file: SimFile; content: Buffer }>();
  readonly #batches = new Map<string, StoredBatch>();

  constructor(
    private readonly options: SimBatchOptions,
    private readonly now: () => number,
    private readonly run: (line: BatchInputLine) => Promise<BatchLineAnswer>,
  ) {}

  /** Stores an uploaded file. */
  addFile(filename: string, purpose: string, content: Buffer): SimFile {
    const file: SimFile = {
      id: responseId('file'),
      object: 'file',
      bytes: content.length,
      created_at: this.#seconds(),
      filename,
      purpose,
      status: 'processed',
      expires_at: null,
    };
    this.#files.set(file.id, { file, content });
    return file;
  }

  /** A file's metadata; 404 when unknown. */
  file(id: string): SimFile {
    return this.#requireFile(id).file;
  }

  /** A file's content. */
  content(id: string): Buffer {
    return this.#requireFile(id).content;
  }

  /** Deletes a file. */
  deleteFile(id: string): { id: string; object: 'file'; deleted: true } {
    this.#requireFile(id);
    this.#files.delete(id);
    return { id, object: 'file', deleted: true };
  }

  /** Validates the input file and starts a batch. */
  create(input: {
    input_file_id: string;
    endpoint: string;
    completion_window: string;
    metadata?: Record<string, string> | null;
  }): SimBatch {
    if (!(BATCH_ENDPOINTS as readonly string[]).includes(input.endpoint)) {
      throw new SimInvalidRequestError(
        `Invalid 'endpoint': expected one of ${BATCH_ENDPOINTS.join(', ')}, got '${input.endpoint}'.`,
        { param: 'endpoint' },
      );
    }
    if (input.completion_window !== '24h') {
      throw new SimInvalidRequestError(
        `Invalid 'completion_window': only '24h' is supported, got '${input.completion_window}'.`,
        { param: 'completion_window' },
      );
    }
    const stored = this.#requireFile(input.input_file_id);
    if (stored.file.purpose !== 'batch') {
      throw new SimInvalidRequestError(`File ${input.input_file_id} was not uploaded with purpose 'batch'.`, {
        param: 'input_file_id',
      });
    }
    const lines = parseInputFile(stored.content.toString('utf8'), input.endpoint);
    const createdMs = this.now();
    const run = new BatchRun(lines, createdMs, this.options, this.run);
    const batch: SimBatch = {
      id: responseId('batch'),
      object: 'batch',
      endpoint: input.endpoint,
      errors: null,
      input_file_id: input.input_file_id,
      completion_window: input.completion_window,
      status: 'validating',
      output_file_id: null,
      error_file_id: null,
      created_at: Math.floor(createdMs / 1000),
      in_progress_at: null,
      expires_at: Math.floor(run.expiresMs / 1000),
      finalizing_at: null,
      completed_at: null,
      failed_at: null,
      expired_at: null,
      cancelling_at: null,
      cancelled_at: null,
      request_counts: { total: lines.length, completed: 0, failed: 0 },
      metadata: input.metadata ?? null,
    };
    this.#batches.set(batch.id, { batch, run });
    return { ...batch };
  }

  /** A batch as of now (finishing it when its time has come). */
  async retrieve(id: string): Promise<SimBatch> {
    const stored = this.#requireBatch(id);
    await this.#advance(stored);
    return { ...stored.batch, request_counts: { ...stored.batch.request_counts } };
  }

  /** Cancels a batch: lines answered so far are delivered, the rest are not run. */
  async cancel(id: string): Promise<SimBatch> {
    const stored = this.#requireBatch(id);
    await this.#advance(stored);
    const { batch } = stored;
    if (!FINAL.has(batch.status)) {
      batch.cancelling_at = this.#seconds();
      this.#finish(stored, await stored.run.stop('cancelled', this.now()));
    }
    return this.retrieve(id);
  }

  /** Batches, newest first. */
  async list(limit: number): Promise<SimBatch[]> {
    const all = [...this.#batches.values()].reverse().slice(0, limit);
    return Promise.all(all.map((stored) => this.retrieve(stored.batch.id)));
  }

  /** Expires a batch now (the simulator's control plane: what a provider does at the window's end). */
  async expire(id: string): Promise<SimBatch> {
    const stored = this.#requireBatch(id);
    await this.#advance(stored);
    if (!FINAL.has(stored.batch.status)) this.#finish(stored, await stored.run.stop('expired', this.now()));
    return this.retrieve(id);
  }

  async #advance(stored: StoredBatch): Promise<void> {
    const { batch, run } = stored;
    if (FINAL.has(batch.status)) return;
    batch.status = 'in_progress';
    batch.in_progress_at ??= batch.created_at;
    const end = await run.advance(this.now());
    if (end) {
      this.#finish(stored, end);
      return;
    }
    const done = run.doneBy(this.now());
    const failed = run.answers
      .slice(0, done)
      .filter((answer) => answer !== undefined && answer.statusCode >= 400).length;
    batch.request_counts = { total: run.lines.length, completed: done - failed, failed };
  }

  /** Writes the output and error files: the first `done` lines answered, the rest expired or cancelled. */
  #finish(stored: StoredBatch, end: BatchRunEnd): void {
    const { batch, run } = stored;
    // Two readers may both see the end arrive; the files are written once.
    if (FINAL.has(batch.status)) return;
    const output: string[] = [];
    const errors: string[] = [];
    run.lines.forEach((line, index) => {
      const answer = index < end.done ? run.answers[index] : undefined;
      const requestId = responseId('req');
      if (answer === undefined) {
        const code = end.outcome === 'expired' ? 'batch_expired' : 'batch_cancelled';
        const message =
          end.outcome === 'expired'
            ? 'This request could not be executed before the completion window expired.'
            : 'This request was not executed because the batch was cancelled.';
        errors.push(
          JSON.stringify({
            id: responseId('batch_req'),
            custom_id: line.custom_id,
            response: null,
            error: { code, message },
          }),
        );
        return;
      }
      const entry = JSON.stringify({
        id: responseId('batch_req'),
        custom_id: line.custom_id,
        response: { status_code: answer.statusCode, request_id: requestId, body: answer.body },
        error: null,
      });
      (answer.statusCode >= 400 ? errors : output).push(entry);
    });
    const endedS = Math.floor(end.endedMs / 1000);
    batch.status = end.outcome;
    if (end.outcome === 'completed') {
      batch.finalizing_at = endedS;
      batch.completed_at = endedS;
    } else if (end.outcome === 'expired') {
      batch.expired_at = endedS;
    } else {
      batch.cancelled_at = endedS;
    }
    batch.request_counts = { total: run.lines.length, completed: output.length, failed: errors.length };
    if (output.length > 0)
      batch.output_file_id = this.addFile(
        `${batch.id}_output.jsonl`,
        'batch_output',
        Buffer.from(`${output.join('\n')}\n`),
      ).id;
    if (errors.length > 0)
      batch.error_file_id = this.addFile(
        `${batch.id}_error.jsonl`,
        'batch_output',
        Buffer.from(`${errors.join('\n')}\n`),
      ).id;
  }

  #requireFile(id: string) {
    const stored = this.#files.get(id);
    if (!stored) throw new SimInvalidRequestError(`No such File object: ${id}`, { param: 'id', status: 404 });
    return stored;
  }

  #requireBatch(id: string): StoredBatch {
    const stored = this.#batches.get(id);
    if (!stored)
      throw new SimInvalidRequestError(`No batch found with id '${id}'.`, { param: 'batch_id', status: 404 });
    return stored;
  }

  #seconds(): number {
    return Math.floor(this.now() / 1000);
  }
}

/** Parses and checks a batch input file: JSONL, unique `custom_id`s, every line for `endpoint`. */
export function parseInputFile(text: string, endpoint: string): BatchInputLine[] {
  const lines: BatchInputLine[] = [];
  const ids = new Set<string>();
  text.split('\n').forEach((raw, index) => {
    if (raw.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new SimInvalidRequestError(`Line ${index + 1} of the input file is not valid JSON.`, {
        param: 'input_file_id',
      });
    }
    const line = parsed as Partial<BatchInputLine>;
    if (typeof line.custom_id !== 'string' || line.custom_id === '') {
      throw new SimInvalidRequestError(`Line ${index + 1} of the input file has no 'custom_id'.`, {
        param: 'input_file_id',
      });
    }
    if (ids.has(line.custom_id)) {
      throw new SimInvalidRequestError(
        `The 'custom_id' '${line.custom_id}' appears more than once in the input file.`,
        { param: 'input_file_id' },
      );
    }
    if (line.method !== 'POST' || line.url !== endpoint) {
      throw new SimInvalidRequestError(
        `Line ${index + 1} of the input file must be a POST to ${endpoint}, the batch's endpoint.`,
        { param: 'input_file_id' },
      );
    }
    if (typeof line.body !== 'object' || line.body === null) {
      throw new SimInvalidRequestError(`Line ${index + 1} of the input file has no 'body' object.`, {
        param: 'input_file_id',
      });
    }
    ids.add(line.custom_id);
    lines.push(line as BatchInputLine);
  });
  if (lines.length === 0)
    throw new SimInvalidRequestError('The input file has no requests.', { param: 'input_file_id' });
  if (lines.length > MAX_BATCH_LINES) {
    throw new SimInvalidRequestError(
      `The input file has ${lines.length} requests; a batch takes at most ${MAX_BATCH_LINES}.`,
      { param: 'input_file_id' },
    );
  }
  return lines;
}
