import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createKeys, createRedis, type Redis } from '@sluice/redis';
import { createHashingEmbedder } from './hashing-embedder.ts';
import { createRouter, knnStrategy, learningScope, rulesStrategy, type Exemplar } from './index.ts';

const ask = (content: string) => ({ request: { model: 'auto', messages: [{ role: 'user' as const, content }] } });

const EXEMPLARS: Exemplar[] = [
  { text: 'What is the capital of Spain?', tier: 'small', category: 'factual' },
  { text: 'What is the capital of Italy?', tier: 'small', category: 'factual' },
  { text: 'Who wrote the novel Dracula?', tier: 'small', category: 'factual' },
  { text: 'Prove that there are infinitely many primes.', tier: 'large', category: 'reasoning' },
  { text: 'Prove that the sum of two even numbers is even.', tier: 'large', category: 'reasoning' },
  { text: 'Prove by contradiction that sqrt 3 is irrational.', tier: 'large', category: 'reasoning' },
];

describe('knnStrategy (Redis vector set)', () => {
  let redis: Redis;
  const embed = createHashingEmbedder(128);
  const fresh = () => createKeys(`test-${randomUUID()}`);

  beforeAll(() => {
    redis = createRedis({ url: inject('redisUrl'), role: 'worker' });
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('seeds the shipped exemplars once and decides by neighbour vote with reasons', async () => {
    const knn = knnStrategy({ redis, keys: fresh(), embed });
    expect(await knn.seed()).toMatchObject({ seeded: true });
    expect(await knn.seed()).toMatchObject({ seeded: false });
    const { total } = await knn.size();
    expect(total).toBeGreaterThan(150);
    const d = await knn.decide(ask('Prove that there are infinitely many prime numbers.'));
    expect(d).toMatchObject({ tier: 'large', category: 'reasoning', strategy: 'knn' });
    expect(d.confidence).toBeGreaterThan(0.7);
    expect(d.reasons.join('\n')).toMatch(/nearest cosine [01]\.\d\d/);
    expect(await knn.decide(ask('What is the capital of Canada?'))).toMatchObject({
      tier: 'small',
      category: 'factual',
    });
  });

  it('uses the embedding handed in instead of embedding again', async () => {
    let calls = 0;
    const counting = async (texts: readonly string[]) => {
      calls += texts.length;
      return embed(texts);
    };
    const knn = knnStrategy({ redis, keys: fresh(), embed: counting, exemplars: EXEMPLARS });
    await knn.seed();
    const before = calls;
    const [embedding] = await embed(['Who wrote the novel Frankenstein?']);
    expect(await knn.decide({ ...ask('Who wrote the novel Frankenstein?'), embedding })).toMatchObject({
      tier: 'small',
    });
    expect(calls).toBe(before);
  });

  it('learns from feedback and escalations: a prompt family flips to large', async () => {
    const knn = knnStrategy({ redis, keys: fresh(), embed, exemplars: EXEMPLARS, k: 5 });
    const prompt = 'What is the capital of a country whose flag has a cedar tree?';
    expect((await knn.decide(ask(prompt))).tier).toBe('small');
    await knn.recordFeedback({ prompt, tier: 'large', category: 'reasoning' });
    await knn.recordEscalation({
      prompt: 'What is the capital of a country whose flag has a maple leaf?',
      category: 'reasoning',
    });
    const d = await knn.decide(ask(prompt));
    expect(d.tier).toBe('large');
    expect(d.reasons[0]).toMatch(/learned/);
    expect(await knn.size()).toEqual({ total: EXEMPLARS.length + 2, learned: 2 });
    // The same prompt again updates its exemplar rather than adding one.
    await knn.recordFeedback({ prompt, tier: 'large', category: 'reasoning' });
    expect((await knn.size()).learned).toBe(2);
  });

  it("scopes learned exemplars: one tenant teaches only itself (or its share group), and reasons show no other tenant's", async () => {
    const knn = knnStrategy({ redis, keys: fresh(), embed, exemplars: EXEMPLARS, k: 5, maxLearned: 2 });
    const prompt = 'What is the capital of a country whose flag has a cedar tree?';
    const [a, b, group] = [learningScope('tenant-a'), learningScope('tenant-b'), learningScope('tenant-c', 'team')];
    expect(new Set([a, b, group, learningScope('tenant-d', 'team')]).size).toBe(3);
    await knn.recordFeedback({ prompt, tier: 'large', category: 'reasoning', scope: a });
    const forA = await knn.decide({ ...ask(prompt), learningScope: a });
    expect(forA.tier).toBe('large');
    expect(forA.reasons[0]).toMatch(/1 learned\), nearest cosine 1\.00/);
    const forB = await knn.decide({ ...ask(prompt), learningScope: b });
    expect(forB.tier).toBe('small');
    expect(forB.reasons[0]).not.toMatch(/learned/);
    expect(forB.reasons[0]).not.toMatch(/cosine 1\.00/);
    // A share group learns together.
    await knn.recordFeedback({ prompt, tier: 'large', category: 'reasoning', scope: group });
    expect((await knn.decide({ ...ask(prompt), learningScope: learningScope('tenant-d', 'team') })).tier).toBe('large');
    // The cap is per scope: B's feedback never evicts A's exemplar.
    for (let i = 0; i < 4; i++) await knn.recordFeedback({ prompt: `b prompt ${i}`, tier: 'large', scope: b });
    expect((await knn.decide({ ...ask(prompt), learningScope: a })).tier).toBe('large');
    await expect(knn.decide({ ...ask(prompt), learningScope: '" or 1 == 1 or "' })).rejects.toThrow(/hex/);
  });

  it('caps learned exemplars, evicting the oldest and never a seeded one', async () => {
    let clock = 1_000;
    const keys = fresh();
    const knn = knnStrategy({ redis, keys, embed, exemplars: EXEMPLARS, maxLearned: 3, now: () => clock++ });
    for (let i = 0; i < 5; i++) await knn.recordFeedback({ prompt: `feedback prompt number ${i}`, tier: 'large' });
    expect(await knn.size()).toEqual({ total: EXEMPLARS.length + 3, learned: 3 });
    const learned = await redis.hkeys(keys.family('routing', 'default', 'learned'));
    expect(learned).toHaveLength(3);
    const members = (await redis.call(
      'VSIM',
      keys.family('routing', 'default', 'exemplars'),
      'ELE',
      learned[0]!,
      'COUNT',
      '100',
    )) as string[];
    expect(members.filter((m) => m.startsWith('s:'))).toHaveLength(EXEMPLARS.length);
  });

  it('re-embeds seeded and learned exemplars when the embedder changes', async () => {
    const keys = fresh();
    const first = knnStrategy({ redis, keys, embed, exemplars: EXEMPLARS, embedderId: 'hash-128' });
    await first.recordFeedback({ prompt: 'Explain the offside rule with a diagram', tier: 'large' });
    const wider = createHashingEmbedder(64);
    const second = knnStrategy({ redis, keys, embed: wider, exemplars: EXEMPLARS, embedderId: 'hash-64' });
    expect(await second.seed()).toEqual({ seeded: true, exemplars: EXEMPLARS.length, relearned: 1 });
    expect(Number(await redis.call('VDIM', keys.family('routing', 'default', 'exemplars')))).toBe(64);
    expect((await second.decide(ask('Explain the offside rule with a diagram'))).tier).toBe('large');
  });

  it('composes behind rules: rules decide when sure, knn when rules are not', async () => {
    const knn = knnStrategy({ redis, keys: fresh(), embed });
    const router = createRouter({ strategies: [rulesStrategy(), knn], threshold: 0.7 });
    expect(await router.decide(ask('What is the capital of Peru?'))).toMatchObject({
      strategy: 'rules',
      tier: 'small',
    });
    // No marker either way: the rules are unsure, so knn is consulted after them.
    const unsure = await router.decide(
      ask(
        'My neighbour has an old oak tree that drops leaves and acorns into my garden every autumn, and we have been going back and forth about who should clear them up.',
      ),
    );
    expect(unsure.reasons[0]).toMatch(/^rules: small at confidence 0\.60 < 0\.7/);
    expect(unsure.strategy).not.toBe('rules');
  });

  it('rejects bad options', () => {
    expect(() => knnStrategy({ redis, keys: fresh(), embed, k: 0 })).toThrow(/`k`/);
    expect(() => knnStrategy({ redis, keys: fresh(), embed, namespace: 'a b' })).toThrow(/namespace/);
  });
});
