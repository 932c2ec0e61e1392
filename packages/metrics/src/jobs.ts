import type { CompletionJobResult } from '@sluice/queues';
import type { defineJobMetrics } from './definitions.ts';
import type { CacheLookupKind, CacheLookupResult } from './labels.ts';

/** The job metrics, as {@link defineJobMetrics} registers them. */
export type JobMetrics = ReturnType<typeof defineJobMetrics>;

/**
 * Count a finished job's cost, counterfactual and billed tokens (Prometheus, and the shared
 * counters when given). A summary job's cost counts as `kind="summary"`, apart from the jobs'
 * own, as the cost ledger reports it.
 */
export function recordJobResult(
  metrics: JobMetrics,
  result: CompletionJobResult,
  kind: 'job' | 'summary' = 'job',
): void {
  if (kind === 'summary') metrics.cost.inc({ kind: 'summary' }, result.costUsd);
  else {
    metrics.cost.inc({ kind: 'actual' }, result.costUsd);
    metrics.cost.inc({ kind: 'counterfactual' }, result.counterfactual?.costUsd ?? 0);
  }
  for (const call of result.calls ?? []) {
    if (call.deploymentId === 'cache') continue;
    metrics.tokens.inc({ direction: 'input', tier: call.tier }, call.promptTokens);
    metrics.tokens.inc({ direction: 'output', tier: call.tier }, call.completionTokens);
  }
}

/** Count one cache lookup; `kind` is `none` unless the lookup hit or a semantic candidate was rejected. */
export function recordCacheLookup(
  metrics: JobMetrics,
  result: CacheLookupResult,
  kind: CacheLookupKind = 'none',
): void {
  metrics.cacheLookups.inc({ result, kind: result === 'hit' || result === 'rejected' ? kind : 'none' });
}
