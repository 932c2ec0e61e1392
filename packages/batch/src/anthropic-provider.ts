import Anthropic from '@anthropic-ai/sdk';
import type { ResolvedDeployment } from '@sluice/config';
import { anthropicToCompletion, chatToAnthropic } from '@sluice/llm';
import type { ChatRequest } from '@sluice/queues';
import { InvalidBatcherOptionsError } from './errors.ts';
import type { BatchProvider, BatchRequest, ClaimRef, ProviderBatch, ProviderResultLine } from './provider.ts';

/** Anthropic's pattern for a request's `custom_id`. */
const CUSTOM_ID = /^[a-zA-Z0-9_-]{1,64}$/;
const CLAIM_ID = /^[A-Za-z0-9-]+$/;

/**
 * A Message Batch request's `custom_id`: `<claimId>_<jobId>`. Anthropic batches carry no
 * metadata, so the claim travels in every request's id (the claim id has no `_`, so the first
 * `_` splits them back); the job id makes a result line self-describing, with no mapping to keep.
 */
export function encodeCustomId(claimId: string, jobId: string): string {
  const customId = `${claimId}_${jobId}`;
  if (!CLAIM_ID.test(claimId) || !CUSTOM_ID.test(customId)) {
    throw new InvalidBatcherOptionsError(
      `Expected a claim id like \`${CLAIM_ID.source}\` and a job id that fit Anthropic's custom_id \`${CUSTOM_ID.source}\` together, got \`${customId}\``,
    );
  }
  return customId;
}

/** The claim and job ids a `custom_id` of {@link encodeCustomId} carries; `undefined` for one Sluice did not write. */
export function decodeCustomId(customId: string): { claimId: string; jobId: string } | undefined {
  const cut = customId.indexOf('_');
  if (cut <= 0 || cut === customId.length - 1) return undefined;
  const claimId = customId.slice(0, cut);
  return CLAIM_ID.test(claimId) ? { claimId, jobId: customId.slice(cut + 1) } : undefined;
}

/** Status codes of Anthropic's error types, so the batcher can tell a refused request from a provider failure. */
const ERROR_STATUS: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

/** Options of {@link AnthropicBatchProvider}. */
export interface AnthropicBatchProviderOptions {
  /**
   * How far the provider's clock may run behind the batcher's (ms): a batch created up to this
   * long before a claim's time still counts as possibly that claim's.
   * @defaultValue 300_000
   */
  clockSkewMs?: number;
  /** Batches listed when looking for a lost claim's batch (newest first). @defaultValue 100 */
  listLimit?: number;
}

function toProviderBatch(batch: Anthropic.Messages.MessageBatch): ProviderBatch {
  return { id: batch.id, status: batch.processing_status, outputFileId: null, errorFileId: null };
}

const total = (counts: Anthropic.Messages.MessageBatchRequestCounts) =>
  counts.processing + counts.succeeded + counts.errored + counts.canceled + counts.expired;

/**
 * Anthropic's Message Batches (`/v1/messages/batches`) on a deployment's base URL and key,
 * with the official SDK. Each job's chat request goes out as Messages API parameters (the
 * same mapping as a synchronous call, prompt-cache marks included), and each result comes
 * back as an OpenAI `chat.completion` whose usage counts cache reads and writes, so the
 * ledger prices them, at the batch rate.
 *
 * Finding a lost claim's batch: Anthropic keeps no metadata on a batch and shows request ids
 * only in its results, once it ended. So {@link locate} looks at batches created after the
 * claim with as many requests as the claim has jobs, not already recorded: an ended one is
 * the claim's when its results' `custom_id`s name the claim (exact); a running one is adopted
 * when it is the earliest such batch (a guess, the only one a running batch allows). A wrong
 * guess costs time, not answers: its results hold none of the claim's jobs, and the batcher
 * sends jobs a batch did not answer again.
 */
