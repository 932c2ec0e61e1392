import type { Redis } from './index.ts';

/** Receives one message of a channel listened to. */
export type ChannelHandler = (message: string, channel: string) => void;

/**
 * Many listeners over one subscribed connection: a channel is subscribed (SSUBSCRIBE) when its
 * first handler arrives and unsubscribed when its last one leaves, and each message is handed
 * to the channel's handlers. Sharded channels, so on a Redis Cluster a message stays on the
 * shard of its channel's hash tag instead of being copied to every node.
 *
 * Pub/sub is not durable: a message published while the connection was down is lost. Users
 * keep the truth elsewhere (a job's event log, a cache entry) and treat a message as a hint to
 * read it sooner.
 */
export class ShardedSubscriber {
  readonly #connection: Redis;
  readonly #handlers = new Map<string, Set<ChannelHandler>>();
  /** Per channel, the subscription in flight or done: a second listener waits for the same one. */
  readonly #subscribed = new Map<string, Promise<unknown>>();

  /** @param connection a connection created with `subscriber: true`, used by nothing else */
  constructor(connection: Redis) {
    this.#connection = connection;
    connection.on('smessage', (channel: string, message: string) => {
      const handlers = this.#handlers.get(channel);
      if (!handlers) return;
      for (const handler of [...handlers]) handler(message, channel);
    });
  }

  /** The subscribed connection (for its status and events). */
  get connection(): Redis {
    return this.#connection;
  }

  /** Channels with at least one handler. */
  get size(): number {
    return this.#handlers.size;
  }

  /**
   * Adds `handler` to `channel`. Resolves once Redis has confirmed the subscription, so a
   * message published after that is delivered; rejects (and adds nothing) if it fails.
   * Returns the function that removes the handler again.
   */
  async listen(channel: string, handler: ChannelHandler): Promise<() => Promise<void>> {
    let handlers = this.#handlers.get(channel);
    if (!handlers) this.#handlers.set(channel, (handlers = new Set()));
    handlers.add(handler);
    let subscription = this.#subscribed.get(channel);
    if (!subscription) this.#subscribed.set(channel, (subscription = this.#connection.ssubscribe(channel)));
    try {
      await subscription;
    } catch (error) {
      if (this.#subscribed.get(channel) === subscription) this.#subscribed.delete(channel);
      await this.#remove(channel, handler);
      throw error;
    }
    return () => this.#remove(channel, handler);
  }

  /**
   * Subscribes to the channels that have handlers again (after a reconnect, when the
   * connection does not resubscribe by itself). Subscribing twice is harmless.
   */
  async resubscribe(): Promise<void> {
    await Promise.all([...this.#handlers.keys()].map((channel) => this.#connection.ssubscribe(channel)));
  }

  async #remove(channel: string, handler: ChannelHandler): Promise<void> {
    const handlers = this.#handlers.get(channel);
    if (!handlers?.delete(handler) || handlers.size > 0) return;
    this.#handlers.delete(channel);
    this.#subscribed.delete(channel);
    await this.#connection.sunsubscribe(channel).catch(() => {});
  }
}
