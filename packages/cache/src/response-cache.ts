import { createHash } from 'node:crypto';
import { isCluster, type Keys, type Redis } from '@sluice/redis';
import type { ChatRequest, CategoryName } from '@sluice/queues';
import { CacheCounters } from './cache-counters.ts';
import { CacheKeyspace } from './cache-keys.ts';
import { cacheScripts, type CacheScripts } from './cache-scripts.ts';
import type {
  CacheHit,
  CacheLogger,
  CacheMiss,
  CacheRequestContext,
  Fill,
  LookupInput,
  LookupResult,
  PurgeResult,
  PurgeTarget,
  Quantization,
  Rejection,
  ResponseCacheOptions,
  StoredEntry,
  StoreInput,
  StoreResult,
  SweepResult,
} from './cache-types.ts';
import { checkInteger, checkThreshold } from './checks.ts';
import type { Embedder } from './embedder.ts';
import { CacheOptionsError, CacheRequestError, isEmbeddingError } from './errors.ts';
import { FillCoordinator } from './fill-coordinator.ts';
import { CacheMaintenance } from './maintenance.ts';
import {
  categoryTtlSeconds,
  shouldLookup,
  shouldStore,
  type CacheConfig,
  type CompletionLike,
  type StoreSkipReason,
} from './policy.ts';
import { computeScope, computeScopes, semanticPrompt, type CacheScope } from './scope.ts';
import { summarizeCounters, type CacheStats, type MissReason } from './stats.ts';
import { analyzePrompt, verifyMatch, type PromptFeatures, type VerifyOptions } from './verify.ts';

const QUANT_ARG: Record<Quantization, string> = { q8: 'Q8', noquant: 'NOQUANT', bin: 'BIN' };
// Features of recently seen stored prompts: popular entries are candidates again and again,
// and analysing a prompt costs ~50 µs. 2,000 prompts of ≤ 2,000 chars bound it to a few MB.
const FEATURE_CACHE_SIZE = 2_000;
// Candidates read to be judged, parsed, by entry id: a template's neighbours come back on
// every lookup of its variants, and parsing each (completion included) cost more than
// judging it. Entries are at most a few kB, so 1,000 bound it to a few MB.
const CANDIDATE_CACHE_SIZE = 1_000;
/**
 * How far past the latest entry an index key's TTL is set, so that a store needs to extend
 * it only about once a minute per process rather than on every store.
 */
