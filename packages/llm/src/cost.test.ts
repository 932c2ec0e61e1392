import { describe, expect, it } from 'vitest';
import { costUsd } from './upstream.ts';

describe('costUsd', () => {
  const deployment = { inputPricePerMTok: 2.5, outputPricePerMTok: 10, cachedInputPricePerMTok: 1.25, batchPriceFactor: 0.5 };

  it('prices prompt tokens the provider cache served at the cached rate', () => {
    expect(costUsd(deployment, { prompt_tokens: 1_000_000, completion_tokens: 0 })).toBe(2.5);
    expect(costUsd(deployment, { prompt_tokens: 1_000_000, completion_tokens: 0, prompt_tokens_details: { cached_tokens: 400_000 } })).toBe(2.5 * 0.6 + 1.25 * 0.4);
    // A cached count above the prompt (a confused upstream) never makes a call cost less than all-cached.
    expect(costUsd(deployment, { prompt_tokens: 1000, completion_tokens: 0, prompt_tokens_details: { cached_tokens: 5000 } })).toBe(0.00125);
  });

  it('prices a batch call at the batch factor', () => {
    expect(costUsd(deployment, { prompt_tokens: 1_000_000, completion_tokens: 1_000_000 }, { batch: true })).toBe(6.25);
    expect(costUsd({ inputPricePerMTok: 1, outputPricePerMTok: 1 }, { prompt_tokens: 1_000_000, completion_tokens: 0 }, { batch: true })).toBe(1);
  });
});
