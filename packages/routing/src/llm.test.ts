import { describe, expect, it } from 'vitest';
import { llmStrategy, parseRouterReply, StrategyFailedError, type CompleteFunction } from './index.ts';

const ask = (content: string) => ({ request: { model: 'auto', messages: [{ role: 'user' as const, content }] } });

describe('llmStrategy', () => {
  it('asks the router model for a JSON decision and uses it', async () => {
    const seen: string[] = [];
    const complete: CompleteFunction = async (messages) => {
      seen.push(String(messages[1]!.content));
      return '{"tier":"large","category":"reasoning","confidence":0.85,"reason":"multi-step proof"}';
    };
    const d = await llmStrategy({ complete }).decide(ask('Is every bounded monotone sequence convergent?'));
    expect(d).toEqual({
      tier: 'large',
      category: 'reasoning',
      confidence: 0.85,
      reasons: ['router model: large (multi-step proof)'],
      strategy: 'llm',
    });
    expect(seen[0]).toMatch(/Is every bounded monotone sequence convergent\?/);
  });

  it('accepts a fenced reply and fills a missing category from the rules', async () => {
    const d = await llmStrategy({ complete: async () => 'Sure!\n```json\n{"tier": "small"}\n```' }).decide(
      ask("What's the weather in Rome today?"),
    );
    expect(d).toMatchObject({ tier: 'small', category: 'time_sensitive', confidence: 0.75, strategy: 'llm' });
  });

  it('falls back to the rules when the model is too slow, and aborts the call', async () => {
    let aborted = false;
    const failures: StrategyFailedError[] = [];
    const complete: CompleteFunction = (_m, { signal }) =>
      new Promise((resolve) => {
        signal.addEventListener('abort', () => (aborted = true));
        setTimeout(() => resolve('{"tier":"small"}'), 5_000);
      });
    const started = Date.now();
    const d = await llmStrategy({ complete, timeoutMs: 50, onFallback: (e) => failures.push(e) }).decide(
      ask('Prove that 17 is prime.'),
    );
    // Well before the slow answer (5 s), with room for a loaded machine's event-loop stalls.
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(aborted).toBe(true);
    expect(d).toMatchObject({ tier: 'large', strategy: 'llm→rules' });
    expect(d.reasons[0]).toBe('llm strategy failed: no answer within 50 ms → rules fallback');
    expect(failures[0]).toBeInstanceOf(StrategyFailedError);
  });

  it('falls back to the rules on bad JSON, a wrong tier, or a failing call', async () => {
    for (const [reply, why] of [
      ['I think it is small', /no JSON object/],
      ['{"tier": "medium"}', /`tier` must be "small" or "large"/],
      ['{"tier": small}', /not valid JSON/],
    ] as const) {
      const d = await llmStrategy({ complete: async () => reply }).decide(ask('What is the capital of Chile?'));
      expect(d.strategy).toBe('llm→rules');
      expect(d.tier).toBe('small');
      expect(d.reasons[0]).toMatch(why);
    }
    const d = await llmStrategy({ complete: () => Promise.reject(new Error('HTTP 503')) }).decide(ask('hi'));
    expect(d.reasons[0]).toMatch(/the router model failed: HTTP 503/);
  });

  it('parses confidences only in range', () => {
    expect(parseRouterReply('{"tier":"LARGE","confidence":7}')).toEqual({
      tier: 'large',
      category: undefined,
      confidence: undefined,
      reason: undefined,
    });
  });
});
