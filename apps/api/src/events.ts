import { compareStreamIds, type StoredJobEvent } from '@sluice/jobs';

/**
 * An ordered, de-duplicated feed of one job's events. Live events (pub/sub) can arrive while
 * the log is still being replayed (XRANGE); the feed buffers live events until the replay is
 * in, then releases them, dropping anything already seen. So a reader gets every event
 * exactly once and in order, whichever way it reached us.
 */
export class EventFeed {
  #last = '0-0';
  #buffering = true;
  #buffer: StoredJobEvent[] = [];
  #queue: StoredJobEvent[] = [];
  #wake: (() => void) | undefined;
  #closed = false;

  /** The pub/sub listener to subscribe with. */
  readonly push = (e: StoredJobEvent): void => {
    if (this.#buffering) this.#buffer.push(e);
    else this.#accept(e);
  };

  /** Feed replayed events (oldest first), then release buffered live events. */
  replay(events: readonly StoredJobEvent[]): void {
    for (const e of events) this.#accept(e);
    this.release();
  }

  /** Stop buffering (nothing to replay: the job is new and was subscribed before enqueue). */
  release(): void {
    if (!this.#buffering) return;
    this.#buffering = false;
    const buffered = this.#buffer.sort((a, b) => compareStreamIds(a.id, b.id));
    this.#buffer = [];
    for (const e of buffered) this.#accept(e);
  }

  /** Stop waiting (client gone or timeout). */
  close(): void {
    this.#closed = true;
    this.#wake?.();
  }

  /** Next event, or undefined when closed. */
  async next(): Promise<StoredJobEvent | undefined> {
    while (!this.#queue.length && !this.#closed) {
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
    return this.#queue.shift();
  }

  #accept(e: StoredJobEvent): void {
    if (compareStreamIds(e.id, this.#last) <= 0) return;
    this.#last = e.id;
    this.#queue.push(e);
    this.#wake?.();
  }
}
