import type { Job, Worker } from 'bullmq';
import type { ResolvedDeployment, SluiceConfig } from '@sluice/config';
import type { UpstreamCompletion } from '@sluice/llm';
import type { BilledCall, ChatRequest, CompletionJobData, CompletionJobResult, TierName } from '@sluice/queues';

/** Everything one attempt's upstream call needs. */
export interface AttemptContext {
  job: Job<CompletionJobData, CompletionJobResult>;
  /** The worker running the job (for `rateLimit`). */
  worker: Worker<CompletionJobData, CompletionJobResult>;
  /** BullMQ lock token of this attempt. */
  token: string | undefined;
  /** 1-based attempt number. */
  attempt: number;
  tier: TierName;
  /** Aborted on cancellation or shutdown. */
  signal: AbortSignal;
  /**
   * Announce the deployment this attempt uses, before any chunk is relayed (the client's
   * headers carry it), or the cache entry that answers it. Resolves false when the job
   * already finished: stop, spend nothing.
   */
  begin(deployment: ResolvedDeployment, cache?: CacheAnswer): Promise<boolean>;
  /** What the cache said before this call: `miss` (looked, nothing safe) or `bypass` (not consulted). @defaultValue from the job's cache mode */
  cacheOutcome?: 'miss' | 'bypass';
  /** Relay a streamed chunk (only set for streaming jobs). */
  onChunk?: (chunk: Record<string, unknown>) => void;
  /** What to send upstream (the pruned context of a long conversation). @defaultValue `job.data.request` */
  request?: ChatRequest;
  /** Whether an answer may be stored in the cache (the cascade's quality gate). @defaultValue every answer the store policy allows */
  accept?: (completion: UpstreamCompletion['completion']) => boolean;
}

/** A cache entry that answered a job. */
export interface CacheAnswer {
  kind: 'exact' | 'semantic';
  similarity: number;
  sourceJobId: string;
}

/** The outcome of a successful upstream call (or of a cache hit standing in for one). */
export interface UpstreamOutcome extends UpstreamCompletion {
  deployment: ResolvedDeployment;
  /** Set when the cache answered instead of the upstream. */
  cache?: CacheAnswer;
  /** Set by the cache step on a real call: whether the cache was looked at. */
  cacheOutcome?: 'miss' | 'bypass';
  /** Every billed call behind this outcome when there was more than one (a cascade). @defaultValue one call: this outcome's */
  calls?: BilledCall[];
  /** The tier that answered, when it is not the job's (an escalated cascade). */
  tier?: TierName;
  /** Set by the cascade: whether the small answer failed the quality gate. */
  cascade?: CompletionJobResult['cascade'];
}

/** Makes the upstream call of one attempt, or throws (UpstreamError, rate-limit wait, abort). */
export type UpstreamCaller = (ctx: AttemptContext) => Promise<UpstreamOutcome | undefined>;

/** The deployments that may serve a job: the tier's, narrowed to a pinned model when one is set. */
export function deploymentsFor(config: SluiceConfig, tier: TierName, pinnedModel?: string): ResolvedDeployment[] {
  const all = config.deployments.filter((d) => d.tier === tier);
  const pinned = pinnedModel ? all.filter((d) => d.model === pinnedModel) : all;
  return pinned.length ? pinned : all;
}
