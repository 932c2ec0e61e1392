import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator } from '@sluice/sim';
import { AnthropicBatchProvider, decodeCustomId, encodeCustomId } from './anthropic-provider.ts';
import { isFinal } from './provider.ts';

/** The Message Batches provider against the simulator's `/v1/messages/batches`, on a clock the test moves. */

let sim: Simulator;
let url: string;
let clock = Date.UTC(2026, 2, 1);
let provider: AnthropicBatchProvider;

beforeAll(async () => {
  sim = createSimulator({ profile: 'fast', now: () => clock, batch: { processingMs: 10_000 } });
  ({ url } = await sim.listen({ port: 0 }));
  provider = new AnthropicBatchProvider({
    baseUrl: `${url}/v1`,
    apiKey: 'sim-key',
    timeoutMs: 10_000,
    model: 'sim-small',
  });
});

afterAll(async () => {
  await sim.close();
});

const chat = (content: string, extra: Record<string, unknown> = {}) => ({
  model: 'sim-small',
  messages: [
    { role: 'system', content: 'You answer batch questions.' },
    { role: 'user', content },
  ],
  ...extra,
});

describe('custom_id encoding', () => {
  it('carries the claim and the job id, within Anthropic’s pattern, and refuses what would not fit', () => {
    const id = encodeCustomId('claude-small-mabc12-0a1b2c3d', 'V1StGXR8Z5jdHi6BmyT9a');
    expect(id).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
    expect(decodeCustomId(id)).toEqual({ claimId: 'claude-small-mabc12-0a1b2c3d', jobId: 'V1StGXR8Z5jdHi6BmyT9a' });
    expect(decodeCustomId('someone-elses')).toBeUndefined();
    expect(() => encodeCustomId('has_underscore', 'job')).toThrow(/claim id/);
    expect(() => encodeCustomId('c', 'x'.repeat(70))).toThrow(/custom_id/);
  });
});

describe('AnthropicBatchProvider', () => {
  it('submits chat requests as Messages parameters and reads results back as chat completions with cache usage', async () => {
    const claimAt = clock;
    const batchId = await provider.submit(
      [
        { jobId: 'jobA', body: chat('Same question, twice, for the prompt cache.') },
        { jobId: 'jobB', body: chat('Same question, twice, for the prompt cache.') },
        { jobId: 'jobC', body: chat('This one fails [[sim:error]]') },
        { jobId: 'jobD', body: chat('This one is refused', { max_tokens: 0 }) },
      ],
      'claim-one',
    );
    const running = await provider.retrieve(batchId);
    expect(running.status).toBe('in_progress');
    expect(isFinal(running)).toBe(false);
    clock += 10_000;
    const ended = await provider.retrieve(batchId);
    expect(ended.status).toBe('ended');
    expect(isFinal(ended)).toBe(true);

    const lines = Object.fromEntries((await provider.results(ended)).map((l) => [l.customId, l]));
    expect(Object.keys(lines).sort()).toEqual(['jobA', 'jobB', 'jobC', 'jobD']);
    const a = lines.jobA!.body as {
      choices: Array<{ message: { content: string }; finish_reason: string }>;
      usage: { prompt_tokens: number; prompt_tokens_details: { cached_tokens: number; cache_write_tokens: number } };
    };
    const b = lines.jobB!.body as typeof a;
    expect(lines.jobA!.statusCode).toBe(200);
    expect(a.choices[0]!.message.content).toMatch(/^\[sim:/);
    expect(a.choices[0]!.finish_reason).toBe('stop');
    // The system prompt is marked for Anthropic's cache: the first request writes it, the repeat reads it.
    expect(a.usage.prompt_tokens_details.cache_write_tokens).toBeGreaterThan(0);
    expect(a.usage.prompt_tokens_details.cached_tokens).toBe(0);
    expect(b.usage.prompt_tokens_details.cached_tokens).toBe(a.usage.prompt_tokens_details.cache_write_tokens);
    expect(b.usage.prompt_tokens).toBe(a.usage.prompt_tokens);
    expect(lines.jobC!.statusCode).toBe(500);
    expect(lines.jobD!.statusCode).toBe(400);
    expect((lines.jobD!.body as { error: { message: string } }).error.message).toContain('max_tokens');

    // Found again by its claim from the ids in its results (it ended), and by nothing else.
    expect(await provider.locate({ id: 'claim-one', at: claimAt, size: 4 }, new Set())).toBe(batchId);
    expect(await provider.locate({ id: 'claim-other', at: claimAt, size: 4 }, new Set())).toBeUndefined();
    expect(await provider.locate({ id: 'claim-one', at: claimAt, size: 3 }, new Set())).toBeUndefined();
    expect(await provider.locate({ id: 'claim-one', at: clock + 3_600_000, size: 4 }, new Set())).toBeUndefined();
  });

  it('adopts a running batch that fits a lost claim unless it is recorded, and reports expired requests', async () => {
    const claimAt = clock;
    const batchId = await provider.submit(
      [1, 2, 3].map((i) => ({ jobId: `run${i}`, body: chat(`Running question ${i}`) })),
      'claim-two',
    );
    expect(await provider.locate({ id: 'claim-two', at: claimAt, size: 3 }, new Set())).toBe(batchId);
    expect(await provider.locate({ id: 'claim-two', at: claimAt, size: 3 }, new Set([batchId]))).toBeUndefined();

    clock += 4_000;
    const expired = await fetch(`${url}/sim/batches/${batchId}/expire`, { method: 'POST' });
    expect(((await expired.json()) as { processing_status: string }).processing_status).toBe('ended');
    const lines = await provider.results(await provider.retrieve(batchId));
    expect(lines.map((l) => [l.customId, l.statusCode ?? l.error?.code])).toEqual([
      ['run1', 200],
      ['run2', 'batch_expired'],
      ['run3', 'batch_expired'],
    ]);
  });
});
