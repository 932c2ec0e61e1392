import type { ChatMessage } from '@sluice/queues';

/**
 * Generated long conversations for the context tests and measurement: a hard constraint in
 * the first user turn, then many ordinary turns on a topic (user ~30–60 tokens, assistant
 * ~150–300). Deterministic per seed.
 */
export interface GeneratedConversation {
  /** The constraint sentence stated in turn 1, verbatim. */
  constraint: string;
  topic: string;
  /** `turns` user messages, each followed by an assistant message except the last. */
  messages: ChatMessage[];
}

export const CONSTRAINT_SENTENCES = [
  'I am allergic to peanuts.',
  'Please always answer in Spanish.',
  'My budget is $2,000 for the whole project.',
  'My name is Priya and my son is called Leo.',
  'Never suggest anything that contains pork.',
  "I can't eat gluten.",
  'You must keep every answer under 200 words.',
  "I'm vegan, so never recommend dairy or eggs.",
  'My daughter is called Mia and she is six.',
  'Only recommend options that are wheelchair accessible.',
] as const;

const TOPICS = [
  {
    topic: 'a week of meal planning',
    nouns: ['breakfast', 'lunch', 'dinner', 'snacks', 'shopping list', 'batch cooking', 'leftovers', 'spices'],
  },
  {
    topic: 'a trip to Portugal',
    nouns: ['Lisbon', 'Porto', 'the Algarve', 'trains', 'hotels', 'museums', 'beaches', 'day trips'],
  },
  {
    topic: 'renovating a kitchen',
    nouns: ['cabinets', 'countertops', 'lighting', 'flooring', 'plumbing', 'the contractor', 'permits', 'appliances'],
  },
  {
    topic: 'training for a half marathon',
    nouns: ['long runs', 'intervals', 'recovery', 'shoes', 'nutrition', 'stretching', 'race day', 'tapering'],
  },
  {
    topic: 'planning a birthday party',
    nouns: ['the venue', 'invitations', 'the cake', 'games', 'decorations', 'music', 'party bags', 'the guest list'],
  },
];

const USER_TEMPLATES = [
  'What do you think about {n}? I was reading about it and I am not sure which option fits our situation best.',
  'Can you give me a few more ideas for {n}, ideally things we have not discussed yet?',
  'Thanks. Now about {n}: how much time should I plan for it, and what usually goes wrong?',
  'Could you compare two approaches to {n} and tell me which you would pick?',
  'I talked to my partner about {n} and they had doubts. How would you convince them?',
  'Let us go back to {n}. What would be a sensible first step this week?',
];

const ASSISTANT_SENTENCES = [
  'When it comes to {n}, the most important thing is to decide early what matters most to you, because that choice shapes everything else.',
  'A good starting point for {n} is to list the options you already know, then cross out the ones that clearly do not fit your constraints.',
  'Many people underestimate how long {n} takes, so adding a buffer of a few days usually saves a lot of stress later.',
  'If you want to keep things simple, pick one approach for {n} and commit to it for two weeks before changing anything.',
  'You could also ask someone who has done {n} recently; a short conversation often surfaces details that guides leave out.',
  'Cost matters too: for {n}, the cheapest option is rarely the best value, but the most expensive one rarely is either.',
  'Write the plan for {n} down somewhere visible, and check it off as you go; it keeps momentum going when motivation dips.',
  'Finally, for {n}, leave room for one pleasant surprise, since the parts nobody planned are often the ones remembered.',
];

function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4_294_967_296;
  };
}

/** Generate one conversation of `turns` user turns. */
export function generateConversation(seed: number, turns = 60): GeneratedConversation {
  const random = prng(seed * 7919 + 13);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const constraint = CONSTRAINT_SENTENCES[seed % CONSTRAINT_SENTENCES.length]!;
  const { topic, nouns } = TOPICS[seed % TOPICS.length]!;
  const messages: ChatMessage[] = [
    { role: 'user', content: `Hi! I need help with ${topic}. ${constraint} Where should we start?` },
  ];
  for (let t = 1; t < turns; t++) {
    const n = pick(nouns);
    const count = 4 + Math.floor(random() * 4);
    const reply = Array.from({ length: count }, () => pick(ASSISTANT_SENTENCES).replaceAll('{n}', pick(nouns))).join(
      ' ',
    );
    messages.push({ role: 'assistant', content: reply });
    messages.push({ role: 'user', content: pick(USER_TEMPLATES).replaceAll('{n}', n) });
  }
  return { constraint, topic, messages };
}

/**
 * A deliberately lossy summarizer for tests: it keeps the topic words of what it folds in and
 * drops everything else, hard constraints included (the "model amnesia" the constraint
 * buffer exists for). Bounded: the summary never grows past ~120 words.
 */
export function lossySummary(previous: string | undefined, folded: readonly ChatMessage[]): string {
  const words = folded
    .filter((m) => m.role === 'user')
    .map((m) => String(m.content).split(/\s+/).slice(4, 9).join(' '))
    .join('; ');
  return `${previous ? `${previous} ` : ''}Discussed: ${words}.`.split(/\s+/).slice(-120).join(' ');
}
