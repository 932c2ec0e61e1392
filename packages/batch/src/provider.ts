import OpenAI, { toFile } from 'openai';
import type { ResolvedDeployment } from '@sluice/config';

/** A provider batch's state as the batcher reads it. */
export interface ProviderBatch {
  id: string;
  status: 'validating' | 'failed' | 'in_progress' | 'finalizing' | 'completed' | 'expired' | 'cancelling' | 'cancelled';
  outputFileId: string | null;
  errorFileId: string | null;
  /** The claim id Sluice put in the batch's metadata. */
  claimId?: string;
}

/** One line of a provider batch's output or error file. */
export interface ProviderResultLine {
  customId: string;
  /** The endpoint's HTTP status; absent when the request never ran (expired, cancelled). */
  statusCode?: number;
  body?: unknown;
  /** The line's own error (`batch_expired`, …). */
  error?: { code: string; message: string };
}

/** The batch API of one provider, as the batcher uses it. */
export interface BatchProvider {
  /** Uploads a JSONL input file and starts a batch over it; `claimId` goes into its metadata. */
  submit(lines: readonly string[], claimId: string): Promise<string>;
  retrieve(batchId: string): Promise<ProviderBatch>;
  /** The lines of an output or error file. */
  results(fileId: string): Promise<ProviderResultLine[]>;
  /** The newest batches (to find one a batcher submitted before it died). */
  recent(limit: number): Promise<ProviderBatch[]>;
}

const FINAL_STATUSES = new Set(['failed', 'completed', 'expired', 'cancelled']);

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
    this.#client = new OpenAI({ baseURL: deployment.baseUrl, apiKey: deployment.apiKey || 'sluice-no-key', maxRetries: 2, timeout: Math.max(deployment.timeoutMs, 60_000) });
  }

  async submit(lines: readonly string[], claimId: string): Promise<string> {
    const file = await this.#client.files.create({ file: await toFile(Buffer.from(`${lines.join('\n')}\n`), `sluice-${claimId}.jsonl`), purpose: 'batch' });
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

  async results(fileId: string): Promise<ProviderResultLine[]> {
    const text = await (await this.#client.files.content(fileId)).text();
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => {
        const parsed = JSON.parse(line) as { custom_id: string; response?: { status_code?: number; body?: unknown } | null; error?: { code: string; message: string } | null };
        return {
          customId: parsed.custom_id,
          ...(parsed.response?.status_code === undefined ? {} : { statusCode: parsed.response.status_code, body: parsed.response.body }),
          ...(parsed.error ? { error: parsed.error } : {}),
        };
      });
  }

  async recent(limit: number): Promise<ProviderBatch[]> {
    const page = await this.#client.batches.list({ limit });
    return page.data.map(toProviderBatch);
  }
}
