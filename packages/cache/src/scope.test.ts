import { describe, expect, it } from 'vitest';
import type { ChatRequest } from '@sluice/queues';
import { computeScope, computeScopes, parseExactKey, type ScopeInput } from './scope.ts';
import { normalizeForExactMatch } from './text.ts';

const base: ScopeInput = {
  tenant: 'acme',
  tier: 'small',
  model: 'gpt-4o-mini',
  request: {
    model: 'auto',
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'What is the capital of France?' },
    ],
  },
};
const withRequest = (patch: Partial<ChatRequest>): ScopeInput => ({ ...base, request: { ...base.request, ...patch } });

describe('computeScope', () => {
  const reference = computeScope(base);

  it('is deterministic and well-formed', () => {
    const again = computeScope(structuredClone(base));
    expect(again).toEqual(reference);
    expect(reference.namespace).toMatch(/^[0-9a-f]{32}$/);
    expect(reference.exactKey).toBe(`${reference.namespace}.${reference.entryId}`);
    expect(parseExactKey(reference.exactKey)).toEqual({ namespace: reference.namespace, entryId: reference.entryId });
    expect(reference.prompt).toBe('What is the capital of France?');
    expect(reference.scope).toBe('t.acme');
    expect(reference.semanticEligible).toBe(true);
  });

  it.each<[string, ScopeInput]>([
    ['tenant', { ...base, tenant: 'globex' }],
    ['tier', { ...base, tier: 'large' }],
    ['model', { ...base, model: 'gpt-4o' }],
    [
      'system prompt',
      withRequest({
        messages: [
          { role: 'system', content: 'Be verbose.' },
          { role: 'user', content: 'What is the capital of France?' },
        ],
      }),
    ],
    [
      'developer prompt',
      withRequest({
        messages: [
          { role: 'developer', content: 'Be brief.' },
          { role: 'user', content: 'What is the capital of France?' },
        ],
      }),
    ],
    ['temperature', withRequest({ temperature: 0.2 })],
    ['top_p', withRequest({ top_p: 0.5 })],
    ['max_tokens', withRequest({ max_tokens: 10 })],
    ['max_completion_tokens', withRequest({ max_completion_tokens: 10 })],
    ['seed', withRequest({ seed: 7 })],
    ['stop', withRequest({ stop: ['\n'] })],
    ['tools', withRequest({ tools: [{ type: 'function', function: { name: 'lookup' } }] })],
    ['tool_choice', withRequest({ tool_choice: 'none' })],
    ['response_format', withRequest({ response_format: { type: 'json_object' } })],
    ['an unknown field', withRequest({ frequency_penalty: 0.5 } as Partial<ChatRequest>)],
    ['server-side conversation', withRequest({ conversation_id: 'c-1' })],
    [
      'conversation context',
      withRequest({
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Let us talk about Texas.' },
          { role: 'assistant', content: 'Sure.' },
          { role: 'user', content: 'What is the capital of France?' },
        ],
      }),
    ],
    [
      'the last user message name',
      withRequest({
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'What is the capital of France?', name: 'bob' },
        ],
      }),
    ],
  ])('puts a different %s in a different namespace', (_, input) => {
    const other = computeScope(input);
    expect(other.namespace).not.toBe(reference.namespace);
    expect(other.exactKey).not.toBe(reference.exactKey);
  });

  it.each<[string, Partial<ChatRequest>]>([
    ['stream', { stream: true }],
    ['stream_options', { stream_options: { include_usage: true } }],
    ['user', { user: 'u-1' }],
    ['model', { model: 'small' }],
    ['a null parameter', { temperature: null }],
  ])('ignores the output-neutral %s', (_, patch) => {
    expect(computeScope(withRequest(patch)).exactKey).toBe(reference.exactKey);
  });

  it('reads text parts like a string', () => {
    const parts = withRequest({
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'Be brief.' }] },
        { role: 'user', content: [{ type: 'text', text: 'What is the capital of France?' }] },
      ],
    });
    expect(computeScope(parts).exactKey).toBe(reference.exactKey);
  });

  it('keeps image prompts exact-only and apart from the text prompt', () => {
    const image = withRequest({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is the capital of France?' },
            { type: 'image_url', image_url: { url: 'https://x/y.png' } } as never,
          ],
        },
      ],
    });
    const scope = computeScope(image);
    expect(scope.semanticEligible).toBe(false);
    expect(scope.prompt).toBe('');
  });

  it('shares a namespace between tenants of one sharing group only', () => {
    const a = computeScope({ ...base, tenant: 'a', shareGroup: 'public' });
    const b = computeScope({ ...base, tenant: 'b', shareGroup: 'public' });
    const c = computeScope({ ...base, tenant: 'c' });
    expect(a.namespace).toBe(b.namespace);
    expect(a.scope).toBe('g.public');
    expect(c.namespace).not.toBe(a.namespace);
  });

  it('changes the exact key, not the namespace, with the last user message', () => {
    const other = computeScope(
      withRequest({
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'What is the capital of Spain?' },
        ],
      }),
    );
    expect(other.namespace).toBe(reference.namespace);
    expect(other.entryId).not.toBe(reference.entryId);
  });

  it('rejects malformed exact keys', () => {
    expect(() => parseExactKey('nope')).toThrow(/exact key/);
  });
});

describe('computeScopes', () => {
  it('gives each tier of one request the scope computeScope gives it', () => {
    const large = { ...base, tier: 'large' as const, model: 'gpt-4o' };
    const [small, big] = computeScopes([base, large]);
    expect(small).toEqual(computeScope(base));
    expect(big).toEqual(computeScope(large));
    expect(big!.namespace).not.toBe(small!.namespace);
  });

  it('scopes inputs that are not one request one by one', () => {
    const other = withRequest({ messages: [{ role: 'user', content: 'What is the capital of Spain?' }] });
    const otherTenant = { ...base, tenant: 'globex' };
    expect(computeScopes([base, other, otherTenant])).toEqual([base, other, otherTenant].map((i) => computeScope(i)));
    expect(computeScopes([])).toEqual([]);
  });
});

describe('normalizeForExactMatch', () => {
  it('collapses whitespace and a sentence-initial capital only', () => {
    expect(normalizeForExactMatch('  What is\n the   capital of France? ')).toBe('what is the capital of France?');
    expect(normalizeForExactMatch('what is the capital of France?')).toBe('what is the capital of France?');
  });

  it('keeps case that can change meaning, and every number and punctuation mark', () => {
    expect(normalizeForExactMatch('US exports')).not.toBe(normalizeForExactMatch('us exports'));
    expect(normalizeForExactMatch('Is 1.5 > 1,5?')).toBe('is 1.5 > 1,5?');
  });
});
