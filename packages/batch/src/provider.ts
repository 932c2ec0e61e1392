import OpenAI, { toFile } from 'openai';
import type { ResolvedDeployment } from '@sluice/config';

/** One request of a provider batch: the Sluice job it answers and its chat completion body. */
export interface BatchRequest {
  jobId: string;
  /** OpenAI chat completion parameters, the deployment's model set (see `upstreamBody`). */
  body: Record<string, unknown>;
}

/**
 * A provider batch's state as the batcher reads it: OpenAI's batch statuses, or Anthropic's
 * `processing_status` (`in_progress`, `canceling`, `ended`).
 */
export interface ProviderBatch {
  id: string;
  status:
    | 'validating'
    | 'failed'
    | 'in_progress'
    | 'finalizing'
    | 'completed'
    | 'expired'
    | 'cancelling'
    | 'cancelled'
    | 'canceling'
    | 'ended';
  /** OpenAI's output file (`null` for Anthropic, whose results have their own endpoint). */
  outputFileId: string | null;
  errorFileId: string | null;
  /** The claim id Sluice put in the batch's metadata. */
  claimId?: string;
}

/** A claim a batcher left behind (claimed, maybe submitted, never recorded), as recovery looks for its batch. */
export interface ClaimRef {
  id: string;
  /** When it was claimed (ms, the batcher's clock): its batch, if any, was created after. */
  at: number;
  /** Jobs in it: its batch, if any, has this many requests. */
  size: number;
}

/** One answer or error of a finished provider batch. */
export interface ProviderResultLine {
  /** The Sluice job id the line answers. */
  customId: string;
  /** The endpoint's HTTP status; absent when the request never ran (expired, cancelled). */
  statusCode?: number;
  /** An OpenAI `chat.completion` (status < 300), or an error body `{ error: { message } }`. */
  body?: unknown;
  /** The line's own error (`batch_expired`, …). */
  error?: { code: string; message: string };
}

/**
 * The batch API of one provider, as the batcher uses it. Claim ids match
 * `^[A-Za-z0-9-]{1,34}$` and job ids `^[A-Za-z0-9]{1,29}$`, so a provider may carry both in a
 * request's id.
 */
export interface BatchProvider {
  /** Starts a batch of the requests, recognisable later by `claimId`; returns the provider's batch id. */
  submit(requests: readonly BatchRequest[], claimId: string): Promise<string>;
  retrieve(batchId: string): Promise<ProviderBatch>;
  /** Every answer and error of a finished batch, by Sluice job id. */
  results(batch: ProviderBatch): Promise<ProviderResultLine[]>;
  /**
   * The id of the batch submitted under a claim its batcher never recorded, `undefined` when
   * none was: recovery then puts the claim's jobs back. `exclude`: batches already recorded.
   */
  locate(claim: ClaimRef, exclude: ReadonlySet<string>): Promise<string | undefined>;
}

const FINAL_STATUSES = new Set(['failed', 'completed', 'expired', 'cancelled', 'ended']);

/** Whether a provider batch is over (every line has its answer or its error). */
export function isFinal(batch: ProviderBatch): boolean {
  return FINAL_STATUSES.has(batch.status);
}

/** Metadata key that carries Sluice's claim id on a provider batch. */
export const CLAIM_METADATA_KEY = 'sluice_claim';

function toProviderBatch(batch: OpenAI.Batches.Batch): ProviderBatch {
  const claimId = (batch.metadata as Record<string, string> | null | undefined)?.[CLAIM_METADATA_KEY];
  return {
    id: batch.id,
    status: batch.status,
    outputFileId: batch.output_file_id ?? null,
    errorFileId: batch.error_file_id ?? null,
    ...(claimId ? { claimId } : {}),
  };
}

/**
 * OpenAI's Batch API (`/v1/files` + `/v1/batches`) on a deployment's base URL and key, with the
 * official SDK. SDK retries stay on here: every call is idempotent or guarded by the claim
 * recorded in the batch's metadata, and the batcher is not on anyone's critical path.
 */
export class OpenAIBatchProvider implements BatchProvider {
  readonly #client: OpenAI;

  constructor(deployment: Pick<ResolvedDeployment, 'baseUrl' | 'apiKey' | 'timeoutMs'>) {
    this.#client = new OpenAI({
      baseURL: deployment.baseUrl,
      apiKey: deployment.apiKey || 'sluice-no-key',
      maxRetries: 2,
      timeout: Math.max(deployment.timeoutMs, 60_000),
    });
  }

  async submit(requests: readonly BatchRequest[], claimId: string): Promise<string> {
    const lines = requests.map((request) =>
      JSON.stringify({ custom_id: request.jobId, method: 'POST', url: '/v1/chat/completions', body: request.body }),
    );
    const file = await this.#client.files.create({
      file: await toFile(Buffer.from(`${lines.join('\n')}\n`), `sluice-${claimId}.jsonl`),
      purpose: 'batch',
    });
    const batch = await this.#client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
      metadata: { [CLAIM_METADATA_KEY]: claimId },
    });
    return batch.id;
  }

  async retrieve(batchId: string): Promise<ProviderBatch> {
    return toProviderBatch(await this.#client.batches.retrieve(batchId));
  }

  async results(batch: ProviderBatch): Promise<ProviderResultLine[]> {
    const lines: ProviderResultLine[] = [];
    for (const fileId of [batch.outputFileId, batch.errorFileId]) if (fileId) lines.push(...(await this.#file(fileId)));
    return lines;
  }

  async #file(fileId: string): Promise<ProviderResultLine[]> {
    const text = await (await this.#client.files.content(fileId)).text();
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => {
        const parsed = JSON.parse(line) as {
          custom_id: string;
          response?: { status_code?: number; body?: unknown } | null;
          error?: { code: string; message: string } | null;
        };
        return {
          customId: parsed.custom_id,
          ...(parsed.response?.status_code === undefined
            ? {}
            : { statusCode: parsed.response.status_code, body: parsed.response.body }),
          ...(parsed.error ? { error: parsed.error } : {}),
        };
      });
  }

  /** The batch whose metadata carries the claim id, among the 100 newest. */
  async locate(claim: ClaimRef): Promise<string | undefined> {
    const page = await this.#client.batches.list({ limit: 100 });
    return page.data.map(toProviderBatch).find((batch) => batch.claimId === claim.id)?.id;
  }
}
