import { describe, expect, it } from 'vitest';
import { loadConfig } from '@sluice/config';
import { createRouter } from '../router.ts';
import { strategiesFromConfig } from '../from-config.ts';
import { complexityOf, rulesStrategy } from '../rules.ts';
import { areaUnderCurve, qualityForLargeShare, rocAuc, scoreCurve, scoreRouting } from './curve.ts';
import {
  createLearnedModel,
  quantiseWeights,
  shippedLearnedModel,
  validateModelFile,
  type LearnedModelFile,
} from './model.ts';
import { parseCsv } from './routellm-data.ts';
import { calibrateQuality, parsePromptSample } from './calibrate.ts';
import { learnedStrategy } from './strategy.ts';
import { DENSE_FEATURES } from './text-features.ts';
import { fitPlatt, trainLogistic } from './train.ts';

const ask = (content: string) => ({ request: { model: 'auto', messages: [{ role: 'user' as const, content }] } });

describe('the shipped learned model', () => {
  it('loads, validates and scores a calibrated probability, the same every time', () => {
    const model = shippedLearnedModel();
    expect(model.file.format).toBe(1);
    const mc = 'Which of the following is a prime number?\nA. 4\nB. 6\nC. 7\nD. 9\nAnswer:';
    const p = model.smallSuffices(mc, complexityOf(ask(mc).request).points);
    expect(p).toBeGreaterThan(0);
    expect(p).toBeLessThan(1);
    expect(model.smallSuffices(mc, complexityOf(ask(mc).request).points)).toBe(p);
    // The rules' points count: more complexity, less chance that small suffices.
    expect(model.smallSuffices(mc, 3)).toBeLessThan(model.smallSuffices(mc, -1));
    // Different prompts get different scores (a constant model would pass the checks above).
    const scores = new Set(
      [
        'What is 2 + 2?',
        'Prove that there are infinitely many primes.',
        'Write a haiku about rain.',
        'A train leaves at 3 pm going 60 mph; a second leaves at 4 pm going 80 mph. When does the second catch up?',
      ].map((t) => model.smallSuffices(t, 0).toFixed(6)),
    );
    expect(scores.size).toBe(4);
  });

  it('scores a prompt well under a millisecond', () => {
    const model = shippedLearnedModel();
    const prompts = Array.from(
      { length: 400 },
      (_, i) =>
        `Question ${i}: a farmer has ${i} sheep and buys ${i * 3} more at $${i + 2} each. How much did he spend, and how many sheep does he have now? Explain step by step.`,
    );
    for (const p of prompts.slice(0, 50)) model.smallSuffices(p, 0); // warm up
    const times = prompts.map((p) => {
      const t0 = performance.now();
      model.smallSuffices(p, 0);
      return performance.now() - t0;
    });
    times.sort((a, b) => a - b);
    expect(times[Math.floor(times.length / 2)]!).toBeLessThan(0.5);
  });

  it('ships with the default quality the configuration uses', () => {
    expect(loadConfig({ env: {} }).routing.quality).toBe(shippedLearnedModel().file.defaultQuality);
  });

  it('rejects a malformed model file, naming the field', () => {
    const good = shippedLearnedModel().file;
    expect(() => validateModelFile({ ...good, format: 2 })).toThrow(/`format` 1, got `2`/);
    expect(() => validateModelFile({ ...good, hashBits: 40 })).toThrow(/hashBits/);
    expect(() => validateModelFile({ ...good, dense: { ...good.dense, std: good.dense.std.map(() => 0) } })).toThrow(
      /dense.std/,
    );
    expect(() =>
      validateModelFile({
        ...good,
        heads: { ...good.heads, smallBetter: { ...good.heads.smallBetter, ngramWeights: { scale: 1, int16: 'AAAA' } } },
      }),
    ).toThrow(/heads.smallBetter.ngramWeights/);
    expect(() => validateModelFile({ ...good, defaultQuality: 1.5 })).toThrow(/defaultQuality/);
    expect(() => validateModelFile({ ...good, rules: { weight: 0.1, min: 2, max: 1 } })).toThrow(/`rules`/);
  });
});

