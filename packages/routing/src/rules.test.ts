import { describe, expect, it } from 'vitest';
import type { RouteDecision } from '@sluice/queues';
import {
  createRouter,
  strategiesFromConfig,
  InvalidRoutingOptionsError,
  isUnknownModelError,
  resolvePin,
  rulesStrategy,
  UnknownModelError,
  type RoutingStrategy,
} from './index.ts';

const ask = (content: string, history: { role: 'user' | 'assistant'; content: string }[] = []) => ({
  request: { model: 'auto', messages: [...history, { role: 'user' as const, content }] },
});

describe('rulesStrategy', () => {
  const rules = rulesStrategy();

  it('sends short factoid questions to small with high confidence and says why', () => {
    const d = rules.decide(ask('What is the capital of France?'));
    expect(d).toMatchObject({ tier: 'small', category: 'factual', strategy: 'rules' });
    expect(d.confidence).toBeGreaterThan(0.85);
    expect(d.reasons.join('\n')).toMatch(/factoid question/);
  });

  it('sends proofs and derivations to large as reasoning', () => {
    const d = rules.decide(ask('Prove that there are infinitely many primes.'));
    expect(d).toMatchObject({ tier: 'large', category: 'reasoning' });
    expect(d.reasons.join('\n')).toMatch(/proof \(prove\)/);
  });

  it('detects code by fences and stack traces, and debugging goes large', () => {
    const d = rules.decide(
      ask(
        "Why does this crash?\n```python\nd = {}\nprint(d['k'])\n```\nTraceback (most recent call last):\n  File \"a.py\", line 2, in <module>\nKeyError: 'k'",
      ),
    );
    expect(d).toMatchObject({ tier: 'large', category: 'code' });
    expect(d.reasons.join('\n')).toMatch(/stack trace/);
    expect(rules.decide(ask('Write a Python function that reverses a string.'))).toMatchObject({
      tier: 'small',
      category: 'code',
    });
  });

  it('marks today/latest/weather/price questions time-sensitive', () => {
    for (const q of [
      "What's the weather in Oslo today?",
      'What is the current price of bitcoin?',
      'Latest news about the Mars mission?',
    ]) {
      expect(rules.decide(ask(q)).category, q).toBe('time_sensitive');
    }
  });

  it('detects creative requests', () => {
    expect(rules.decide(ask('Write a limerick about a cat who loves jazz.'))).toMatchObject({
      tier: 'small',
      category: 'creative',
    });
  });

  it('counts length in real tokens and conversation depth', () => {
    const long = 'The quarterly report shows revenue grew in every region. '.repeat(200);
    const d = rules.decide(ask(long + '\nWhat stands out?'));
    expect(d.reasons.join('\n')).toMatch(/length: \d{4} tokens/);
    const history = Array.from({ length: 24 }, (_, i) => ({
      role: i % 2 ? ('assistant' as const) : ('user' as const),
      content: `turn ${i}`,
    }));
    expect(rules.decide(ask('and then?', history)).reasons.join('\n')).toMatch(/depth: 13 user turns/);
  });

  it('treats multi-step markers as complex', () => {
    const d = rules.decide(
      ask('Compare and contrast microservices and a modular monolith for a 10-person team, and weigh the trade-offs.'),
    );
    expect(d.tier).toBe('large');
    expect(d.reasons.join('\n')).toMatch(/multi-step/);
  });

  it('stays fast on long and adversarial input (no regex backtracking blow-up)', () => {
    rules.decide(ask('warm up the tokenizer'));
    for (const text of [
      'including a' + ', bb'.repeat(4_000),
      'word '.repeat(40_000),
      'why does this fail? ' + '  at f (a.js:1:1)\n'.repeat(5_000),
    ]) {
      // CPU time of this process, not wall time: a shared machine's load stretches wall time
      // (4 s seen under a full parallel suite) but not the work done. Measured ≤ 0.3 s each; a
      // backtracking regex on these inputs takes minutes, so 5 s separates the two.
      const started = process.cpuUsage();
      rules.decide(ask(text));
      const used = process.cpuUsage(started);
      expect((used.user + used.system) / 1000).toBeLessThan(5_000);
    }
  });

  it('rejects a bad largeAt', () => {
    expect(() => rulesStrategy({ largeAt: Number.NaN })).toThrow(InvalidRoutingOptionsError);
  });
});

const fixed = (name: string, decision: Partial<RouteDecision>): RoutingStrategy => ({
  name,
  decide: () => ({
    tier: 'small',
    category: 'general',
    confidence: 0.5,
    reasons: [`${name} said so`],
    strategy: name,
    ...decision,
  }),
});

