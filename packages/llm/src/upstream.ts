import { defineError, isSluiceError, SluiceError, type ErrorDefinition, type OpenAIErrorType } from '@sluice/errors';
import OpenAI, { APIError, APIConnectionError, APIConnectionTimeoutError, APIUserAbortError } from 'openai';
import type { ResolvedDeployment } from '@sluice/config';
import type { ChatRequest, JobUsage } from '@sluice/queues';
import { AnthropicUpstream } from './anthropic.ts';
import { withGenAiSpan } from './genai-span.ts';
import { countChatTokens, countTokens } from './tokens.ts';
import { pooledFetch } from './pooled-fetch.ts';

/** What kind of upstream failure happened; decides retry, failover and circuit handling. */
export type UpstreamFailureKind =
  'rate_limited' | 'server_error' | 'timeout' | 'connection' | 'bad_request' | 'auth' | 'aborted' | 'stream_dropped';

const upstream = (code: string, status: number, openaiType: OpenAIErrorType, retryable: boolean, message: string) =>
  defineError({
    code,
    status,
    openaiType,
    retryable,
    sluiceCode: 'SLUICE_ERR_UPSTREAM',
    subsystem: '@sluice/llm',
    message,
  });

/**
 * How each upstream failure reaches a client, whichever process met it (executor, API
 * embeddings, batcher): one code and status per kind. A request the upstream refused is the
 * client's 400, whatever 4xx the upstream used.
 */
const UPSTREAM_ERRORS = {
  rate_limited: upstream('upstream_rate_limited', 429, 'rate_limit_error', true, 'The upstream is rate limited.'),
  bad_request: upstream(
    'upstream_bad_request',
    400,
    'invalid_request_error',
    false,
    'The upstream refused the request.',
  ),
  // A 404 names a model the deployment does not serve: its configuration is broken, not the request.
  model_not_found: upstream(
    'upstream_model_not_found',
    502,
    'upstream_error',
    false,
    'The upstream does not serve the configured model.',
  ),
  server_error: upstream('upstream_server_error', 502, 'upstream_error', true, 'The upstream failed.'),
  timeout: upstream('upstream_timeout', 502, 'upstream_error', true, 'The upstream call timed out.'),
  connection: upstream('upstream_connection', 502, 'upstream_error', true, 'The upstream could not be reached.'),
  auth: upstream('upstream_auth', 502, 'upstream_error', false, 'The upstream refused Sluice’s credentials.'),
  stream_dropped: upstream('upstream_stream_dropped', 502, 'upstream_error', true, 'The upstream stream dropped.'),
  aborted: upstream('upstream_aborted', 502, 'upstream_error', false, 'The upstream call was aborted.'),
} as const;

function upstreamDefinition(kind: UpstreamFailureKind, upstreamStatus: number | undefined): ErrorDefinition {
  return kind === 'bad_request' && upstreamStatus === 404 ? UPSTREAM_ERRORS.model_not_found : UPSTREAM_ERRORS[kind];
}

/** A failed upstream call, with what a caller needs to act on it. */
export class UpstreamError extends SluiceError {
  override name = 'UpstreamError' as const;
  declare readonly code: 'SLUICE_ERR_UPSTREAM';
  /** The upstream's HTTP status, when it answered (`status` is what a client gets). */
  readonly upstreamStatus: number | undefined;
  constructor(
    message: string,
    readonly kind: UpstreamFailureKind,
    readonly deploymentId: string,
    upstreamStatus: number | undefined,
    retryAfterMs: number | undefined,
    /** The upstream's response headers (never passed to a client). */
    readonly headers: Record<string, string>,
    options?: { cause?: unknown },
  ) {
    super(upstreamDefinition(kind, upstreamStatus), message, { cause: options?.cause, retryAfterMs });
    this.upstreamStatus = upstreamStatus;
  }

  /**
   * The request itself is at fault (the upstream refused it with a 4xx other than 401, 403,
   * 404, 408, 409 or 429, or it could not even be built to send): trying again, elsewhere or
   * later, fails the same way, and the deployment is not to blame (no circuit counts it).
   */
  get requestFault(): boolean {
    // A 404 names a model the deployment does not serve: its configuration is broken.
    return this.kind === 'bad_request' && this.upstreamStatus !== 404;
  }
}

