import { readFileSync } from 'node:fs';
import { WordVectorsFormatError } from './errors.ts';

/**
 * The compact word-vector file (`*.swv`), little-endian, every section 4-byte aligned:
 *
 * | bytes | what |
 * | --- | --- |
 * | 8 | magic `SLUICEWV` |
 * | 4 × 8 | version, dimensions, word count, hash-table slots, `meanNorm` (f32), reserved × 3 |
 * | dims × f32 | first principal component (unit length) removed from every sentence vector |
 * | count × f32 | per-word scale: the int8 vector times it is the original vector |
 * | count × dims × i8 | the vectors, most frequent word first (index = frequency rank) |
 * | (count + 1) × u32 | byte offsets of each word in the word bytes |
 * | bytes | the words, UTF-8, concatenated |
 * | slots × u32 | open-addressing hash table (FNV-1a of the UTF-8 bytes, linear probing): word index + 1, 0 = empty |
 *
 * One `readFileSync` and typed-array views over it: no per-word JavaScript objects, so loading
 * costs one disk read and the resident size is the file size.
 */
export const WORD_VECTORS_MAGIC = 'SLUICEWV';
export const WORD_VECTORS_VERSION = 1;
const HEADER_BYTES = 8 + 4 * 8;

/** What {@link writeWordVectors} takes. */
export interface WordVectorsSource {
  dimensions: number;
  /** Words, most frequent first. */
  words: readonly string[];
  /** `words.length × dimensions` values, row per word. */
  vectors: Float32Array;
  /** Unit-length first principal component of sentence vectors. */
  principalComponent: Float32Array;
}

const align4 = (n: number) => (n + 3) & ~3;