export class AnthropicBatchProvider implements BatchProvider {
  readonly #client: Anthropic;
  readonly #model: string;
  readonly #clockSkewMs: number;
  readonly #listLimit: number;

  constructor(
    deployment: Pick<ResolvedDeployment, 'baseUrl' | 'apiKey' | 'timeoutMs' | 'model'>,
    options: AnthropicBatchProviderOptions = {},
  ) {
    // The SDK appends `/v1/messages/batches` to its base URL; deployments name the `/v1` root.
    this.#client = new Anthropic({
      baseURL: deployment.baseUrl.replace(/\/v1\/?$/, ''),
      apiKey: deployment.apiKey || 'sluice-no-key',
      maxRetries: 2,
      timeout: Math.max(deployment.timeoutMs, 60_000),
    });
    this.#model = deployment.model;
    this.#clockSkewMs = options.clockSkewMs ?? 300_000;
    this.#listLimit = options.listLimit ?? 100;
  }

  async submit(requests: readonly BatchRequest[], claimId: string): Promise<string> {
    const batch = await this.#client.messages.batches.create({
      requests: requests.map((request) => ({
        custom_id: encodeCustomId(claimId, request.jobId),
        params: chatToAnthropic(request.body as unknown as ChatRequest, this.#model),
      })),
    });
    return batch.id;
  }

  async retrieve(batchId: string): Promise<ProviderBatch> {
    return toProviderBatch(await this.#client.messages.batches.retrieve(batchId));
  }

  async results(batch: ProviderBatch): Promise<ProviderResultLine[]> {
    const lines: ProviderResultLine[] = [];
    for await (const line of await this.#client.messages.batches.results(batch.id)) {
      const ids = decodeCustomId(line.custom_id);
      if (ids) lines.push(this.#line(ids.jobId, line.result));
    }
    return lines;
  }

  #line(jobId: string, result: Anthropic.Messages.MessageBatchResult): ProviderResultLine {
    switch (result.type) {
      case 'succeeded':
        return {
          customId: jobId,
          statusCode: 200,
          body: anthropicToCompletion(result.message as never, `chatcmpl-${jobId}`, this.#model),
        };
      case 'errored': {
        // The error response (`{type: 'error', error: {type, message}}`); older answers put the object itself here.
        const outer = result.error as unknown as {
          error?: { type?: string; message?: string };
          type?: string;
          message?: string;
        };
        const error = outer.error ?? outer;
        return {
          customId: jobId,
          statusCode: ERROR_STATUS[error.type ?? ''] ?? 500,
          body: { error: { message: error.message ?? 'errored in the batch', type: error.type } },
        };
      }
      case 'expired':
        return {
          customId: jobId,
          error: { code: 'batch_expired', message: 'The batch ended before this request ran.' },
        };
      case 'canceled':
        return {
          customId: jobId,
          error: { code: 'batch_cancelled', message: 'The batch was canceled before this request ran.' },
        };
    }
  }

  async locate(claim: ClaimRef, exclude: ReadonlySet<string>): Promise<string | undefined> {
    const page = await this.#client.messages.batches.list({ limit: this.#listLimit });
    const candidates = page.data
      .filter(
        (batch) =>
          !exclude.has(batch.id) &&
          Date.parse(batch.created_at) >= claim.at - this.#clockSkewMs &&
          total(batch.request_counts) === claim.size,
      )
      .sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at));
    let running: string | undefined;
    for (const batch of candidates) {
      if (batch.processing_status !== 'ended') {
        running ??= batch.id;
        continue;
      }
      if ((await this.#firstClaim(batch.id)) === claim.id) return batch.id;
    }
    return running;
  }

  /** The claim id in the first result line of an ended batch. */
  async #firstClaim(batchId: string): Promise<string | undefined> {
    for await (const line of await this.#client.messages.batches.results(batchId))
      return decodeCustomId(line.custom_id)?.claimId;
    return undefined;
  }
}
