import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  duplicateRedis,
  ShardedSubscriber,
  WriteBehindCounters,
  type CounterBatch,
  type Keys,
  type Redis,
} from '@sluice/redis';
import type { CacheMode, CategoryName, ChatRequest, TierName } from '@sluice/queues';
import type { Embedder } from './embedder.ts';
import { CacheOptionsError, CacheRequestError, isEmbeddingError } from './errors.ts';
import {
  categoryTtlSeconds,
  shouldLookup,
  shouldStore,
  type BypassReason,
  type CacheConfig,
  type CompletionLike,
  type StoreSkipReason,
} from './policy.ts';
import { computeScope, parseExactKey, scopeName, semanticPrompt, type CacheScope } from './scope.ts';
import { summarizeCounters, type CacheStats, type MissReason } from './stats.ts';
import { analyzePrompt, verifyMatch, type PromptFeatures, type RejectionReason, type VerifyOptions } from './verify.ts';

/** Structured logger (pino's `Logger` fits). */
export interface CacheLogger {
  warn(object: Record<string, unknown>, message: string): void;
  debug?(object: Record<string, unknown>, message: string): void;
}

/** How vectors are stored in the vector sets (VADD's quantisation). */
export type Quantization = 'q8' | 'noquant' | 'bin';

/** Options for {@link ResponseCache}. */
export interface ResponseCacheOptions {
  /** Connection for every command (the API's `request` role or a worker's). Not closed by the cache. */
  redis: Redis;
  /** Key helper built from the configured prefix. */
  keys: Keys;
  /** Embedder for prompts that arrive without an embedding (see {@link createEmbedder}). */
  embedder: Embedder;
  /**
   * Word-vector similarity from which verification accepts a content word present on one
   * side only as a rewording of one on the other on vectors alone (needs an embedder with
   * `wordSimilarity`). Without it a reworded content word needs a WordNet synonym whose
   * vector agrees ({@link SYNONYM_SENSE_SIMILARITY}), or spelling, stem or the synonym list. Off by default:
   * static word vectors place co-hyponyms as close as synonyms (cat/dog 0.88,
   * mechanical/electrical 0.81 vs buy/purchase 0.83, big/large 0.71), so no threshold keeps
   * "How do I feed my cat?" from answering "… my dog?"; on the public dev sets it bought 2–7
   * duplicate questions of 200 for 1–3 false hits. @defaultValue off (`Infinity`); `CONTENT_WORD_SIMILARITY` (0.7) when enabled
   */
  contentWordSimilarity?: number;
  /** The `cache` section of the configuration, as loaded. */
  config: CacheConfig;
  /** Milliseconds since the epoch; every expiry decision uses it. @defaultValue `Date.now` */
  clock?: () => number;
  logger?: CacheLogger;
  /**
   * Similarity thresholds per tenant, over the category and global ones (a per-call
   * `threshold` wins over these). @defaultValue `{}`
   */
  thresholdByTenant?: Readonly<Record<string, number>>;
  /** Neighbours `VSIM` returns for verification. @defaultValue 5 */
  candidates?: number;
  /** Vector quantisation. Q8 is 4× smaller than float32 with a recall loss far below the threshold margins. @defaultValue `'q8'` */
  quantization?: Quantization;
  /**
   * `VSIM`'s exploration factor: how many graph nodes a search visits. Lower is faster; a
   * neighbour the search misses only costs a cache miss, never a wrong answer. Measured here
   * (20,000 Q8 vectors, 2 busy cores): Redis's default 2.3 ms per search, EF 100 1.3 ms,
   * EF 50 0.74 ms. @defaultValue 100
   */
  searchEf?: number;
  /**
   * Run `VSIM` on Redis's main thread (`NOTHREAD`) instead of a worker thread. On small
   * namespaces the thread hand-off dominates (5,000 Q8 vectors, 2 busy cores: 0.69 ms with
   * NOTHREAD vs 3.6 ms threaded), but a search on a large namespace then blocks every other
   * command — queues and limiters share this Redis — for its whole duration (100,000
   * vectors: ~12 ms per search on the same busy machine). Off by default for that reason.
   * @defaultValue false
   */
  searchInMainThread?: boolean;
  /** Prompts longer than this (characters) are cached at the exact level only. @defaultValue 2_000 */
  maxSemanticPromptChars?: number;
  /** Interval of the sweeper that {@link ResponseCache.start} runs. @defaultValue 60_000 */
  sweepIntervalMs?: number;
  /** Most expired entries one sweep removes (bounded work per call). @defaultValue 500 */
  sweepBatch?: number;
  /** Days of counters kept in Redis. @defaultValue 35 */
  statsRetentionDays?: number;
  /**
   * How long counter increments add up in this process before one pipelined write sends them
   * (ms). Counting each lookup with its own `HINCRBY` was 2 of the 28 Redis commands of an
   * exact hit and 7 of the ~265 of a miss (measured with `INFO commandstats`); summed here
   * they cost a few commands per process per interval. {@link ResponseCache.stats} writes this
   * process's pending counts first, and {@link ResponseCache.close} writes what is left; other
   * processes' counts show up within this interval. 0 writes each increment at once.
   * @defaultValue 1_000
   */
  statsFlushMs?: number;
  /**
   * After {@link ResponseCache.store} refuses an answer (truncated, no-store, …), identical
   * requests arriving within this time are not coalesced: waiting for a leader whose answer
   * cannot be shared would only serve them one after another. @defaultValue 10_000
   */
  uncoalescedMs?: number;
  /** How often a fill waiter re-checks when no notification arrives. @defaultValue 100 */
  fillPollMs?: number;
  /** Connection for fill notifications (pub/sub). @defaultValue `redis.duplicate()`, created on first wait and closed by `close()` */
  subscriber?: Redis;
}

/** What identifies a request to the cache. */
export interface CacheRequestContext {
  tenant: string;
  /** Tier that answers the request. */
  tier: TierName;
  /** Upstream model that answers it. */
  model: string;
  request: ChatRequest;
  /** The tenant's `cacheShareGroup`; tenants naming the same non-empty group share entries. @defaultValue isolated */
  shareGroup?: string;
}

