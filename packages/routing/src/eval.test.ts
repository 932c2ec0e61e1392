import { describe, expect, it } from 'vitest';
import { evalMessages, loadEvalSet, scoreDecisions } from './evaluation.ts';
import { createRouter, rulesStrategy } from './index.ts';

describe('routing eval (eval/prompts.json)', () => {
  const rules = rulesStrategy();

  it('has at least 150 labelled prompts covering every category and both tiers', () => {
    const items = loadEvalSet();
    expect(items.length).toBeGreaterThanOrEqual(150);
    for (const category of ['time_sensitive', 'factual', 'general', 'creative', 'code', 'reasoning']) {
      for (const tier of ['small', 'large'])
        expect(
          items.filter((i) => i.category === category && i.tier === tier).length,
          `${category}/${tier}`,
        ).toBeGreaterThan(0);
    }
    expect(new Set(items.map((i) => i.domain)).size).toBeGreaterThan(20);
  });

  it('the rules strategy sends ≤ 5% of complex prompts and ≥ 80% of simple prompts to small', () => {
    const items = loadEvalSet();
    const report = scoreDecisions(
      'rules',
      items,
      items.map((item) => rules.decide({ request: { model: 'auto', messages: evalMessages(item) } })),
    );
    expect(report.complexToSmall).toBeLessThanOrEqual(0.05);
    expect(report.simpleToSmall).toBeGreaterThanOrEqual(0.8);
    expect(report.saving).toBeGreaterThan(0.2);
  });

  it('on the held-out set (never tuned on), the router over rules with low confidence → large meets the aims', async () => {
    const items = loadEvalSet('holdout');
    const router = createRouter({ strategies: [rules], threshold: 0.7, lowConfidence: 'large' });
    const decisions = await Promise.all(
      items.map((item) => router.decide({ request: { model: 'auto', messages: evalMessages(item) } })),
    );
    const report = scoreDecisions('router(rules)', items, decisions);
    expect(report.complexToSmall).toBeLessThanOrEqual(0.05);
    expect(report.simpleToSmall).toBeGreaterThanOrEqual(0.8);
  });
});
