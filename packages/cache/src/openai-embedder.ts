import OpenAI, { APIConnectionError, APIError } from 'openai';
import { normalizeVector, type Embedder } from './embedder.ts';
import { CacheOptionsError, EmbeddingError } from './errors.ts';

/** Options for {@link OpenAIEmbedder}. */
export interface OpenAIEmbedderOptions {
  /** Base URL of an OpenAI-compatible API, e.g. `https://api.openai.com/v1` or the simulator's `http://127.0.0.1:8090/v1`. */
  baseUrl: string;
  /** Embedding model name, e.g. `text-embedding-3-small`. */
  model: string;
  /** Length of the vectors the cache stores; every answer is checked against it. */
  dimensions: number;
  /** API key; empty for keyless endpoints such as the simulator. @defaultValue `''` */
  apiKey?: string;
  /** Timeout of one embeddings call in ms. @defaultValue 10_000 */
  timeoutMs?: number;
  /** Retries of a failed call inside the SDK (429 and 5xx). @defaultValue 2 */
  maxRetries?: number;
  /**
   * Send `dimensions` in the request (text-embedding-3 models shorten their vectors to it).
   * Turn off for models with a fixed size that reject the field. @defaultValue true
   */
  sendDimensions?: boolean;
  /** Most texts in one request; longer lists are split. @defaultValue 256 */
  batchSize?: number;
  /** Vectors of this many distinct texts are kept in memory (exact text → vector, LRU). 0 turns it off. @defaultValue 10_000 */
  cacheSize?: number;
  /**
   * A local embedder of the same vector space (the endpoint serves the same model): this
   * embedder takes its `id`, `calibrate` and `wordSimilarity`, and answers with it when the
   * endpoint fails or times out. Without it a failure is an {@link EmbeddingError}.
   */
  sameSpaceAs?: Embedder;
}

interface Waiting {
  text: string;
  resolve: (vector: Float32Array) => void;
  reject: (error: unknown) => void;
}

/**
 * Embeddings from any OpenAI-compatible `/v1/embeddings` endpoint through the official SDK.
 * Use it when the cache should match paraphrases that share few words ("Why does Earth have
 * seasons?" / "What causes the seasons?"): a trained model places those close together,
 * which the offline hashing embedder cannot. Costs a network call and some tokens per job.
 */
export class OpenAIEmbedder implements Embedder {
  readonly id: string;
  readonly dimensions: number;
  /** Texts embedded, by what served them: `remote` (a call), `cache` (the text was embedded before), `fallback` (the local model, after a failed call). */
  readonly served = { remote: 0, cache: 0, fallback: 0 };
  /** Calls made to the endpoint (each carries every text that was waiting). */
  calls = 0;
  readonly #client: OpenAI;
  readonly #model: string;
  readonly #sendDimensions: boolean;
  readonly #batchSize: number;
  readonly #cacheSize: number;
  readonly #cache = new Map<string, Float32Array>();
  readonly #inflight = new Map<string, Promise<Float32Array>>();
  readonly #fallback: Embedder | undefined;
  #queue: Waiting[] = [];
  #scheduled = false;

