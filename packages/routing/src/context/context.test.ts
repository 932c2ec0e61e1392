import { describe, expect, it } from 'vitest';
import { countChatTokens } from '@sluice/llm';
import type { ChatMessage } from '@sluice/queues';
import { buildContext, constraintsMessage, coverHash, extractConstraints, mergeConstraints } from '../index.ts';
import { generateConversation } from './conversations.ts';

const user = (content: string): ChatMessage => ({ role: 'user', content });

describe('extractConstraints', () => {
  it('reads allergies, diets, language, budget, names and must/never rules, each with its sentence verbatim', () => {
    const found = extractConstraints([
      user(
        "Hi! I am allergic to peanuts. My budget is $1,500 for the whole trip. Please always answer in Spanish. My name is Priya and my son is called Leo. I can't eat gluten. Never book flights before 9am.",
      ),
      { role: 'assistant', content: 'I am allergic to nothing, and I must say never say never.' },
    ]);
    const byKey = Object.fromEntries(found.map((f) => [f.key, f]));
    expect(byKey['allergy:peanuts']).toMatchObject({
      kind: 'allergy',
      value: 'peanuts',
      text: 'I am allergic to peanuts.',
      message: 0,
    });
    expect(byKey['budget']).toMatchObject({ value: '$1,500', text: 'My budget is $1,500 for the whole trip.' });
    expect(byKey['language']).toMatchObject({ value: 'Spanish' });
    expect(byKey['name:user']).toMatchObject({ value: 'Priya' });
    expect(byKey['name:son']).toMatchObject({ value: 'Leo' });
    expect(byKey['diet:no gluten']).toMatchObject({ kind: 'diet' });
    expect(found.some((f) => f.kind === 'rule' && f.text === 'Never book flights before 9am.')).toBe(true);
    // Nothing from the assistant's message.
    expect(found.every((f) => f.message === 0)).toBe(true);
  });

  it('ignores questions, and a later statement replaces or retracts an earlier one', () => {
    const findings = extractConstraints([
      user("I'm vegetarian. My budget is $500. Should I always book early?"),
      user("Update: my budget is now €2k. I'm no longer vegetarian."),
    ]);
    expect(findings.some((f) => f.text.startsWith('Should I'))).toBe(false);
    const buffer = mergeConstraints({}, findings);
    expect(buffer['budget']).toMatchObject({ value: '€2k', message: 1 });
    expect(buffer['diet:vegetarian']).toBeUndefined();
    expect(constraintsMessage(buffer)?.content).toContain('- [budget] Update: my budget is now €2k.');
  });

  it('keeps facts over rules when the buffer is full', () => {
    const rules = Array.from({ length: 60 }, (_, i) => user(`Never use the word number${i}.`));
    const buffer = mergeConstraints({}, extractConstraints([user('I am allergic to shellfish.'), ...rules]));
    expect(Object.keys(buffer)).toHaveLength(40);
    expect(buffer['allergy:shellfish']).toBeDefined();
    expect(Object.values(buffer).some((c) => c.text === 'Never use the word number59.')).toBe(true);
    expect(Object.values(buffer).some((c) => c.text === 'Never use the word number0.')).toBe(false);
  });
});

describe('buildContext', () => {
  const conversation = generateConversation(3, 40).messages;
  const system: ChatMessage = { role: 'system', content: 'You are a helpful planner.' };
  const history = [system, ...conversation];

  it('sends a history under budget unchanged', () => {
    const short = history.slice(0, 5);
    const built = buildContext({ messages: short, maxInputTokens: 10_000 });
    expect(built).toMatchObject({ mode: 'full', dropped: 0 });
    expect(built.messages).toEqual(short);
    expect(built.summaryRequest).toBeUndefined();
  });

  it('without a summary, falls back to a plain window within budget, keeps system + constraints, and asks for a summary', () => {
    const built = buildContext({ messages: history, maxInputTokens: 2_000 });
    expect(built.mode).toBe('window');
    expect(built.tokens).toBeLessThanOrEqual(2_000);
    expect(built.tokens).toBe(countChatTokens(built.messages));
    expect(built.messages[0]).toEqual(system);
    expect(String(built.messages[1]!.content)).toContain('My name is Priya and my son is called Leo.');
    expect(built.messages[2]!.role).toBe('user'); // the window starts at a user turn
    expect(built.messages.at(-1)).toEqual(history.at(-1));
    expect(built.dropped).toBeGreaterThan(0);
    expect(built.summaryRequest).toEqual({ from: 0, to: expect.any(Number) });
  });

  it('uses a summary that matches the history, and never one of a different history', () => {
    const to = 31;
    const summary = {
      text: 'They planned the party venue and the guest list.',
      coversUpTo: to,
      lastCoveredHash: coverHash(history, 0, to),
      updatedAt: 0,
    };
    const built = buildContext({ messages: history, maxInputTokens: 2_000, summary });
    expect(built.mode).toMatch(/^summary/);
    expect(built.messages.some((m) => String(m.content).includes('They planned the party venue'))).toBe(true);
    // The window starts after what the summary covers.
    const firstVerbatim = built.messages.findIndex((m) => m.role === 'user' || m.role === 'assistant');
    expect(built.messages.length - firstVerbatim).toBeLessThanOrEqual(history.length - to);

    const edited = [...history];
    edited[5] = user('Something else entirely.');
    const stale = buildContext({ messages: edited, maxInputTokens: 2_000, summary });
    expect(stale.mode).toBe('window');
  });

  it('keeps the last messages even when they alone exceed the budget', () => {
    const built = buildContext({ messages: history, maxInputTokens: 50, keepLastMessages: 3 });
    expect(built.messages.slice(-3)).toEqual(history.slice(-3));
  });

  it('validates its options', () => {
    expect(() => buildContext({ messages: history, maxInputTokens: 0 })).toThrow(/maxInputTokens/);
  });
});
