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
  readonly #client: OpenAI;
  readonly #model: string;
  readonly #sendDimensions: boolean;
  readonly #batchSize: number;

  constructor(options: OpenAIEmbedderOptions) {
    if (!options.baseUrl) throw new CacheOptionsError('Expected `baseUrl` of the embeddings endpoint, got an empty string');
    if (!options.model) throw new CacheOptionsError('Expected an embeddings `model`, got an empty string');
    if (!Number.isInteger(options.dimensions) || options.dimensions < 1) {
      throw new CacheOptionsError(`Expected \`dimensions\` to be an integer ≥ 1, got \`${String(options.dimensions)}\``);
    }
    const batchSize = options.batchSize ?? 256;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new CacheOptionsError(`Expected \`batchSize\` to be an integer ≥ 1, got \`${String(batchSize)}\``);
    this.dimensions = options.dimensions;
    this.#model = options.model;
    this.#sendDimensions = options.sendDimensions ?? true;
    this.#batchSize = batchSize;
    this.id = `openai:${options.model}/${options.dimensions}`;
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
      maxRetries: options.maxRetries ?? 2,
    });
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let start = 0; start < texts.length; start += this.#batchSize) {
      out.push(...(await this.#embedBatch(texts.slice(start, start + this.#batchSize))));
    }
    return out;
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
        throw new EmbeddingError(`Embeddings endpoint answered ${status}: ${error.message}`, { status, retryable: status === 429 || status >= 500, cause: error });
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
        throw new EmbeddingError(`Expected embeddings of ${this.dimensions} dimensions from \`${this.#model}\`, got ${vector.length}`, {
          code: 'SLUICE_ERR_EMBEDDING_DIMENSIONS',
        });
      }
      return normalizeVector(vector);
    });
  }
}