/** FNV-1a over bytes; also the table's hash. */
export function fnv1aBytes(bytes: Uint8Array, length = bytes.length): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < length; i += 1) {
    hash ^= bytes[i]!;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Serialise word vectors into the `.swv` format (int8 per word with a float scale). */
export function writeWordVectors(source: WordVectorsSource): Buffer {
  const { dimensions, words } = source;
  const count = words.length;
  const encoder = new TextEncoder();
  const encoded = words.map((w) => encoder.encode(w));
  const wordBytes = encoded.reduce((sum, b) => sum + b.length, 0);
  let slots = 1;
  while (slots < count * 2) slots *= 2;

  const pcOffset = HEADER_BYTES;
  const scaleOffset = pcOffset + dimensions * 4;
  const vectorOffset = scaleOffset + count * 4;
  const offsetsOffset = align4(vectorOffset + count * dimensions);
  const bytesOffset = offsetsOffset + (count + 1) * 4;
  const tableOffset = align4(bytesOffset + wordBytes);
  const total = tableOffset + slots * 4;
  const out = Buffer.alloc(total);

  out.write(WORD_VECTORS_MAGIC, 0, 'latin1');
  let meanNorm = 0;
  for (let w = 0; w < count; w += 1) {
    let norm = 0;
    for (let d = 0; d < dimensions; d += 1) norm += source.vectors[w * dimensions + d]! ** 2;
    meanNorm += Math.sqrt(norm);
  }
  meanNorm /= Math.max(1, count);
  const header = [WORD_VECTORS_VERSION, dimensions, count, slots];
  header.forEach((v, i) => out.writeUInt32LE(v, 8 + i * 4));
  out.writeFloatLE(meanNorm, 8 + 16);

  for (let d = 0; d < dimensions; d += 1) out.writeFloatLE(source.principalComponent[d]!, pcOffset + d * 4);
  for (let w = 0; w < count; w += 1) {
    let max = 0;
    for (let d = 0; d < dimensions; d += 1) max = Math.max(max, Math.abs(source.vectors[w * dimensions + d]!));
    const scale = max === 0 ? 1 : max / 127;
    out.writeFloatLE(scale, scaleOffset + w * 4);
    for (let d = 0; d < dimensions; d += 1)
      out.writeInt8(Math.round(source.vectors[w * dimensions + d]! / scale), vectorOffset + w * dimensions + d);
  }
  let cursor = bytesOffset;
  const table = new Uint32Array(out.buffer, out.byteOffset + tableOffset, slots);
  for (let w = 0; w < count; w += 1) {
    out.writeUInt32LE(cursor - bytesOffset, offsetsOffset + w * 4);
    out.set(encoded[w]!, cursor);
    cursor += encoded[w]!.length;
    let slot = fnv1aBytes(encoded[w]!) & (slots - 1);
    while (table[slot] !== 0) slot = (slot + 1) & (slots - 1);
    table[slot] = w + 1;
  }
  out.writeUInt32LE(cursor - bytesOffset, offsetsOffset + count * 4);
  return out;
}

/**
 * Word vectors read from one `.swv` file: a word's index is its frequency rank, its vector
 * an int8 row times a scale.
 */
export class WordVectors {
  readonly dimensions: number;
  readonly count: number;
  /** Mean L2 norm of the original vectors (the size given to words the model does not know). */
  readonly meanNorm: number;
  /** Unit-length first principal component (see SIF). */
  readonly principalComponent: Float32Array;
  /** Bytes the model occupies in memory. */
  readonly byteLength: number;
  readonly #scales: Float32Array;
  readonly #vectors: Int8Array;
  readonly #offsets: Uint32Array;
  readonly #bytes: Uint8Array;
  readonly #table: Uint32Array;
  readonly #mask: number;
  readonly #scratch = new Uint8Array(256);
  readonly #encoder = new TextEncoder();

  constructor(buffer: Buffer) {
    if (buffer.length < HEADER_BYTES || buffer.toString('latin1', 0, 8) !== WORD_VECTORS_MAGIC) {
      throw new WordVectorsFormatError('Not a Sluice word-vector file (bad magic); delete it and provision again');
    }
    const version = buffer.readUInt32LE(8);
    if (version !== WORD_VECTORS_VERSION)
      throw new WordVectorsFormatError(
        `Word-vector file version ${version}, expected ${WORD_VECTORS_VERSION}; provision again`,
      );
    const dimensions = buffer.readUInt32LE(12);
    const count = buffer.readUInt32LE(16);
    const slots = buffer.readUInt32LE(20);
    this.meanNorm = buffer.readFloatLE(24);
    const pcOffset = HEADER_BYTES;
    const scaleOffset = pcOffset + dimensions * 4;
    const vectorOffset = scaleOffset + count * 4;
    const offsetsOffset = align4(vectorOffset + count * dimensions);
    const bytesOffset = offsetsOffset + (count + 1) * 4;
    // Typed arrays need aligned offsets: copy into a fresh aligned buffer when the read one is not.
    const base = buffer.byteOffset % 4 === 0 ? buffer : Buffer.from(buffer);
    const offsets = new Uint32Array(base.buffer, base.byteOffset + offsetsOffset, count + 1);
    const wordBytes = offsets[count]!;
    const tableOffset = align4(bytesOffset + wordBytes);
    if (base.length !== tableOffset + slots * 4)
      throw new WordVectorsFormatError(
        `Word-vector file is ${base.length} bytes, expected ${tableOffset + slots * 4}; provision again`,
      );
    this.dimensions = dimensions;
    this.count = count;
    this.byteLength = base.length;
    this.principalComponent = new Float32Array(base.buffer, base.byteOffset + pcOffset, dimensions);
    this.#scales = new Float32Array(base.buffer, base.byteOffset + scaleOffset, count);
    this.#vectors = new Int8Array(base.buffer, base.byteOffset + vectorOffset, count * dimensions);
    this.#offsets = offsets;
    this.#bytes = new Uint8Array(base.buffer, base.byteOffset + bytesOffset, wordBytes);
    this.#table = new Uint32Array(base.buffer, base.byteOffset + tableOffset, slots);
    this.#mask = slots - 1;
  }

  /** Read a `.swv` file. */
  static load(path: string): WordVectors {
    return new WordVectors(readFileSync(path));
  }

  /** Frequency rank of a (lower-cased) word, or -1 when the model does not know it. */
  indexOf(word: string): number {
    const { written, read } = this.#encoder.encodeInto(word, this.#scratch);
    if (read !== word.length) return -1;
    let slot = fnv1aBytes(this.#scratch, written) & this.#mask;
    for (;;) {
      const entry = this.#table[slot]!;
      if (entry === 0) return -1;
      const index = entry - 1;
      const start = this.#offsets[index]!;
      if (this.#offsets[index + 1]! - start === written) {
        let same = true;
        for (let i = 0; i < written; i += 1) {
          if (this.#bytes[start + i] !== this.#scratch[i]) {
            same = false;
            break;
          }
        }
        if (same) return index;
      }
      slot = (slot + 1) & this.#mask;
    }
  }

  /** The word at a rank. */
  wordAt(index: number): string {
    return Buffer.from(
      this.#bytes.buffer,
      this.#bytes.byteOffset + this.#offsets[index]!,
      this.#offsets[index + 1]! - this.#offsets[index]!,
    ).toString('utf8');
  }

  /** Add `weight ×` the vector of word `index` to `target`. */
  addTo(target: Float32Array | Float64Array, index: number, weight: number): void {
    const scale = this.#scales[index]! * weight;
    const start = index * this.dimensions;
    for (let d = 0; d < this.dimensions; d += 1) target[d] = target[d]! + this.#vectors[start + d]! * scale;
  }

  /** Cosine similarity of two words by index. */
  cosine(a: number, b: number): number {
    const sa = a * this.dimensions;
    const sb = b * this.dimensions;
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let d = 0; d < this.dimensions; d += 1) {
      const x = this.#vectors[sa + d]!;
      const y = this.#vectors[sb + d]!;
      dot += x * y;
      na += x * x;
      nb += y * y;
    }
    return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
  }
}