/** Type guard for {@link UpstreamError} (also one of another copy of this module). */
export function isUpstreamError(error: unknown): error is UpstreamError {
  return error instanceof UpstreamError || (isSluiceError(error) && error.code === 'SLUICE_ERR_UPSTREAM');
}

/**
 * The failure kind of an upstream's HTTP error status, the same for every provider: 429 is a
 * rate limit; 5xx (Anthropic's 529 "overloaded" included) and 409 (a conflict both providers'
 * SDKs retry) are the server's; 401 and 403 are credentials; 408 is a timeout; any other 4xx
 * is the request's own fault.
 */
export function failureKindForStatus(status: number): UpstreamFailureKind {
  if (status === 429) return 'rate_limited';
  if (status >= 500 || status === 409) return 'server_error';
  if (status === 401 || status === 403) return 'auth';
  if (status === 408) return 'timeout';
  return 'bad_request';
}

/** The assembled result of one upstream call. */
export interface UpstreamCompletion {
  completion: {
    id: string;
    object: 'chat.completion';
    created: number;
    model: string;
    /** The upstream's, when it sent one. */
    system_fingerprint?: string | null;
    choices: Array<{
      index: number;
      message: { role: 'assistant'; content: string | null; refusal: string | null; tool_calls?: unknown[] };
      finish_reason: string | null;
      logprobs: unknown;
    }>;
    /** With the upstream's `prompt_tokens_details` / `completion_tokens_details` when it sent them. */
    usage: JobUsage & Record<string, unknown>;
  };
  /** Response headers (lower-case), for limit learning. */
  headers: Record<string, string>;
}

/** Options for one call. */
export interface CallOptions {
  /** Abort (cancellation, shutdown). */
  signal?: AbortSignal;
  /** Called with each OpenAI chunk as it arrives, already re-labelled with the job's id. */
  onChunk?: (chunk: Record<string, unknown>) => void | Promise<void>;
  /** The id the client sees (`chatcmpl-<jobId>`). */
  completionId: string;
}

/** A fetch `Headers` as a plain object with lower-case names. */
export function headersOf(h: Headers | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  h?.forEach((v, k) => {
    out[k.toLowerCase()] = v;
  });
  return out;
}

/** Retry-After from `retry-after-ms` or `retry-after` (seconds or HTTP date). */
export function retryAfterMs(headers: Record<string, string>, now = Date.now()): number | undefined {
  const ms = Number(headers['retry-after-ms']);
  if (Number.isFinite(ms) && ms > 0) return ms;
  const raw = headers['retry-after'];
  if (!raw) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(raw);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

/** Fields of the client's body that are Sluice's own, never sent upstream. */
const LOCAL_FIELDS = new Set(['conversation_id', 'stream', 'stream_options', 'model']);

/** The body a chat request is sent upstream with: Sluice's own fields dropped, `model` the deployment's. */
export function upstreamBody(request: Record<string, unknown>, model: string): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(request)) if (!LOCAL_FIELDS.has(k) && v !== undefined) body[k] = v;
  body.model = model;
  return body;
}

/**
 * The official OpenAI client for one OpenAI-compatible deployment: SDK retries off (retry,
 * backoff and failover are Sluice's decisions), the deployment's timeout, the process's pooled fetch.
 */
export function openAiClientFor(d: { baseUrl: string; apiKey: string; timeoutMs: number }): OpenAI {
  return new OpenAI({
    baseURL: d.baseUrl,
    apiKey: d.apiKey || 'sluice-no-key',
    maxRetries: 0,
    timeout: d.timeoutMs,
    fetch: pooledFetch(),
  });
}

/**
 * Calls OpenAI-compatible deployments with the official SDK, always streaming upstream (so
 * chunks can be relayed and a dropped stream detected), with SDK retries off: retry, backoff
 * and failover are Sluice's decisions, made with the global limits in view.
 */
