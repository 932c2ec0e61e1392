import type { Keys, Redis } from '@sluice/redis';
import type { CacheMode, CategoryName, ChatRequest, TierName } from '@sluice/queues';
import type { Embedder } from './embedder.ts';
import type { BypassReason, CacheConfig, CompletionLike, StoreSkipReason } from './policy.ts';
import type { CacheScope } from './scope.ts';
import type { MissReason } from './stats.ts';
import type { RejectionReason } from './verify.ts';

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
  /**
   * Another scope the same request may be answered from (the API's other answering tier).
   * When its exact entry exists, this lookup does not search its semantic level: it returns a
   * `superseded` miss, uncounted, and the caller serves that entry. Read in the same script,
   * so only on one Redis (on a cluster the two are on different slots, and both are searched).
   * @defaultValue none
   */
  supersededBy?: CacheScope;
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
export interface StoredEntry {
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
