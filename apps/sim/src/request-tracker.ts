import type { ServerResponse } from 'node:http';

/** One request the simulator is still answering (or deliberately not answering). */
export interface TrackedRequest {
  /** Aborts when the client disconnects, or when shutdown stops waiting for this request. */
  readonly signal: AbortSignal;
  /** Marks the request as held forever (timeout fault): shutdown then ends it at once. */
  hold(): void;
  /** Stops tracking; call once the answer is complete or abandoned. Idempotent. */
  finish(): void;
}

interface Entry {
  controller: AbortController;
  held: boolean;
}

/**
 * Tracks answers in progress so `close()` can be graceful and still bounded: held requests
 * end at once, the rest get a grace period, and whatever is left is then aborted (its
 * handler destroys the connection).
 */
export class RequestTracker {
  readonly #active = new Set<Entry>();
  #idleWaiters: Array<() => void> = [];
  #closing = false;

  /** Starts tracking the request behind `response`. */
  begin(response: ServerResponse): TrackedRequest {
    const entry: Entry = { controller: new AbortController(), held: false };
    if (this.#closing) entry.controller.abort();
    this.#active.add(entry);
    const onClose = (): void => {
      // `close` after `finish` is the normal end of a response; before it, the client left.
      if (!response.writableFinished) entry.controller.abort();
    };
    response.once('close', onClose);
    return {
      signal: entry.controller.signal,
      hold: () => {
        entry.held = true;
        if (this.#closing) entry.controller.abort();
      },
      finish: () => {
        response.removeListener('close', onClose);
        if (this.#active.delete(entry) && this.#active.size === 0) this.#notifyIdle();
      },
    };
  }

  /** True once shutdown has begun; answers sent from then on should close their connection. */
  get closing(): boolean {
    return this.#closing;
  }

  /** Requests currently tracked. */
  get size(): number {
    return this.#active.size;
  }

  /**
   * Ends held requests now, waits up to `graceMs` for the others to finish, then aborts
   * whatever is left and waits for those handlers to wind down.
   */
  async shutdown(graceMs: number): Promise<void> {
    this.#closing = true;
    for (const entry of this.#active) if (entry.held) entry.controller.abort();
    if (this.#active.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([this.#whenIdle(), graceOver]);
    clearTimeout(timer);
    for (const entry of this.#active) entry.controller.abort();
    await this.#whenIdle();
  }

  #whenIdle(): Promise<void> {
    if (this.#active.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #notifyIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
