import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { SimBatchOptions } from './batches.ts';
import type { ChatCompletionRequest } from './chat-types.ts';
import type { PromptCacheOptions } from './prompt-cache.ts';

/** What a simulated model serves: `/v1/chat/completions` or `/v1/embeddings`. */
export type SimModelKind = 'chat' | 'embedding';

/**
 * Latency profile applied on top of the model list.
 *
 * - `realistic`: every model keeps its own `ttftMs`, `perTokenMs` and `jitter`.
 * - `fixed`: every chat model answers in exactly `latencyMs` in total (no per-token time, no
 *   jitter), so a benchmark can subtract a known constant to get gateway overhead.
 *   Embedding models keep their latency but lose their jitter.
 * - `fast`: near-zero latency for every model, for tests.
 */
export type SimProfile = 'realistic' | 'fixed' | 'fast';

/** Fault injection shares for one model. Each share is a probability in [0, 1]. */
export interface SimFaults {
  /**
   * Share of accepted requests answered with a 500 `server_error`.
   * @defaultValue 0
   */
  errorRate: number;
  /**
   * Share of accepted requests that are never answered: the connection is held until the
   * client gives up (or the simulator closes).
   * @defaultValue 0
   */
  timeoutRate: number;
  /**
   * Share of accepted requests whose connection is destroyed mid-answer: streams send some
   * chunks first, non-streamed requests are cut before the body.
   * @defaultValue 0
   */
  dropStreamRate: number;
}

/** Full settings of one simulated model (what `GET /sim/models/:id` returns). */
export interface SimModelOptions {
  /** Model id clients send in `model`. Base ids must not contain `@`. */
  id: string;
  /** Which endpoint the model serves. */
  kind: SimModelKind;
  /**
   * Time to first token in milliseconds (for embeddings: fixed time per request).
   * @defaultValue per model, see {@link DEFAULT_SIM_MODELS}
   */
  ttftMs: number;
  /**
   * Milliseconds per completion token after the first (for embeddings: per input token).
   * @defaultValue per model, see {@link DEFAULT_SIM_MODELS}
   */
  perTokenMs: number;
  /**
   * Relative jitter applied to `ttftMs` and `perTokenMs` of each request: 0.2 means a
   * uniformly drawn factor in [0.8, 1.2].
   * @defaultValue 0.2 (chat), 0.1 (embedding)
   */
  jitter: number;
  /**
   * Requests per sliding 60-second window; 0 means unlimited.
   * @defaultValue per model, see {@link DEFAULT_SIM_MODELS}
   */
  rpm: number;
  /**
   * Tokens per sliding 60-second window (prompt tokens plus `max_tokens`, or the reply's
   * length when `max_tokens` is absent); 0 means unlimited.
   * @defaultValue per model, see {@link DEFAULT_SIM_MODELS}
   */
  tpm: number;
  /**
   * Requests in flight at once; 0 means unlimited.
   * @defaultValue 0
   */
  maxConcurrency: number;
  /** Fault injection shares. */
  faults: SimFaults;
  /**
   * Completion cap when a request sets neither `max_tokens` nor `max_completion_tokens`.
   * @defaultValue 4096
   */
  defaultMaxTokens: number;
  /**
   * Shortest natural reply, in filler words after the fingerprint tag.
   * @defaultValue 20
   */
  minReplyWords: number;
  /**
   * Longest natural reply, in filler words after the fingerprint tag.
   * @defaultValue 120
   */
  maxReplyWords: number;
  /**
   * Prompt tokens the model accepts; longer prompts get a 400 `context_length_exceeded`.
   * @defaultValue 128000 (chat), 8191 (embedding)
   */
  contextWindow: number;
  /**
   * Native embedding size (embedding models only; chat models ignore it).
   * @defaultValue 256
   */
  dimensions: number;
}

/** A model entry in {@link SimulatorOptions.models}: an id plus any settings to override. */
export type SimModelInput = { id: string } & Partial<Omit<SimModelOptions, 'id' | 'faults'>> & {
    faults?: Partial<SimFaults>;
  };

/** A run-time change to a model (`updateModel`, `PATCH /sim/models/:id`); `faults` merges. */
export type SimModelPatch = Partial<Omit<SimModelOptions, 'id' | 'kind' | 'faults'>> & {
  faults?: Partial<SimFaults>;
};

/** Counters for one model, as served by `GET /sim/stats`. */
export interface SimModelStats {
  /** Requests that reached the model (valid body, known model). */
  requests: number;
  /** Requests that passed the rate, token and concurrency limits. */
  accepted: number;
  /** 429 answers sent. */
  rateLimited: number;
  /** Injected 5xx answers (fault `errorRate` and the `[[sim:error]]` directive). */
  errors: number;
  /** Requests held without an answer (fault `timeoutRate`). */
  timeouts: number;
  /** Connections destroyed mid-answer (fault `dropStreamRate`). */
  dropped: number;
  /** Prompt tokens of accepted requests. */
  promptTokens: number;
  /** Completion tokens of answers delivered in full. */
  completionTokens: number;
  /** Largest number of requests accepted in any 60-second window since the last reset. */
  maxAcceptedIn60s: number;
  /** Accepted requests not yet finished. */
  inFlight: number;
  /** Largest `inFlight` seen since the last reset. */
  maxInFlight: number;
}

