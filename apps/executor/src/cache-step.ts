import type { ResolvedDeployment, SluiceConfig } from '@sluice/config';
import { cacheContext, type CacheHit, type CacheScope, type Fill, type ResponseCache } from '@sluice/cache';
import { decodeEmbedding } from '@sluice/queues';
import type { Logger } from '@sluice/telemetry';
import type { Settling } from './settling.ts';
import type { UpstreamCaller, UpstreamOutcome } from './upstream-call.ts';

/** A pseudo deployment for answers served from the cache: priced at zero, named `cache`. */
function cacheDeployment(model: string): ResolvedDeployment {
  return Object.freeze({
    id: 'cache',
    tier: 'small',
    baseUrl: '',
    model,
    apiKeyRef: '',
    apiKey: '',
    rpm: 0,
    tpm: 0,
    maxConcurrency: 0,
    weight: 0,
    inputPricePerMTok: 0,
    outputPricePerMTok: 0,
    cachedInputPricePerMTok: 0,
    cacheWritePricePerMTok: 0,
    batch: false,
    batchPriceFactor: 1,
    timeoutMs: 0,
  }) as ResolvedDeployment;
}

/** Options for {@link createCachingCaller}. */
export interface CachingCallerOptions {
  cache: ResponseCache;
  config: SluiceConfig;
  inner: UpstreamCaller;
  logger: Logger;
  /** How long a waiter waits for an identical in-flight request before trying to lead (ms). @defaultValue 30_000 */
  fillWaitMs?: number;
  /**
   * Told once per lookup what it came to: `hit` (`exact`/`semantic`; a waiter answered by an
   * identical in-flight request's entry counts as the hit it got), `rejected` (every semantic
   * candidate refused by verification), `miss` (a failed lookup too) or `bypass`. @defaultValue none
   */
  onLookup?: (result: 'hit' | 'miss' | 'rejected' | 'bypass', kind?: 'exact' | 'semantic') => void;
  /**
   * How long after the API's fast path searched a job's scope (`data.cacheLooked`) the
   * semantic level is not searched again (ms). @defaultValue 1_000
   */
  recentLookupMs?: number;
  /** Where the store of an answer goes, awaited after the answer is published. @defaultValue none: stored in the background */
  settling?: Settling;
}

/**
 * Wraps an upstream caller with the shared cache: look up (exact, then semantic with
 * verification), and on a miss make sure identical concurrent misses in any process make one
 * upstream call (the first leads; the rest wait for its entry), then store the answer when
 * the store policy allows it. A cache failure never fails the job: it degrades to a miss.
 */