/** A small model trained here on a toy problem: "zebra" in the text means the large model is needed. */
function toyModel(): LearnedModelFile {
  const texts = Array.from({ length: 200 }, (_, i) =>
    i % 2 ? `tell me about the zebra number ${i}` : `tell me about the horse number ${i}`,
  );
  const large = trainLogistic(
    texts.map((text, i) => ({ text, label: (i % 2) as 0 | 1 })),
    { hashBits: 10, epochs: 30 },
  );
  const small = trainLogistic(
    texts.map((text) => ({ text, label: 0 as const })),
    { hashBits: 10, epochs: 30 },
  );
  const head = (w: typeof large) => ({
    ngramWeights: quantiseWeights(w.weights),
    denseWeights: w.dense.weights,
    bias: w.bias,
  });
  return {
    format: 1,
    hashBits: 10,
    dense: { names: [...DENSE_FEATURES], mean: large.dense.mean, std: large.dense.std },
    heads: { largeBetter: head(large), smallBetter: head(small) },
    rules: { weight: 0, min: -1.5, max: 4 },
    // Gains near 1 (zebra) and near 0 (horse) mapped to P(large needed) near 0.9 and 0.05.
    calibration: { a: 6, b: -3 },
    defaultQuality: 0.5,
    trainedOn: { sources: ['test'], subset: 'toy', examples: 200, builtAt: '2026-12-03', notes: [] },
  };
}

describe('training', () => {
  it('learns a separable toy problem and keeps it through quantisation', () => {
    const model = createLearnedModel(toyModel());
    expect(model.smallSuffices('tell me about the zebra please', 0)).toBeLessThan(0.4);
    expect(model.smallSuffices('tell me about the horse please', 0)).toBeGreaterThan(0.5);
  });

  it('fits Platt scaling that maps logits to the observed rates', () => {
    // Logit 1 is positive 3 times in 4, logit −1 once in 4: σ(a + b) = 0.75 and σ(−a + b) = 0.25.
    const logits = [1, 1, 1, 1, -1, -1, -1, -1];
    const labels = [1, 1, 1, 0, 1, 0, 0, 0] as const;
    const { a, b } = fitPlatt(logits, labels);
    expect(1 / (1 + Math.exp(-(a + b)))).toBeCloseTo(0.75, 3);
    expect(1 / (1 + Math.exp(-(-a + b)))).toBeCloseTo(0.25, 3);
  });
});