/** Input of {@link ResponseCache.lookup}. */
export interface LookupInput extends CacheRequestContext {
  /** The classifier's category. Absent (API fast path): only the entry's own expiry applies. */
  category?: CategoryName;
  /** @defaultValue `'default'` */
  cacheMode?: CacheMode;
  /** The job's embedding of {@link ResponseCache.embedPrompt}; computed when absent and needed. */
  embedding?: ArrayLike<number>;
  /** Use the semantic level (if `config.semantic` allows). The API's fast path passes false: exact only, no embedding. @defaultValue true */
  semantic?: boolean;
  /**
   * Read the exact level. False: the caller has just read it in a `semantic: false` lookup and
   * now wants the semantic level only (the API's fast path), so the same key is not read
   * twice. @defaultValue true
   */
  exact?: boolean;
  /** Threshold for this call (e.g. from the tenant record), over every configured one. */
  threshold?: number;
  /**
   * {@link ResponseCache.scope} of this same input, when the caller has already worked it out
   * (one request looked up in two passes, or looked up then stored): hashing the scope is
   * 3–6 % of a process's CPU on the miss path. @defaultValue computed here
   */
  scope?: CacheScope;
}

/** A semantic candidate that verification turned down. */
export interface Rejection {
  entryId: string;
  similarity: number;
  reason: RejectionReason;
  detail: string;
}

/** An answer the cache can serve. */
export interface CacheHit {
  hit: true;
  kind: 'exact' | 'semantic';
  /** 1 for exact hits; the calibrated similarity for semantic ones (`x-sluice-cache-similarity`). */
  similarity: number;
  /** Raw cosine of the vectors (semantic hits). */
  cosine?: number;
  /** The stored `chat.completion` object, as the upstream returned it. */
  completion: CompletionLike;
  entryId: string;
  /** Job that produced the answer. */
  sourceJobId: string;
  namespace: string;
  exactKey: string;
  category: CategoryName;
  createdAt: number;
  expiresAt: number;
  /** Candidates turned down before this one. */
  rejections: Rejection[];
}

/** No answer from the cache. */
export interface CacheMiss {
  hit: false;
  /** `bypass`: the cache was not consulted (`x-sluice-cache: bypass`); `miss`: it was, and had nothing safe. */
  kind: 'miss' | 'bypass';
  reason: MissReason | BypassReason;
  /** Absent for bypasses. */
  namespace?: string;
  exactKey?: string;
  rejections: Rejection[];
  /** Best calibrated similarity seen, if any neighbour was found. */
  bestSimilarity?: number;
  /** The embedding computed for this lookup, to hand to {@link ResponseCache.store}. */
  embedding?: Float32Array;
}

/** Result of {@link ResponseCache.lookup}. */
export type LookupResult = CacheHit | CacheMiss;

/** Input of {@link ResponseCache.store}. */
export interface StoreInput extends CacheRequestContext {
  category: CategoryName;
  /** @defaultValue `'default'` */
  cacheMode?: CacheMode;
  /** The upstream's `chat.completion` object. */
  completion: unknown;
  /** Job that produced it (provenance). */
  jobId: string;
  /** The job's embedding; computed when absent and needed. */
  embedding?: ArrayLike<number>;
  /** The job failed: nothing is stored. */
  error?: unknown;
  /**
   * {@link ResponseCache.scope} of this same input, when the caller has already worked it out
   * (one request looked up in two passes, or looked up then stored): hashing the scope is
   * 3–6 % of a process's CPU on the miss path. @defaultValue computed here
   */
  scope?: CacheScope;
}

/** Result of {@link ResponseCache.store}. */
export type StoreResult =
  | {
      stored: true;
      entryId: string;
      exactKey: string;
      namespace: string;
      expiresAt: number;
      semantic: boolean;
      evicted: number;
    }
  | { stored: false; reason: StoreSkipReason };

/** The caller that won the fill: call upstream, {@link ResponseCache.store}, then `release()`. */
export interface FillLeader {
  leader: true;
  /**
   * False when identical requests were just found not to be cacheable: no lock was taken and
   * every caller goes upstream on its own (`release()` does nothing).
   */
  coordinated: boolean;
  exactKey: string;
  /** Release the lock and wake the waiters. Idempotent; call it in `finally`. */
  release(): Promise<void>;
}

/** A caller that lost the fill: wait for the leader's entry. */
export interface FillWaiter {
  leader: false;
  exactKey: string;
  /**
   * The leader's entry once stored, or undefined when the leader released without storing
   * (an uncacheable answer or an error), its lock expired (it died), or `timeoutMs` passed.
   * On undefined call {@link ResponseCache.acquireFill} again: after a failed or dead leader
   * one waiter becomes the new leader (no deadlock); after an answer {@link store} refused,
   * every caller is let through at once (`coordinated: false`) instead of one at a time.
   */
  wait(timeoutMs: number): Promise<CacheHit | undefined>;
}

/** Result of {@link ResponseCache.acquireFill}. */
export type Fill = FillLeader | FillWaiter;

/** What {@link ResponseCache.purge} removes. */
export type PurgeTarget =
  /** The tenant's isolated entries, and those of its sharing group when given (shared entries cannot be told apart by author; purging more is safe). */
  | { tenant: string; shareGroup?: string }
  /** A sharing group's entries. */
  | { shareGroup: string }
  /** One namespace (as reported by lookups). */
  | { namespace: string };

/** Result of {@link ResponseCache.purge}. */
export interface PurgeResult {
  namespaces: number;
  entries: number;
}

/** Result of {@link ResponseCache.sweepExpired}. */
export interface SweepResult {
  /** Index entries looked at (at most `limit`). */
  scanned: number;
  /** Expired entries removed (vector element, indexes, entry key). */
  removed: number;
  /** More expired entries are waiting: call again. */
  more: boolean;
}

/** The entry as stored in Redis (one JSON string per entry). */
interface StoredEntry {
  v: 1;
  id: string;
  namespace: string;
  scope: string;
  tenant: string;
  tier: TierName;
  model: string;
  category: CategoryName;
  prompt: string;
  completion: CompletionLike;
  createdAt: number;
  expiresAt: number;
  sourceJobId: string;
}

