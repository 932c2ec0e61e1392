/** What the runner answered for one line (status and body of the endpoint it names). */
export interface BatchLineAnswer {
  statusCode: number;
  body: unknown;
}

/** Timing of simulated batches (both the OpenAI Batch API and Anthropic's Message Batches). */
export interface SimBatchOptions {
  /**
   * Time from creation until every line of a batch is answered (ms); lines finish evenly
   * over it.
   * @defaultValue 2_000
   */
  processingMs?: number;
  /**
   * Time after creation at which an unfinished batch expires (ms). Both providers' window is
   * 24 h; a test sets it below `processingMs` to see an expiry with part of the lines answered.
   * @defaultValue 86_400_000
   */
  expireAfterMs?: number;
}

/** How a batch ended. */
export type BatchRunOutcome = 'completed' | 'expired' | 'cancelled';

/** The end of a batch: how, when, and how many of its lines (the first ones) were answered. */
export interface BatchRunEnd {
  outcome: BatchRunOutcome;
  endedMs: number;
  /** Lines answered before the end; the first `done` in line order, the rest never ran. */
  done: number;
}

/**
 * One simulated batch, whatever API it came through: its lines are answered at once, in
 * process (`run`), but the batch's progress is derived from the clock each time it is read
 * (lines finish evenly over `processingMs`), so a test with an injected clock can move a batch
 * through every state. Ends once: completed when the processing time has passed, expired when
 * the window closed first, or stopped early (expired or cancelled) by {@link stop}.
 */
export class BatchRun<L> {
  /** Answers of the lines, filled in by the runner in line order. */
  readonly answers: Array<BatchLineAnswer | undefined>;
  readonly #answered: Promise<void>;
  readonly #processingMs: number;
  readonly #expireAfterMs: number;
  #end: BatchRunEnd | undefined;

  constructor(
    readonly lines: readonly L[],
    readonly createdMs: number,
    options: SimBatchOptions,
    run: (line: L) => Promise<BatchLineAnswer>,
  ) {
    this.#processingMs = options.processingMs ?? 2_000;
    this.#expireAfterMs = options.expireAfterMs ?? 86_400_000;
    const answers = new Array<BatchLineAnswer | undefined>(lines.length).fill(undefined);
    this.answers = answers;
    this.#answered = (async () => {
      for (let index = 0; index < lines.length; index += 1) answers[index] = await run(lines[index]!);
    })();
  }

  /** When the window closes (ms). */
  get expiresMs(): number {
    return this.createdMs + this.#expireAfterMs;
  }

  /** How it ended; `undefined` while it runs. */
  get end(): BatchRunEnd | undefined {
    return this.#end;
  }

  /** Ends the batch when its time has come by `now`; its end, or `undefined` while it runs. */
  async advance(now: number): Promise<BatchRunEnd | undefined> {
    if (this.#end) return this.#end;
    const doneMs = this.createdMs + this.#processingMs;
    if (now < Math.min(doneMs, this.expiresMs)) return undefined;
    await this.#answered;
    this.#end ??=
      doneMs <= this.expiresMs
        ? { outcome: 'completed', endedMs: doneMs, done: this.lines.length }
        : { outcome: 'expired', endedMs: this.expiresMs, done: this.doneBy(this.expiresMs) };
    return this.#end;
  }

  /** Ends a running batch now (the provider's expiry, or a cancel): lines done so far keep their answers. */
  async stop(outcome: 'expired' | 'cancelled', now: number): Promise<BatchRunEnd> {
    const ended = await this.advance(now);
    if (ended) return ended;
    await this.#answered;
    this.#end ??= { outcome, endedMs: now, done: this.doneBy(now) };
    return this.#end;
  }

  /** Lines finished by `at`: evenly over the processing time, and never one the runner has not answered. */
  doneBy(at: number): number {
    const share = this.#processingMs === 0 ? 1 : Math.min(1, Math.max(0, (at - this.createdMs) / this.#processingMs));
    const byTime = Math.floor(share * this.lines.length);
    const answered = this.answers.findIndex((answer) => answer === undefined);
    return answered === -1 ? byTime : Math.min(byTime, answered);
  }
}
