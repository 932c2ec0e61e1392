import { existsSync } from 'node:fs';
import { SifEmbedder, Synonyms, synonymsPath, WordVectors, wordVectorsPath } from '@sluice/embeddings';
import type { Embedder } from './embedder.ts';
import { HashingEmbedder } from './hashing-embedder.ts';
import { OpenAIEmbedder } from './openai-embedder.ts';

/**
 * Model name under which an embeddings endpoint serves the same SIF word-vector model as
 * the local default (the simulator does). With it, the remote and the local embedder share
 * one vector space: the remote's answers and the local fallback's are interchangeable.
 */
export const SIF_REMOTE_MODEL = 'sluice-sif-wink-sg100d';

/** Options for {@link createEmbedder}: the `embeddings` config section. */
export interface CreateEmbedderOptions {
  /** OpenAI-compatible base URL (`…/v1`). Empty: the offline embedder (`local`). */
  baseUrl: string;
  /** Embedding model of the endpoint (ignored offline). */
  model: string;
  /** Vector length of the hashing embedder and of a remote model other than {@link SIF_REMOTE_MODEL}. */
  dimensions: number;
  /** Offline embedder. @defaultValue `word-vectors` */
  local?: 'word-vectors' | 'hashing';
  /** Folder of the provisioned word-vector model (config resolves its default). @defaultValue `''` (none: hashing) */
  modelDir?: string;
  /** API key (config resolves it from `apiKeyRef`). @defaultValue `''` */
  apiKey?: string;
  /** Timeout of one embeddings call in ms. @defaultValue 2_000 */
  timeoutMs?: number;
}

// One loaded model per file and process: the API's cache, the classifier's router and a
// test's several caches share its 25 MB.
const loaded = new Map<string, { vectors: WordVectors; synonyms: Synonyms | undefined }>();

/** The SIF embedder on the provisioned model in `modelDir`, or undefined with the reason. */
export function loadSifEmbedder(modelDir: string | undefined): { embedder?: SifEmbedder; notice?: string } {
  if (!modelDir) return { notice: 'no word-vector model folder configured (embeddings.modelDir)' };
  const path = wordVectorsPath(modelDir);
  if (!existsSync(path))
    return { notice: `word-vector model not provisioned at ${path} (run \`pnpm provision:embeddings\`)` };
  try {
    let model = loaded.get(path);
    if (!model) {
      const synonyms = existsSync(synonymsPath(modelDir)) ? Synonyms.load(synonymsPath(modelDir)) : undefined;
      loaded.set(path, (model = { vectors: WordVectors.load(path), synonyms }));
    }
    return { embedder: new SifEmbedder(model) };
  } catch (error) {
    return { notice: `word-vector model at ${path} could not be read: ${(error as Error).message}` };
  }
}

/** A hashing embedder that says why it serves instead of the word vectors. */
class FallbackHashingEmbedder extends HashingEmbedder {
  readonly notice: string;
  constructor(dimensions: number, notice: string) {
    super({ dimensions });
    this.notice = `${notice}; the hashing embedder serves instead (lexical matches only)`;
  }
}

/**
 * The embedder the configuration asks for. Pass `config.embeddings` straight in.
 *
 * - `baseUrl` empty, `local: 'word-vectors'` (default): {@link SifEmbedder} on the provisioned
 *   model; when it is not provisioned, a {@link HashingEmbedder} whose `notice` says so.
 * - `local: 'hashing'`: the {@link HashingEmbedder}.
 * - `baseUrl` set: an {@link OpenAIEmbedder} (timeout, batching of concurrent calls, exact-text
 *   vector cache). When its `model` is {@link SIF_REMOTE_MODEL} and the model is provisioned
 *   here too, it shares the local vector space and falls back on the local model when the
 *   endpoint fails or is slow; any other model has its own space, and a failed call leaves the
 *   request to the exact cache level.
 */
export function createEmbedder(options: CreateEmbedderOptions): Embedder {
  const wantsVectors = (options.local ?? 'word-vectors') === 'word-vectors';
  const sif = wantsVectors ? loadSifEmbedder(options.modelDir) : {};
  const local: Embedder =
    sif.embedder ??
    (sif.notice
      ? new FallbackHashingEmbedder(options.dimensions, sif.notice)
      : new HashingEmbedder({ dimensions: options.dimensions }));
  if (!options.baseUrl) return local;
  const sameSpace = options.model === SIF_REMOTE_MODEL && sif.embedder !== undefined;
  return new OpenAIEmbedder({
    baseUrl: options.baseUrl,
    model: options.model,
    dimensions: sameSpace ? sif.embedder!.dimensions : options.dimensions,
    apiKey: options.apiKey ?? '',
    timeoutMs: options.timeoutMs ?? 2_000,
    ...(sameSpace ? { sameSpaceAs: sif.embedder, sendDimensions: false } : {}),
  });
}