export class UpstreamClient {
  readonly #clients = new Map<string, OpenAI>();
  readonly #anthropic = new AnthropicUpstream();

  #client(d: ResolvedDeployment): OpenAI {
    let c = this.#clients.get(d.id);
    if (!c) {
      c = openAiClientFor(d);
      this.#clients.set(d.id, c);
    }
    return c;
  }

  /**
   * One chat completion on a deployment. With `onChunk` the call streams upstream and relays
   * chunks; without it a plain JSON call is made, which costs the upstream and this process
   * far less per request (measured: streaming every call capped one executor near 70 req/s
   * on the 2-core bench machine, most of it SSE parsing on both ends).
   */
  async complete(
    deployment: ResolvedDeployment,
    request: ChatRequest,
    options: CallOptions,
  ): Promise<UpstreamCompletion> {
    // What the upstream itself said (its model name, its completion id): the span reports
    // them, while the completion is relabelled with the deployment's model and the job's id.
    const seen: { model?: string; id?: string } = {};
    return withGenAiSpan(
      deployment,
      request,
      Boolean(options.onChunk),
      () => this.#call(deployment, request, options, seen),
      ({ completion }) => ({
        responseModel: seen.model ?? completion.model,
        responseId: seen.id,
        finishReason: completion.choices[0]?.finish_reason,
        inputTokens: completion.usage.prompt_tokens,
        outputTokens: completion.usage.completion_tokens,
      }),
    );
  }

  async #call(
    deployment: ResolvedDeployment,
    request: ChatRequest,
    options: CallOptions,
    seen: { model?: string; id?: string },
  ): Promise<UpstreamCompletion> {
    if (deployment.api === 'anthropic') return this.#anthropic.complete(deployment, request, options, seen);
    const body = upstreamBody(request as unknown as Record<string, unknown>, deployment.model);
    if (!options.onChunk) return this.#completeOnce(deployment, body, options, seen);
    body.stream = true;
    body.stream_options = { include_usage: true };
    let headers: Record<string, string> = {};
    const created = Math.floor(Date.now() / 1000);
    // One slot per choice (`n > 1` streams every choice's deltas under its index).
    type Slot = {
      content: string;
      refusal: string;
      finishReason: string | null;
      toolCalls: Array<{ index: number; id?: string; type?: string; function: { name: string; arguments: string } }>;
    };
    const slots: Slot[] = [];
    let usage: (JobUsage & Record<string, unknown>) | undefined;
    let fingerprint: string | null | undefined;
    let sawAny = false;
    let responded = false;
    try {
      const { data: stream, response } = await this.#client(deployment)
        .chat.completions.create(body as never, { signal: options.signal, timeout: deployment.timeoutMs })
        .withResponse();
      responded = true;
      headers = headersOf(response.headers as Headers);
      for await (const raw of stream as unknown as AsyncIterable<Record<string, any>>) {
        sawAny = true;
        if (!seen.model && typeof raw.model === 'string') seen.model = raw.model;
        if (!seen.id && typeof raw.id === 'string') seen.id = raw.id;
        if (raw.usage) usage = raw.usage as JobUsage & Record<string, unknown>;
        if (raw.system_fingerprint !== undefined) fingerprint = raw.system_fingerprint;
        for (const choice of raw.choices ?? []) {
          const slot = (slots[typeof choice.index === 'number' ? choice.index : 0] ??= {
            content: '',
            refusal: '',
            finishReason: null,
            toolCalls: [],
          });
          if (typeof choice.delta?.content === 'string') slot.content += choice.delta.content;
          if (typeof choice.delta?.refusal === 'string') slot.refusal += choice.delta.refusal;
          for (const tc of choice.delta?.tool_calls ?? []) {
            const call = (slot.toolCalls[tc.index] ??= { index: tc.index, function: { name: '', arguments: '' } });
            if (tc.id) call.id = tc.id;
            if (tc.type) call.type = tc.type;
            if (tc.function?.name) call.function.name += tc.function.name;
            if (tc.function?.arguments) call.function.arguments += tc.function.arguments;
          }
          if (choice.finish_reason) slot.finishReason = choice.finish_reason;
        }
        if (options.onChunk) await options.onChunk({ ...raw, id: options.completionId, model: deployment.model });
      }
    } catch (error) {
      throw toUpstreamError(error, deployment.id, headers, { responded });
    }
    if (!sawAny || !slots.length || slots.some((slot) => !slot || slot.finishReason === null)) {
      throw new UpstreamError(
        'The upstream stream ended before the answer was complete',
        'stream_dropped',
        deployment.id,
        undefined,
        undefined,
        headers,
      );
    }
    usage ??= {
      prompt_tokens: countChatTokens(request.messages, deployment.model),
      completion_tokens: slots.reduce((sum, slot) => sum + countTokens(slot.content, deployment.model), 0),
      total_tokens: 0,
    };
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    const choices = slots.map((slot, index) => {
      const message: UpstreamCompletion['completion']['choices'][number]['message'] = {
        role: 'assistant',
        content: slot.toolCalls.length && !slot.content ? null : slot.content,
        refusal: slot.refusal || null,
      };
      if (slot.toolCalls.length)
        message.tool_calls = slot.toolCalls.map(({ index: _index, ...tc }) => ({ type: 'function', ...tc }));
      return { index, message, finish_reason: slot.finishReason, logprobs: null };
    });
    return {
      completion: {
        id: options.completionId,
        object: 'chat.completion',
        created,
        model: deployment.model,
        ...(fingerprint !== undefined ? { system_fingerprint: fingerprint } : {}),
        choices,
        usage,
      },
      headers,
    };
  }

  async #completeOnce(
    deployment: ResolvedDeployment,
    body: Record<string, unknown>,
    options: CallOptions,
    seen: { model?: string; id?: string },
  ): Promise<UpstreamCompletion> {
    let headers: Record<string, string> = {};
    let responded = false;
    try {
      const { data, response } = await this.#client(deployment)
        .chat.completions.create(body as never, { signal: options.signal, timeout: deployment.timeoutMs })
        .withResponse();
      responded = true;
      headers = headersOf(response.headers as Headers);
      const raw = data as unknown as UpstreamCompletion['completion'];
      seen.model = raw.model;
      seen.id = raw.id;
      const usage = raw.usage ?? { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
      // Passed through as the upstream sent them: logprobs, refusals, the fingerprint and the
      // usage details (cached and reasoning tokens) are the client's to read.
      return {
        completion: {
          id: options.completionId,
          object: 'chat.completion',
          created: raw.created,
          model: deployment.model,
          ...(raw.system_fingerprint !== undefined ? { system_fingerprint: raw.system_fingerprint } : {}),
          choices: raw.choices.map((c) => ({
            index: c.index,
            message: { ...c.message, refusal: c.message.refusal ?? null },
            finish_reason: c.finish_reason,
            logprobs: c.logprobs ?? null,
          })),
          usage: {
            ...usage,
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
            total_tokens: usage.prompt_tokens + usage.completion_tokens,
          },
        },
        headers,
      };
    } catch (error) {
      throw toUpstreamError(error, deployment.id, headers, { responded });
    }
  }
}

