import type { Queue } from 'bullmq';
import type { SluiceConfig } from '@sluice/config';
import type { JobEventSubscriber, JobStore } from '@sluice/jobs';
import type { CompletionJobData, CompletionJobResult } from '@sluice/queues';
import type { ResponseCache } from '@sluice/cache';
import type { Redis } from '@sluice/redis';
import type { Ledger } from '@sluice/ledger';
import type { KnnStrategy, Router } from '@sluice/routing';
import type { Logger } from '@sluice/telemetry';
import type { Tenant, TenantStore } from '@sluice/tenants';
import type { AdmitOptions } from './admission.ts';
import type { Submitter } from './submit.ts';

/** What route handlers share. Built once in `buildApi`. */
export interface ApiContext {
  config: SluiceConfig;
  logger: Logger;
  redis: Redis;
  store: JobStore;
  tenants: TenantStore;
  submitter: Submitter;
  subscriber: JobEventSubscriber;
  router: Router;
  /** The kNN routing set `POST /v1/feedback` teaches (shared with the classifier). */
  knn: KnnStrategy;
  /** The cost ledger (`GET /v1/usage`). */
  ledger: Ledger;
  queues: Record<string, Queue<CompletionJobData>>;
  /**
   * The cache fast path: a finished result when the cache answers, else undefined.
   * `admit` runs on a hit before it is recorded (throw to refuse it).
   */
  fastPath(data: CompletionJobData, admit?: () => Promise<void>): Promise<CompletionJobResult | undefined>;
  /** The shared response cache (admin purge and stats); absent when caching is off. */
  cache?: ResponseCache;
  /**
   * Admission control before a job is accepted (quotas, backpressure); throws a 429 ApiError.
   * Returns the tenant's `x-ratelimit-*` headers.
   */
  admit(tenant: Tenant, data: CompletionJobData, options?: AdmitOptions): Promise<Record<string, string>>;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The tenant the API key belongs to (set by the auth hook on /v1/*). */
    tenant?: Tenant;
  }
}
