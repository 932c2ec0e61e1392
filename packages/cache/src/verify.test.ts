import { describe, expect, it } from 'vitest';
import { analyzePrompt, verifyMatch } from './verify.ts';

const reasonOf = (a: string, b: string) => {
  const verdict = verifyMatch(a, b);
  return verdict.ok ? 'ok' : verdict.reason;
};

describe('verifyMatch', () => {
  it.each([
    ['What is the capital of France?', 'what is the capital of france'],
    ['How do I reverse a list in Python?', 'how to reverse a python list'],
    ['Who wrote Pride and Prejudice?', 'Who is the author of Pride and Prejudice?'],
    ["What's Tokyo's population?", 'What is the population of Tokyo?'],
    ['Summarize the plot of Hamlet', 'Give me a summary of the plot of Hamlet'],
    ['What is 15% of 200?', 'What is 15 percent of 200?'],
  ])('accepts the rewording %j ~ %j', (a, b) => {
    expect(reasonOf(a, b)).toBe('ok');
    expect(reasonOf(b, a)).toBe('ok');
  });

  it.each([
    ['What is 15% of 200?', 'What is 15% of 300?', 'numbers'],
    ['Give me three tips for sleep', 'Give me five tips for sleep', 'numbers'],
    ['What is 2 to the power of 10?', 'What is 10 to the power of 2?', 'numbers'],
    ['Convert 100 miles to kilometers', 'Convert 100 kilometers to miles', 'units'],
    ['How many calories in 100 grams of rice?', 'How many calories in 100 ounces of rice?', 'units'],
    ["What does 'ubiquitous' mean?", "What does 'ambiguous' mean?", 'quoted'],
    ['What is the capital of France?', 'What is the capital of Germany?', 'entities'],
    ['what is the capital of australia', 'what is the capital of austria', 'entities'],
    ['Is France bigger than Germany?', 'Is Germany bigger than France?', 'entities'],
    ['Which foods are safe for dogs?', 'Which foods are not safe for dogs?', 'negation'],
    ['Why does my code compile?', "Why doesn't my code compile?", 'negation'],
    ['List the benefits of exercise', 'List the benefits of exercise as JSON', 'format'],
    ['Compare Python and Java', 'Compare Python and Java in a table', 'format'],
    ['Explain quantum computing', 'Explain quantum computing briefly', 'format'],
    ['Write a poem about the sea', 'Write a poem about the sea in French', 'language'],
    ['What is the capital of Italy?', '¿Cuál es la capital de Italia?', 'language'],
    ['What is the capital of Russia?', 'Какая столица России?', 'language'],
    ['What are the top news stories today?', 'What are the top news stories yesterday?', 'time'],
    ['What was the capital of Germany?', 'What is the capital of Germany?', 'time'],
    ['Who won the World Cup?', 'Who won the World Cup in 2022?', 'numbers'],
    ['When did Apollo 11 land on the Moon?', 'Where did Apollo 11 land on the Moon?', 'question'],
    ['How do I sort a list in Python?', 'How do I shuffle a list in Python?', 'content'],
    ['Write a poem about cats', 'Write a sad poem about cats', 'content'],
    ['What are the advantages of nuclear power?', 'What are the disadvantages of nuclear power?', 'content'],
  ])('rejects %j ~ %j for %s', (a, b, reason) => {
    expect(reasonOf(a, b)).toBe(reason);
    expect(reasonOf(b, a)).toBe(reason);
  });

  it('extracts the features it compares', () => {
    const f = analyzePrompt("Don't convert 1,000 km to miles for \"Acme\" in Paris today, as JSON");
    expect(f.numbers).toEqual(['1000']);
    expect(f.units).toEqual(['km', 'mile']);
    expect(f.quoted).toEqual(['acme']);
    expect(f.entities).toEqual(['acme', 'paris']);
    expect(f.negations).toBe(1);
    expect([...f.formats]).toEqual(['json']);
    expect([...f.timeWords]).toEqual(['today']);
    expect(f.language).toBe('en');
  });
});
