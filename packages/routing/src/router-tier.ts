import type { ResolvedDeployment } from '@sluice/config';
import type { Lease, Limiter } from '@sluice/limits';
import { costUsd, isUpstreamError, type UpstreamClient } from '@sluice/llm';
import type { BilledCall, ChatMessage } from '@sluice/queues';
import { StrategyFailedError } from './errors.ts';
import type { CompleteFunction } from './llm.ts';

/** Options for {@link createRouterTierCall}. */
export interface RouterTierCallOptions {
  /** Deployments of the `router` tier. */
  deployments: readonly ResolvedDeployment[];
  upstream: Pick<UpstreamClient, 'complete'>;
  /**
   * The global limiter: the router tier's limits hold for routing calls too. Without a permit
   * the call fails at once and the rules decide (a routing decision never waits for one).
   */
  limiter?: Limiter;
  /** Most tokens the router model may answer with. @defaultValue 80 */
  maxTokens?: number;
  /** Called with each finished call (to cost it with its job). */
  onCall?: (call: BilledCall) => void;
}

/**
 * The LLM router's {@link CompleteFunction}: one non-streamed call to the `router` tier,
 * holding a permit from the global limiter when one is given.
 */
export function createRouterTierCall(options: RouterTierCallOptions): CompleteFunction {
  const { deployments, upstream, limiter, onCall } = options;
  const maxTokens = options.maxTokens ?? 80;
  if (!deployments.length) throw new StrategyFailedError('llm', 'no deployment serves the router tier');
  let next = 0;
  return async (messages: ChatMessage[], { signal }) => {
    const request = { model: 'router', messages, temperature: 0, max_tokens: maxTokens };
    let deployment = deployments[next++ % deployments.length]!;
    let granted: Lease | undefined;
    if (limiter) {
      const got = await limiter.acquireAny<ResolvedDeployment>(deployments, { messages, maxOutputTokens: maxTokens });
      if (!got.granted)
        throw new StrategyFailedError('llm', `no router-tier permit (retry in ${Math.ceil(got.retryAfterMs)} ms)`);
      deployment = got.deployment;
      granted = got.lease;
    }
    try {
      const result = await upstream.complete(deployment, request, {
        signal,
        completionId: `route-${Date.now().toString(36)}`,
      });
      const usage = result.completion.usage;
      if (limiter && granted) {
        await limiter
          .onUpstreamResult(deployment, { lease: granted, status: 200, headers: result.headers })
          .catch(() => {});
        await limiter
          .release(granted, { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens })
          .catch(() => {});
      }
      onCall?.({
        purpose: 'routing',
        tier: 'router',
        model: deployment.model,
        deploymentId: deployment.id,
        promptTokens: usage.prompt_tokens,
        completionTokens: usage.completion_tokens,
        costUsd: costUsd(deployment, usage),
      });
      return result.completion.choices[0]?.message.content ?? '';
    } catch (error) {
      if (limiter && granted) {
        // A 429 or 5xx feeds the shared cooldown and circuit like any other upstream call.
        if (isUpstreamError(error) && error.kind !== 'aborted') {
          await limiter
            .onUpstreamResult(deployment, {
              lease: granted,
              status: error.status,
              headers: error.headers,
              retryAfterMs: error.retryAfterMs,
              error: error.status === undefined ? (error.kind === 'timeout' ? 'timeout' : 'connection') : undefined,
            })
            .catch(() => {});
        }
        await limiter.release(granted).catch(() => {});
      }
      throw error;
    }
  };
}