describe('the cost–quality knob', () => {
  const strategy = learnedStrategy({ model: createLearnedModel(toyModel()) });
  it('moves one prompt from small to large as the quality setting rises', () => {
    const input = ask('tell me about the horse please');
    const p = strategy.model.smallSuffices('tell me about the horse please', complexityOf(input.request).points);
    expect(strategy.decide({ ...input, quality: 0 })).toMatchObject({ tier: 'small', strategy: 'learned' });
    expect(strategy.decide({ ...input, quality: Math.max(0, p - 0.01) }).tier).toBe('small');
    expect(strategy.decide({ ...input, quality: Math.min(1, p + 0.01) }).tier).toBe('large');
    expect(strategy.decide({ ...input, quality: 1 }).tier).toBe('large');
    // An out-of-range request value falls back to the configured default.
    expect(strategy.decide({ ...input, quality: 7 }).reasons[0]).toContain(`quality ${strategy.quality}`);
  });

  it('rejects a configured quality outside [0, 1]', () => {
    expect(() => learnedStrategy({ quality: 1.2 })).toThrow(/`quality` to be a number in \[0, 1\], got `1.2`/);
  });

  it('reaches the strategy through the router, and only where the rules are not sure it is simple', async () => {
    const router = createRouter({ strategies: [rulesStrategy(), strategy] });
    // Confidently simple by the rules: the knob does not move it.
    expect(await router.decide(ask('What is the capital of France?'), { quality: 1 })).toMatchObject({
      tier: 'small',
      strategy: 'rules',
    });
    // Not confidently simple: the learned router decides, at the request's quality.
    const prompt =
      'Describe the horse and the reasons it runs the way it does during long races in the wild, with attention to the muscles, the lungs and the history of breeding over many centuries';
    expect(await router.decide(ask(prompt), { quality: 0 })).toMatchObject({ tier: 'small', strategy: 'learned' });
    expect(await router.decide(ask(prompt), { quality: 1 })).toMatchObject({ tier: 'large', strategy: 'learned' });
    // A confident "large" of the rules is left to the learned router.
    const proof = await router.decide(
      ask(
        'Prove by induction that the sum of the first n odd numbers is n^2, step by step, and derive the closed form of the sum of squares rigorously.',
      ),
      { quality: 0 },
    );
    expect(proof).toMatchObject({ tier: 'small', strategy: 'learned' });
    expect(proof.reasons.some((r) => /rules: large at confidence .* left to learned/.test(r))).toBe(true);
  });

  it('with the cascade policy, answers its small decisions small first', async () => {
    const router = createRouter({ strategies: [rulesStrategy(), strategy], lowConfidence: 'cascade' });
    const prompt =
      'Describe the horse and the reasons it runs the way it does during long races in the wild, with attention to the muscles, the lungs and the history of breeding over many centuries';
    expect(await router.decide(ask(prompt), { quality: 0 })).toMatchObject({
      tier: 'small',
      strategy: 'learned',
      cascade: true,
    });
    expect(await router.decide(ask(prompt), { quality: 1 })).toMatchObject({ tier: 'large', cascade: false });
    expect(await router.decide(ask('What is the capital of France?'))).toMatchObject({
      strategy: 'rules',
      cascade: false,
    });
  });

  it('in front of it, the rules leave a prompt that is only short to the learned router; alone they keep it', async () => {
    const short = ask('Explain the causes of the First World War and how the alliances widened it.');
    const [rulesFirst] = strategiesFromConfig({ names: 'rules,learned' });
    const composed = await rulesFirst!.decide(short);
    expect(composed.tier).toBe('small');
    expect(composed.confidence).toBeLessThan(0.7);
    expect(composed.reasons).toContain('no simplicity evidence → confidence capped at 0.6');
    const alone = await strategiesFromConfig({ names: 'rules' })[0]!.decide(short);
    expect(alone).toMatchObject({ tier: 'small' });
    expect(alone.confidence).toBeGreaterThanOrEqual(0.7);
    const router = createRouter({ strategies: strategiesFromConfig({ names: 'rules,learned' }) });
    expect(await router.decide(short, { quality: 1 })).toMatchObject({ tier: 'large', strategy: 'learned' });
    // A short prompt with a marker of its own (a factoid question) still stands on the rules.
    expect(await router.decide(ask('What is the capital of France?'), { quality: 1 })).toMatchObject({
      tier: 'small',
      strategy: 'rules',
    });
  });

  it('must come last in the strategy list', () => {
    expect(() => strategiesFromConfig({ names: 'learned,rules' })).toThrow(
      /`learned` decides every request it sees, so it must come last/,
    );
    expect(strategiesFromConfig({ names: 'rules,learned' }).map((s) => s.name)).toEqual(['rules', 'learned']);
  });
});

