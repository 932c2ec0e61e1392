import { customAlphabet } from 'nanoid';
import type { CompletionJobResult, RouteDecision, TierName } from '@sluice/queues';

/** Lifecycle of a job as clients see it. */
export type JobStatus = 'queued' | 'routed' | 'batched' | 'running' | 'completed' | 'failed' | 'cancelled';

/** Terminal statuses: a job in one of these never changes again. */
export const TERMINAL: ReadonlySet<JobStatus> = new Set(['completed', 'failed', 'cancelled']);

/** An OpenAI-style error body payload. */
export interface JobErrorBody {
  message: string;
  type: string;
  code: string;
  param?: string | null;
  /** HTTP status the API should answer with when it reports this error. */
  status: number;
}

/** One entry of a job's event log (durable stream + live pub/sub). */
export type JobEvent =
  | { type: 'routed'; route: RouteDecision }
  | { type: 'batched'; deploymentId: string; deadline: number }
  | {
      type: 'attempt';
      attempt: number;
      tier: TierName;
      model: string;
      deploymentId: string;
      cache: 'hit' | 'miss' | 'bypass';
      cacheKind?: 'exact' | 'semantic';
      cacheSimilarity?: number;
    }
  | { type: 'chunk'; attempt: number; chunk: Record<string, unknown> }
  | { type: 'retry'; attempt: number; reason: string; delayMs?: number }
  | { type: 'done'; result: CompletionJobResult }
  | { type: 'error'; error: JobErrorBody };

/** A job event with its position in the log. */
export interface StoredJobEvent {
  /** Redis stream id; strictly increasing per job. */
  id: string;
  event: JobEvent;
}

/** The job record clients can read (`GET /v1/jobs/:id`). */
export interface JobRecord {
  id: string;
  tenant: string;
  status: JobStatus;
  createdAt: number;
  finishedAt?: number;
  stream: boolean;
  model: string;
  tier?: TierName;
  category?: string;
  result?: CompletionJobResult;
  error?: JobErrorBody;
  /** The prompt routing decided on (latest user message, truncated): what `POST /v1/feedback` teaches. */
  prompt?: string;
}

const jobIdAlphabet = customAlphabet('0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ', 21);

/** A new job id (nanoid, 21 chars, URL- and Redis-key-safe). */
export function newJobId(): string {
  return jobIdAlphabet();
}