const TTL_SLACK_MS = 60_000;
/** Index keys whose TTL a process remembers (one per scope in use); past it, it forgets them all. */
const TTL_COVERAGE_KEYS = 10_000;
const UNMARKED_SKIPS: ReadonlySet<StoreSkipReason> = new Set(['error', 'not-a-completion', 'disabled']);

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
  readonly #redis: Redis;
  /** Keys of two namespaces are on different slots: a script reads only its own namespace's. */
  readonly #cluster: boolean;
  readonly #scripts: CacheScripts;
  readonly #keys: Keys;
  readonly #embedder: Embedder;
  readonly #config: CacheConfig;
  readonly #clock: () => number;
  readonly #logger: CacheLogger | undefined;
  readonly #thresholdByTenant: Readonly<Record<string, number>>;
  readonly #candidates: number;
  readonly #searchArgs: string[];
  /** {@link #leastScore} by threshold (a handful: the default, per category, per tenant). */
  readonly #leastScores = new Map<number, number>();
  readonly #quantization: Quantization;
  readonly #maxSemanticPromptChars: number;
  readonly #keyspace: CacheKeyspace;
  /** Lookup, store and fill counters: added up in the process, written in the background. */
  readonly #counters: CacheCounters;
  readonly #fills: FillCoordinator;
  readonly #maintenance: CacheMaintenance;
  readonly #uncoalescedMs: number;
  #closed = false;
  readonly #features = new Map<string, PromptFeatures>();
  readonly #judged = new Map<string, StoredEntry>();
  /** Index key → the time its TTL was last set to outlive (see {@link ResponseCache.#extendTtl}). */
  readonly #ttlCovered = new Map<string, number>();
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
    const sweepIntervalMs = checkInteger('sweepIntervalMs', options.sweepIntervalMs ?? 60_000, 1);
    const sweepBatch = checkInteger('sweepBatch', options.sweepBatch ?? 500, 1);
    const statsRetentionDays = checkInteger('statsRetentionDays', options.statsRetentionDays ?? 35, 1);
    const statsFlushMs = checkInteger('statsFlushMs', options.statsFlushMs ?? 1_000, 0);
    const fillPollMs = checkInteger('fillPollMs', options.fillPollMs ?? 100, 1);
    this.#uncoalescedMs = checkInteger('uncoalescedMs', options.uncoalescedMs ?? 10_000, 1);

    this.#redis = options.redis;
    this.#cluster = isCluster(options.redis);
    this.#scripts = cacheScripts(options.redis);
    this.#keys = options.keys;
    this.#embedder = options.embedder;
    this.#config = config;
    this.#clock = options.clock ?? Date.now;
    this.#logger = options.logger;
    this.#verifyOptions = verifyOptionsFor(this.#embedder, options.contentWordSimilarity);
    if (this.#embedder.notice) this.#logger?.warn({ embedder: this.#embedder.id }, this.#embedder.notice);
    this.#thresholdByTenant = options.thresholdByTenant ?? {};
    // One vector set per embedder and quantisation: vectors of different spaces must never
    // be compared, and VADD refuses a quantisation other than the set's.
    const vectorTag = createHash('sha256')
      .update(`${this.#embedder.id}|${this.#quantization}`)
      .digest('hex')
      .slice(0, 8);
    this.#keyspace = new CacheKeyspace(this.#keys, vectorTag);
    this.#counters = new CacheCounters({
      redis: this.#redis,
      keyspace: this.#keyspace,
      clock: this.#clock,
      retentionDays: statsRetentionDays,
      flushMs: statsFlushMs,
      logger: this.#logger,
    });
    this.#fills = new FillCoordinator({
      redis: this.#redis,
      scripts: this.#scripts,
      keyspace: this.#keyspace,
      counters: this.#counters,
      pollMs: fillPollMs,
      subscriber: options.subscriber,
      logger: this.#logger,
      served: (raw, namespace) => {
        const entry = this.#parse(raw);
        return entry && this.#servable(entry, namespace, this.#clock(), Infinity)
          ? this.#hit(entry, namespace, 'exact', 1, undefined, [])
          : undefined;
      },
    });
    this.#maintenance = new CacheMaintenance({
      redis: this.#redis,
      scripts: this.#scripts,
      keyspace: this.#keyspace,
      counters: this.#counters,
      clock: this.#clock,
      namespaceCap: config.namespaceCap,
      intervalMs: sweepIntervalMs,
      batch: sweepBatch,
      logger: this.#logger,
    });
  }

  /** The embedder in use (its `id` names the vector space). */
  get embedder(): Embedder {
    return this.#embedder;
  }

  /** Start the background sweeper (every `sweepIntervalMs`). Idempotent. */
  start(): void {
    if (!this.#closed) this.#maintenance.start();
  }

  /** Stop the sweeper and close the subscriber the cache opened. Idempotent; the `redis` connection passed in stays open. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#maintenance.stop();
    // The counts of this process's last lookups, on the connection the caller still holds.
    await this.#counters.close();
    await this.#fills.close();
  }

  /** Namespace, exact key and prompt of a request (no Redis call). */
  scope(input: CacheRequestContext): CacheScope {
    return computeScope(input, this.#maxSemanticPromptChars);
  }

  /** {@link scope} of one request for several tiers, its tier-independent parts hashed once. */
  scopes(inputs: readonly CacheRequestContext[]): CacheScope[] {
    return computeScopes(inputs, this.#maxSemanticPromptChars);
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
    const keys = this.#keyspace.namespace(scope.namespace);
    let expired = 0;
    const missOf = (reason: MissReason, extra: Partial<CacheMiss> = {}): CacheMiss => ({
      hit: false,
      kind: 'miss',
      reason,
      namespace: scope.namespace,
      exactKey: scope.exactKey,
      rejections: [],
      ...extra,
    });

    // With the embedding in hand, the exact read and the vector search are one round trip
    // (the search runs only when there is no exact entry).
    const semanticPossible = this.#config.semantic && input.semantic !== false && scope.semanticEligible;
    let searched: string[] | undefined;
    // The entries of the candidates the search found near enough to judge, read in the same script.
    let read: Array<string | null> = [];
    let exactRaw: string | null = null;
    // An embedding from another embedder (other dimensions) is not used; the prompt is embedded again below.
    const given = semanticPossible && this.#usable(input.embedding) ? this.#toVector(input.embedding!) : undefined;
    // Worked out only where a search runs: a bad one fails a lookup that reaches the semantic level.
    let threshold: number | undefined;
    // The script reads the entry of every candidate scoring at least this (none without the script).
    let least = Infinity;
    if (input.exact !== false && given) {
      threshold = this.threshold(input);
      least = this.#leastScore(threshold);
      const entryKey = keys.entry(scope.entryId);
      const other = input.supersededBy && !this.#cluster ? this.#otherEntryKey(input.supersededBy) : entryKey;
      let superseded: number;
      [exactRaw, searched, read, superseded] = await this.#scripts.lookup(
        [entryKey, keys.vectors, other],
        [toBlob(given), keys.entryPrefix, scope.entryId, String(least), ...this.#searchArgs],
      );
      // Uncounted: the request's answer is the other scope's entry.
      if (superseded === 1) return missOf('superseded');
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
      return missOf(reason, extra);
    };

    if (!semanticPossible) return miss(expired ? 'expired' : 'not-found');

    const embedding = given ?? (await this.#embedOrUndefined(scope.prompt));
    if (!embedding) return miss(expired ? 'expired' : 'not-found');
    const reply =
      searched ??
      ((await this.#redis.call('VSIM', keys.vectors, 'FP32', toBlob(embedding), ...this.#searchArgs)) as string[]);
    const candidates: Array<{ id: string; cosine: number; similarity: number }> = [];
    // What the script read, by id: the candidates other than the exact entry at or above the
    // least score, in the reply's order.
    const readById = new Map<string, string | null>();
    for (let i = 0; i + 1 < reply.length; i += 2) {
      // VSIM scores are (1 + cosine) / 2.
      const score = Number(reply[i + 1]);
      const cosine = 2 * score - 1;
      candidates.push({ id: reply[i]!, cosine, similarity: this.#calibrate(cosine) });
      if (reply[i] !== scope.entryId && score >= least) readById.set(reply[i]!, read[readById.size] ?? null);
    }
    // The exact entry was already judged above.
    const others = candidates.filter((c) => c.id !== scope.entryId).sort((a, b) => b.similarity - a.similarity);
    if (others.length === 0) return miss(expired ? 'expired' : 'no-candidates', { embedding });
    const bestSimilarity = others[0]!.similarity;
    threshold ??= this.threshold(input);
    const above = others.filter((c) => c.similarity >= threshold);
    if (above.length === 0) return miss(expired ? 'expired' : 'below-threshold', { embedding, bestSimilarity });

    // Read by the lookup script already (it reads a little below the threshold), unless the
    // search was a round trip of its own.
    const raws = above.every((c) => readById.has(c.id))
      ? above.map((c) => readById.get(c.id)!)
      : await this.#redis.mget(...above.map((c) => keys.entry(c.id)));
    const query = analyzePrompt(scope.prompt);
    const rejections: Rejection[] = [];
    for (const [i, candidate] of above.entries()) {
      const entry = this.#candidate(candidate.id, raws[i] ?? null);
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
      // What is served is parsed from what was read now, and must be servable itself.
      const served = this.#parse(raws[i] ?? null);
      if (!served || served.prompt !== entry.prompt || !this.#servable(served, scope.namespace, now, maxAgeMs)) {
        expired += 1;
        continue;
      }
      if (expired) this.#count('expired', expired);
      this.#count('hit.semantic');
      return this.#hit(served, scope.namespace, 'semantic', candidate.similarity, candidate.cosine, rejections);
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
            this.#keyspace.namespace(scope.namespace).noFill(scope.entryId),
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
    const keys = this.#keyspace.namespace(scope.namespace);
    const evicted = await this.#scripts.store(
      [keys.entry(scope.entryId), keys.vectors, keys.age, keys.expiry, keys.noFill(scope.entryId)],
      [
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
      ],
    );
    const scopeKey = this.#keyspace.scope(scope.scope);
    // Separate commands, not MULTI: these keys sit on other Cluster slots than the namespace.
    // ioredis still sends them together, in this order: each TTL after the ZADD that
    // creates its key.
    const writes: Array<Promise<unknown>> = [this.#redis.zadd(this.#keyspace.expiryIndex, expiresAt, scope.exactKey)];
    if (evicted.length)
      writes.push(this.#redis.zrem(this.#keyspace.expiryIndex, ...evicted.map((id) => `${scope.namespace}.${id}`)));
    writes.push(...this.#extendTtl(this.#keyspace.expiryIndex, now, expiresAt).writes);
    // The scope's namespace list, for purge by tenant: scored by the latest expiry so that
    // namespaces with nothing left age out whenever its TTL is extended.
    writes.push(this.#redis.zadd(scopeKey, 'GT', expiresAt, scope.namespace));
    const scopeTtl = this.#extendTtl(scopeKey, now, expiresAt);
    writes.push(...scopeTtl.writes);
    if (scopeTtl.extended) writes.push(this.#redis.zremrangebyscore(scopeKey, '-inf', now));
    await Promise.all(writes);
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
  acquireFill(exactKey: string, options: { ttlMs?: number } = {}): Promise<Fill> {
    return this.#fills.acquire(exactKey, options);
  }

  /** Remove every entry of a tenant, a sharing group or a namespace. */
  purge(target: PurgeTarget): Promise<PurgeResult> {
    return this.#maintenance.purge(target);
  }

  /**
   * Remove entries whose absolute expiry is at or before `now`: their vector element, index
   * entries and entry key. Does at most `limit` entries per call (default `sweepBatch`);
   * `more` says to call again.
   */
  sweepExpired(now?: number, limit?: number): Promise<SweepResult> {
    return this.#maintenance.sweepExpired(now, limit);
  }

  /** Counters summed over the last `days` days (UTC, by the cache's clock). */
  async stats(options: { days?: number } = {}): Promise<CacheStats> {
    const days = checkInteger('days', options.days ?? 1, 1);
    // This process's own counts are in the answer, as when each was written at once.
    const results = await this.#counters.read(days);
    const embedder = this.#embedder;
    return {
      ...summarizeCounters(results, days),
      embedder: {
        id: embedder.id,
        served: { ...(embedder.served ?? {}) },
        ...(embedder.notice ? { notice: embedder.notice } : {}),
      },
    };
  }

  /**
   * Make an index key (the sweep index, a scope's namespace list) outlive an entry expiring
   * at `expiresAt`. Every store adds to these keys and gives one without a TTL its TTL (`NX`:
   * a key deleted meanwhile by a purge or a sweep is never left without one), but the TTL of
   * a live key need not move on every store: it is set {@link TTL_SLACK_MS} beyond the entry,
   * and this process extends it (`GT`) only once an entry would expire past what it set.
   * `extended` says whether this store extends it.
   */
  #extendTtl(key: string, now: number, expiresAt: number): { extended: boolean; writes: Promise<number>[] } {
    const covered = this.#ttlCovered.get(key) ?? -Infinity;
    const ttlMs = (covered >= expiresAt ? covered : expiresAt + TTL_SLACK_MS) - now;
    if (covered >= expiresAt) return { extended: false, writes: [this.#redis.pexpire(key, ttlMs, 'NX')] };
    if (this.#ttlCovered.size >= TTL_COVERAGE_KEYS) this.#ttlCovered.clear();
    this.#ttlCovered.set(key, now + ttlMs);
    return {
      extended: true,
      writes: [this.#redis.pexpire(key, ttlMs, 'NX'), this.#redis.pexpire(key, ttlMs, 'GT')],
    };
  }

  /**
   * The lowest VSIM score ((1 + cosine) / 2) whose calibrated similarity reaches `threshold`,
   * a hair below so float rounding never leaves out a candidate the threshold admits (the
   * threshold is applied again to what is read). Calibrations are monotone, so it is found by
   * bisection, once per threshold.
   */
  #leastScore(threshold: number): number {
    let least = this.#leastScores.get(threshold);
    if (least === undefined) {
      let lo = -1;
      let hi = 1;
      for (let i = 0; i < 60; i += 1) {
        const mid = (lo + hi) / 2;
        if (this.#calibrate(mid) >= threshold) hi = mid;
        else lo = mid;
      }
      least = Math.max(0, (1 + lo) / 2 - 1e-9);
      if (this.#leastScores.size >= 64) this.#leastScores.clear();
      this.#leastScores.set(threshold, least);
    }
    return least;
  }

  #otherEntryKey(scope: CacheScope): string {
    return this.#keyspace.namespace(scope.namespace).entry(scope.entryId);
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

  /**
   * {@link ResponseCache.#parse} of a candidate, remembered by entry id and stored length, for
   * judging only: an id is a hash of the namespace and the prompt, so what verification reads
   * cannot differ between two entries stored under it. A re-stored answer can carry other
   * times; the hit is parsed again from what was read and judged servable on its own.
   */
  #candidate(id: string, raw: string | null): StoredEntry | undefined {
    if (!raw) return undefined;
    const key = `${id}:${raw.length}`;
    let entry = this.#judged.get(key);
    if (entry) return entry;
    entry = this.#parse(raw);
    if (!entry || entry.id !== id) return entry;
    if (this.#judged.size >= CANDIDATE_CACHE_SIZE) this.#judged.delete(this.#judged.keys().next().value!);
    this.#judged.set(key, entry);
    return entry;
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

  #count(field: string, by = 1): void {
    this.#counters.count(field, by);
  }
}

function toBlob(vector: Float32Array): Buffer {
  // VADD/VSIM FP32 take little-endian floats; Float32Array is host order, little-endian on
  // every platform Node supports in production (x64, arm64).
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
}
