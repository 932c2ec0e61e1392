import OpenAI from 'openai';
import type { ResolvedEmbeddingDeployment } from '@sluice/config';
import { openAiClientFor, toUpstreamError } from './upstream.ts';

/** One embeddings call's input: strings, or token arrays (what OpenAI's `/embeddings` accepts). */
export type EmbeddingInput = string | number[];

/** The result of one upstream embeddings call. */
export interface UpstreamEmbeddings {
  /** One vector per input, in input order. */
  vectors: number[][];
  promptTokens: number;
  /** Response headers (lower-case). */
  headers: Record<string, string>;
}

/**
 * Calls OpenAI-compatible `/embeddings` deployments with the official SDK (SDK retries off:
 * Sluice decides). The SDK asks for base64 and decodes it, the cheaper wire format.
 */
export class EmbeddingsClient {
  readonly #clients = new Map<string, OpenAI>();

  #client(d: ResolvedEmbeddingDeployment): OpenAI {
    let c = this.#clients.get(d.id);
    if (!c) {
      c = openAiClientFor(d);
      this.#clients.set(d.id, c);
    }
    return c;
  }

  /** Embed `inputs` on a deployment; throws an `UpstreamError`. */
  async embed(
    deployment: ResolvedEmbeddingDeployment,
    inputs: readonly EmbeddingInput[],
    options: { dimensions?: number; user?: string; signal?: AbortSignal } = {},
  ): Promise<UpstreamEmbeddings> {
    let headers: Record<string, string> = {};
    try {
      const body: OpenAI.EmbeddingCreateParams = { model: deployment.model, input: inputs as string[] };
      if (options.dimensions !== undefined) body.dimensions = options.dimensions;
      if (options.user) body.user = options.user;
      const { data, response } = await this.#client(deployment)
        .embeddings.create(body, { signal: options.signal })
        .withResponse();
      headers = {};
      response.headers.forEach((v, k) => (headers[k.toLowerCase()] = v));
      const vectors = [...data.data].sort((a, b) => a.index - b.index).map((d) => d.embedding);
      if (vectors.length !== inputs.length)
        throw new Error(`the upstream returned ${vectors.length} embeddings for ${inputs.length} inputs`);
      return { vectors, promptTokens: data.usage?.prompt_tokens ?? 0, headers };
    } catch (error) {
      throw toUpstreamError(error, deployment.id, headers);
    }
  }
}

/** A vector as OpenAI's `encoding_format: "base64"`: little-endian float32, base64. */
export function vectorToBase64(vector: readonly number[]): string {
  const buffer = Buffer.alloc(vector.length * 4);
  vector.forEach((v, i) => buffer.writeFloatLE(v, i * 4));
  return buffer.toString('base64');
}

/** The inverse of {@link vectorToBase64}. */
export function base64ToVector(encoded: string): number[] {
  const buffer = Buffer.from(encoded, 'base64');
  return Array.from({ length: buffer.length / 4 }, (_, i) => buffer.readFloatLE(i * 4));
}