type ErrorClass<T = Error> = abstract new (...args: never[]) => T;

/**
 * The error classes an official SDK raises; the openai and @anthropic-ai/sdk packages name
 * and shape them alike, so one classification serves both.
 */
export interface SdkErrorClasses {
  APIError: ErrorClass<Error & { status?: number | undefined; headers?: unknown }>;
  APIUserAbortError: ErrorClass;
  APIConnectionTimeoutError: ErrorClass;
  APIConnectionError: ErrorClass;
}

const OPENAI_ERRORS: SdkErrorClasses = { APIError, APIUserAbortError, APIConnectionTimeoutError, APIConnectionError };

/** How {@link toUpstreamError} reads a failure. */
export interface ClassifyOptions {
  /**
   * The upstream's response had begun. Before it, an error the SDK did not raise as an API or
   * connection error was raised building the request (a body nested 3,000 deep overflows the
   * stack serializing it): the request's fault, not a dropped stream to retry and count
   * against the deployment's circuit.
   * @defaultValue true: an unclassified error counts as a dropped stream
   */
  responded?: boolean;
  /** @defaultValue the openai SDK's classes */
  sdk?: SdkErrorClasses;
  /**
   * Turns an error response's headers into the OpenAI-style ones the limiter reads.
   * @defaultValue the headers as they are
   */
  mapHeaders?: (headers: Record<string, string>) => Record<string, string>;
}

