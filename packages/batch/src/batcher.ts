import { randomBytes } from 'node:crypto';
import type { Queue } from 'bullmq';
import { toErrorRecord } from '@sluice/errors';
import { cacheContext, type ResponseCache } from '@sluice/cache';
import type { ResolvedDeployment, SluiceConfig } from '@sluice/config';
import type { JobStore } from '@sluice/jobs';
import { counterfactualCost, entryFromResult, sumUsd, type Ledger } from '@sluice/ledger';
import { costUsd, upstreamBody, UpstreamError } from '@sluice/llm';
import {
  completionJobOptions,
  decodeEmbedding,
  type BilledCall,
  type CompletionJobData,
  type CompletionJobResult,
  type JobUsage,
  type TierName,
} from '@sluice/queues';
import type { Keys, Redis } from '@sluice/redis';
import type { Logger } from '@sluice/telemetry';
import { InvalidBatcherOptionsError } from './errors.ts';
import { PendingStore, type DeferredJob } from './pending.ts';
import { AnthropicBatchProvider } from './anthropic-provider.ts';
import {
  isFinal,
  OpenAIBatchProvider,
  type BatchProvider,
  type BatchRequest,
  type ProviderResultLine,
} from './provider.ts';

/** Data of a poll job: one submitted provider batch, watched until its answers are delivered. */
export interface PollJobData {
  claimId: string;
  deploymentId: string;
  /** The provider's batch id. */
  batchId: string;
  /** Sluice job ids in the batch (shown in Bull Board). */
  jobIds: string[];
  submittedAt: number;
}

/** What a poll found. */
export interface PollOutcome {
  /** The provider batch is over and every line was handled. */
  done: boolean;
  /** The provider's status. */
  status: string;
  delivered: number;
  failed: number;
  resubmitted: number;
  fellBack: number;
}

/** Timing and size of provider batches. */
export interface BatchTuning {
  /** Jobs per provider batch at most. @defaultValue 1000 */
  maxSize: number;
  /** A deployment's oldest pending job waits at most this long before a batch goes (ms). @defaultValue 60_000 */
  maxAgeMs: number;
  /** How often a submitted batch is polled (ms). @defaultValue 30_000 */
  pollIntervalMs: number;
  /**
   * A job whose deadline is this close without an answer goes to a normal call instead (ms):
   * the time a normal call needs, with room for a queue.
   * @defaultValue 600_000
   */
  fallbackMarginMs: number;
  /** Provider batches a job is sent in before it falls back to a normal call. @defaultValue 3 */
  maxSubmissions: number;
  /** A claim older than this whose batch was never recorded is recovered (ms). @defaultValue 60_000 */
  claimTimeoutMs: number;
}

/** Options for {@link Batcher}. */
export interface BatcherOptions {
  config: SluiceConfig;
  redis: Redis;
  keys: Keys;
  store: JobStore;
  ledger: Ledger;
  /** Looked up before a job is deferred, filled when its answer arrives. @defaultValue none */
  cache?: ResponseCache;
  logger: Logger;
  /** Where a job that cannot wait for its batch any more goes (a normal call). */
  tierQueues: Record<TierName, Queue<CompletionJobData, CompletionJobResult>>;
  /** Queue of poll jobs, one per submitted provider batch. */
  pollQueue: Queue<PollJobData>;
  /**
   * The batch API of a deployment.
   * @defaultValue {@link AnthropicBatchProvider} for `api: anthropic` deployments, else {@link OpenAIBatchProvider}
   */
  provider?: (deployment: ResolvedDeployment) => BatchProvider;
  tuning?: Partial<BatchTuning>;
  /** Clock (ms). @defaultValue Date.now */
  now?: () => number;
}

const DEFAULT_TUNING: BatchTuning = {
  maxSize: 1000,
  maxAgeMs: 60_000,
  pollIntervalMs: 30_000,
  fallbackMarginMs: 600_000,
  maxSubmissions: 3,
  claimTimeoutMs: 60_000,
};