interface CacheCommands {
  sluiceCacheStore(
    entry: string,
    vectors: string,
    age: string,
    expiry: string,
    noFill: string,
    ...args: Array<string | number | Buffer>
  ): Promise<string[]>;
  sluiceCacheRemove(vectors: string, age: string, expiry: string, ...args: Array<string | number>): Promise<string[]>;
  sluiceCacheReleaseFill(lock: string, token: string, channel: string): Promise<number>;
  sluiceCacheAcquireFill(lock: string, marker: string, token: string, ttlMs: number): Promise<number>;
  sluiceCacheLookup(
    entry: string,
    vectors: string,
    vector: Buffer | string,
    ...searchArgs: string[]
  ): Promise<[string | null, string[]]>;
}

const lua = (name: string) => readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8');
const STORE_ENTRY = lua('store-entry');
const REMOVE_ENTRIES = lua('remove-entries');
const RELEASE_FILL = lua('release-fill');
const ACQUIRE_FILL = lua('acquire-fill');
const LOOKUP_ENTRY = lua('lookup-entry');
const QUANT_ARG: Record<Quantization, string> = { q8: 'Q8', noquant: 'NOQUANT', bin: 'BIN' };
const DAY_MS = 86_400_000;
// Features of recently seen stored prompts: popular entries are candidates again and again,
// and analysing a prompt costs ~50 µs. 2,000 prompts of ≤ 2,000 chars bound it to a few MB.
const FEATURE_CACHE_SIZE = 2_000;
const PURGE_BATCH = 1_000;
const UNMARKED_SKIPS: ReadonlySet<StoreSkipReason> = new Set(['error', 'not-a-completion', 'disabled']);

function checkInteger(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min)
    throw new CacheOptionsError(`Expected \`${name}\` to be an integer ≥ ${min}, got \`${String(value)}\``);
  return value;
}

function checkThreshold(name: string, value: unknown): void {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1))
    throw new CacheOptionsError(`Expected \`${name}\` to be a number in [0, 1], got \`${String(value)}\``);
}

/**
 * The verification options the cache derives from its embedder: its word vectors and
 * thesaurus, when it has them (exported for the diagnosis script, which must judge exactly
 * as the cache does).
 */
export function verifyOptionsFor(embedder: Embedder, contentWordSimilarity?: number): VerifyOptions {
  const similarity = embedder.wordSimilarity?.bind(embedder);
  const synonyms = embedder.synonyms?.bind(embedder);
  return similarity
    ? { wordSimilarity: similarity, synonyms, contentWordSimilarity: contentWordSimilarity ?? Number.POSITIVE_INFINITY }
    : {};
}

/**
 * Exact + semantic response cache on Redis 8, shared by every process.
 *
 * - **Exact level**: one key per (namespace, normalised last user message); a `GET`.
 * - **Semantic level**: one vector set per namespace; `VSIM` top-k, threshold, then
 *   {@link verifyMatch} on each candidate, best verified candidate wins.
 * - **Freshness**: absolute expiry per category TTL, checked against the injected clock on
 *   every read (a hit never extends it); a sweeper removes expired vector elements; each
 *   namespace is capped, oldest evicted first.
 * - **Stampede**: {@link ResponseCache.acquireFill} makes identical concurrent misses, in any
 *   process, wait for one leader.
 *
 * Keys (all under the configured prefix, hash-tagged per namespace for Redis Cluster):
 * `{cache:NS}:e:ID` entry JSON (TTL), `{cache:NS}:v:TAG` vector set, `{cache:NS}:age` and
 * `{cache:NS}:exp` indexes (TTL ≥ longest entry, capped), `{cache:NS}:fill:ID` stampede lock
 * (TTL), `{cache-scope:SCOPE}:ns` namespaces of a tenant or group (TTL, trimmed on write),
 * `{cache-meta:all}:expiry` sweep index (swept), `{cache-meta:all}:stats:DAY` counters (TTL).
 */
export class ResponseCache {
  readonly #redis: Redis & CacheCommands;
  readonly #keys: Keys;
  readonly #embedder: Embedder;
  readonly #config: CacheConfig;
  readonly #clock: () => number;
  readonly #logger: CacheLogger | undefined;
  readonly #thresholdByTenant: Readonly<Record<string, number>>;
  readonly #candidates: number;
  readonly #searchArgs: string[];
  readonly #quantization: Quantization;
  readonly #maxSemanticPromptChars: number;
  readonly #sweepIntervalMs: number;
  readonly #sweepBatch: number;
  readonly #statsRetentionDays: number;
  /** Lookup, store and fill counters: added up in the process, written in the background. */
  readonly #counters: WriteBehindCounters;
  #statsKeyDay: { day: number; key: string } | undefined;
  readonly #fillPollMs: number;
  readonly #uncoalescedMs: number;
  readonly #vectorTag: string;
  readonly #expiryIndex: string;
  #subscriber: Redis | undefined;
  readonly #ownsSubscriber: boolean;
  #fills: Promise<ShardedSubscriber | undefined> | undefined;
  /** Every waiter's wake-up, so close() ends their waits at once. */
  readonly #waiters = new Set<() => void>();
  #sweepTimer: NodeJS.Timeout | undefined;
  #sweeping = false;
  #closed = false;
  readonly #expiringDays = new Set<string>();
  readonly #features = new Map<string, PromptFeatures>();
  readonly #verifyOptions: VerifyOptions;

