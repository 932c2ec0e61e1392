import { describe, expect, it } from 'vitest';
import { fingerprintMessages } from '@sluice/sim';
import { createRandom, createZipfSampler, generateWorkload } from './workload.ts';

describe('generateWorkload', () => {
  const options = { seed: 7, requests: 400, rate: 5 };

  it('is reproducible: same seed, same requests', () => {
    const a = generateWorkload(options);
    const b = generateWorkload(options);
    expect(b.requests).toEqual(a.requests);
    expect(b.summary).toEqual(a.summary);
  });

  it('differs with another seed', () => {
    const a = generateWorkload(options);
    const b = generateWorkload({ ...options, seed: 8 });
    expect(b.requests.map((r) => r.fingerprint)).not.toEqual(a.requests.map((r) => r.fingerprint));
  });

  it('labels every request and indexes its fingerprint', () => {
    const w = generateWorkload(options);
    expect(w.requests).toHaveLength(400);
    for (const r of w.requests) {
      expect(r.fingerprint).toBe(fingerprintMessages(r.messages));
      expect(w.fingerprints.get(r.fingerprint)).toEqual({ intentGroup: r.intentGroup, tenant: r.tenant });
      expect(r.expectedTier).toBe(r.complexity === 'complex' ? 'large' : 'small');
      expect(r.messages.at(-1)!.role).toBe('user');
      expect(r.messages.at(-1)!.content).not.toMatch(/\{\w+\}/);
    }
  });

  it('covers every category at both complexities, conversations and several tenants', () => {
    const w = generateWorkload({ seed: 3, requests: 2000, rate: 8 });
    for (const c of ['time_sensitive', 'factual', 'general', 'creative', 'code', 'reasoning']) {
      expect(w.summary.byCategory[c]?.simple, c).toBeGreaterThan(0);
      expect(w.summary.byCategory[c]?.complex, c).toBeGreaterThan(0);
    }
    expect(Object.keys(w.summary.tenants).length).toBeGreaterThanOrEqual(3);
    const turns = w.requests.filter((r) => r.conversation);
    expect(turns.some((r) => r.conversation!.turn >= 2)).toBe(true);
    // A later turn carries the earlier turns and the assistant replies.
    const later = turns.find((r) => r.conversation!.turn === 2)!;
    expect(later.messages.filter((m) => m.role === 'assistant')).toHaveLength(2);
    // Rewordings: one intent asked with more than one wording.
    const wordings = new Map<string, Set<string>>();
    for (const r of w.requests)
      (wordings.get(r.intentGroup) ?? wordings.set(r.intentGroup, new Set()).get(r.intentGroup)!).add(
        r.messages.at(-1)!.content,
      );
    expect([...wordings.values()].some((s) => s.size >= 3)).toBe(true);
  });

  it('skews popularity like Zipf: the top intent dwarfs the median one', () => {
    const w = generateWorkload({ seed: 11, requests: 2500, rate: 8, conversationShare: 0 });
    const counts = new Map<string, number>();
    for (const r of w.requests)
      if (r.complexity === 'simple') counts.set(r.intentGroup, (counts.get(r.intentGroup) ?? 0) + 1);
    const sorted = [...counts.values()].sort((a, b) => b - a);
    expect(sorted[0]!).toBeGreaterThan(10 * sorted[Math.floor(sorted.length / 2)]!);
    expect(w.summary.exactRepeatShare).toBeGreaterThan(0.3);
  });
});

describe('createZipfSampler', () => {
  it('draws rank r with probability ∝ 1/(r+1)^s', () => {
    const z = createZipfSampler(100, 1);
    const random = createRandom(1);
    const counts = new Array<number>(100).fill(0);
    const n = 200_000;
    for (let i = 0; i < n; i++) counts[z.sample(random)]!++;
    // P(0)/P(9) = 10 for s = 1.
    expect(counts[0]! / counts[9]!).toBeGreaterThan(9);
    expect(counts[0]! / counts[9]!).toBeLessThan(11);
    expect(counts[0]! / n).toBeCloseTo(z.probability(0), 2);
    const total = Array.from({ length: 100 }, (_, r) => z.probability(r)).reduce((a, b) => a + b, 0);
    expect(total).toBeCloseTo(1, 9);
  });

  it('rejects bad parameters with the value in the message', () => {
    expect(() => createZipfSampler(0, 1)).toThrow(/got `0`/);
    expect(() => createZipfSampler(5, -1)).toThrow(/got `-1`/);
  });
});