describe('curves and calibration', () => {
  const outcomes = [
    { weak: 0, strong: 1 },
    { weak: 1, strong: 1 },
    { weak: 0, strong: 1 },
    { weak: 1, strong: 0 },
  ];
  it('scores PGR: all small 0, all large 1, a perfect pick of the gains above both', () => {
    expect(scoreRouting(outcomes, [false, false, false, false])).toMatchObject({ largeShare: 0, pgr: 0 });
    expect(scoreRouting(outcomes, [true, true, true, true])).toMatchObject({ largeShare: 1, pgr: 1 });
    // Gap: strong 3/4, weak 2/4. Sending the two gains large: quality 4/4, PGR (4 − 2) / (3 − 2) = 2.
    expect(scoreRouting(outcomes, [true, false, true, false]).pgr).toBeCloseTo(2);
    const curve = scoreCurve(outcomes, [0.1, 0.9, 0.2, 0.95], [0.5]);
    expect(curve[0]!.pgr).toBeCloseTo(2);
    expect(areaUnderCurve([{ largeShare: 0.5, pgr: 0.5 }])).toBeCloseTo(0.5);
    expect(rocAuc([0.9, 0.8, 0.1, 0.2], [1, 1, 0, 0])).toBe(1);
  });

  it('picks the quality that sends the asked share of a sample large', () => {
    const scores = Array.from({ length: 100 }, (_, i) => i / 100);
    for (const share of [0, 0.1, 0.5, 0.73, 1]) {
      const q = qualityForLargeShare(scores, share);
      expect(scores.filter((s) => s < q).length).toBe(Math.round(share * 100));
    }
    expect(() => qualityForLargeShare(scores, 1.5)).toThrow(/large share in \[0, 1\]/);
  });

  it('parses RouteLLM-style CSV with quoted commas, quotes and newlines', () => {
    expect(parseCsv('prompt,a,b\n"x, ""y""\nz",True,False\nplain,False,True\n')).toEqual([
      ['prompt', 'a', 'b'],
      ['x, "y"\nz', 'True', 'False'],
      ['plain', 'False', 'True'],
    ]);
  });
});

describe('routing calibrate', () => {
  // Prompts the rules are not sure about, so the learned router decides each of them.
  const sample = Array.from({ length: 120 }, (_, i) => ({
    model: 'auto',
    // Distinct words per prompt (numbers all hash alike), so no two prompts tie on their score.
    messages: [
      {
        role: 'user' as const,
        content: `Describe the ${['old', 'red', 'tall', 'quiet', 'famous', 'broken', 'northern', 'ancient', 'modern', 'hidden', 'royal', 'wooden'][i % 12]} ${['bridge', 'glaze', 'tax rule', 'opera', 'prime', 'river', 'engine', 'treaty', 'garden', 'vaccine'][Math.floor(i / 12)]} of the catalogue and what a reader should take away from it, over several paragraphs with examples drawn from its history and the people who used it.`,
      },
    ],
  }));

  it('picks the quality that sends the asked share of the sample large through the real router', async () => {
    const learned = learnedStrategy();
    for (const share of [0.2, 0.5, 0.8]) {
      const r = calibrateQuality(sample, share, learned);
      expect(r.n).toBe(120);
      expect(r.rulesSmallShare).toBe(0);
      expect(Math.abs(r.largeShare - share)).toBeLessThanOrEqual(1 / 120 + 1e-9);
      const router = createRouter({ strategies: [rulesStrategy(), learned] });
      let large = 0;
      for (const request of sample)
        if ((await router.decide({ request }, { quality: r.quality })).tier === 'large') large++;
      expect(large / 120).toBe(r.largeShare);
    }
  });

  it('says when the rules leave too few prompts to reach the share', () => {
    const simple = [
      ...sample.slice(0, 10),
      ...Array.from({ length: 10 }, () => ({
        model: 'auto',
        messages: [{ role: 'user' as const, content: 'What is the capital of France?' }],
      })),
    ];
    const r = calibrateQuality(simple, 0.9);
    expect(r.rulesSmallShare).toBe(0.5);
    expect(r.largeShare).toBe(0.5);
    expect(r.note).toMatch(/at most 50.0% of this sample can go large/);
  });

  it('reads JSON Lines, JSON arrays and plain text samples', () => {
    expect(
      parsePromptSample('"a"\n{"prompt":"b"}\n{"messages":[{"role":"user","content":"c"}]}\n').map(
        (r) => r.messages.at(-1)!.content,
      ),
    ).toEqual(['a', 'b', 'c']);
    expect(parsePromptSample('["x", {"prompt": "y"}]').map((r) => r.messages[0]!.content)).toEqual(['x', 'y']);
    expect(parsePromptSample('first prompt\n\nsecond prompt\n').map((r) => r.messages[0]!.content)).toEqual([
      'first prompt',
      'second prompt',
    ]);
    expect(() => parsePromptSample('[{"text": 1}]')).toThrow(/Sample item 1 is neither/);
  });
});
