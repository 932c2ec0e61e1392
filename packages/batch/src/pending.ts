import type { CompletionJobData, TierName } from '@sluice/queues';
import { loadScripts, type Keys, type Redis } from '@sluice/redis';

const SCRIPTS = loadScripts('batch', new URL('./lua/', import.meta.url), { claim: {}, takeDue: {} });

/** A deferred job as the batcher keeps it until its answer is delivered. */
export interface DeferredJob {
  data: CompletionJobData;
  tier: TierName;
  deploymentId: string;
  /** When the answer is due (ms). */
  deadline: number;
  /** When the job was deferred (ms). */
  deferredAt: number;
  /** Provider batches it was sent in so far without an answer. */
  submissions: number;
}

/** A set of jobs claimed for one provider batch and not yet handed to a poll job. */
export interface Claim {
  id: string;
  ids: string[];
  /** When it was claimed (ms). */
  at: number;
}

/**
 * The batcher's durable state for one Redis, per deployment (every key of a deployment shares
 * one hash tag): `items` holds each deferred job until its answer is delivered (its presence
 * is what "the batcher still owns this job" means), `pending` and `deadlines` the jobs not yet
 * in a provider batch, `claims` the jobs taken for a batch not yet recorded as submitted. A
 * job is always in exactly one of pending, a claim, or a submitted batch's poll job, so a
 * batcher killed at any point leaves nothing that recovery cannot find.
 */
export class PendingStore {
  readonly #redis: Redis;
  readonly #keys: Keys;
  readonly #ttlSeconds: number;

  constructor(redis: Redis, keys: Keys, ttlSeconds: number) {
    this.#redis = redis;
    this.#keys = keys;
    this.#ttlSeconds = ttlSeconds;
  }

  #key(deploymentId: string, name: 'items' | 'pending' | 'deadlines' | 'claims'): string {
    return this.#keys.family('batch', deploymentId, name);
  }

  /** Defers jobs: stored, and pending for the next provider batch of their deployment. */
  async add(jobs: readonly DeferredJob[]): Promise<void> {
    if (jobs.length === 0) return;
    const multi = this.#redis.multi();
    for (const job of jobs) {
      multi.hset(this.#key(job.deploymentId, 'items'), job.data.id, JSON.stringify(job));
      multi.zadd(this.#key(job.deploymentId, 'pending'), job.deferredAt, job.data.id);
      multi.zadd(this.#key(job.deploymentId, 'deadlines'), job.deadline, job.data.id);
      // Every deferred job has a deadline within the job record's lifetime, so the items
      // outlive no job they could still answer.
      multi.expire(this.#key(job.deploymentId, 'items'), this.#ttlSeconds);
    }
    await multi.exec();
  }

  /** Puts jobs back to pending (a provider batch that failed them or expired). */
  async repend(jobs: readonly DeferredJob[]): Promise<void> {
    await this.add(jobs);
  }

  /** Jobs waiting for a batch, and when the oldest of them was deferred. */
  async backlog(deploymentId: string): Promise<{ count: number; oldestAt?: number }> {
    const [[, count], [, oldest]] = (await this.#redis
      .multi()
      .zcard(this.#key(deploymentId, 'pending'))
      .zrange(this.#key(deploymentId, 'pending'), '0', '0', 'WITHSCORES')
      .exec()) as [[null, number], [null, string[]]];
    return { count, ...(oldest.length === 2 ? { oldestAt: Number(oldest[1]) } : {}) };
  }

  /** Claims up to `max` of the oldest pending jobs (see `lua/claim-3.lua`). */
  async claim(deploymentId: string, max: number, claimId: string, now: number): Promise<DeferredJob[]> {
    const ids = (await SCRIPTS.claim.run(
      this.#redis,
      [this.#key(deploymentId, 'pending'), this.#key(deploymentId, 'deadlines'), this.#key(deploymentId, 'claims')],
      [max, claimId, now],
    )) as string[];
    return this.items(deploymentId, ids);
  }

  /** Takes pending jobs due before `before` (see `lua/take-due-2.lua`). */
  async takeDue(deploymentId: string, before: number, max: number): Promise<DeferredJob[]> {
    const ids = (await SCRIPTS.takeDue.run(
      this.#redis,
      [this.#key(deploymentId, 'pending'), this.#key(deploymentId, 'deadlines')],
      [before, max],
    )) as string[];
    return this.items(deploymentId, ids);
  }

  /** Stored jobs by id; ids no longer owned (delivered, fallen back) are left out. */
  async items(deploymentId: string, ids: readonly string[]): Promise<DeferredJob[]> {
    if (ids.length === 0) return [];
    const raw = await this.#redis.hmget(this.#key(deploymentId, 'items'), ...ids);
    return raw.flatMap((value) => (value === null ? [] : [JSON.parse(value) as DeferredJob]));
  }

  /** Releases jobs whose answer was delivered or handed to a normal call. */
  async release(deploymentId: string, ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.#redis.hdel(this.#key(deploymentId, 'items'), ...ids);
  }

  /** Claims not yet handed over. */
  async claims(deploymentId: string): Promise<Claim[]> {
    const all = await this.#redis.hgetall(this.#key(deploymentId, 'claims'));
    return Object.entries(all).map(([id, value]) => ({ id, ...(JSON.parse(value) as { ids: string[]; at: number }) }));
  }

  /** Forgets a claim once its jobs are in a poll job or pending again. */
  async dropClaim(deploymentId: string, claimId: string): Promise<void> {
    await this.#redis.hdel(this.#key(deploymentId, 'claims'), claimId);
  }
}
