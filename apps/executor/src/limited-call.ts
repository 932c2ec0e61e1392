import { DelayedError, Worker } from 'bullmq';
import type { ResolvedDeployment, SluiceConfig } from '@sluice/config';
import { isUpstreamError, type UpstreamClient, type UpstreamCompletion, type UpstreamError } from '@sluice/llm';
import {
  PermitLines,
  planPark,
  RateLimitedError,
  RunPlan,
  type ParkStep,
  type PermitLine,
  type AcquireAnyResult,
  type Lease,
  type Limiter,
  type ThroughputMeter,
} from '@sluice/limits';
import type { Logger } from '@sluice/telemetry';
import type { Settling } from './settling.ts';
import { deploymentsFor, type AttemptContext, type UpstreamCaller } from './upstream-call.ts';

/** Name of the shared throughput meter the API's backpressure reads (completions per second). */
export const COMPLETIONS_METER = 'completions';
/** Window of {@link COMPLETIONS_METER}; the API reads it with the same window. */
export const COMPLETIONS_METER_WINDOW_MS = 30_000;

/** Fewest jobs a worker takes at once while its tier's line sheds held jobs (see `shrinkConcurrency`). */
const MIN_CONCURRENCY_IN_BACKLOG = 2;

/** Options for {@link createLimitedCaller}. */
export interface LimitedCallerOptions {
  config: SluiceConfig;
  upstream: UpstreamClient;
  /** The process's global limiter (`createLimits` on a `worker`-role connection). */
  limiter: Limiter;
  logger?: Logger;
  /**
   * A job still without a permit this long after the API accepted it fails with the denial
   * as its reason instead of waiting on. @defaultValue `config.limits.permitWaitMs`
   */
  permitWaitMs?: number;
  /**
   * The process's permit lines, one per tier (shared with its metrics; the executor closes
   * them when it starts shutting down, so held jobs go back to the queue at once).
   * @defaultValue new ones holding a job up to `config.limits.permitHoldMs`
   */
  lines?: PermitLines;
  /** @defaultValue `Date.now` */
  clock?: () => number;
  /**
   * Where a successful call's settling goes (learning, release, counters): held until the
   * job's answer is published (`settling.published(jobId)`, which the caller must call once
   * the answer is sent). @defaultValue none: settled at once in the background, never awaited
   */
  settling?: Settling;
}

/**
 * The limits-aware caller: every upstream call holds a permit from the global limiter, so
 * the deployments' concurrency, request and token limits hold across all executor processes
 * (ARCHITECTURE.md invariant 3).
 *
 * Per run of a job:
 * - No deployment of its tier grants a permit: the job waits in this process's line for the
 *   tier ({@link PermitLine}) when the soonest permit is within the lines' hold bound (`SLUICE_PERMIT_HOLD_MS`): one job of the
 *   line asks the limiter at a time, so a blocked tier costs one limiter call per retry
 *   interval per process instead of a BullMQ fetch and hand-back per job. A longer block parks
 *   the job: it goes back to the queue as a delayed job without spending an attempt and keeps
 *   its priority, and the tier queue pauses until the soonest permit, for every worker
 *   (`worker.rateLimit`), since no job of the tier can get one before then.
 * - A job that asked only some deployments (a job pinned to one model, or the rest already
 *   failed it in this run) is denied: only this job waits (delayed), since BullMQ's rate
 *   limit pauses the whole queue and one saturated deployment would stall jobs another
 *   deployment of the tier could serve.
 * - Past `permitWaitMs` since acceptance a job without a permit fails, naming the limit.
 * - A call fails with 429, 5xx, a timeout, a dropped connection, or the deployment is
 *   broken (401/403/404): the result feeds the shared cooldown, learned limit and circuit,
 *   and the run moves on to the tier's next deployment without spending an attempt. Each
 *   deployment is tried at most once per run.
 * - Every deployment failed: a run that ended in 429s waits for the cooldown like a denial
 *   (no attempt spent); otherwise the last error is thrown and BullMQ retries the job with
 *   jittered exponential backoff, spending an attempt.
 * - Chunks already reached the client: no failover inside the run, since a second
 *   deployment's text would be spliced onto the first one's. The error is thrown; the next
 *   attempt is a new run, which the API shows as `stream_interrupted`.
 * - A 400 (any 4xx but 401/403/404/408/409/429), or a request that cannot be built to send, is
 *   the request's fault: thrown at once, the job fails without retries and no circuit counts it.
 *
 * The choices (which deployments to ask next, when the run parks or ends, how a parked job
 * waits) are `@sluice/limits`' {@link RunPlan} and {@link planPark}; this caller performs them
 * with the limiter, the upstream and BullMQ.
 *
 * Each call is announced (`begin`) before it is made; a streaming client's headers follow the
 * last announcement before the first chunk, so they name the deployment that answered.
 */