describe('createRouter', () => {
  const input = ask('hello');

  it('takes the first confident strategy in order', async () => {
    const router = createRouter({
      strategies: [
        fixed('a', { confidence: 0.5 }),
        fixed('b', { tier: 'large', confidence: 0.9 }),
        fixed('c', { confidence: 1 }),
      ],
      threshold: 0.7,
    });
    const d = await router.decide(input);
    expect(d).toMatchObject({ tier: 'large', strategy: 'b', cascade: false });
    expect(d.reasons[0]).toMatch(/a: small at confidence 0.50 < 0.7/);
  });

  it('sends low confidence to large, or to the cascade when it leans small', async () => {
    const unsure = [fixed('a', { confidence: 0.55 })];
    expect(await createRouter({ strategies: unsure, lowConfidence: 'large' }).decide(input)).toMatchObject({
      tier: 'large',
      cascade: false,
    });
    expect(await createRouter({ strategies: unsure, lowConfidence: 'cascade' }).decide(input)).toMatchObject({
      tier: 'small',
      cascade: true,
    });
    const leansLarge = [fixed('a', { tier: 'large', confidence: 0.55 })];
    expect(await createRouter({ strategies: leansLarge, lowConfidence: 'cascade' }).decide(input)).toMatchObject({
      tier: 'large',
      cascade: false,
    });
  });

  it('skips a failing strategy and goes large when none is left', async () => {
    const errors: string[] = [];
    const boom: RoutingStrategy = { name: 'boom', decide: () => Promise.reject(new Error('timeout')) };
    const router = createRouter({
      strategies: [boom, fixed('b', { confidence: 0.9 })],
      onStrategyError: (_e, s) => errors.push(s),
    });
    expect(await router.decide(input)).toMatchObject({ tier: 'small', strategy: 'b' });
    expect(errors).toEqual(['boom']);
    const d = await createRouter({ strategies: [boom] }).decide(input);
    expect(d).toMatchObject({ tier: 'large', strategy: 'fallback', confidence: 0 });
    expect(d.reasons.join('\n')).toMatch(/boom failed: timeout/);
  });

  it('honours a pinned tier and still categorizes', async () => {
    const d = await createRouter({ strategies: [rulesStrategy()] }).decide(ask('Write a sonnet about rain'), {
      pinnedTier: 'large',
    });
    expect(d).toMatchObject({ tier: 'large', category: 'creative', strategy: 'pinned', confidence: 1 });
  });

  it('keeps freshness: a time-sensitive question stays time_sensitive whoever decided', async () => {
    const d = await createRouter({ strategies: [fixed('knn', { confidence: 0.9, category: 'factual' })] }).decide(
      ask("What's the weather in Lyon today?"),
    );
    expect(d.category).toBe('time_sensitive');
    expect(d.reasons.at(-1)).toMatch(/factual → time_sensitive/);
  });

  it('validates its options', () => {
    expect(() => createRouter({ strategies: [] })).toThrow(/strategies/);
    expect(() => createRouter({ strategies: [rulesStrategy()], threshold: 2 })).toThrow(/threshold/);
  });
});

describe('resolvePin', () => {
  const models = [
    { model: 'gpt-4o-mini', tier: 'small' as const },
    { model: 'gpt-4o', tier: 'large' as const },
  ];
  it('resolves auto, tiers and configured models', () => {
    expect(resolvePin('auto', models)).toEqual({ kind: 'auto' });
    expect(resolvePin('large', models)).toEqual({ kind: 'tier', tier: 'large' });
    expect(resolvePin('Router', models)).toEqual({ kind: 'tier', tier: 'router' });
    expect(resolvePin('gpt-4o', models)).toEqual({ kind: 'model', model: 'gpt-4o', tier: 'large' });
  });
  it('throws a typed error naming the unknown model', () => {
    try {
      resolvePin('gpt-5-ultra', models);
      expect.unreachable();
    } catch (error) {
      expect(isUnknownModelError(error)).toBe(true);
      const e = error as UnknownModelError;
      expect(e).toMatchObject({ model: 'gpt-5-ultra', status: 404, code: 'SLUICE_ERR_UNKNOWN_MODEL', param: 'model' });
      expect(e.message).toMatch(/`gpt-5-ultra` does not exist.*`gpt-4o-mini`, `gpt-4o`/);
    }
  });
});

describe('strategiesFromConfig', () => {
  it('builds the named strategies in order and names a bad entry', () => {
    expect(strategiesFromConfig({ names: ' rules ' }).map((s) => s.name)).toEqual(['rules']);
    expect(() => strategiesFromConfig({ names: 'rules,magic' })).toThrow(/Unknown routing strategy `magic`/);
    expect(() => strategiesFromConfig({ names: 'rules,rules' })).toThrow(/listed twice/);
    expect(() => strategiesFromConfig({ names: 'rules,knn' })).toThrow(/`knn` needs/);
    expect(() => strategiesFromConfig({ names: '' })).toThrow(InvalidRoutingOptionsError);
  });
});
