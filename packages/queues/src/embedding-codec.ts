/**
 * A job's embedding travels with it through two queues and is parsed in three processes. As
 * a JSON array of numbers a 100-dimension vector is about 2 kB of text and a float parse per
 * element; as base64 of its float32 bytes it is 536 characters, decoded with one copy.
 */

/** The embedding as carried in `CompletionJobData.embedding`: base64 of little-endian float32s. */
export function encodeEmbedding(vector: ArrayLike<number>): string {
  const floats = vector instanceof Float32Array ? vector : Float32Array.from(vector);
  return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength).toString('base64');
}

/**
 * The vector of a carried embedding, or `undefined` when there is none or it is malformed.
 * A number array is accepted too: jobs queued by a process from before the binary form.
 */
export function decodeEmbedding(carried: string | readonly number[] | undefined): Float32Array | undefined {
  if (carried === undefined) return undefined;
  if (typeof carried !== 'string')
    return Array.isArray(carried) && carried.length ? Float32Array.from(carried) : undefined;
  const bytes = Buffer.from(carried, 'base64');
  if (bytes.length === 0 || bytes.length % 4 !== 0) return undefined;
  // Copied into its own buffer: a Float32Array view needs 4-byte alignment, which Buffer's pool does not promise.
  const floats = new Float32Array(bytes.length / 4);
  new Uint8Array(floats.buffer).set(bytes);
  return floats;
}
