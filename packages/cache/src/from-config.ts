import type { SluiceConfig } from '@sluice/config';
import type { CompletionJobData, TierName } from '@sluice/queues';
import { createKeys, type Redis } from '@sluice/redis';
import { createEmbedder } from './create-embedder.ts';
import type { CacheLogger } from './cache-types.ts';
import { ResponseCache } from './response-cache.ts';

/**
 * The cache every Sluice process builds the same way from its configuration: key prefix,
 * embedder (`embeddings` section) and policy (`cache` section). The API, classifier and
 * executors must agree on all three, or they would look in different places.
 */
export function createResponseCache(options: {
  redis: Redis;
  config: SluiceConfig;
  logger?: CacheLogger;
  clock?: () => number;
}): ResponseCache {
  const { config } = options;
  return new ResponseCache({
    redis: options.redis,
    keys: createKeys(config.redis.prefix),
    embedder: createEmbedder({ ...config.embeddings, apiKey: config.embeddings.apiKey }),
    config: config.cache,
    logger: options.logger,
    clock: options.clock,
  });
}

/**
 * The model a cache entry is scoped to: the pinned model, else every model serving the tier
 * (usually one). Deterministic for a given configuration, so an entry is only ever served for
 * requests that the same model(s) would answer: a hit never crosses models.
 */
export function cacheModelScope(config: SluiceConfig, tier: TierName, pinnedModel?: string): string {
  if (pinnedModel) return pinnedModel;
  return [...new Set(config.deployments.filter((d) => d.tier === tier).map((d) => d.model))].sort().join('|');
}

/** The cache context of a job on a tier (what {@link ResponseCache.lookup} scopes by). */
export function cacheContext(config: SluiceConfig, data: CompletionJobData, tier: TierName) {
  return {
    tenant: data.tenant,
    tier,
    model: cacheModelScope(config, tier, data.pinnedModel),
    request: data.request,
    shareGroup: data.shareGroup,
  };
}
