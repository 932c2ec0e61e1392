import { describe, expect, it } from 'vitest';
import { Tiktoken } from 'js-tiktoken/lite';
import o200k from 'js-tiktoken/ranks/o200k_base';
import cl100k from 'js-tiktoken/ranks/cl100k_base';
import { countChatTokens, countTokens, rememberTokenCount, tokenCountOf } from './tokens.ts';

const encoders = new Map<typeof o200k, Tiktoken>();
const direct = (text: string, ranks: typeof o200k) => {
  if (!encoders.has(ranks)) encoders.set(ranks, new Tiktoken(ranks));
  return encoders.get(ranks)!.encode(text, 'all').length;
};

describe('countTokens', () => {
  it('gives the tokenizer’s count, again and again (remembered counts included), per encoding', () => {
    const text = 'What is the capital of France? Answer in one short sentence.';
    const o = direct(text, o200k);
    const c = direct(text, cl100k);
    for (let i = 0; i < 3; i++) {
      expect(countTokens(text, 'gpt-4o')).toBe(o);
      // Same text, other encoding: its own count, not the remembered one.
      expect(countTokens(text, 'gpt-4')).toBe(c);
    }
    expect(countTokens('', 'gpt-4o')).toBe(0);
  });

  it('answers from a count carried from another process, for its encoding only, and ignores malformed ones', () => {
    const text = 'A carried prompt: how many tokens has it?';
    expect(tokenCountOf(text, 'gpt-4o-mini')).toEqual({ encoding: 'o200k_base', count: direct(text, o200k) });
    // A count another process made is taken as it is (here one no tokenizer gives, to see it used).
    const carried = 'A prompt counted by another process.';
    rememberTokenCount(carried, { encoding: 'o200k_base', count: 9_999 });
    expect(countTokens(carried, 'gpt-4o')).toBe(9_999);
    expect(countTokens(carried, 'gpt-4')).toBe(direct(carried, cl100k));
    // A text counted here already keeps its own count.
    rememberTokenCount(text, { encoding: 'o200k_base', count: 9_999 });
    expect(countTokens(text, 'gpt-4o')).toBe(direct(text, o200k));
    const other = 'Another carried prompt, never counted here.';
    for (const bad of [
      null,
      'x',
      { encoding: 'p50k_base', count: 1 },
      { encoding: 'o200k_base', count: -1 },
      { encoding: 'o200k_base', count: 1.5 },
    ])
      rememberTokenCount(other, bad);
    expect(countTokens(other, 'gpt-4o')).toBe(direct(other, o200k));
  });

  it('counts long texts (not remembered) and keeps counting right past the memo’s size', () => {
    const long = 'token '.repeat(1_000);
    expect(countTokens(long)).toBe(direct(long, o200k));
    for (let i = 0; i < 2_100; i++) countTokens(`filler ${i}`);
    expect(countTokens('filler 0')).toBe(direct('filler 0', o200k));
    expect(countChatTokens([{ role: 'user', content: 'hello there' }])).toBe(
      3 + 3 + direct('hello there', o200k) + direct('user', o200k),
    );
  });
});
