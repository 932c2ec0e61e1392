import type { Embedder } from './embedder.ts';
import { HashingEmbedder } from './hashing-embedder.ts';
import { OpenAIEmbedder } from './openai-embedder.ts';

/** Options for {@link createEmbedder}: the `embeddings` config section, plus a timeout. */
export interface CreateEmbedderOptions {
  /** OpenAI-compatible base URL (`…/v1`). Empty: the offline {@link HashingEmbedder}. */
  baseUrl: string;
  /** Embedding model (ignored by the offline embedder). */
  model: string;
  /** Vector length for either embedder. */
  dimensions: number;
  /** API key (config resolves it from `apiKeyRef`). @defaultValue `''` */
  apiKey?: string;
  /** Timeout of one embeddings call in ms. @defaultValue 10_000 */
  timeoutMs?: number;
}

/**
 * The embedder the configuration asks for: an {@link OpenAIEmbedder} when `baseUrl` is set,
 * else the offline {@link HashingEmbedder}. Pass `config.embeddings` straight in.
 */
export function createEmbedder(options: CreateEmbedderOptions): Embedder {
  if (options.baseUrl) {
    return new OpenAIEmbedder({
      baseUrl: options.baseUrl,
      model: options.model,
      dimensions: options.dimensions,
      apiKey: options.apiKey ?? '',
      timeoutMs: options.timeoutMs ?? 10_000,
    });
  }
  return new HashingEmbedder({ dimensions: options.dimensions });
}
