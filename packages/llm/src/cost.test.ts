import { describe, expect, it } from 'vitest';
import { costUsd } from './upstream.ts';

describe('costUsd', () => {
  const deployment = {
    inputPricePerMTok: 2.5,
    outputPricePerMTok: 10,
    cachedInputPricePerMTok: 1.25,
    batchPriceFactor: 0.5,
  };

  it('prices prompt tokens the provider cache served at the cached rate', () => {
    expect(costUsd(deployment, { prompt_tokens: 1_000_000, completion_tokens: 0 })).toBe(2.5);
    expect(
      costUsd(deployment, {
        prompt_tokens: 1_000_000,
        completion_tokens: 0,
        prompt_tokens_details: { cached_tokens: 400_000 },
      }),
    ).toBe(2.5 * 0.6 + 1.25 * 0.4);
    // A cached count above the prompt (a confused upstream) never makes a call cost less than all-cached.
    expect(
      costUsd(deployment, {
        prompt_tokens: 1000,
        completion_tokens: 0,
        prompt_tokens_details: { cached_tokens: 5000 },
      }),
    ).toBe(0.00125);
  });

  it("prices Anthropic's cache writes at the cache-write rate and its reads at the cached rate", () => {
    const sonnet = {
      inputPricePerMTok: 3,
      outputPricePerMTok: 15,
      cachedInputPricePerMTok: 0.3,
      cacheWritePricePerMTok: 3.75,
    };
    // 1M prompt tokens: 200k uncached, 500k read from the cache, 300k written to it.
    expect(
      costUsd(sonnet, {
        prompt_tokens: 1_000_000,
        completion_tokens: 0,
        prompt_tokens_details: { cached_tokens: 500_000, cache_write_tokens: 300_000 },
      }),
    ).toBe(0.6 + 0.15 + 1.125);
    // Without a cache-write price (an OpenAI-shaped deployment), writes cost the input price.
    expect(
      costUsd(deployment, {
        prompt_tokens: 1_000_000,
        completion_tokens: 0,
        prompt_tokens_details: { cache_write_tokens: 1_000_000 },
      }),
    ).toBe(2.5);
  });

  it('prices a batch call at the batch factor', () => {
    expect(costUsd(deployment, { prompt_tokens: 1_000_000, completion_tokens: 1_000_000 }, { batch: true })).toBe(6.25);
    expect(
      costUsd(
        { inputPricePerMTok: 1, outputPricePerMTok: 1 },
        { prompt_tokens: 1_000_000, completion_tokens: 0 },
        { batch: true },
      ),
    ).toBe(1);
  });
});