/**
 * The deployment that answers a deferrable job through its provider's batch API: the job's
 * pinned model if that deployment offers one, else the first of the tier's that does.
 * `undefined`: the job cannot be batched and takes a normal call.
 */
export function batchDeploymentFor(
  config: SluiceConfig,
  data: Pick<CompletionJobData, 'pinnedModel'>,
  tier: TierName,
): ResolvedDeployment | undefined {
  const candidates = config.deployments.filter((d) => d.tier === tier && d.batch);
  return data.pinnedModel ? candidates.find((d) => d.model === data.pinnedModel) : candidates[0];
}

/**
 * Answers deferrable jobs (a completion window instead of a caller waiting) through the
 * providers' batch APIs, at their batch price, with the same job record, events, cache and
 * ledger as any job:
 *
 * - {@link intake}: a routed job is answered from the cache when it can be, else deferred to
 *   its deployment's pending set;
 * - {@link tick}: pending jobs out of time go to a normal call; a deployment's pending jobs go
 *   out as one provider batch when there are `maxSize` of them or the oldest waited `maxAgeMs`;
 *   claims a dead batcher left are recovered;
 * - {@link poll}: a submitted batch's answers are delivered when it is over; lines that failed
 *   for the provider's reasons (expiry, 5xx, 429) are sent again or fall back, lines the
 *   provider refused as bad requests fail their job with the reason.
 *
 * Every step is safe to repeat after a crash: delivery is exactly-once per job (the job
 * store), a job stays owned by the batcher (`items`) until its answer is delivered, and each
 * submitted batch is a BullMQ poll job, so a batcher killed mid-way resumes where it was.
 */
export class Batcher {
  readonly #options: BatcherOptions;
  readonly #tuning: BatchTuning;
  readonly #pending: PendingStore;
  readonly #providers = new Map<string, BatchProvider>();
  readonly #now: () => number;

  constructor(options: BatcherOptions) {
    this.#tuning = { ...DEFAULT_TUNING, ...options.tuning };
    for (const [name, value] of Object.entries(this.#tuning)) {
      if (!Number.isInteger(value) || value < 1)
        throw new InvalidBatcherOptionsError(
          `Expected \`tuning.${name}\` to be an integer ≥ 1, got \`${String(value)}\``,
        );
    }
    this.#options = options;
    this.#pending = new PendingStore(options.redis, options.keys, options.config.queues.resultTtlSeconds);
    this.#now = options.now ?? Date.now;
  }

  /** The deployments that can take batches. */
  get deployments(): readonly ResolvedDeployment[] {
    return this.#options.config.deployments.filter((d) => d.batch);
  }

  #provider(deployment: ResolvedDeployment): BatchProvider {
    let provider = this.#providers.get(deployment.id);
    if (!provider) {
      provider =
        this.#options.provider?.(deployment) ??
        (deployment.api === 'anthropic' ? new AnthropicBatchProvider(deployment) : new OpenAIBatchProvider(deployment));
      this.#providers.set(deployment.id, provider);
    }
    return provider;
  }

