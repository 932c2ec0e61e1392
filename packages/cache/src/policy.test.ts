import { describe, expect, it } from 'vitest';
import { chooseHit, shouldLookup, shouldStore } from './policy.ts';
import { ask, completion, DEFAULT_CACHE_CONFIG as config } from './test-helpers.ts';

const store = (patch: Partial<Parameters<typeof shouldStore>[0]>, overrides = {}) =>
  shouldStore(
    { request: ask('What is the capital of France?'), completion: completion('Paris.'), category: 'factual', ...patch },
    { ...config, ...overrides },
  );

describe('shouldStore', () => {
  it('stores a normal answer', () => {
    expect(store({})).toEqual({ store: true });
  });

  it.each([
    ['no-store', { cacheMode: 'no-store' as const }, 'no-store'],
    ['an error', { error: new Error('upstream 500') }, 'error'],
    ['an error body', { completion: { error: { message: 'x' } } }, 'not-a-completion'],
    ['a missing completion', { completion: undefined }, 'not-a-completion'],
    ['a truncated answer', { completion: completion('Paris is', 'length') }, 'finish-reason'],
    ['a filtered answer', { completion: completion('', 'content_filter') }, 'finish-reason'],
    ['empty content', { completion: completion('   ') }, 'empty'],
    [
      'a refusal field',
      {
        completion: {
          ...completion('x'),
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: null, refusal: 'I cannot help' },
              finish_reason: 'stop',
            },
          ],
        },
      },
      'refusal',
    ],
    ['a text refusal', { completion: completion("I'm sorry, but I can't help with that.") }, 'refusal'],
    ['a time-sensitive category', { category: 'time_sensitive' as const }, 'category-not-cached'],
    ['a hot temperature', { request: ask('Tell me a story', { temperature: 1.5 }) }, 'temperature'],
    [
      "a stored conversation's turn",
      { request: { ...ask('And in French?'), conversation_id: 'conv-1' } },
      'conversation',
    ],
  ])('does not store %s', (_, patch, reason) => {
    expect(store(patch as never)).toEqual({ store: false, reason });
  });

  const toolCall = {
    ...completion(''),
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }],
        },
        finish_reason: 'tool_calls',
      },
    ],
  };

  it('does not store tool calls unless configured', () => {
    expect(store({ completion: toolCall })).toEqual({ store: false, reason: 'tool-calls' });
    expect(store({ completion: toolCall }, { cacheToolCalls: true })).toEqual({ store: true });
  });

  it('does not store when the cache is disabled', () => {
    expect(store({}, { enabled: false })).toEqual({ store: false, reason: 'disabled' });
  });
});

describe('shouldLookup', () => {
  it.each([
    ['no-cache', { cacheMode: 'no-cache' as const }, {}, 'no-cache'],
    ['disabled', {}, { enabled: false }, 'disabled'],
    ['time_sensitive', { category: 'time_sensitive' as const }, {}, 'category-not-cached'],
    ['hot', { request: ask('x', { temperature: 1.2 }) }, {}, 'temperature'],
    ['a stored conversation', { request: { ...ask('And in French?'), conversation_id: 'conv-1' } }, {}, 'conversation'],
  ])('bypasses %s', (_, patch, overrides, reason) => {
    expect(shouldLookup({ request: ask('x'), ...patch }, { ...config, ...overrides })).toEqual({
      lookup: false,
      reason,
    });
  });

  it('looks up under no-store (it only forbids storing)', () => {
    expect(shouldLookup({ request: ask('x'), cacheMode: 'no-store' }, config)).toEqual({ lookup: true });
  });
});

describe('chooseHit', () => {
  const miss = { hit: false, kind: 'miss' };
  const exact = { hit: true, kind: 'exact', similarity: 1 };
  const semantic = (similarity: number) => ({ hit: true, kind: 'semantic', similarity });

  it('answers from an exact hit before any semantic one', () => {
    expect(chooseHit([semantic(0.99), exact])).toBe(1);
  });

  it('takes the most similar semantic hit, the earlier one on a tie', () => {
    expect(chooseHit([semantic(0.93), semantic(0.97)])).toBe(1);
    expect(chooseHit([semantic(0.95), semantic(0.95)])).toBe(0);
    expect(chooseHit([exact, { ...exact }])).toBe(0);
  });

  it('is -1 when nothing hit', () => {
    expect(chooseHit([miss, { hit: false, kind: 'bypass' }])).toBe(-1);
    expect(chooseHit([])).toBe(-1);
  });
});