/** Snapshot served by `GET /sim/stats` and {@link Simulator.stats}. */
export interface SimStats {
  /** Per model id, including `@suffix` variants that have been used. */
  models: Record<string, SimModelStats>;
  /** ISO time of simulator start or the last stats reset. */
  startedAt: string;
}

/** Options for {@link createSimulator}. */
export interface SimulatorOptions {
  /**
   * Latency profile.
   * @defaultValue 'realistic'
   */
  profile?: SimProfile;
  /**
   * Total latency of every chat answer under the `fixed` profile.
   * @defaultValue 200
   */
  latencyMs?: number;
  /**
   * Model list; replaces {@link DEFAULT_SIM_MODELS}. An entry whose id is a default model
   * starts from that model's settings, any other entry from the defaults of its `kind`
   * (`chat` when omitted).
   * @defaultValue DEFAULT_SIM_MODELS
   */
  models?: readonly SimModelInput[];
  /**
   * A real sentence embedder (Sluice's SIF word-vector model): when given, the simulator
   * also serves it as the embedding model {@link SIF_MODEL_ID}, so a Sluice configured with
   * `SLUICE_EMBEDDINGS_URL` gets the same vectors from the network as from its local model.
   * @defaultValue none (only the hashed `sim-embed`)
   */
  sentenceEmbedder?: { readonly dimensions: number; embedOne(text: string): Float32Array };
  /**
   * Logger for fastify (pino-compatible). Request logs carry method, url and status only,
   * never bodies, so prompts are not logged.
   * @defaultValue no logging
   */
  logger?: FastifyBaseLogger;
  /**
   * Clock for rate limits, statistics and `created` timestamps; inject one to test windows.
   * @defaultValue Date.now
   */
  now?: () => number;
  /**
   * Source of randomness in [0, 1) for jitter and fault injection.
   * @defaultValue Math.random
   */
  random?: () => number;
  /**
   * How long `close()` lets answers in flight finish before cutting their connections.
   * @defaultValue 5000
   */
  closeGraceMs?: number;
  /**
   * Largest accepted request body in bytes.
   * @defaultValue 33554432 (32 MiB)
   */
  bodyLimit?: number;
  /**
   * Called with every valid chat request body before it is answered, so a test can check
   * exactly what a gateway sent upstream. Opt-in; bodies are never logged.
   * @defaultValue none
   */
  onChatRequest?: (body: ChatCompletionRequest) => void;
  /**
   * Timing of the Batch API (`/v1/batches`) and of Message Batches (`/v1/messages/batches`): how long a batch takes, when it expires.
   * @defaultValue `{ processingMs: 2000, expireAfterMs: 86_400_000 }`
   */
  batch?: SimBatchOptions;
  /**
   * The provider-side prompt cache: prompts of 1,024 tokens or more whose prefix matches a
   * recent prompt report it as `cached_tokens`, as OpenAI's do.
   * @defaultValue `{ ttlMs: 300_000, maxEntries: 100_000 }`
   */
  promptCache?: PromptCacheOptions;
}

/** Where {@link Simulator.listen} binds. */
export interface SimListenOptions {
  /**
   * TCP port; 0 picks a free one.
   * @defaultValue 0
   */
  port?: number;
  /**
   * Interface to bind.
   * @defaultValue '127.0.0.1'
   */
  host?: string;
}

/** A running (or ready to run) simulator; create one with {@link createSimulator}. */
export interface Simulator {
  /** The fastify instance, for `app.inject()` in tests. */
  readonly app: FastifyInstance;
  /** Starts listening; resolves with the base URL, e.g. `http://127.0.0.1:4010`. */
  listen(options?: SimListenOptions): Promise<{ url: string }>;
  /** Stops listening, ends held and in-flight answers, releases the port. Idempotent. */
  close(): Promise<void>;
  /** Counters per model. */
  stats(): SimStats;
  /** Zeroes every counter (not the rate-limit windows). */
  resetStats(): void;
  /**
   * Changes a model at run time (an `@suffix` variant is created on first use) and returns
   * its new settings. Throws {@link SimModelNotFoundError} for unknown ids and
   * {@link SimConfigError} for invalid values.
   */
  updateModel(id: string, patch: SimModelPatch): SimModelOptions;
  /** Current settings of a model, or `undefined` if the id is unknown. */
  getModel(id: string): SimModelOptions | undefined;
}
