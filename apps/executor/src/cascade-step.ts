import { costUsd } from '@sluice/llm';
import { decodeEmbedding, type BilledCall, type CategoryName, type TierName } from '@sluice/queues';
import { latestUserText, qualityGate, type GateCompletion } from '@sluice/routing';
import type { Logger } from '@sluice/telemetry';
import type { UpstreamCaller, UpstreamOutcome } from './upstream-call.ts';

/** The billed call behind one outcome (a cache answer is priced at zero and spends no tokens). */
export function billedCall(
  outcome: UpstreamOutcome,
  tier: TierName,
  purpose: BilledCall['purpose'] = 'answer',
): BilledCall {
  const { deployment, completion } = outcome;
  if (outcome.cache)
    return {
      purpose,
      tier,
      model: deployment.model,
      deploymentId: 'cache',
      promptTokens: 0,
      completionTokens: 0,
      costUsd: 0,
    };
  const usage = completion.usage ?? { prompt_tokens: 0, completion_tokens: 0 };
  const cachedTokens = usage.prompt_tokens_details?.cached_tokens ?? 0;
  return {
    purpose,
    tier,
    model: deployment.model,
    deploymentId: deployment.id,
    promptTokens: usage.prompt_tokens,
    completionTokens: usage.completion_tokens,
    ...(cachedTokens > 0 ? { cachedTokens } : {}),
    costUsd: costUsd(deployment, usage),
  };
}

/** Options for {@link createCascadingCaller}. */
export interface CascadingCallerOptions {
  /** Makes each tier's call (the cache step around the limits-aware caller). */
  inner: UpstreamCaller;
  logger?: Logger;
  /** A small answer failed the gate: teach routing that this prompt needs large (`knn.recordEscalation`). */
  onEscalation?: (escalation: {
    prompt: string;
    embedding?: Float32Array;
    category?: CategoryName;
    tenant: string;
    shareGroup?: string;
  }) => Promise<void>;
}

/**
 * The cascade: a job the router marked `cascade` is answered on the small tier first, and
 * the large tier answers instead when {@link qualityGate} fails the small answer (refusal,
 * admitted uncertainty, empty or cut-off, JSON not matching `response_format`, bad tool
 * arguments). Both calls are costed (`calls`).
 *
 * The small answer is never relayed as it streams, since it may be thrown away: a streaming
 * client gets the answer that stands (the small one as chunks at the end, or the large one
 * live). A small answer that fails the gate is never cached, and a cached small answer is
 * gated like a fresh one.
 */
export function createCascadingCaller(options: CascadingCallerOptions): UpstreamCaller {
  const { inner, logger, onEscalation } = options;
  return async (ctx) => {
    const data = ctx.job.data;
    if (!data.route?.cascade || ctx.tier !== 'small') return inner(ctx);
    const request = ctx.request ?? data.request;
    const small = await inner({
      ...ctx,
      tier: 'small',
      onChunk: undefined,
      accept: (completion) => qualityGate(request, completion as GateCompletion).pass,
    });
    if (!small) return undefined;
    const verdict = qualityGate(request, small.completion as GateCompletion);
    if (verdict.pass) {
      return {
        ...small,
        calls: [billedCall(small, 'small')],
        cascade: { escalated: false, check: verdict.check, reason: verdict.reason },
      };
    }
    logger?.info(
      { jobId: data.id, check: verdict.check },
      'cascade: small answer failed the quality gate; escalating to large',
    );
    if (onEscalation) {
      const embedding = decodeEmbedding(data.embedding);
      void onEscalation({
        prompt: latestUserText(data.request),
        embedding,
        category: data.route.category,
        tenant: data.tenant,
        shareGroup: data.shareGroup,
      }).catch((error: unknown) =>
        logger?.warn({ err: error, jobId: data.id }, 'could not record the escalation for routing'),
      );
    }
    const large = await inner({ ...ctx, tier: 'large' });
    if (!large) return undefined;
    return {
      ...large,
      tier: 'large',
      calls: [billedCall(small, 'small', 'cascade-small'), billedCall(large, 'large')],
      cascade: { escalated: true, check: verdict.check, reason: verdict.reason },
    };
  };
}