export function createLimitedCaller(options: LimitedCallerOptions): UpstreamCaller {
  const { config, upstream, limiter, logger } = options;
  const clock = options.clock ?? Date.now;
  const permitWaitMs = options.permitWaitMs ?? config.limits.permitWaitMs;
  const meter: ThroughputMeter = limiter.meter(COMPLETIONS_METER, COMPLETIONS_METER_WINDOW_MS);
  const lines = options.lines ?? new PermitLines({ holdMs: config.limits.permitHoldMs, clock });
  /** Per tier, the last denial of every deployment: the reason a parked or failed job gives. */
  const tierDenials = new Map<string, Extract<AcquireAnyResult<ResolvedDeployment>, { granted: false }>['error']>();
  /**
   * A worker's concurrency follows its tier's line: each job that parks because it was held
   * as long as it may (the line holds more than the process can serve within the hold bound)
   * takes one slot away; once the tier has gone a hold bound without a denial, the worker is
   * back at its configured concurrency. Without this, a worker fetches up to its concurrency
   * at once and most of those jobs cycle through the queue, losing their place in it
   * (measured: ≈ 10 fetches per job in `pnpm bench:storm`); with it, a process holds about
   * what it can serve.
   */
  const configuredConcurrency = new WeakMap<Worker, number>();
  const shrinkConcurrency = (worker: Worker) => {
    if (!configuredConcurrency.has(worker)) configuredConcurrency.set(worker, worker.concurrency);
    if (worker.concurrency > MIN_CONCURRENCY_IN_BACKLOG) worker.concurrency -= 1;
  };
  const restoreConcurrency = (worker: Worker, line: PermitLine) => {
    const configured = configuredConcurrency.get(worker);
    if (configured !== undefined && worker.concurrency !== configured && !line.congested())
      worker.concurrency = configured;
  };

  /** Perform the park the planner chose: fail, pause the queue, or delay the job (never an attempt spent). */
  const park = async (ctx: AttemptContext, step: ParkStep): Promise<never> => {
    const action = planPark({
      waitedMs: clock() - ctx.job.data.acceptedAt,
      retryAfterMs: step.retryAfterMs,
      permitWaitMs,
      hasToken: Boolean(ctx.token),
      wholeTier: step.wholeTier,
    });
    if (action.kind === 'fail') throw step.reason;
    if (action.kind === 'pause-queue') {
      await ctx.worker.rateLimit(action.ms);
      throw Worker.RateLimitError();
    }
    if (action.pauseTier) await ctx.worker.rateLimit(action.ms);
    await ctx.job.moveToDelayed(Date.now() + action.ms, ctx.token);
    throw new DelayedError();
  };

  return async (ctx) => {
    const data = ctx.job.data;
    const candidates = deploymentsFor(config, ctx.tier, data.pinnedModel);
    const tierSize = config.deployments.filter((d) => d.tier === ctx.tier).length;
    const request = ctx.request ?? data.request;
    const maxOutputTokens = request.max_completion_tokens ?? request.max_tokens ?? undefined;
    const plan = new RunPlan({ candidates, tierSize });
    const acquireOptions = { jobId: data.id, messages: request.messages, maxOutputTokens };
    for (;;) {
      const step = plan.next();
      if (step.kind === 'park') return park(ctx, step);
      if (step.kind === 'throw') throw step.error;
      const deployments = [...step.deployments];
      const got = step.wholeTier
        ? await acquireInLine(ctx, deployments, acquireOptions)
        : await limiter.acquireAny(deployments, acquireOptions);
      if (!got.granted) return park(ctx, plan.denied(deployments, got.retryAfterMs, got.error));

      const { deployment, lease } = got;
      const outcome = await callOnce(ctx, deployment, lease);
      if (outcome.kind === 'done') return outcome.value;
      if (outcome.kind === 'stopped') return undefined;
      const error = outcome.error;
      plan.failed({
        deploymentId: deployment.id,
        error,
        rateLimited: error.kind === 'rate_limited',
        cooldownMs: outcome.cooldownMs,
      });
      logger?.warn(
        {
          jobId: data.id,
          deploymentId: deployment.id,
          kind: error.kind,
          status: error.upstreamStatus,
          circuit: outcome.circuit,
        },
        'upstream call failed; trying the next deployment',
      );
    }
  };

  /**
   * Ask for a permit on every deployment of the tier, waiting in the tier's line while the
   * tier is blocked and the wait fits the hold bound. Returns a grant, or the denial to park on.
   */
  async function acquireInLine(
    ctx: AttemptContext,
    deployments: ResolvedDeployment[],
    acquireOptions: Parameters<Limiter['acquireAny']>[1],
  ): Promise<AcquireAnyResult<ResolvedDeployment>> {
    const line = lines.for(ctx.tier);
    const data = ctx.job.data;
    const entry = {
      priority: data.priority,
      acceptedAt: data.acceptedAt,
      deadline: data.acceptedAt + permitWaitMs,
      joinedAt: clock(),
      signal: ctx.signal,
    };
    const denial = (ms: number): AcquireAnyResult<ResolvedDeployment> => {
      const error = tierDenials.get(ctx.tier) ?? new RateLimitedError(deployments[0]!.id, 'rpm', ms);
      return { granted: false, retryAfterMs: ms, error, denials: [] };
    };
    let turn = false;
    try {
      for (;;) {
        if (!turn && !line.open()) {
          const next = await line.wait(entry);
          if (next.kind === 'park') {
            if (next.reason === 'held') shrinkConcurrency(ctx.worker);
            return denial(next.ms);
          }
          turn = true;
        }
        const got = await limiter.acquireAny(deployments, acquireOptions);
        if (got.granted) {
          if (turn) line.granted();
          restoreConcurrency(ctx.worker, line);
          turn = false;
          return got;
        }
        tierDenials.set(ctx.tier, got.error);
        if (turn) line.denied(got.retryAfterMs);
        else line.block(got.retryAfterMs);
        turn = false;
      }
    } finally {
      if (turn) line.release();
    }
  }

  type CallResult =
    | { kind: 'done'; value: UpstreamCompletion & { deployment: ResolvedDeployment } }
    | { kind: 'stopped' }
    | { kind: 'failover'; error: UpstreamError; cooldownMs: number; circuit: string };

  /** One call on a granted deployment; throws what must end the run, returns what may fail over. */
  async function callOnce(ctx: AttemptContext, deployment: ResolvedDeployment, lease: Lease): Promise<CallResult> {
    const data = ctx.job.data;
    // An earlier call of this job (a cascade's small answer, escalated) is not the answer that
    // will be published: what it holds is settled now, not after this call.
    options.settling?.published(data.id);
    // Announced before the call, so a job that finished meanwhile (cancelled while it waited)
    // spends nothing upstream.
    if (!(await ctx.begin(deployment))) {
      await limiter.release(lease, { totalTokens: 0 });
      return { kind: 'stopped' };
    }
    let relayed = false;
    // A long stream outlives the SDK timeout, which covers the wait for the response only;
    // renewing keeps its concurrency slot from being handed to another call meanwhile.
    const renew = setInterval(
      () => void limiter.renew(lease).catch(() => {}),
      Math.max(1_000, Math.floor(lease.leaseMs / 2)),
    );
    renew.unref();
    try {
      const result = await upstream.complete(deployment, ctx.request ?? data.request, {
        signal: ctx.signal,
        completionId: `chatcmpl-${data.id}`,
        onChunk: ctx.onChunk
          ? (chunk) => {
              relayed = true;
              ctx.onChunk!(chunk);
            }
          : undefined,
      });
      const usage = result.completion.usage;
      // Publish first, settle after: a success needs nothing back from the limiter, so its
      // learning, the release and the counters wait until the job's answer is sent, and go out
      // with other jobs' together (`Settling.defer`). The slot is freed a few ms later
      // than the call ended, which only errs on the safe side of the limit; a process killed
      // before the release leaves the lease to expire, as one killed mid-call does.
      const settle = () =>
        Promise.all([
          limiter.onUpstreamResult(deployment, { lease, status: 200, headers: result.headers }),
          limiter.release(lease, { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens }),
          meter.record(),
          limiter.tenants.recordTokens(data.tenant, usage.prompt_tokens + usage.completion_tokens),
        ]).catch((error: unknown) =>
          logger?.warn(
            { err: error, jobId: data.id },
            'could not settle a finished call (learning, release, counters)',
          ),
        );
      if (options.settling) options.settling.defer(data.id, settle);
      else void settle();
      return { kind: 'done', value: { ...result, deployment } };
    } catch (error) {
      // Cancelled, shutting down, a bug, or a request that could not be built to send (nothing
      // reached the upstream): not the deployment's fault, so its circuit never hears of it.
      if (
        !isUpstreamError(error) ||
        error.kind === 'aborted' ||
        (error.requestFault && error.upstreamStatus === undefined)
      ) {
        await limiter.release(lease).catch(() => {});
        throw error;
      }
      const verdict = await limiter.onUpstreamResult(deployment, {
        lease,
        status: error.upstreamStatus,
        headers: error.headers,
        error: error.upstreamStatus === undefined ? (error.kind === 'timeout' ? 'timeout' : 'connection') : undefined,
        retryAfterMs: error.retryAfterMs,
      });
      // A request the upstream refused generated nothing: its token reservation (the prompt and
      // the longest answer) is settled at nothing, not kept for the window. Kept, one tenant's
      // refused prompts at 20/s took the token budget B's requests then waited seconds for.
      await limiter.release(lease, error.requestFault ? { totalTokens: 0 } : undefined);
      if (!verdict.retryable || relayed) throw error;
      return { kind: 'failover', error, cooldownMs: verdict.cooldownMs, circuit: verdict.circuit };
    } finally {
      clearInterval(renew);
    }
  }
}