/** Classify a failed call into an {@link UpstreamError}, whichever SDK raised it. */
export function toUpstreamError(
  error: unknown,
  deploymentId: string,
  headers: Record<string, string>,
  options: ClassifyOptions = {},
): UpstreamError {
  const { responded = true, sdk = OPENAI_ERRORS, mapHeaders = (h) => h } = options;
  const fail = (message: string, kind: UpstreamFailureKind) =>
    new UpstreamError(message, kind, deploymentId, undefined, undefined, headers, { cause: error });
  if (error instanceof UpstreamError) return error;
  if (error instanceof sdk.APIUserAbortError) return fail('The upstream call was aborted', 'aborted');
  if (error instanceof sdk.APIConnectionTimeoutError) return fail('The upstream call timed out', 'timeout');
  if (error instanceof sdk.APIError && typeof error.status === 'number') {
    const h = mapHeaders(headersOf(error.headers as Headers | undefined));
    const status = error.status;
    return new UpstreamError(
      `Upstream answered ${status}: ${error.message}`,
      failureKindForStatus(status),
      deploymentId,
      status,
      retryAfterMs(h),
      h,
      { cause: error },
    );
  }
  if (error instanceof sdk.APIConnectionError)
    return fail(`Could not reach the upstream: ${error.message}`, 'connection');
  const reason = (error as Error)?.message ?? String(error);
  if (!responded && !(error instanceof sdk.APIError)) {
    return fail(`The request could not be sent upstream: ${reason}`, 'bad_request');
  }
  // A socket destroyed mid-stream surfaces as a plain error from the SSE reader.
  return fail(`The upstream stream failed: ${reason}`, 'stream_dropped');
}

/** Prices {@link costUsd} reads from a deployment. */
export type DeploymentPrices = Pick<ResolvedDeployment, 'inputPricePerMTok' | 'outputPricePerMTok'> &
  Partial<Pick<ResolvedDeployment, 'cachedInputPricePerMTok' | 'cacheWritePricePerMTok' | 'batchPriceFactor'>>;

/**
 * Cost in USD of a usage on a deployment (prices per million tokens): prompt tokens the
 * provider's prompt cache served at the cached rate, those written to it (Anthropic) at the
 * cache-write rate, and the whole call at the batch rate when it went through the provider's
 * batch API.
 */
export function costUsd(
  deployment: DeploymentPrices,
  usage: Pick<JobUsage, 'prompt_tokens' | 'completion_tokens' | 'prompt_tokens_details'>,
  options: { batch?: boolean } = {},
): number {
  const cached = Math.min(usage.prompt_tokens, Math.max(0, usage.prompt_tokens_details?.cached_tokens ?? 0));
  const written = Math.min(
    usage.prompt_tokens - cached,
    Math.max(0, usage.prompt_tokens_details?.cache_write_tokens ?? 0),
  );
  const cachedPrice = deployment.cachedInputPricePerMTok ?? deployment.inputPricePerMTok;
  const writePrice = deployment.cacheWritePricePerMTok ?? deployment.inputPricePerMTok;
  const full =
    (usage.prompt_tokens - cached - written) * deployment.inputPricePerMTok +
    cached * cachedPrice +
    written * writePrice +
    usage.completion_tokens * deployment.outputPricePerMTok;
  const cost = (options.batch ? full * (deployment.batchPriceFactor ?? 1) : full) / 1_000_000;
  // Rounded to 1e-9 USD so sums over many jobs stay exact in decimal.
  return Math.round(cost * 1e9) / 1e9;
}