  constructor(options: OpenAIEmbedderOptions) {
    if (!options.baseUrl)
      throw new CacheOptionsError('Expected `baseUrl` of the embeddings endpoint, got an empty string');
    if (!options.model) throw new CacheOptionsError('Expected an embeddings `model`, got an empty string');
    if (!Number.isInteger(options.dimensions) || options.dimensions < 1) {
      throw new CacheOptionsError(
        `Expected \`dimensions\` to be an integer ≥ 1, got \`${String(options.dimensions)}\``,
      );
    }
    const batchSize = options.batchSize ?? 256;
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new CacheOptionsError(`Expected \`batchSize\` to be an integer ≥ 1, got \`${String(batchSize)}\``);
    this.dimensions = options.dimensions;
    this.#model = options.model;
    this.#sendDimensions = options.sendDimensions ?? true;
    this.#batchSize = batchSize;
    this.#cacheSize = options.cacheSize ?? 10_000;
    this.#fallback = options.sameSpaceAs;
    if (this.#fallback && this.#fallback.dimensions !== options.dimensions) {
      throw new CacheOptionsError(
        `Expected \`sameSpaceAs\` to have ${options.dimensions} dimensions, got ${this.#fallback.dimensions}`,
      );
    }
    this.id = this.#fallback?.id ?? `openai:${options.model}/${options.dimensions}`;
    const fallback = this.#fallback;
    if (fallback?.calibrate) this.calibrate = (cosine) => fallback.calibrate!(cosine);
    if (fallback?.wordSimilarity) this.wordSimilarity = (a, b) => fallback.wordSimilarity!(a, b);
    if (fallback?.synonyms) this.synonyms = (a, b) => fallback.synonyms!(a, b);
    // Every credential is passed explicitly: the SDK would otherwise fall back on OPENAI_*
    // environment variables, and packages never read the environment. (It still reads
    // OPENAI_LOG and OPENAI_CUSTOM_HEADERS itself; neither carries credentials.)
    this.#client = new OpenAI({
      baseURL: options.baseUrl,
      apiKey: options.apiKey || 'sluice-no-key',
      adminAPIKey: null,
      organization: null,
      project: null,
      webhookSecret: null,
      timeout: options.timeoutMs ?? 10_000,
      // With a local fallback of the same model, the fallback is the retry: a slow endpoint
      // costs one timeout, not three.
      maxRetries: options.maxRetries ?? (this.#fallback ? 0 : 2),
    });
  }

  calibrate?: (cosine: number) => number;
  wordSimilarity?: (a: string, b: string) => number | undefined;
  synonyms?: (a: string, b: string) => boolean | undefined;

  /**
   * One vector per text. A text embedded before is answered from memory; the others wait
   * for the next turn of the event loop, so that every text asked for meanwhile, by any
   * caller, goes to the endpoint in one request (up to `batchSize`).
   */
  embed(texts: string[]): Promise<Float32Array[]> {
    return Promise.all(texts.map((text) => this.#one(text)));
  }

  #one(text: string): Promise<Float32Array> {
    const cached = this.#cache.get(text);
    if (cached) {
      // Re-insert: a Map iterates in insertion order, so the first key is the least recently used.
      this.#cache.delete(text);
      this.#cache.set(text, cached);
      this.served.cache += 1;
      return Promise.resolve(cached);
    }
    const inflight = this.#inflight.get(text);
    if (inflight) return inflight;
    const promise = new Promise<Float32Array>((resolve, reject) => {
      this.#queue.push({ text, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
    this.#inflight.set(text, promise);
    const forget = () => this.#inflight.delete(text);
    promise.then(forget, forget);
    return promise;
  }

  #flush(): void {
    this.#scheduled = false;
    const queue = this.#queue;
    this.#queue = [];
    for (let start = 0; start < queue.length; start += this.#batchSize) {
      const batch = queue.slice(start, start + this.#batchSize);
      void this.#send(batch);
    }
  }

  async #send(batch: Waiting[]): Promise<void> {
    const texts = batch.map((w) => w.text);
    let vectors: Float32Array[];
    try {
      this.calls += 1;
      vectors = await this.#embedBatch(texts);
      this.served.remote += texts.length;
      for (const [i, text] of texts.entries()) this.#remember(text, vectors[i]!);
    } catch (error) {
      if (!this.#fallback) {
        for (const w of batch) w.reject(error);
        return;
      }
      try {
        vectors = await this.#fallback.embed(texts);
        this.served.fallback += texts.length;
      } catch (fallbackError) {
        for (const w of batch) w.reject(fallbackError);
        return;
      }
    }
    batch.forEach((w, i) => w.resolve(vectors[i]!));
  }

  #remember(text: string, vector: Float32Array): void {
    if (this.#cacheSize === 0) return;
    this.#cache.set(text, vector);
    if (this.#cache.size > this.#cacheSize) this.#cache.delete(this.#cache.keys().next().value!);
  }

  async #embedBatch(texts: string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    // An empty string is rejected by OpenAI; a single space embeds to a stable vector.
    const input = texts.map((t) => (t.length ? t : ' '));
    let response: OpenAI.Embeddings.CreateEmbeddingResponse;
    try {
      response = await this.#client.embeddings.create({
        model: this.#model,
        input,
        ...(this.#sendDimensions ? { dimensions: this.dimensions } : {}),
      });
    } catch (error) {
      if (error instanceof APIError && typeof error.status === 'number') {
        const status = error.status;
        throw new EmbeddingError(`Embeddings endpoint answered ${status}: ${error.message}`, {
          status,
          retryable: status === 429 || status >= 500,
          cause: error,
        });
      }
      const retryable = error instanceof APIConnectionError;
      throw new EmbeddingError(`Embeddings call failed: ${(error as Error).message}`, { retryable, cause: error });
    }
    const data = [...response.data].sort((x, y) => x.index - y.index);
    if (data.length !== texts.length) {
      throw new EmbeddingError(`Embeddings endpoint returned ${data.length} vectors for ${texts.length} inputs`, {});
    }
    return data.map((item) => {
      const raw = item.embedding as unknown;
      const vector = raw instanceof Float32Array ? Float32Array.from(raw) : Float32Array.from(raw as number[]);
      if (vector.length !== this.dimensions) {
        throw new EmbeddingError(
          `Expected embeddings of ${this.dimensions} dimensions from \`${this.#model}\`, got ${vector.length}`,
          {
            code: 'SLUICE_ERR_EMBEDDING_DIMENSIONS',
          },
        );
      }
      return normalizeVector(vector);
    });
  }
}
