import { loadScripts, type Keys, type Redis } from '@sluice/redis';
import type { ChatMessage } from '@sluice/queues';
import { InvalidRoutingOptionsError } from '../errors.ts';
import type { StoredSummary } from './build.ts';
import type { ConstraintBuffer } from './constraints.ts';

/** Which conversation: a tenant's `conversation_id`, or a key derived from a client-sent history. */
export interface ConversationRef {
  tenant: string;
  id: string;
}

/** Options for {@link createContextStore}. */
export interface ContextStoreOptions {
  redis: Redis;
  keys: Keys;
  /** Idle time after which a conversation's keys expire (every write refreshes it). @defaultValue 604_800 (7 days) */
  ttlSeconds?: number;
  /** Most messages kept per stored conversation; older ones are trimmed. @defaultValue 2_000 */
  maxMessages?: number;
}

/** What is stored for a conversation. */
export interface StoredConversation {
  /** Stored messages (only for conversations kept under `conversation_id`). */
  messages: ChatMessage[];
  /** Absolute index of `messages[0]`. */
  offset: number;
  summary?: StoredSummary;
  constraints: ConstraintBuffer;
}

/** Per-conversation summary, constraints and messages in Redis, every key TTL'd. */
export interface ContextStore {
  load(conversation: ConversationRef): Promise<StoredConversation>;
  /** Append messages (a stored conversation's new turn, or the reply); returns the new offset. */
  append(conversation: ConversationRef, messages: readonly ChatMessage[]): Promise<number>;
  /** Replace the constraint buffer. */
  saveConstraints(conversation: ConversationRef, buffer: ConstraintBuffer): Promise<void>;
  /** Store a summary unless a newer one is there; clears the pending-job marker. True when stored. */
  saveSummary(conversation: ConversationRef, summary: StoredSummary): Promise<boolean>;
  /** Claim the right to enqueue a summary job (one at a time per conversation). */
  claimSummaryJob(conversation: ConversationRef, ttlMs: number): Promise<boolean>;
  /** Delete everything stored for a conversation. */
  clear(conversation: ConversationRef): Promise<void>;
}

const SCRIPTS = loadScripts('routing', new URL('../lua/', import.meta.url), { saveSummary: {}, appendMessages: {} });

/** Create a {@link ContextStore}. */
export function createContextStore(options: ContextStoreOptions): ContextStore {
  const { redis, keys } = options;
  const ttl = options.ttlSeconds ?? 604_800;
  const cap = options.maxMessages ?? 2_000;
  if (!Number.isInteger(ttl) || ttl < 1)
    throw new InvalidRoutingOptionsError(`Expected \`ttlSeconds\` to be an integer ≥ 1, got \`${String(ttl)}\``);
  if (!Number.isInteger(cap) || cap < 1)
    throw new InvalidRoutingOptionsError(`Expected \`maxMessages\` to be an integer ≥ 1, got \`${String(cap)}\``);

  // One hash tag per conversation: its keys sit on one cluster slot, so the scripts can
  // touch them together, and conversations spread across shards.
  const k = (c: ConversationRef) => {
    const tag = `${encodeURIComponent(c.tenant)}/${encodeURIComponent(c.id)}`;
    return {
      messages: keys.family('conv', tag, 'messages'),
      meta: keys.family('conv', tag, 'meta'),
      summary: keys.family('conv', tag, 'summary'),
      constraints: keys.family('conv', tag, 'constraints'),
      pending: keys.family('conv', tag, 'summary-pending'),
    };
  };

  return {
    async load(conversation) {
      const key = k(conversation);
      const results =
        (await redis
          .pipeline()
          .lrange(key.messages, 0, -1)
          .hget(key.meta, 'appended')
          .hgetall(key.summary)
          .hgetall(key.constraints)
          .exec()) ?? [];
      const [raw, appended, summary, constraints] = results.map(([error, value]) => {
        if (error) throw error;
        return value;
      });
      const messages = ((raw ?? []) as string[]).map((m) => JSON.parse(m) as ChatMessage);
      const s = (summary ?? {}) as Record<string, string>;
      return {
        messages,
        offset: Math.max(0, Number(appended ?? 0) - messages.length),
        summary:
          s.text !== undefined
            ? {
                text: s.text,
                coversUpTo: Number(s.coversUpTo),
                lastCoveredHash: s.lastCoveredHash ?? '',
                updatedAt: Number(s.updatedAt),
              }
            : undefined,
        constraints: Object.fromEntries(
          Object.entries((constraints ?? {}) as Record<string, string>).map(([name, json]) => [name, JSON.parse(json)]),
        ) as ConstraintBuffer,
      };
    },
    async append(conversation, messages) {
      const key = k(conversation);
      if (!messages.length)
        return Number((await redis.hget(key.meta, 'appended')) ?? 0) - (await redis.llen(key.messages));
      return Number(
        await SCRIPTS.appendMessages.run(
          redis,
          [key.messages, key.meta, key.summary, key.constraints, key.pending],
          [cap, ttl, ...messages.map((m) => JSON.stringify(m))],
        ),
      );
    },
    async saveConstraints(conversation, buffer) {
      const key = k(conversation);
      const entries = Object.entries(buffer).flatMap(([name, c]) => [name, JSON.stringify(c)]);
      const tx = redis.multi().del(key.constraints);
      if (entries.length) tx.hset(key.constraints, ...entries).expire(key.constraints, ttl);
      await tx.exec();
    },
    async saveSummary(conversation, summary) {
      const key = k(conversation);
      return (
        (await SCRIPTS.saveSummary.run(
          redis,
          [key.summary, key.pending],
          [summary.text, summary.coversUpTo, summary.lastCoveredHash, summary.updatedAt, ttl],
        )) === 1
      );
    },
    async claimSummaryJob(conversation, ttlMs) {
      return (await redis.set(k(conversation).pending, '1', 'PX', ttlMs, 'NX')) === 'OK';
    },
    async clear(conversation) {
      const key = k(conversation);
      await redis.del(key.messages, key.meta, key.summary, key.constraints, key.pending);
    },
  };
}
