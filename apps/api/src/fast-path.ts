import { cacheContext, type CacheHit, type ResponseCache } from '@sluice/cache';
import type { SluiceConfig } from '@sluice/config';
import type { JobStore } from '@sluice/jobs';
import type { CompletionJobData, CompletionJobResult, TierName } from '@sluice/queues';

/** Options for {@link createExactFastPath}. */
export interface FastPathOptions {
  cache: ResponseCache;
  config: SluiceConfig;
  store: JobStore;
}

/**
 * The exact-match fast path: before anything is enqueued, look the request up at the exact
 * level (no embedding, one GET per candidate tier, pipelined). A hit is answered at once and
 * recorded as a finished job, so `GET /v1/jobs/:id` and the ledger still see it.
 *
 * The semantic level stays in the executors, where the classifier's category (and so the
 * category TTL and threshold) is known. A routed (`auto`) request may be answered by an entry
 * of either answering tier: both were produced for this exact request by a model that serves
 * `auto` traffic.
 */
export function createExactFastPath(options: FastPathOptions) {
  const { cache, config, store } = options;
  return async (data: CompletionJobData): Promise<CompletionJobResult | undefined> => {
    if (data.cacheMode !== 'default' || !config.cache.enabled) return undefined;
    const tiers: TierName[] = data.pinnedTier ? [data.pinnedTier] : ['small', 'large'];
    const lookups = await Promise.all(tiers.map((tier) => cache.lookup({ ...cacheContext(config, data, tier), cacheMode: data.cacheMode, semantic: false })));
    const index = lookups.findIndex((l) => l.hit);
    if (index < 0) return undefined;
    const hit = lookups[index] as CacheHit;
    const completion: Record<string, unknown> = { ...(hit.completion as Record<string, unknown>), id: `chatcmpl-${data.id}` };
    const result: CompletionJobResult = {
      completion,
      tier: tiers[index]!,
      model: typeof completion.model === 'string' ? completion.model : 'cache',
      deploymentId: 'cache',
      cache: 'hit',
      cacheKind: 'exact',
      cacheSimilarity: 1,
      costUsd: 0,
      attempt: 1,
    };
    await store.create({ id: data.id, tenant: data.tenant, stream: data.stream, model: data.request.model, createdAt: data.acceptedAt });
    await store.complete(data.id, result);
    return result;
  };
}
