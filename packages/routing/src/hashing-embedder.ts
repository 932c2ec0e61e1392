/**
 * A small deterministic embedder for tests and the offline eval: signed feature hashing of
 * word unigrams and bigrams (log term frequency, L2-normalised). For the offline eval only:
 * production passes the classifier's embedder (`@sluice/cache`) by injection.
 */
export function createHashingEmbedder(dimensions = 256): (texts: readonly string[]) => Promise<Float32Array[]> {
  return async (texts) => texts.map((t) => embedOne(t, dimensions));
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function embedOne(text: string, dimensions: number): Float32Array {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+(?:[+#]+)?|[{}();=^`]/gu) ?? [];
  const counts = new Map<string, number>();
  const bump = (f: string, w: number) => counts.set(f, (counts.get(f) ?? 0) + w);
  words.forEach((w, i) => {
    bump(`u:${w}`, 1);
    if (i > 0) bump(`b:${words[i - 1]} ${w}`, 0.7);
  });
  const v = new Float32Array(dimensions);
  for (const [f, c] of counts) {
    const h = fnv1a(f);
    v[h % dimensions]! += (h & 0x80000000 ? -1 : 1) * (1 + Math.log(c));
  }
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < v.length; i++) v[i]! /= norm;
  return v;
}
