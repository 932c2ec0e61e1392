import { RedisOfflineError, ShardedSubscriber, type Keys, type Redis } from '@sluice/redis';
import type { JobStore } from './job-store.ts';
import type { JobEvent, StoredJobEvent } from './types.ts';

/** Parse a pub/sub message `"<streamId> <eventJson>"`. */
export function parseEventMessage(message: string): StoredJobEvent {
  const space = message.indexOf(' ');
  return { id: message.slice(0, space), event: JSON.parse(message.slice(space + 1)) as JobEvent };
}

/** Compare Redis stream ids (`ms-seq`). */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am - bm || as - bs;
}

/** Options for {@link JobEventSubscriber}. */
export interface JobEventSubscriberOptions {
  /** A connection created with `subscriber: true`, used by nothing else. */
  subscriber: Redis;
  keys: Keys;
  /**
   * This process's reply channel: jobs it accepts name it in their record and publish their
   * events on it, so {@link JobEventSubscriber.listen} needs no subscription per job. Only on
   * one Redis: on a cluster a job's script cannot publish to another shard's channel.
   * Requires `store` (the log read back after a reconnect). @defaultValue none: one
   * subscription per job
   */
  replyChannel?: string;
  /** The job store whose logs replace what a dropped connection missed. */
  store?: Pick<JobStore, 'events' | 'attachReply'>;
}

/**
 * One subscriber connection per process, multiplexing job channels. Job channels are sharded
 * channels (SSUBSCRIBE): on a Redis Cluster a job's events stay on the shard that holds the
 * job, instead of being copied to every node.
 *
 * With a reply channel (one Redis), the process subscribes once, at {@link start}, and a job
 * it accepts carries the channel in its record: listening to it is a local registration and
 * costs no Redis command, and nothing can race a subscription, which precedes every job.
 * Pub/sub is not durable: when the connection drops and comes back, every job still listened
 * to is read back from its event log (the durable truth) and fed to its handlers again, which
 * drop what they already saw by stream id (`EventFeed`).
 *
 * Without one, `subscribe()` subscribes to the job's own channel and resolves once Redis has
 * acknowledged it, so a caller that subscribes before enqueueing cannot miss an event.
 */
export class JobEventSubscriber {
  readonly #sub: Redis;
  /** Own-channel jobs' channels, and the reply channel once started. */
  readonly #channels: ShardedSubscriber;
  readonly #keys: Keys;
  readonly #reply: string | undefined;
  #replyListening = false;
  readonly #store: JobEventSubscriberOptions['store'];
  /** Handlers of reply-channel jobs, per job id. */
  readonly #byJob = new Map<string, Set<(e: StoredJobEvent) => void>>();
  /** The connection was up and has dropped; it is reconnecting (not: still making its first connection). */
  #lost = false;

  constructor(options: JobEventSubscriberOptions) {
    if (options.replyChannel !== undefined && !options.store)
      throw new Error('Expected `store` with `replyChannel`: a reconnect reads missed events from the log');
    this.#sub = options.subscriber;
    this.#channels = new ShardedSubscriber(options.subscriber);
    this.#keys = options.keys;
    this.#reply = options.replyChannel;
    this.#store = options.store;
    this.#sub.on('close', () => (this.#lost = true));
    this.#sub.on('ready', () => {
      const was = this.#lost;
      this.#lost = false;
      if (was) this.#catchUp();
    });
  }

  /** The channel jobs this process accepts publish on, when it has one. */
  get replyChannel(): string | undefined {
    return this.#reply;
  }

  /** Subscribe to the reply channel (once, before the process accepts jobs). No-op without one. */
  async start(): Promise<void> {
    if (!this.#reply || this.#replyListening) return;
    // A reply-channel message is `<job id> <event>`.
    await this.#channels.listen(this.#reply, (message) => {
      const space = message.indexOf(' ');
      const handlers = this.#byJob.get(message.slice(0, space));
      if (!handlers) return;
      const parsed = parseEventMessage(message.slice(space + 1));
      for (const h of [...handlers]) h(parsed);
    });
    this.#replyListening = true;
  }

  /**
   * Listen to the events of a job this process is about to record with its reply channel
   * (`JobStore.create({ reply })`): local only, nothing is sent. Returns the unsubscribe function.
   */
  listen(jobId: string, handler: (e: StoredJobEvent) => void): () => Promise<void> {
    if (!this.#reply) throw new Error('listen() needs a reply channel; use subscribe()');
    this.#refuseWhileLost();
    return this.#register(jobId, handler);
  }

  /**
   * Listen to a job's live events from now on (a job accepted elsewhere or earlier): with a
   * reply channel, the job is asked to publish on it too (one script); a job that publishes
   * only on its own channel, and every job without a reply channel, is subscribed to.
   * Resolves once no later event can be missed. Returns the unsubscribe function.
   */
  async subscribe(jobId: string, handler: (e: StoredJobEvent) => void): Promise<() => Promise<void>> {
    this.#refuseWhileLost();
    if (this.#reply) {
      const unregister = this.#register(jobId, handler);
      try {
        if (await this.#store!.attachReply(jobId, this.#reply)) return unregister;
      } catch (error) {
        await unregister();
        throw error;
      }
      await unregister();
    }
    return this.#channels.listen(this.#keys.jobChannel(jobId), (message) => handler(parseEventMessage(message)));
  }

  /** Channels and reply-channel jobs currently listened to (for metrics and leak tests). */
  get size(): number {
    return this.#channels.size - (this.#replyListening ? 1 : 0) + this.#byJob.size;
  }

  // The subscriber queues commands while it reconnects (so it can resubscribe), which would
  // hold the request until Redis is back: refuse at once instead, as the request path does.
  // A first connection still being made is waited for, as before.
  #refuseWhileLost(): void {
    if (this.#lost)
      throw new RedisOfflineError(`The job subscriber lost its Redis connection (${this.#sub.status}); retry shortly.`);
  }

  #register(jobId: string, handler: (e: StoredJobEvent) => void): () => Promise<void> {
    let set = this.#byJob.get(jobId);
    if (!set) {
      set = new Set();
      this.#byJob.set(jobId, set);
    }
    set.add(handler);
    return async () => {
      const s = this.#byJob.get(jobId);
      if (s?.delete(handler) && s.size === 0) this.#byJob.delete(jobId);
    };
  }

  /**
   * After a reconnect: what reply-channel jobs published meanwhile is in their logs. Read once
   * the channel is subscribed again (subscribing twice is harmless), so an event is either
   * delivered live or in the log read after.
   */
  #catchUp(): void {
    if (!this.#reply || this.#byJob.size === 0) return;
    void this.#channels
      .resubscribe()
      .then(() =>
        Promise.all(
          [...this.#byJob].map(async ([jobId, handlers]) => {
            const events = await this.#store!.events(jobId);
            for (const e of events) for (const h of [...handlers]) h(e);
          }),
        ),
      )
      .catch(() => {});
  }
}