  constructor(options: ResponseCacheOptions) {
    if (!options.redis) throw new CacheOptionsError('Expected a `redis` connection');
    if (!options.keys) throw new CacheOptionsError('Expected `keys` (createKeys(prefix))');
    if (!options.embedder) throw new CacheOptionsError('Expected an `embedder` (createEmbedder(config.embeddings))');
    if (!options.config) throw new CacheOptionsError('Expected the cache `config` section');
    const config = options.config;
    checkThreshold('config.threshold', config.threshold);
    for (const [category, value] of Object.entries(config.thresholdByCategory ?? {}))
      checkThreshold(`config.thresholdByCategory.${category}`, value);
    for (const [tenant, value] of Object.entries(options.thresholdByTenant ?? {}))
      checkThreshold(`thresholdByTenant.${tenant}`, value);
    checkInteger('config.namespaceCap', config.namespaceCap, 1);
    this.#quantization = options.quantization ?? 'q8';
    if (!(this.#quantization in QUANT_ARG))
      throw new CacheOptionsError(
        `Expected \`quantization\` to be one of q8, noquant, bin, got \`${String(options.quantization)}\``,
      );
    this.#candidates = checkInteger('candidates', options.candidates ?? 5, 1);
    const searchEf = checkInteger('searchEf', options.searchEf ?? 100, this.#candidates);
    this.#searchArgs = [
      'WITHSCORES',
      'COUNT',
      String(this.#candidates),
      'EF',
      String(searchEf),
      ...(options.searchInMainThread ? ['NOTHREAD'] : []),
    ];
    this.#maxSemanticPromptChars = checkInteger('maxSemanticPromptChars', options.maxSemanticPromptChars ?? 2_000, 1);
    this.#sweepIntervalMs = checkInteger('sweepIntervalMs', options.sweepIntervalMs ?? 60_000, 1);
    this.#sweepBatch = checkInteger('sweepBatch', options.sweepBatch ?? 500, 1);
    this.#statsRetentionDays = checkInteger('statsRetentionDays', options.statsRetentionDays ?? 35, 1);
    this.#counters = new WriteBehindCounters({
      flushMs: checkInteger('statsFlushMs', options.statsFlushMs ?? 1_000, 0),
      write: (batch) => this.#writeCounts(batch),
    });
    this.#fillPollMs = checkInteger('fillPollMs', options.fillPollMs ?? 100, 1);
    this.#uncoalescedMs = checkInteger('uncoalescedMs', options.uncoalescedMs ?? 10_000, 1);

    this.#redis = options.redis as Redis & CacheCommands;
    this.#keys = options.keys;
    this.#embedder = options.embedder;
    this.#config = config;
    this.#clock = options.clock ?? Date.now;
    this.#logger = options.logger;
    this.#verifyOptions = verifyOptionsFor(this.#embedder, options.contentWordSimilarity);
    if (this.#embedder.notice) this.#logger?.warn({ embedder: this.#embedder.id }, this.#embedder.notice);
    this.#thresholdByTenant = options.thresholdByTenant ?? {};
    this.#subscriber = options.subscriber;
    this.#ownsSubscriber = !options.subscriber;
    // One vector set per embedder and quantisation: vectors of different spaces must never
    // be compared, and VADD refuses a quantisation other than the set's.
    this.#vectorTag = createHash('sha256')
      .update(`${this.#embedder.id}|${this.#quantization}`)
      .digest('hex')
      .slice(0, 8);
    this.#expiryIndex = this.#keys.family('cache-meta', 'all', 'expiry');

    const redis = this.#redis as unknown as Record<string, unknown>;
    if (typeof redis.sluiceCacheLookup !== 'function')
      this.#redis.defineCommand('sluiceCacheLookup', { numberOfKeys: 2, lua: LOOKUP_ENTRY });
    if (typeof redis.sluiceCacheStore !== 'function') {
      this.#redis.defineCommand('sluiceCacheStore', { numberOfKeys: 5, lua: STORE_ENTRY });
      this.#redis.defineCommand('sluiceCacheRemove', { numberOfKeys: 3, lua: REMOVE_ENTRIES });
      this.#redis.defineCommand('sluiceCacheReleaseFill', { numberOfKeys: 1, lua: RELEASE_FILL });
      this.#redis.defineCommand('sluiceCacheAcquireFill', { numberOfKeys: 2, lua: ACQUIRE_FILL });
    }
  }

  /** The embedder in use (its `id` names the vector space). */
  get embedder(): Embedder {
    return this.#embedder;
  }

  /** Start the background sweeper (every `sweepIntervalMs`). Idempotent. */
  start(): void {
    if (this.#sweepTimer || this.#closed) return;
    this.#sweepTimer = setInterval(() => void this.#sweepInBackground(), this.#sweepIntervalMs);
    this.#sweepTimer.unref();
  }

  /** Stop the sweeper and close the subscriber the cache opened. Idempotent; the `redis` connection passed in stays open. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#sweepTimer) clearInterval(this.#sweepTimer);
    this.#sweepTimer = undefined;
    // The counts of this process's last lookups, on the connection the caller still holds.
    await this.#counters.close();
    for (const wake of this.#waiters) wake();
    this.#waiters.clear();
    const subscriber = this.#subscriber;
    if (subscriber && this.#ownsSubscriber) {
      try {
        await subscriber.quit();
      } catch {
        subscriber.disconnect();
      }
    }
  }

  /** Namespace, exact key and prompt of a request (no Redis call). */
  scope(input: CacheRequestContext): CacheScope {
    return computeScope(input, this.#maxSemanticPromptChars);
  }

  /**
   * The text embedded for a request: its last user message, or undefined when the request
   * can only be cached exactly (no user message, images, very long). The classifier embeds
   * it once per job and passes the vector on to routing and to {@link lookup}/{@link store}.
   */
  embedPrompt(request: ChatRequest): string | undefined {
    return semanticPrompt(request, this.#maxSemanticPromptChars);
  }

  /** Embed {@link embedPrompt}'s text with the cache's embedder; undefined when there is nothing to embed. */
  async embed(request: ChatRequest): Promise<Float32Array | undefined> {
    const text = this.embedPrompt(request);
    if (text === undefined) return undefined;
    return (await this.#embedder.embed([text]))[0];
  }

  /** The similarity threshold that applies to a lookup. */
  threshold(input: { tenant: string; category?: CategoryName; threshold?: number }): number {
    if (input.threshold !== undefined) {
      if (typeof input.threshold !== 'number' || !(input.threshold >= 0 && input.threshold <= 1)) {
        throw new CacheRequestError(
          `Expected \`threshold\` to be a number in [0, 1], got \`${String(input.threshold)}\``,
        );
      }
      return input.threshold;
    }
    const tenant = this.#thresholdByTenant[input.tenant];
    if (tenant !== undefined) return tenant;
    const category = input.category === undefined ? undefined : this.#config.thresholdByCategory?.[input.category];
    return category ?? this.#config.threshold;
  }

  /**
   * Whether {@link lookup} would consult the cache for this input (no Redis call): a caller
   * that will guard a miss against a stampede can then send {@link acquireFill} together with
   * the lookup instead of after it.
   */
  wouldLookup(input: Pick<LookupInput, 'request' | 'category' | 'cacheMode'>): boolean {
    return shouldLookup(input, this.#config).lookup;
  }

  /**
   * Find an answer: the exact level first, then (when enabled and the prompt allows) the
   * semantic level with verification. Never returns an expired entry, nor one older than the
   * request's category TTL.
   */
  async lookup(input: LookupInput): Promise<LookupResult> {
    const policy = shouldLookup(input, this.#config);
    if (!policy.lookup) {
      this.#count(`bypass.${policy.reason}`);
      return { hit: false, kind: 'bypass', reason: policy.reason, rejections: [] };
    }
    const scope = input.scope ?? this.scope(input);
    const now = this.#clock();
    const maxAgeMs = input.category === undefined ? Infinity : categoryTtlSeconds(this.#config, input.category) * 1_000;
    const keys = this.#namespaceKeys(scope.namespace);
    let expired = 0;

    // With the embedding in hand, the exact read and the vector search are one round trip
    // (the search runs only when there is no exact entry).
    const semanticPossible = this.#config.semantic && input.semantic !== false && scope.semanticEligible;
    let searched: string[] | undefined;
    let exactRaw: string | null = null;
    // An embedding from another embedder (other dimensions) is not used; the prompt is embedded again below.
    const given = semanticPossible && this.#usable(input.embedding) ? this.#toVector(input.embedding!) : undefined;
    if (input.exact !== false && given) {
      [exactRaw, searched] = await this.#redis.sluiceCacheLookup(
        keys.entry(scope.entryId),
        keys.vectors,
        toBlob(given),
        ...this.#searchArgs,
      );
      if (exactRaw) searched = undefined;
    } else if (input.exact !== false) {
      exactRaw = await this.#redis.get(keys.entry(scope.entryId));
    }
    const exact = this.#parse(exactRaw);
    if (exact && this.#servable(exact, scope.namespace, now, maxAgeMs)) {
      this.#count('hit.exact');
      return this.#hit(exact, scope.namespace, 'exact', 1, undefined, []);
    }
    if (exactRaw) expired += 1;

    const miss = (reason: MissReason, extra: Partial<CacheMiss> = {}): CacheMiss => {
      if (expired) this.#count('expired', expired);
      this.#count(`miss.${reason}`);
      return {
        hit: false,
        kind: 'miss',
        reason,
        namespace: scope.namespace,
        exactKey: scope.exactKey,
        rejections: [],
        ...extra,
      };
    };

    if (!semanticPossible) return miss(expired ? 'expired' : 'not-found');

    const embedding = given ?? (await this.#embedOrUndefined(scope.prompt));
    if (!embedding) return miss(expired ? 'expired' : 'not-found');
    const reply =
      searched ??
      ((await this.#redis.call('VSIM', keys.vectors, 'FP32', toBlob(embedding), ...this.#searchArgs)) as string[]);
    const candidates: Array<{ id: string; cosine: number; similarity: number }> = [];
    for (let i = 0; i + 1 < reply.length; i += 2) {
      // VSIM scores are (1 + cosine) / 2.
      const cosine = 2 * Number(reply[i + 1]) - 1;
      candidates.push({ id: reply[i]!, cosine, similarity: this.#calibrate(cosine) });
    }
    // The exact entry was already judged above.
    const others = candidates.filter((c) => c.id !== scope.entryId).sort((a, b) => b.similarity - a.similarity);
    if (others.length === 0) return miss(expired ? 'expired' : 'no-candidates', { embedding });
    const bestSimilarity = others[0]!.similarity;
    const threshold = this.threshold(input);
    const above = others.filter((c) => c.similarity >= threshold);
    if (above.length === 0) return miss(expired ? 'expired' : 'below-threshold', { embedding, bestSimilarity });

    const raws = await this.#redis.mget(...above.map((c) => keys.entry(c.id)));
    const query = analyzePrompt(scope.prompt);
    const rejections: Rejection[] = [];
    for (const [i, candidate] of above.entries()) {
      const entry = this.#parse(raws[i] ?? null);
      if (!entry || !this.#servable(entry, scope.namespace, now, maxAgeMs)) {
        expired += 1;
        continue;
      }
      const verdict = verifyMatch(query, this.#featuresOf(entry.prompt), this.#verifyOptions);
      if (!verdict.ok) {
        rejections.push({
          entryId: candidate.id,
          similarity: candidate.similarity,
          reason: verdict.reason,
          detail: verdict.detail,
        });
        this.#count(`reject.${verdict.reason}`);
        continue;
      }
      if (expired) this.#count('expired', expired);
      this.#count('hit.semantic');
      return this.#hit(entry, scope.namespace, 'semantic', candidate.similarity, candidate.cosine, rejections);
    }
    return miss(rejections.length ? 'rejected' : 'expired', { embedding, bestSimilarity, rejections });
  }

  /**
   * Store an answer when {@link shouldStore} allows it. Expiry is absolute: now + the
   * category's TTL. Evicts the namespace's oldest entries past `config.namespaceCap`.
   */
  async store(input: StoreInput): Promise<StoreResult> {
    const policy = shouldStore(input, this.#config);
    if (!policy.store) {
      this.#count(`skip.${policy.reason}`);
      // An answer that was produced but may not be shared: identical requests waiting on a
      // fill for it must not queue up behind each other. Errors leave no mark, so a retry
      // of a failed call is still coalesced.
      if (!UNMARKED_SKIPS.has(policy.reason)) {
        try {
          const scope = input.scope ?? this.scope(input);
          await this.#redis.set(
            this.#namespaceKeys(scope.namespace).noFill(scope.entryId),
            '1',
            'PX',
            this.#uncoalescedMs,
          );
        } catch (error) {
          this.#logger?.debug?.({ err: error }, 'could not mark a refused answer as not coalescable');
        }
      }
      return { stored: false, reason: policy.reason };
    }
    const scope = input.scope ?? this.scope(input);
    const now = this.#clock();
    const ttlMs = categoryTtlSeconds(this.#config, input.category) * 1_000;
    const expiresAt = now + ttlMs;
    let vector: Float32Array | undefined;
    if (this.#config.semantic && scope.semanticEligible) {
      vector = this.#usable(input.embedding)
        ? this.#toVector(input.embedding!)
        : await this.#embedOrUndefined(scope.prompt);
    }
    const entry: StoredEntry = {
      v: 1,
      id: scope.entryId,
      namespace: scope.namespace,
      scope: scope.scope,
      tenant: input.tenant,
      tier: input.tier,
      model: input.model,
      category: input.category,
      prompt: scope.prompt,
      completion: input.completion as CompletionLike,
      createdAt: now,
      expiresAt,
      sourceJobId: input.jobId,
    };
    const keys = this.#namespaceKeys(scope.namespace);
    const evicted = await this.#redis.sluiceCacheStore(
      keys.entry(scope.entryId),
      keys.vectors,
      keys.age,
      keys.expiry,
      keys.noFill(scope.entryId),
      scope.entryId,
      JSON.stringify(entry),
      ttlMs,
      now,
      expiresAt,
      this.#config.namespaceCap,
      QUANT_ARG[this.#quantization],
      vector ? toBlob(vector) : '',
      ttlMs,
      keys.entryPrefix,
    );
    const scopeKey = this.#scopeKey(scope.scope);
    // Separate commands, not MULTI: these keys sit on other Cluster slots than the namespace.
    // ioredis still sends them in one write.
    await Promise.all([
      this.#redis.zadd(this.#expiryIndex, expiresAt, scope.exactKey),
      evicted.length
        ? this.#redis.zrem(this.#expiryIndex, ...evicted.map((id) => `${scope.namespace}.${id}`))
        : undefined,
      ...this.#extendTtl(this.#expiryIndex, ttlMs),
      // The scope's namespace list, for purge by tenant: scored by the latest expiry so that
      // namespaces with nothing left age out on the next write.
      this.#redis.zadd(scopeKey, 'GT', expiresAt, scope.namespace),
      this.#redis.zremrangebyscore(scopeKey, '-inf', now),
      ...this.#extendTtl(scopeKey, ttlMs),
    ]);
    this.#count('store');
    if (evicted.length) this.#count('evicted', evicted.length);
    return {
      stored: true,
      entryId: scope.entryId,
      exactKey: scope.exactKey,
      namespace: scope.namespace,
      expiresAt,
      semantic: vector !== undefined,
      evicted: evicted.length,
    };
  }

  /**
   * Stampede control. The first caller for an exact key becomes the leader (`SET NX PX`);
   * every other caller, in any process, gets a waiter. The lock expires after `ttlMs`, so a
   * leader that dies frees the key; make it longer than the upstream call can take.
   *
   * @param options.ttlMs - lock lifetime. @defaultValue 120_000
   */
  async acquireFill(exactKey: string, options: { ttlMs?: number } = {}): Promise<Fill> {
    const { namespace, entryId } = parseExactKey(exactKey);
    const ttlMs = checkInteger('ttlMs', options.ttlMs ?? 120_000, 1);
    const keys = this.#namespaceKeys(namespace);
    const token = randomUUID();
    const outcome = await this.#redis.sluiceCacheAcquireFill(
      keys.fillLock(entryId),
      keys.noFill(entryId),
      token,
      ttlMs,
    );
    if (outcome === 2) {
      this.#count('fill.uncoalesced');
      return { leader: true, coordinated: false, exactKey, release: () => Promise.resolve() };
    }
    if (outcome === 1) {
      this.#count('fill.leader');
      let released: Promise<void> | undefined;
      return {
        leader: true,
        coordinated: true,
        exactKey,
        release: () => {
          released ??= this.#redis
            .sluiceCacheReleaseFill(keys.fillLock(entryId), token, keys.fillChannel(entryId))
            .then(() => undefined);
          return released;
        },
      };
    }
    this.#count('fill.waiter');
    return { leader: false, exactKey, wait: (timeoutMs) => this.#waitForFill(namespace, entryId, timeoutMs) };
  }

  /** Remove every entry of a tenant, a sharing group or a namespace. */
  async purge(target: PurgeTarget): Promise<PurgeResult> {
    if ('namespace' in target) {
      if (!/^[0-9a-f]{32}$/.test(target.namespace))
        throw new CacheRequestError(`Expected a namespace of 32 hex chars, got \`${target.namespace}\``);
      const entries = await this.#purgeNamespace(target.namespace);
      return { namespaces: 1, entries };
    }
    const scopes: string[] = [];
    if ('tenant' in target) {
      if (!target.tenant) throw new CacheRequestError('Expected a non-empty `tenant` to purge');
      scopes.push(scopeName(target.tenant));
    }
    if (target.shareGroup) scopes.push(scopeName('-', target.shareGroup));
    let namespaces = 0;
    let entries = 0;
    for (const scope of scopes) {
      const scopeKey = this.#scopeKey(scope);
      const list = await this.#redis.zrange(scopeKey, 0, '-1');
      for (const namespace of list) entries += await this.#purgeNamespace(namespace);
      namespaces += list.length;
      await this.#redis.del(scopeKey);
    }
    return { namespaces, entries };
  }

  /**
   * Remove entries whose absolute expiry is at or before `now`: their vector element, index
   * entries and entry key. Does at most `limit` entries per call; `more` says to call again.
   */
  async sweepExpired(now: number = this.#clock(), limit: number = this.#sweepBatch): Promise<SweepResult> {
    checkInteger('limit', limit, 1);
    const members = await this.#redis.zrangebyscore(this.#expiryIndex, '-inf', now, 'LIMIT', 0, limit);
    const byNamespace = new Map<string, string[]>();
    for (const member of members) {
      const dot = member.indexOf('.');
      const namespace = member.slice(0, dot);
      const list = byNamespace.get(namespace) ?? [];
      list.push(member.slice(dot + 1));
      byNamespace.set(namespace, list);
    }
    let removed = 0;
    for (const [namespace, ids] of byNamespace) {
      const keys = this.#namespaceKeys(namespace);
      const gone = await this.#redis.sluiceCacheRemove(
        keys.vectors,
        keys.age,
        keys.expiry,
        String(now),
        keys.entryPrefix,
        ...ids,
      );
      removed += gone.length;
      const done = new Set(gone);
      const kept = ids.filter((id) => !done.has(id));
      if (gone.length) await this.#redis.zrem(this.#expiryIndex, ...gone.map((id) => `${namespace}.${id}`));
      // Kept ids were stored again with a later expiry; re-score them from the namespace's
      // own index so the sweeper does not meet them again before they expire.
      for (const id of kept) {
        const score = await this.#redis.zscore(keys.expiry, id);
        if (score === null) await this.#redis.zrem(this.#expiryIndex, `${namespace}.${id}`);
        else await this.#redis.zadd(this.#expiryIndex, Number(score), `${namespace}.${id}`);
      }
    }
    if (removed) this.#count('swept', removed);
    return { scanned: members.length, removed, more: members.length === limit };
  }

  /** Counters summed over the last `days` days (UTC, by the cache's clock). */
  async stats(options: { days?: number } = {}): Promise<CacheStats> {
    const days = checkInteger('days', options.days ?? 1, 1);
    // This process's own counts are in the answer, as when each was written at once.
    await this.flushStats();
    const now = this.#clock();
    const pipeline = this.#redis.pipeline();
    for (let i = 0; i < Math.min(days, this.#statsRetentionDays); i += 1)
      pipeline.hgetall(this.#statsKey(now - i * DAY_MS));
    const results = (await pipeline.exec()) ?? [];
    const embedder = this.#embedder;
    return {
      ...summarizeCounters(
        results.map(([, value]) => (value ?? {}) as Record<string, string>),
        days,
      ),
      embedder: {
        id: embedder.id,
        served: { ...(embedder.served ?? {}) },
        ...(embedder.notice ? { notice: embedder.notice } : {}),
      },
    };
  }

  #namespaceKeys(namespace: string) {
    const family = (...rest: string[]) => this.#keys.family('cache', namespace, ...rest);
    return {
      entry: (id: string) => family('e', id),
      entryPrefix: `${family('e')}:`,
      vectors: family('v', this.#vectorTag),
      age: family('age'),
      expiry: family('exp'),
      fillLock: (id: string) => family('fill', id),
      fillChannel: (id: string) => family('filled', id),
      noFill: (id: string) => family('nofill', id),
    };
  }

  #scopeKey(scope: string): string {
    return this.#keys.family('cache-scope', scope, 'ns');
  }

  #statsKey(at: number): string {
    // Every lookup counts: the key is worked out once per UTC day, not per count.
    const day = Math.floor(at / DAY_MS);
    if (this.#statsKeyDay?.day !== day)
      this.#statsKeyDay = {
        day,
        key: this.#keys.family('cache-meta', 'all', 'stats', new Date(day * DAY_MS).toISOString().slice(0, 10)),
      };
    return this.#statsKeyDay.key;
  }

  /** Set a TTL of at least `ttlMs`: NX sets one on a key without any, GT only ever lengthens. */
  #extendTtl(key: string, ttlMs: number): Promise<number>[] {
    return [this.#redis.pexpire(key, ttlMs, 'NX'), this.#redis.pexpire(key, ttlMs, 'GT')];
  }

  #calibrate(cosine: number): number {
    return this.#embedder.calibrate ? this.#embedder.calibrate(cosine) : cosine;
  }

  /**
   * Whether a job's embedding is in this cache's vector space. One of another length was
   * computed by a process with another embedder (during a rolling upgrade to the word
   * vectors, or where the model is missing): the prompt is embedded again here rather than
   * losing the semantic level, or the store, for the job.
   */
  #usable(embedding: ArrayLike<number> | undefined): boolean {
    if (embedding === undefined) return false;
    if (embedding.length === this.#embedder.dimensions) return true;
    this.#logger?.debug?.(
      { embedder: this.#embedder.id, got: embedding.length },
      'job embedding from another embedder; embedding the prompt again',
    );
    return false;
  }

  #toVector(embedding: ArrayLike<number>): Float32Array {
    if (embedding.length !== this.#embedder.dimensions) {
      throw new CacheRequestError(
        `Expected an embedding of ${this.#embedder.dimensions} dimensions (${this.#embedder.id}), got ${embedding.length}`,
      );
    }
    return embedding instanceof Float32Array ? embedding : Float32Array.from(embedding);
  }

  async #embedOrUndefined(text: string): Promise<Float32Array | undefined> {
    try {
      return (await this.#embedder.embed([text]))[0];
    } catch (error) {
      // Without an embedding the exact level still works; a failing embeddings endpoint
      // must not fail the job.
      if (!isEmbeddingError(error)) throw error;
      this.#logger?.warn({ err: error, embedder: this.#embedder.id }, 'embedding failed; semantic cache level skipped');
      return undefined;
    }
  }

  #featuresOf(prompt: string): PromptFeatures {
    let features = this.#features.get(prompt);
    if (features) {
      // Re-insert: a Map iterates in insertion order, so the first key is the least recent.
      this.#features.delete(prompt);
    } else {
      features = analyzePrompt(prompt);
      if (this.#features.size >= FEATURE_CACHE_SIZE) this.#features.delete(this.#features.keys().next().value!);
    }
    this.#features.set(prompt, features);
    return features;
  }

  #parse(raw: string | null): StoredEntry | undefined {
    if (!raw) return undefined;
    try {
      const entry = JSON.parse(raw) as StoredEntry;
      return entry && entry.v === 1 ? entry : undefined;
    } catch {
      return undefined;
    }
  }

  #servable(entry: StoredEntry, namespace: string, now: number, maxAgeMs: number): boolean {
    return entry.namespace === namespace && now < entry.expiresAt && now - entry.createdAt < maxAgeMs;
  }

  #hit(
    entry: StoredEntry,
    namespace: string,
    kind: 'exact' | 'semantic',
    similarity: number,
    cosine: number | undefined,
    rejections: Rejection[],
  ): CacheHit {
    return {
      hit: true,
      kind,
      similarity,
      ...(cosine === undefined ? {} : { cosine }),
      completion: entry.completion,
      entryId: entry.id,
      sourceJobId: entry.sourceJobId,
      namespace,
      exactKey: `${namespace}.${entry.id}`,
      category: entry.category,
      createdAt: entry.createdAt,
      expiresAt: entry.expiresAt,
      rejections,
    };
  }

  /**
   * Write the counter increments this process has added up so far (see `statsFlushMs`).
   * Never throws: a failed write keeps its increments for the next one.
   */
  flushStats(): Promise<void> {
    return this.#counters.flush();
  }

  /** One pipeline for a batch of counts; resolves with the increments Redis refused. */
  async #writeCounts(batch: CounterBatch): Promise<CounterBatch | undefined> {
    // Every key carries the `{cache-meta:all}` hash tag: one slot, one pipeline on a cluster too.
    const pipeline = this.#redis.pipeline();
    // Each command's reply index, in pipeline order (a key's PEXPIRE follows its HINCRBYs).
    const sent: Array<[string, string, number, number]> = [];
    const expiring: Array<[string, number]> = [];
    let index = 0;
    for (const [key, fields] of batch) {
      for (const [field, by] of fields) {
        pipeline.hincrby(key, field, by);
        sent.push([key, field, by, index++]);
      }
      if (!this.#expiringDays.has(key)) {
        pipeline.pexpire(key, this.#statsRetentionDays * DAY_MS);
        expiring.push([key, index++]);
      }
    }
    let replies: Array<[Error | null, unknown]>;
    try {
      replies = ((await pipeline.exec()) ?? []) as Array<[Error | null, unknown]>;
    } catch (error) {
      replies = Array.from({ length: index }, () => [error as Error, null]);
    }
    let failed: Error | undefined;
    const unwritten: CounterBatch = new Map();
    for (const [key, field, by, i] of sent) {
      const error = replies[i]?.[0] ?? (replies[i] ? null : new Error('no reply'));
      if (!error) continue;
      failed = error;
      let fields = unwritten.get(key);
      if (!fields) unwritten.set(key, (fields = new Map()));
      fields.set(field, (fields.get(field) ?? 0) + by);
    }
    for (const [key, i] of expiring) {
      const reply = replies[i];
      if (reply && !reply[0]) this.#expiringDays.add(key);
    }
    if (failed) this.#logger?.warn({ err: failed }, 'cache counter update failed; kept for the next write');
    return unwritten;
  }

  #count(field: string, by = 1): void {
    // Counters must never fail or slow a request.
    this.#counters.add(this.#statsKey(this.#clock()), field, by);
  }

  async #sweepInBackground(): Promise<void> {
    if (this.#sweeping || this.#closed) return;
    this.#sweeping = true;
    try {
      // Bounded: a few batches per tick, the rest next tick.
      for (let i = 0; i < 10; i += 1) {
        const result = await this.sweepExpired();
        if (!result.more) break;
      }
    } catch (error) {
      this.#logger?.warn({ err: error }, 'cache sweep failed; retrying next interval');
    } finally {
      this.#sweeping = false;
    }
  }

  async #purgeNamespace(namespace: string): Promise<number> {
    const keys = this.#namespaceKeys(namespace);
    let entries = 0;
    // Bounded by the cap; the guard stops a purge racing a writer from looping forever.
    for (let round = 0; round <= Math.ceil(this.#config.namespaceCap / PURGE_BATCH) + 1; round += 1) {
      const ids = await this.#redis.zrange(keys.age, 0, String(PURGE_BATCH - 1));
      if (ids.length === 0) break;
      const gone = await this.#redis.sluiceCacheRemove(
        keys.vectors,
        keys.age,
        keys.expiry,
        '+inf',
        keys.entryPrefix,
        ...ids,
      );
      if (gone.length) await this.#redis.zrem(this.#expiryIndex, ...gone.map((id) => `${namespace}.${id}`));
      entries += gone.length;
    }
    await this.#redis.del(keys.vectors, keys.age, keys.expiry);
    if (entries) this.#count('purged', entries);
    return entries;
  }

  async #waitForFill(namespace: string, entryId: string, timeoutMs: number): Promise<CacheHit | undefined> {
    checkInteger('timeoutMs', timeoutMs, 0);
    const keys = this.#namespaceKeys(namespace);
    const channel = keys.fillChannel(entryId);
    const deadline = Date.now() + timeoutMs;
    let wake: (() => void) | undefined;
    // Set by a notification that arrives while Redis is being asked, so it is not lost.
    let pending = false;
    const notified = () => {
      pending = true;
      wake?.();
    };
    const stopListening = await this.#listen(channel, notified);
    try {
      for (;;) {
        const [[, raw], [, locked]] = ((await this.#redis
          .multi()
          .get(keys.entry(entryId))
          .exists(keys.fillLock(entryId))
          .exec()) ?? []) as [[unknown, string | null], [unknown, number]];
        const entry = this.#parse(raw);
        if (entry && this.#servable(entry, namespace, this.#clock(), Infinity)) {
          this.#count('fill.shared');
          return this.#hit(entry, namespace, 'exact', 1, undefined, []);
        }
        // Lock gone and no entry: the leader released without a cacheable answer, or died
        // and its lock expired. The caller acquires again; one of the waiters leads.
        if (!locked) return undefined;
        const remaining = deadline - Date.now();
        if (remaining <= 0 || this.#closed) return undefined;
        if (pending) {
          pending = false;
          continue;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(remaining, this.#fillPollMs));
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
        pending = false;
      }
    } finally {
      stopListening();
    }
  }

  /**
   * Starts listening for the fill notice on `channel`; returns what stops it. Polling still
   * finds the entry, notifications only make it sooner, so the wait for the subscription is
   * bounded by one poll interval: a subscription that never confirms (seen once on a cluster
   * under a loaded test suite) must not hold the request.
   */
  async #listen(channel: string, listener: () => void): Promise<() => void> {
    this.#waiters.add(listener);
    const fills = await this.#fillSubscriber();
    const listening = fills?.listen(channel, listener).catch((error: unknown) => {
      this.#logger?.warn({ err: error }, 'fill subscription failed; waiting by polling');
      return undefined;
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([listening, new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#fillPollMs)))]);
    clearTimeout(timer);
    return () => {
      this.#waiters.delete(listener);
      void listening?.then((stop) => stop?.());
    };
  }

  #fillSubscriber(): Promise<ShardedSubscriber | undefined> {
    this.#fills ??= (async () => {
      try {
        // Own connection, because a subscribed connection can run no other command; it
        // queues while connecting, unlike a fail-fast `request` connection.
        const subscriber =
          this.#subscriber ??
          duplicateRedis(this.#redis, {
            enableOfflineQueue: true,
            maxRetriesPerRequest: null,
            enableAutoPipelining: false,
            subscriber: true,
          });
        this.#subscriber = subscriber;
        subscriber.on('error', (error: unknown) => this.#logger?.debug?.({ err: error }, 'fill subscriber error'));
        return new ShardedSubscriber(subscriber);
      } catch (error) {
        this.#logger?.warn({ err: error }, 'fill subscriber unavailable; waiting by polling');
        return undefined;
      }
    })();
    return this.#fills;
  }
}

function toBlob(vector: Float32Array): Buffer {
  // VADD/VSIM FP32 take little-endian floats; Float32Array is host order, little-endian on
  // every platform Node supports in production (x64, arm64).
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
}