export function createCachingCaller(options: CachingCallerOptions): UpstreamCaller {
  const { cache, config, inner, logger } = options;
  const fillWaitMs = options.fillWaitMs ?? 30_000;
  const onLookup = options.onLookup ?? (() => {});
  const recentLookupMs = options.recentLookupMs ?? 1_000;

  const serve = async (ctx: Parameters<UpstreamCaller>[0], hit: CacheHit): Promise<UpstreamOutcome | undefined> => {
    const model =
      typeof (hit.completion as { model?: unknown }).model === 'string'
        ? (hit.completion as { model: string }).model
        : 'cache';
    const deployment = cacheDeployment(model);
    const cacheInfo = { kind: hit.kind, similarity: hit.similarity, sourceJobId: hit.sourceJobId };
    if (!(await ctx.begin(deployment, cacheInfo))) return undefined;
    const completion = {
      ...(hit.completion as unknown as UpstreamOutcome['completion']),
      id: `chatcmpl-${ctx.job.data.id}`,
    };
    return { completion, headers: {}, deployment, cache: cacheInfo };
  };

  return async (ctx) => {
    const data = ctx.job.data;
    const category = data.route?.category ?? 'general';
    const context = cacheContext(config, data, ctx.tier);
    let scope: typeof context & { scope?: CacheScope } = context;
    let lookup;
    // A lookup that can miss takes the stampede guard in the same round trip (sent together,
    // the lookup runs first); a hit then gives the guard back, which only a rare executor hit
    // pays (the API's fast path answers most hits before a job is queued).
    let guard: Promise<Fill | undefined> | undefined;
    const giveBack = () => void guard?.then((g) => (g?.leader ? g.release() : undefined)).catch(() => {});
    try {
      // Hashed once for the lookup and the store.
      const hashed = cache.scope(context);
      scope = { ...context, scope: hashed };
      // The API searched this scope's semantic level a moment ago with the same bounds: only
      // the exact level is read again (an identical request's answer stored meanwhile). A
      // neighbour stored in between costs at most one upstream call, never a wrong answer.
      const looked = data.cacheLooked;
      const semantic = !(
        looked &&
        looked.category === category &&
        looked.tiers.includes(ctx.tier) &&
        Date.now() - looked.at <= recentLookupMs
      );
      const pending = cache.lookup({
        ...scope,
        category,
        cacheMode: data.cacheMode,
        embedding: decodeEmbedding(data.embedding),
        semantic,
      });
      if (cache.wouldLookup({ request: context.request, category, cacheMode: data.cacheMode }))
        guard = cache.acquireFill(hashed.exactKey, { ttlMs: fillWaitMs }).catch(() => undefined);
      lookup = await pending;
    } catch (error) {
      giveBack();
      logger.warn({ err: error, jobId: data.id }, 'cache lookup failed; calling upstream');
      onLookup('miss');
      return inner(ctx);
    }
    if (lookup.hit || lookup.kind !== 'miss' || !lookup.exactKey) giveBack();
    if (lookup.hit) {
      onLookup('hit', lookup.kind);
      return serve(ctx, lookup);
    }

    // Only a lookup that could have hit joins the stampede guard: bypassed requests
    // (no-cache, hot temperature, uncached category) go straight upstream.
    let fill: Fill | undefined;
    if (lookup.kind === 'miss' && lookup.exactKey) {
      fill = await (guard ?? cache.acquireFill(lookup.exactKey, { ttlMs: fillWaitMs }).catch(() => undefined));
      while (fill && !fill.leader) {
        const hit = await fill.wait(fillWaitMs).catch(() => undefined);
        if (hit) {
          onLookup('hit', hit.kind);
          return serve(ctx, hit);
        }
        fill = await cache.acquireFill(lookup.exactKey, { ttlMs: fillWaitMs }).catch(() => undefined);
      }
    }
    if (lookup.kind === 'bypass') onLookup('bypass');
    else if (lookup.reason === 'rejected') onLookup('rejected', 'semantic');
    else onLookup('miss');
    let outcome: UpstreamOutcome | undefined;
    try {
      outcome = await inner({ ...ctx, cacheOutcome: lookup.kind });
    } catch (error) {
      if (fill?.leader) await fill.release().catch(() => {});
      throw error;
    }
    const leader = fill?.leader ? fill : undefined;
    if (outcome && (ctx.accept?.(outcome.completion) ?? true)) {
      // Started now, awaited after the answer is published: with the embedding in hand the
      // store's script is written before this job's finish on the same connection, so it runs
      // first and a caller that gets the answer and asks again finds the entry. The fill is
      // released once the entry is there, so the waiters it wakes find it too.
      const stored = cache
        .store({
          ...scope,
          category,
          cacheMode: data.cacheMode,
          completion: outcome.completion,
          jobId: data.id,
          embedding: lookup.embedding ?? decodeEmbedding(data.embedding),
        })
        .catch((error: unknown) => logger.warn({ err: error, jobId: data.id }, 'cache store failed'))
        .then(() => leader?.release())
        .catch(() => {});
      if (options.settling) options.settling.track(stored);
    } else if (leader) {
      await leader.release().catch(() => {});
    }
    return outcome ? { ...outcome, cacheOutcome: lookup.kind } : outcome;
  };
}
