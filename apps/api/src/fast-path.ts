import { cacheContext, chooseHit, shouldLookup, type CacheHit, type ResponseCache } from '@sluice/cache';
import type { SluiceConfig } from '@sluice/config';
import type { JobStore } from '@sluice/jobs';
import { encodeEmbedding, type CompletionJobData, type CompletionJobResult, type TierName } from '@sluice/queues';
import { detectCategory, latestUserText, promptTextTokens } from '@sluice/routing';

/** Longest prompt kept with a job for feedback (as the classifier keeps it). */
const FEEDBACK_PROMPT_CHARS = 4_000;

/** Options for {@link createCacheFastPath}. */
export interface FastPathOptions {
  cache: ResponseCache;
  config: SluiceConfig;
  store: JobStore;
}

/**
 * The cache fast path: before anything is enqueued, look the request up (exact level, then
 * semantic with verification) and answer a hit at once, recording it as a finished job so
 * `GET /v1/jobs/:id` and the ledger still see it. A hit then costs no queue hop at all, and
 * is served however long the queue is (only the `admit` hook, the tenant's quota, applies).
 *
 * The job's one embedding is computed here and travels with the job (`data.embedding`), so
 * the classifier (kNN routing) and the executor (its own lookup, which catches entries stored
 * while the job waited, and the store) reuse it.
 *
 * The category that sets the lookup's freshness bound and threshold comes from the rules
 * detector, since the classifier has not run yet. That is safe: an entry also carries its own
 * absolute expiry from the category it was stored under, and time-sensitive answers are
 * never stored. A routed (`auto`) request may be answered by an entry of either answering
 * tier: both were produced for this request's scope by a model that serves `auto` traffic.
 */
export function createCacheFastPath(options: FastPathOptions) {
  const { cache, config, store } = options;
  return async (data: CompletionJobData, admit?: () => Promise<void>): Promise<CompletionJobResult | undefined> => {
    if (data.cacheMode !== 'default') return undefined;
    const category = detectCategory(data.request);
    // Counted for the category just now (a remembered count): the next processes reuse it.
    data.promptTextTokens = promptTextTokens(data.request);
    if (!shouldLookup({ request: data.request, cacheMode: data.cacheMode, category }, config.cache).lookup)
      return undefined;
    const tiers: TierName[] = data.pinnedTier ? [data.pinnedTier] : ['small', 'large'];
    // Each tier's scope is hashed once for both passes, what the tiers share once for both.
    const perTier = tiers.map((tier) => cacheContext(config, data, tier));
    const scopes = cache.scopes(perTier);
    const contexts = perTier.map((context, i) => ({ ...context, scope: scopes[i]! }));
    const lookup = (semantic: boolean, embedding?: Float32Array) =>
      // The semantic pass skips the exact level the first pass has just read.
      Promise.all(
        contexts.map((context) =>
          cache.lookup({ ...context, category, cacheMode: data.cacheMode, semantic, exact: !semantic, embedding }),
        ),
      );
    let lookups;
    if (config.cache.semantic && !config.embeddings.baseUrl) {
      // The offline embedder costs ~40 µs of CPU, less than a round trip: embed first, then
      // both levels of both tiers in one round trip (the search runs only without an exact entry).
      // A repeat found in one tier spares the other tier's search (and the reading and
      // judging of its candidates): each script first checks the other tier's exact entry.
      const embedding = await cache.embed(data.request);
      if (embedding) data.embedding = encodeEmbedding(embedding);
      lookups = await Promise.all(
        contexts.map((context, i) =>
          cache.lookup({
            ...context,
            category,
            cacheMode: data.cacheMode,
            embedding,
            supersededBy: contexts.length === 2 ? contexts[1 - i]!.scope : undefined,
          }),
        ),
      );
    } else {
      // A remote embedder is a network call: exact first, so a repeat is answered without it.
      lookups = await lookup(false);
    }
    if (!lookups.some((l) => l.hit) && config.cache.semantic && !data.embedding) {
      const embedding = await cache.embed(data.request);
      if (embedding) {
        data.embedding = encodeEmbedding(embedding);
        lookups = await lookup(true, embedding);
      }
    }
    const chosen = chooseHit(lookups);
    const best = chosen >= 0 ? { hit: lookups[chosen] as CacheHit, tier: tiers[chosen]! } : undefined;
    if (!best) {
      // Both levels were read (the semantic one when the prompt allows it): the executor's
      // lookup of one of these scopes soon after reads only the exact level again.
      // A search skipped for an entry that then could not be served (rare: its category's
      // freshness bound is shorter than the entry's) leaves the semantic level to the executor.
      const searched = lookups.every((l) => l.hit || l.reason !== 'superseded');
      if ((!config.cache.semantic || data.embedding) && searched)
        data.cacheLooked = { at: Date.now(), category, tiers };
      return undefined;
    }
    const { hit, tier } = best;
    const completion: Record<string, unknown> = {
      ...(hit.completion as Record<string, unknown>),
      id: `chatcmpl-${data.id}`,
    };
    const result: CompletionJobResult = {
      completion,
      tier,
      model: typeof completion.model === 'string' ? completion.model : 'cache',
      deploymentId: 'cache',
      cache: 'hit',
      cacheKind: hit.kind,
      cacheSimilarity: hit.similarity,
      costUsd: 0,
      attempt: 1,
    };
    // Admitted (the tenant's quota) before anything is recorded: a refused hit leaves no trace.
    await admit?.();
    // The record, completed, with the prompt routing feedback needs, and its done event: one script.
    await store.createAnswered(
      {
        id: data.id,
        tenant: data.tenant,
        stream: data.stream,
        model: data.request.model,
        createdAt: data.acceptedAt,
        prompt: latestUserText(data.request).slice(0, FEEDBACK_PROMPT_CHARS),
      },
      result,
    );
    return result;
  };
}
