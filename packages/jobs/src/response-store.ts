import { loadScripts, type Keys, type Redis } from '@sluice/redis';
import type { ChatMessage } from '@sluice/queues';

const SCRIPTS = loadScripts('jobs', new URL('./lua/', import.meta.url), { claimResponseHead: {} });

/** A response kept for `GET /v1/responses/{id}` and `previous_response_id` (Responses API, `store: true`). */
export interface StoredResponse {
  /** `resp_<jobId>`. */
  id: string;
  tenant: string;
  jobId: string;
  /** The Sluice conversation (`conversation_id`) the turn ran in, if it continued one. */
  conversationId?: string;
  previousResponseId?: string;
  /** The turn's messages without system ones: its input, then the assistant's output. */
  turn: ChatMessage[];
  /** The `response` object as the client received it. */
  response: Record<string, unknown>;
}

/** Options for {@link ResponseStore}. */
export interface ResponseStoreOptions {
  redis: Redis;
  keys: Keys;
  /** How long a response (and its conversation head) stays usable, in seconds. @defaultValue 604_800 */
  ttlSeconds?: number;
}

/**
 * Stored responses and the head of each conversation they form. A response is stored when
 * its job finished; a new one continuing it moves the conversation's head atomically.
 */
export class ResponseStore {
  readonly #redis: Redis;
  readonly #keys: Keys;
  readonly #ttl: number;

  constructor(options: ResponseStoreOptions) {
    this.#redis = options.redis;
    this.#keys = options.keys;
    this.#ttl = options.ttlSeconds ?? 604_800;
    if (!Number.isInteger(this.#ttl) || this.#ttl < 1)
      throw new Error(`Expected \`ttlSeconds\` to be an integer ≥ 1, got \`${String(options.ttlSeconds)}\``);
  }

  #key(id: string) {
    return this.#keys.family('resp', id);
  }

  #head(conversationId: string) {
    return this.#keys.family('resp-head', conversationId);
  }

  /** Store a finished response. */
  async save(record: StoredResponse): Promise<void> {
    await this.#redis.set(this.#key(record.id), JSON.stringify(record), 'EX', this.#ttl);
  }

  /** A tenant's stored response, or undefined (another tenant's response is not found either). */
  async get(tenant: string, id: string): Promise<StoredResponse | undefined> {
    const raw = await this.#redis.get(this.#key(id));
    if (!raw) return undefined;
    const record = JSON.parse(raw) as StoredResponse;
    return record.tenant === tenant ? record : undefined;
  }

  /** Delete a tenant's stored response; true when it existed. */
  async delete(tenant: string, id: string): Promise<boolean> {
    if (!(await this.get(tenant, id))) return false;
    return (await this.#redis.del(this.#key(id))) === 1;
  }

  /** Make `responseId` the head of a conversation that starts now. */
  async startConversation(conversationId: string, responseId: string): Promise<void> {
    await this.#redis.set(this.#head(conversationId), responseId, 'EX', this.#ttl);
  }

  /** Move the head from `previousId` to `responseId`; false when `previousId` is no longer the head. */
  async claimHead(conversationId: string, previousId: string, responseId: string): Promise<boolean> {
    const claimed = await SCRIPTS.claimResponseHead.run(
      this.#redis,
      [this.#head(conversationId)],
      [previousId, responseId, this.#ttl],
    );
    return claimed === 1;
  }
}