  #deployment(id: string): ResolvedDeployment {
    const deployment = this.#options.config.deployments.find((d) => d.id === id);
    if (!deployment)
      throw new InvalidBatcherOptionsError(
        `Deployment \`${id}\` is not configured (a batch of it was submitted under another configuration)`,
      );
    return deployment;
  }

  /**
   * Takes a routed deferrable job: answered from the cache when it can be, else deferred to
   * its deployment's next provider batch (or a normal call when none can take it, or too
   * little time is left).
   */
  async intake(data: CompletionJobData): Promise<'hit' | 'deferred' | 'fallback' | 'finished'> {
    const { store } = this.#options;
    const status = await store.status(data.id);
    if (status === undefined || status === 'completed' || status === 'failed' || status === 'cancelled')
      return 'finished';
    const tier = data.route?.tier ?? data.pinnedTier ?? 'large';
    if (await this.#answerFromCache(data, tier)) return 'hit';
    const deployment = batchDeploymentFor(this.#options.config, data, tier);
    const deadline = data.deadline ?? 0;
    if (!deployment || deadline - this.#now() <= this.#tuning.fallbackMarginMs) {
      await this.#fallBack([
        { data, tier, deploymentId: deployment?.id ?? '', deadline, deferredAt: this.#now(), submissions: 0 },
      ]);
      return 'fallback';
    }
    await this.#pending.add([
      { data, tier, deploymentId: deployment.id, deadline, deferredAt: this.#now(), submissions: 0 },
    ]);
    await store.append(data.id, { type: 'batched', deploymentId: deployment.id, deadline }, 'batched');
    return 'deferred';
  }

  /** One round of housekeeping over every batch deployment; see the class documentation. */
  async tick(): Promise<void> {
    for (const deployment of this.deployments) {
      try {
        await this.#tickDeployment(deployment);
      } catch (error) {
        this.#options.logger.warn(
          { err: error, deploymentId: deployment.id },
          'batcher round failed; retried next tick',
        );
      }
    }
  }

  async #tickDeployment(deployment: ResolvedDeployment): Promise<void> {
    const now = this.#now();
    const due = await this.#pending.takeDue(deployment.id, now + this.#tuning.fallbackMarginMs, this.#tuning.maxSize);
    await this.#fallBack(due);
    await this.#recoverClaims(deployment, now);
    for (;;) {
      const { count, oldestAt } = await this.#pending.backlog(deployment.id);
      if (
        count === 0 ||
        (count < this.#tuning.maxSize && oldestAt !== undefined && this.#now() - oldestAt < this.#tuning.maxAgeMs)
      )
        return;
      await this.#submit(deployment);
    }
  }

  /** Claims the oldest pending jobs and sends them as one provider batch. */
  async #submit(deployment: ResolvedDeployment): Promise<void> {
    // Short and of [A-Za-z0-9-] only: Anthropic carries it in each request's custom_id (64 chars at most).
    const claimId = `${deployment.id.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 16)}-${this.#now().toString(36)}-${randomBytes(4).toString('hex')}`;
    const jobs = await this.#pending.claim(deployment.id, this.#tuning.maxSize, claimId, this.#now());
    if (jobs.length === 0) {
      await this.#pending.dropClaim(deployment.id, claimId);
      return;
    }
    let batchId: string;
    try {
      batchId = await this.#provider(deployment).submit(
        jobs.map((job) => batchRequest(job, deployment)),
        claimId,
      );
    } catch (error) {
      // Nothing was submitted (or recovery will find the batch by its claim): back to pending.
      this.#options.logger.warn(
        { err: error, deploymentId: deployment.id, jobs: jobs.length },
        'provider batch could not be submitted; jobs stay pending',
      );
      await this.#pending.repend(jobs);
      await this.#pending.dropClaim(deployment.id, claimId);
      throw error;
    }
    await this.#handOver(
      deployment.id,
      claimId,
      batchId,
      jobs.map((job) => job.data.id),
    );
    this.#options.logger.info({ deploymentId: deployment.id, batchId, jobs: jobs.length }, 'provider batch submitted');
  }

  /** Records a submitted batch as a poll job, then forgets its claim. */
  async #handOver(deploymentId: string, claimId: string, batchId: string, jobIds: string[]): Promise<void> {
    await this.#options.pollQueue.add(
      'poll',
      { claimId, deploymentId, batchId, jobIds, submittedAt: this.#now() },
      // The claim id is the poll job's id, so recovery adding it again is a no-op.
      {
        jobId: claimId,
        delay: this.#tuning.pollIntervalMs,
        attempts: 1_000_000,
        backoff: { type: 'fixed', delay: this.#tuning.pollIntervalMs },
        removeOnComplete: { count: 1000 },
        removeOnFail: { count: 1000 },
      },
    );
    await this.#pending.dropClaim(deploymentId, claimId);
  }

  /**
   * A claim older than the claim timeout belongs to a batcher that died between claiming and
   * recording its batch: adopt the provider batch submitted under it (the provider finds it:
   * by metadata, or by the claim id in its requests' ids), or put the jobs back when there is none.
   */
  async #recoverClaims(deployment: ResolvedDeployment, now: number): Promise<void> {
    const stale = (await this.#pending.claims(deployment.id)).filter(
      (claim) => now - claim.at >= this.#tuning.claimTimeoutMs,
    );
    if (stale.length === 0) return;
    // Batches already recorded are no lost claim's; one adopted below is no other claim's.
    const recorded = await this.#options.pollQueue.getJobs(['active', 'waiting', 'delayed', 'prioritized']);
    const exclude = new Set(recorded.map((job) => job.data.batchId));
    for (const claim of stale) {
      const items = await this.#pending.items(deployment.id, claim.ids);
      const batchId =
        items.length === 0
          ? undefined
          : await this.#provider(deployment).locate({ id: claim.id, at: claim.at, size: items.length }, exclude);
      if (batchId) {
        exclude.add(batchId);
        await this.#handOver(
          deployment.id,
          claim.id,
          batchId,
          items.map((item) => item.data.id),
        );
      } else {
        await this.#pending.repend(items);
        await this.#pending.dropClaim(deployment.id, claim.id);
      }
      this.#options.logger.warn(
        { deploymentId: deployment.id, claimId: claim.id, adopted: batchId ?? false },
        'recovered a claim a batcher left behind',
      );
    }
  }

  /** Reads a submitted batch; when it is over, delivers its answers and settles its other jobs. */
  async poll(job: PollJobData): Promise<PollOutcome> {
    const deployment = this.#deployment(job.deploymentId);
    const provider = this.#provider(deployment);
    const batch = await provider.retrieve(job.batchId);
    const owned = await this.#pending.items(job.deploymentId, job.jobIds);
    const outcome: PollOutcome = {
      done: false,
      status: batch.status,
      delivered: 0,
      failed: 0,
      resubmitted: 0,
      fellBack: 0,
    };
    if (!isFinal(batch)) {
      // Jobs whose window closes before the batch would answer take a normal call now.
      const late = owned.filter((item) => item.deadline - this.#now() <= this.#tuning.fallbackMarginMs);
      await this.#fallBack(late);
      outcome.fellBack = late.length;
      return outcome;
    }
    const lines = new Map<string, ProviderResultLine>();
    for (const line of await provider.results(batch)) lines.set(line.customId, line);
    const again: DeferredJob[] = [];
    const late: DeferredJob[] = [];
    for (const item of owned) {
      const line = lines.get(item.data.id);
      if (line?.statusCode !== undefined && line.statusCode < 300) {
        await this.#deliver(item, deployment, line.body as BatchCompletion);
        outcome.delivered += 1;
      } else if (
        line?.statusCode !== undefined &&
        line.statusCode >= 400 &&
        line.statusCode < 500 &&
        line.statusCode !== 408 &&
        line.statusCode !== 429
      ) {
        // The provider refused the request itself: another try would be refused the same way.
        const message =
          (line.body as { error?: { message?: string } } | undefined)?.error?.message ?? `status ${line.statusCode}`;
        // The same record the executor stores for the same refusal (`@sluice/errors`).
        await this.#options.store.fail(
          item.data.id,
          toErrorRecord(
            new UpstreamError(
              `Upstream answered ${line.statusCode} in a batch: ${message}`,
              'bad_request',
              item.deploymentId,
              line.statusCode,
              undefined,
              {},
            ),
          ),
        );
        await this.#pending.release(item.deploymentId, [item.data.id]);
        outcome.failed += 1;
      } else if (
        item.submissions + 1 < this.#tuning.maxSubmissions &&
        item.deadline - this.#now() > this.#tuning.fallbackMarginMs
      ) {
        again.push({ ...item, submissions: item.submissions + 1, deferredAt: this.#now() });
      } else {
        late.push(item);
      }
    }
    await this.#pending.repend(again);
    await this.#fallBack(late);
    outcome.resubmitted = again.length;
    outcome.fellBack = late.length;
    outcome.done = true;
    if (again.length + late.length + outcome.failed > 0) {
      this.#options.logger.warn(
        { batchId: job.batchId, ...outcome },
        'provider batch left jobs unanswered; sent again or to a normal call',
      );
    }
    return outcome;
  }

  /** Completes a job with its batch answer (exactly once), then its bookkeeping. */
  async #deliver(item: DeferredJob, deployment: ResolvedDeployment, body: BatchCompletion): Promise<void> {
    const { store, ledger, cache, config, logger } = this.#options;
    const { data, tier } = item;
    const usage: JobUsage = {
      prompt_tokens: body.usage?.prompt_tokens ?? 0,
      completion_tokens: body.usage?.completion_tokens ?? 0,
      total_tokens: (body.usage?.prompt_tokens ?? 0) + (body.usage?.completion_tokens ?? 0),
      ...(body.usage?.prompt_tokens_details?.cached_tokens || body.usage?.prompt_tokens_details?.cache_write_tokens
        ? {
            prompt_tokens_details: {
              cached_tokens: body.usage.prompt_tokens_details.cached_tokens ?? 0,
              // Anthropic bills writes to its prompt cache above the input price.
              ...(body.usage.prompt_tokens_details.cache_write_tokens
                ? { cache_write_tokens: body.usage.prompt_tokens_details.cache_write_tokens }
                : {}),
            },
          }
        : {}),
    };
    const completion = {
      id: `chatcmpl-${data.id}`,
      object: 'chat.completion',
      created: body.created ?? Math.floor(this.#now() / 1000),
      model: deployment.model,
      choices: body.choices ?? [],
      usage,
    };
    const call: BilledCall = {
      purpose: 'answer',
      tier,
      model: deployment.model,
      deploymentId: deployment.id,
      promptTokens: usage.prompt_tokens,
      completionTokens: usage.completion_tokens,
      ...(usage.prompt_tokens_details?.cached_tokens
        ? { cachedTokens: usage.prompt_tokens_details.cached_tokens }
        : {}),
      batch: true,
      costUsd: costUsd(deployment, usage, { batch: true }),
    };
    const calls = [...(data.routingCalls ?? []), call];
    const cacheOutcome = data.cacheMode === 'default' ? 'miss' : 'bypass';
    const result: CompletionJobResult = {
      completion,
      tier,
      model: deployment.model,
      deploymentId: deployment.id,
      cache: cacheOutcome,
      costUsd: sumUsd(calls.map((c) => c.costUsd)),
      attempt: item.submissions + 1,
      calls,
      counterfactual: counterfactualCost({
        deployments: config.deployments,
        messages: data.request.messages,
        promptTokens: data.context?.fullTokens,
        completionTokens: usage.completion_tokens,
        cachedTokens: call.cachedTokens,
      }),
      ...(data.context
        ? { context: { mode: data.context.mode, fullTokens: data.context.fullTokens, tokens: data.context.tokens } }
        : {}),
    };
    const finishedAt = this.#now();
    await store.append(
      data.id,
      {
        type: 'attempt',
        attempt: item.submissions + 1,
        tier,
        model: deployment.model,
        deploymentId: deployment.id,
        cache: cacheOutcome,
      },
      'running',
    );
    const first = await store.complete(data.id, result, finishedAt);
    // A repeat after a crash finds the job completed: its bookkeeping may not have run yet
    // (the ledger counts each job once, so running it again is safe).
    const record = first ? undefined : await store.get(data.id);
    if (first || (record?.status === 'completed' && record.result?.deploymentId === deployment.id)) {
      await ledger
        .record(
          entryFromResult(
            { tenant: data.tenant, jobId: data.id, finishedAt: record?.finishedAt ?? finishedAt },
            record?.result ?? result,
          ),
        )
        .catch((error: unknown) => logger.error({ err: error, jobId: data.id }, 'ledger write failed'));
      if (first && cache && !data.request.conversation_id) {
        const context = cacheContext(config, data, tier);
        await cache
          .store({
            ...context,
            scope: cache.scope(context),
            category: data.route?.category ?? 'general',
            cacheMode: data.cacheMode,
            completion: completion as never,
            jobId: data.id,
            embedding: decodeEmbedding(data.embedding),
          })
          .catch((error: unknown) => logger.warn({ err: error, jobId: data.id }, 'cache store failed'));
      }
    }
    await this.#pending.release(item.deploymentId, [data.id]);
  }

  /** Answers a job from the cache when it holds a safe answer. */
  async #answerFromCache(data: CompletionJobData, tier: TierName): Promise<boolean> {
    const { cache, config, store, ledger, logger } = this.#options;
    // A stored conversation's new turn depends on history the cache scope cannot see.
    if (!cache || data.request.conversation_id) return false;
    try {
      const context = cacheContext(config, data, tier);
      const lookup = await cache.lookup({
        ...context,
        scope: cache.scope(context),
        category: data.route?.category ?? 'general',
        cacheMode: data.cacheMode,
        embedding: decodeEmbedding(data.embedding),
      });
      if (!lookup.hit) return false;
      const model =
        typeof (lookup.completion as { model?: unknown }).model === 'string'
          ? (lookup.completion as { model: string }).model
          : 'cache';
      const completion = {
        ...(lookup.completion as Record<string, unknown>),
        id: `chatcmpl-${data.id}`,
      } as CompletionJobResult['completion'];
      const calls: BilledCall[] = [
        ...(data.routingCalls ?? []),
        { purpose: 'answer', tier, model, deploymentId: 'cache', promptTokens: 0, completionTokens: 0, costUsd: 0 },
      ];
      const result: CompletionJobResult = {
        completion,
        tier,
        model,
        deploymentId: 'cache',
        cache: 'hit',
        cacheKind: lookup.kind,
        cacheSimilarity: lookup.similarity,
        costUsd: sumUsd(calls.map((c) => c.costUsd)),
        attempt: 1,
        calls,
        counterfactual: counterfactualCost({
          deployments: config.deployments,
          messages: data.request.messages,
          promptTokens: data.context?.fullTokens,
          completionTokens: completion.usage?.completion_tokens ?? 0,
        }),
      };
      await store.append(
        data.id,
        {
          type: 'attempt',
          attempt: 1,
          tier,
          model,
          deploymentId: 'cache',
          cache: 'hit',
          cacheKind: lookup.kind,
          cacheSimilarity: lookup.similarity,
        },
        'running',
      );
      const finishedAt = this.#now();
      if (await store.complete(data.id, result, finishedAt))
        await ledger.record(entryFromResult({ tenant: data.tenant, jobId: data.id, finishedAt }, result));
      return true;
    } catch (error) {
      logger.warn({ err: error, jobId: data.id }, 'cache lookup failed; the job is batched');
      return false;
    }
  }

  /** Sends jobs to a normal call on their tier (the window is closing, or no batch can take them). */
  async #fallBack(jobs: readonly DeferredJob[]): Promise<void> {
    const { tierQueues, config } = this.#options;
    for (const job of jobs) {
      const { deadline: _deadline, ...data } = job.data;
      // Same job id as everywhere: a fallback repeated after a crash is one job, not two.
      await tierQueues[job.tier].add('completion', data, completionJobOptions(data.id, data.priority, config.queues));
      if (job.deploymentId) await this.#pending.release(job.deploymentId, [data.id]);
    }
  }
}

/** The chat completion body of a batch output line, as far as delivery reads it. */
interface BatchCompletion {
  created?: number;
  choices?: unknown[];
  usage?: JobUsage;
}

/** A job as one request of a provider batch: its chat request (pruned context, when it has one) for the deployment's model. */
export function batchRequest(job: DeferredJob, deployment: Pick<ResolvedDeployment, 'model'>): BatchRequest {
  const request = job.data.context ? { ...job.data.request, messages: job.data.context.messages } : job.data.request;
  return { jobId: job.data.id, body: upstreamBody(request as unknown as Record<string, unknown>, deployment.model) };
}
