/**
 * The prompt catalog the workload generator draws from: intent templates (one intent per slot
 * value, several wordings of the same ask), conversation templates, and tenants.
 *
 * Labels are what a correct router would do: `simple` prompts can be answered by the small
 * tier, `complex` ones need the large tier. Sibling slot values are chosen to be confusable
 * (Austria / Australia, miles → km / km → miles, "reverse a list" / "reverse a string"), so a
 * cache that matches on surface similarity alone serves wrong answers, and the run counts them.
 */
import type { Category } from '@sluice/config';

/** How hard a prompt is; `complex` means only the large tier answers it well. */
export type Complexity = 'simple' | 'complex';

/** Slot values of one intent: `{name}` placeholders in wordings are replaced by them. */
export type Slots = Readonly<Record<string, string>>;

/** A family of intents: every slot entry is one intent, every wording one way to ask it. */
export interface IntentTemplate {
  id: string;
  category: Category;
  complexity: Complexity;
  /** Ways to ask the same thing, most common first. */
  wordings: readonly string[];
  /** One entry per intent. */
  slots: readonly Slots[];
}

/** One user turn of a conversation template. */
export interface ConversationTurn {
  /** Ways to ask it, most common first. */
  wordings: readonly string[];
  category: Category;
  complexity: Complexity;
  /** Words in the assistant reply the client keeps in its history after this turn. @defaultValue 60 */
  replyWords?: number;
}

/** A multi-turn conversation: turns are sent one after another, each with the whole history. */
export interface ConversationTemplate {
  id: string;
  /** Relative frequency among conversation templates. @defaultValue 1 */
  weight?: number;
  slots: readonly Slots[];
  turns: readonly ConversationTurn[];
}

/** A tenant of the workload: its share of traffic and the system prompt its app sends. */
export interface TenantProfile {
  name: string;
  share: number;
  /** Empty: the app sends no system prompt. */
  systemPrompt: string;
}

/** Tenants: different apps, each with its own system prompt (so cache entries never cross them). */
export const TENANTS: readonly TenantProfile[] = [
  {
    name: 'acme',
    share: 0.4,
    systemPrompt: 'You are Acme Assist, a concise helpful assistant for Acme customers. Answer clearly.',
  },
  {
    name: 'globex',
    share: 0.3,
    systemPrompt: 'You are the Globex engineering copilot. Prefer precise, technically correct answers.',
  },
  { name: 'initech', share: 0.2, systemPrompt: 'You are a friendly general-purpose assistant for Initech employees.' },
  { name: 'umbrella', share: 0.1, systemPrompt: '' },
];

const CITIES = ['Paris', 'Tokyo', 'Lisbon', 'Chicago', 'Nairobi', 'Toronto', 'Berlin', 'Sydney', 'Mumbai', 'Seoul'];
const COMPANIES = ['Apple', 'Microsoft', 'Nvidia', 'Tesla', 'Amazon', 'Toyota'];
const LANGS = ['Python', 'JavaScript', 'Go', 'Rust', 'Java'];

const each = (name: string, values: readonly string[]): Slots[] => values.map((v) => ({ [name]: v }));
const cross = (a: string, as: readonly string[], b: string, bs: readonly string[]): Slots[] =>
  as.flatMap((x) => bs.map((y) => ({ [a]: x, [b]: y })));

/** Single-turn intent templates, every category at both complexities. */
export const INTENT_TEMPLATES: readonly IntentTemplate[] = [
  // ── time-sensitive: never to be served from cache ──────────────────────────────────────
  {
    id: 'ts.weather',
    category: 'time_sensitive',
    complexity: 'simple',
    wordings: [
      "What's the weather like in {city} today?",
      'What is the weather in {city} right now?',
      "Today's weather forecast for {city}?",
      "how's the weather in {city} today",
    ],
    slots: each('city', CITIES),
  },
  {
    id: 'ts.stock',
    category: 'time_sensitive',
    complexity: 'simple',
    wordings: [
      "What is {company}'s stock price right now?",
      'Current share price of {company}?',
      'How much is {company} stock trading at today?',
    ],
    slots: each('company', COMPANIES),
  },
  {
    id: 'ts.fx',
    category: 'time_sensitive',
    complexity: 'simple',
    wordings: [
      "What's the current exchange rate from {from} to {to}?",
      'How many {to} is one {from} worth today?',
      '{from} to {to} exchange rate right now?',
    ],
    slots: [
      { from: 'euros', to: 'US dollars' },
      { from: 'US dollars', to: 'euros' },
      { from: 'British pounds', to: 'yen' },
      { from: 'yen', to: 'British pounds' },
      { from: 'Swiss francs', to: 'euros' },
    ],
  },
  {
    id: 'ts.news',
    category: 'time_sensitive',
    complexity: 'simple',
    wordings: [
      'What are the latest headlines about {topic} today?',
      'Any news today on {topic}?',
      'Give me the latest news about {topic}.',
    ],
    slots: each('topic', ['electric cars', 'the World Cup', 'interest rates', 'AI regulation', 'space launches']),
  },
  {
    id: 'ts.analysis',
    category: 'time_sensitive',
    complexity: 'complex',
    wordings: [
      "Summarize this week's news about {topic}, compare it with what analysts predicted last month, assess what it means for {audience} over the next quarter, and recommend three concrete actions with their risks.",
      "Look at the latest developments on {topic} as of today: compare them with last month's forecasts, evaluate the impact on {audience} for the coming quarter, and propose three actions, weighing the risks of each.",
    ],
    slots: [
      { topic: 'interest rates', audience: 'first-time home buyers' },
      { topic: 'semiconductor export controls', audience: 'a mid-size hardware startup' },
      { topic: 'oil prices', audience: 'a regional airline' },
      { topic: 'AI regulation in the EU', audience: 'a SaaS company selling to banks' },
    ],
  },
  {
    id: 'ts.hedge',
    category: 'time_sensitive',
    complexity: 'complex',
    wordings: [
      "Given today's {pair} exchange rate and current interest rates, evaluate whether a small importer should hedge a {amount} payment due in 90 days. Explain the trade-offs between a forward contract, options and doing nothing, estimate the cost of each, and recommend a strategy.",
    ],
    slots: [
      { pair: 'EUR/USD', amount: '$250,000' },
      { pair: 'GBP/JPY', amount: '£80,000' },
      { pair: 'USD/CHF', amount: '$1.2 million' },
    ],
  },

  // ── factual ─────────────────────────────────────────────────────────────────────────────
  {
    id: 'fact.capital',
    category: 'factual',
    complexity: 'simple',
    wordings: [
      'What is the capital of {country}?',
      "What's the capital city of {country}?",
      'Which city is the capital of {country}?',
      'capital of {country}?',
      'Tell me the capital of {country}.',
    ],
    slots: each('country', [
      'Australia',
      'Austria',
      'Sweden',
      'Switzerland',
      'Iceland',
      'Ireland',
      'Niger',
      'Nigeria',
      'Slovakia',
      'Slovenia',
      'Canada',
      'Japan',
    ]),
  },
  {
    id: 'fact.author',
    category: 'factual',
    complexity: 'simple',
    wordings: ['Who wrote "{book}"?', 'Who is the author of "{book}"?', '"{book}" was written by whom?'],
    slots: each('book', [
      'Pride and Prejudice',
      'One Hundred Years of Solitude',
      'Things Fall Apart',
      'The Trial',
      'Beloved',
      'Moby-Dick',
      'Dune',
      'Hamlet',
    ]),
  },
  {
    id: 'fact.symbol',
    category: 'factual',
    complexity: 'simple',
    wordings: [
      'What is the chemical symbol for {element}?',
      "What's the symbol of {element} on the periodic table?",
      'Chemical symbol of {element}?',
    ],
    slots: each('element', ['gold', 'silver', 'iron', 'lead', 'tin', 'sodium', 'potassium', 'tungsten']),
  },
  {
    id: 'fact.boiling',
    category: 'factual',
    complexity: 'simple',
    wordings: [
      'What is the boiling point of {substance} in {unit}?',
      'At what temperature in {unit} does {substance} boil?',
      'Boiling point of {substance}, in {unit}?',
    ],
    slots: cross('substance', ['water', 'ethanol', 'nitrogen'], 'unit', ['Celsius', 'Fahrenheit']),
  },
  {
    id: 'fact.convert',
    category: 'factual',
    complexity: 'simple',
    wordings: ['How many {small} are in a {big}?', 'How many {small} make one {big}?', 'Convert one {big} to {small}.'],
    slots: [
      { small: 'feet', big: 'mile' },
      { small: 'meters', big: 'kilometer' },
      { small: 'ounces', big: 'pound' },
      { small: 'grams', big: 'kilogram' },
      { small: 'inches', big: 'foot' },
      { small: 'cups', big: 'gallon' },
    ],
  },
  {
    id: 'fact.painter',
    category: 'factual',
    complexity: 'simple',
    wordings: ['Who painted {painting}?', 'Which artist painted {painting}?', '{painting}: who is the painter?'],
    slots: each('painting', [
      'the Mona Lisa',
      'The Starry Night',
      'Guernica',
      'The Night Watch',
      'The Persistence of Memory',
    ]),
  },
  {
    id: 'fact.explain',
    category: 'factual',
    complexity: 'complex',
    wordings: [
      'Explain the main causes of {event}, describe how {aspect} shaped its course, and evaluate which causes historians now consider most decisive and why they disagree.',
      'What caused {event}? Explain the economic, political and social factors, describe how {aspect} shaped events, and assess why historians still disagree about the most decisive cause.',
    ],
    slots: [
      { event: 'the French Revolution', aspect: 'the fiscal crisis of the monarchy' },
      { event: 'the fall of the Western Roman Empire', aspect: 'migration and military reforms' },
      { event: 'the 2008 financial crisis', aspect: 'securitization of mortgages' },
      { event: 'the First World War', aspect: 'the alliance system' },
      { event: 'the collapse of the Soviet Union', aspect: 'the economic stagnation of the 1980s' },
    ],
  },
  {
    id: 'fact.mechanism',
    category: 'factual',
    complexity: 'complex',
    wordings: [
      'Describe how {process} works at the molecular level, compare it with {other}, and explain why the difference matters for {field}. Include the key steps and the evidence for each.',
    ],
    slots: [
      { process: 'CRISPR-Cas9 gene editing', other: 'zinc-finger nucleases', field: 'clinical gene therapy' },
      { process: 'mRNA vaccination', other: 'inactivated-virus vaccines', field: 'pandemic response' },
      { process: 'photosynthesis in C4 plants', other: 'C3 photosynthesis', field: 'crop yields in hot climates' },
      { process: 'lithium-ion battery charging', other: 'solid-state batteries', field: 'electric vehicle range' },
    ],
  },

  // ── general ─────────────────────────────────────────────────────────────────────────────
  {
    id: 'gen.tips',
    category: 'general',
    complexity: 'simple',
    wordings: [
      'Give me three tips for {activity}.',
      'What are a few quick tips for {activity}?',
      'Any advice for {activity}?',
      '3 tips for {activity} please',
    ],
    slots: each('activity', [
      'sleeping better',
      'running a first 5k',
      'learning Spanish',
      'keeping houseplants alive',
      'a job interview',
      'saving money on groceries',
      'public speaking',
    ]),
  },
  {
    id: 'gen.egg',
    category: 'general',
    complexity: 'simple',
    wordings: [
      'How long should I boil an egg for a {style} yolk?',
      'How many minutes to boil an egg if I want a {style} yolk?',
      'Boiling time for an egg with a {style} yolk?',
    ],
    slots: each('style', ['runny', 'jammy', 'fully firm']),
  },
  {
    id: 'gen.pack',
    category: 'general',
    complexity: 'simple',
    wordings: [
      'What should I pack for a weekend trip to {place}?',
      'Packing list for a weekend in {place}?',
      'What do I need to bring for two days in {place}?',
    ],
    slots: each('place', ['the mountains in winter', 'the beach', 'a city in autumn', 'a camping site']),
  },
  {
    id: 'gen.email',
    category: 'general',
    complexity: 'simple',
    wordings: [
      'Write a short polite email to {who} saying {what}.',
      'Draft a brief email to {who}: {what}.',
      'Can you write a quick email to {who} telling them {what}?',
    ],
    slots: [
      { who: 'my landlord', what: 'the heating is broken' },
      { who: 'my manager', what: 'I will be late tomorrow' },
      { who: 'a client', what: 'the invoice is attached' },
      { who: 'my team', what: 'the meeting moved to Friday' },
    ],
  },
  {
    id: 'gen.decide',
    category: 'general',
    complexity: 'complex',
    wordings: [
      "I'm deciding between {a} and {b} for {situation}. Compare the costs, risks and long-term implications of each, weigh them against my constraints ({constraints}), and recommend a plan with a timeline for the next twelve months.",
      'Help me choose between {a} and {b} for {situation}: evaluate costs, risks and long-term consequences, weigh them against my constraints ({constraints}), then recommend one and outline a twelve-month plan.',
    ],
    slots: [
      {
        a: 'renting',
        b: 'buying a flat',
        situation: 'my family of four',
        constraints: 'two incomes, possible relocation in three years',
      },
      {
        a: 'a master’s degree',
        b: 'a coding bootcamp',
        situation: 'a career change into data science',
        constraints: 'a mortgage and a toddler',
      },
      {
        a: 'leasing an electric car',
        b: 'keeping my 12-year-old diesel',
        situation: 'a 60 km daily commute',
        constraints: 'no home charger yet',
      },
    ],
  },
  {
    id: 'gen.plan',
    category: 'general',
    complexity: 'complex',
    wordings: [
      'Plan a {weeks}-week training program for {goal}. Explain the progression week by week, identify the main injury risks, and propose adjustments for {constraint}.',
    ],
    slots: [
      { weeks: '12', goal: 'a first marathon', constraint: 'someone who can only train four days a week' },
      { weeks: '8', goal: 'doing ten pull-ups', constraint: 'a shoulder that was injured last year' },
      { weeks: '16', goal: 'a sub-50-minute 10k', constraint: 'frequent business travel' },
    ],
  },

  // ── creative ────────────────────────────────────────────────────────────────────────────
  {
    id: 'cre.haiku',
    category: 'creative',
    complexity: 'simple',
    wordings: ['Write a haiku about {topic}.', 'Can you write me a haiku about {topic}?', 'haiku about {topic}'],
    slots: each('topic', [
      'autumn leaves',
      'the ocean',
      'a sleepy cat',
      'city rain',
      'first snow',
      'morning coffee',
      'a full moon',
    ]),
  },
  {
    id: 'cre.slogan',
    category: 'creative',
    complexity: 'simple',
    wordings: [
      'Give me a catchy slogan for a {business}.',
      'Suggest a slogan for a {business}.',
      'Catchy tagline for a {business}?',
    ],
    slots: each('business', ['bakery', 'bike repair shop', 'dog grooming salon', 'coffee roaster', 'yoga studio']),
  },
  {
    id: 'cre.title',
    category: 'creative',
    complexity: 'simple',
    wordings: [
      'Suggest a title for a blog post about {topic}.',
      'What would be a good blog post title about {topic}?',
      'Blog title ideas for a post on {topic}?',
    ],
    slots: each('topic', ['remote work', 'sourdough baking', 'budget travel in Asia', 'learning to code at 40']),
  },
  {
    id: 'cre.story',
    category: 'creative',
    complexity: 'complex',
    wordings: [
      'Write a 700-word short story set in {setting}, told by an unreliable narrator, with three characters whose goals conflict, a twist in the final paragraph, and a recurring motif of {motif}. Then explain the structure you chose and how the motif develops.',
    ],
    slots: [
      { setting: 'a lighthouse during a storm', motif: 'broken clocks' },
      { setting: 'a generation ship halfway to its destination', motif: 'seeds' },
      { setting: 'a 1920s Lisbon tram depot', motif: 'letters never sent' },
      { setting: 'a village that is about to be flooded by a dam', motif: 'bells' },
    ],
  },
  {
    id: 'cre.campaign',
    category: 'creative',
    complexity: 'complex',
    wordings: [
      'Design a full marketing campaign for {product}: propose three creative concepts with a tagline each, describe the audience and channels for each, write the script for a 30-second video ad for the strongest one, and explain how you would measure success.',
    ],
    slots: each('product', [
      'a refillable shampoo brand',
      'a language-learning app for retirees',
      'a neighbourhood tool-lending library',
    ]),
  },

  // ── code ────────────────────────────────────────────────────────────────────────────────
  {
    id: 'code.howto',
    category: 'code',
    complexity: 'simple',
    wordings: [
      'How do I {op} in {lang}?',
      "What's the {lang} way to {op}?",
      '{lang}: how to {op}?',
      'Show me how to {op} in {lang}.',
    ],
    slots: cross(
      'op',
      [
        'reverse a list',
        'reverse a string',
        'sort a list',
        'remove duplicates from a list',
        'read a file line by line',
      ],
      'lang',
      LANGS,
    ),
  },
  {
    id: 'code.git',
    category: 'code',
    complexity: 'simple',
    wordings: ['What does `git {cmd}` do?', 'Explain `git {cmd}` in one sentence.', 'git {cmd} — what is it for?'],
    slots: each('cmd', ['rebase', 'cherry-pick', 'stash', 'reset --hard', 'reset --soft', 'bisect']),
  },
  {
    id: 'code.debug',
    category: 'code',
    complexity: 'complex',
    wordings: [
      'This {lang} function fails with the error below when {condition}. Explain why it fails, propose a fix, and write unit tests that cover the edge cases.\n\n```\n{code}\n```\n\n{trace}',
      'Why does this {lang} code crash when {condition}? Diagnose the root cause, implement a corrected version, and add tests for the edge cases.\n\n```\n{code}\n```\n\n{trace}',
    ],
    slots: [
      {
        lang: 'Python',
        condition: 'the input list is empty',
        code: 'def average(values):\n    total = 0\n    for v in values:\n        total += v\n    return total / len(values)',
        trace:
          'Traceback (most recent call last):\n  File "stats.py", line 5, in average\n    return total / len(values)\nZeroDivisionError: division by zero',
      },
      {
        lang: 'JavaScript',
        condition: 'the user has no profile yet',
        code: 'function displayName(user) {\n  return user.profile.firstName + " " + user.profile.lastName;\n}',
        trace: "TypeError: Cannot read properties of undefined (reading 'firstName')\n    at displayName (app.js:2:23)",
      },
      {
        lang: 'Java',
        condition: 'two threads add items at the same time',
        code: 'for (String key : cache.keySet()) {\n    if (isExpired(key)) {\n        cache.remove(key);\n    }\n}',
        trace:
          'Exception in thread "worker-2" java.util.ConcurrentModificationException\n    at java.base/java.util.HashMap$HashIterator.nextNode(HashMap.java:1597)',
      },
      {
        lang: 'Go',
        condition: 'the map is written from several goroutines',
        code: 'func (c *Counter) Inc(key string) {\n    c.counts[key]++\n}',
        trace: 'fatal error: concurrent map writes\n\ngoroutine 18 [running]:\nmain.(*Counter).Inc(...)',
      },
    ],
  },
  {
    id: 'code.design',
    category: 'code',
    complexity: 'complex',
    wordings: [
      'Design a REST API for {domain} with authentication, pagination and rate limiting. Describe the endpoints and the data model, explain how you would version it, and outline how you would test and deploy it.',
      'I need an API for {domain}. Propose the endpoints and database schema, explain the authentication, pagination and rate-limiting design, and describe the test and deployment plan.',
    ],
    slots: each('domain', [
      'a library book-lending service',
      'a multi-tenant invoicing product',
      'a ride-sharing driver app',
      'an IoT sensor fleet',
    ]),
  },

  // ── reasoning ───────────────────────────────────────────────────────────────────────────
  {
    id: 'rea.percent',
    category: 'reasoning',
    complexity: 'simple',
    wordings: ['What is {p}% of {n}?', 'Calculate {p} percent of {n}.', '{p}% of {n} = ?'],
    slots: [
      { p: '15', n: '240' },
      { p: '15', n: '420' },
      { p: '12', n: '250' },
      { p: '20', n: '75' },
      { p: '7', n: '300' },
      { p: '25', n: '88' },
    ],
  },
  {
    id: 'rea.prime',
    category: 'reasoning',
    complexity: 'simple',
    wordings: ['Is {n} a prime number?', 'Is {n} prime?', 'Tell me whether {n} is prime.'],
    slots: each('n', ['91', '97', '119', '127', '221']),
  },
  {
    id: 'rea.trains',
    category: 'reasoning',
    complexity: 'complex',
    wordings: [
      'A train leaves {a} at {t1} travelling at {v1} km/h; another leaves {b}, {d} km away, at {t2} travelling towards it at {v2} km/h. When and where do they meet? Show each step, then verify the answer a second way and explain what changes if the second train leaves 30 minutes later.',
    ],
    slots: [
      { a: 'Lyon', b: 'Paris', d: '465', t1: '8:00', t2: '8:30', v1: '120', v2: '150' },
      { a: 'Osaka', b: 'Tokyo', d: '515', t1: '9:15', t2: '9:00', v1: '210', v2: '180' },
      { a: 'Porto', b: 'Lisbon', d: '313', t1: '7:40', t2: '8:10', v1: '95', v2: '110' },
    ],
  },
  {
    id: 'rea.proof',
    category: 'reasoning',
    complexity: 'complex',
    wordings: [
      'Prove that {claim}. Then generalize the result, explain why each step of the proof is valid, and give a counterexample showing which hypothesis cannot be dropped.',
      'Give a rigorous proof that {claim}, generalize it, justify every step, and show with a counterexample which assumption is necessary.',
    ],
    slots: each('claim', [
      'the sum of the first n odd numbers is n squared',
      'there are infinitely many primes of the form 4k + 3',
      'every tree with n vertices has exactly n − 1 edges',
      'the square root of 2 is irrational',
    ]),
  },
  {
    id: 'rea.puzzle',
    category: 'reasoning',
    complexity: 'complex',
    wordings: [
      'Five friends — {names} — sit in a row. {clues} Determine the full seating order, explain your reasoning step by step, and check whether any other arrangement satisfies all the clues.',
    ],
    slots: [
      {
        names: 'Ana, Ben, Caro, Dev and Eli',
        clues:
          'Ana is not at either end. Ben sits immediately left of Eli. Caro is somewhere right of Dev, and Dev is not next to Ana.',
      },
      {
        names: 'Kai, Lea, Mo, Nia and Oz',
        clues:
          'Mo is in the middle. Kai and Lea are not neighbours. Oz sits at an end, and Nia is directly right of Kai.',
      },
    ],
  },
];

const TRIP_CITIES = ['Lisbon', 'Kyoto', 'Mexico City', 'Edinburgh', 'Cape Town'];

/** Multi-turn conversations. Follow-ups like "make it shorter" recur across them on purpose. */
export const CONVERSATION_TEMPLATES: readonly ConversationTemplate[] = [
  {
    id: 'conv.trip',
    slots: each('city', TRIP_CITIES),
    turns: [
      {
        wordings: [
          "I'm planning a weekend in {city}. Which neighbourhoods should I stay in?",
          'Going to {city} for a weekend — where should I stay?',
        ],
        category: 'general',
        complexity: 'simple',
      },
      {
        wordings: ['Which of those is best without a car?', 'And which one works best if I have no car?'],
        category: 'general',
        complexity: 'simple',
      },
      {
        wordings: [
          'Can you make a two-day itinerary from there?',
          'Plan two days for me starting from that neighbourhood.',
        ],
        category: 'general',
        complexity: 'simple',
        replyWords: 120,
      },
      {
        wordings: ['Make it shorter, just the highlights.', 'Shorter please, only the highlights.'],
        category: 'general',
        complexity: 'simple',
      },
    ],
  },
  {
    id: 'conv.recipe',
    slots: each('dish', ['lasagna', 'a Thai green curry', 'paella', 'shakshuka']),
    turns: [
      {
        wordings: [
          'I want to cook {dish} for six people. What do I need?',
          'Shopping list for {dish} for six, please.',
        ],
        category: 'general',
        complexity: 'simple',
        replyWords: 90,
      },
      {
        wordings: ['What can I substitute if someone is vegetarian?', 'Any vegetarian substitutions?'],
        category: 'general',
        complexity: 'simple',
      },
      {
        wordings: ['How far ahead can I prepare it?', 'Can I make it the day before?'],
        category: 'general',
        complexity: 'simple',
      },
      {
        wordings: ['Make it shorter, just the highlights.', 'Shorter please, only the highlights.'],
        category: 'general',
        complexity: 'simple',
      },
    ],
  },
  {
    id: 'conv.debug',
    slots: each('lang', ['Python', 'Node.js', 'Go']),
    turns: [
      {
        wordings: [
          'My {lang} web service returns stale data under load when two requests update the same record. What could cause that?',
        ],
        category: 'code',
        complexity: 'complex',
        replyWords: 120,
      },
      {
        wordings: [
          'Here is the handler:\n\n```\nrecord = db.get(id)\nrecord.count = record.count + 1\ndb.save(record)\n```\n\nWhy does this lose updates only under concurrency, and how do I fix it without a global lock? Explain the trade-offs of at least two approaches.',
        ],
        category: 'code',
        complexity: 'complex',
        replyWords: 150,
      },
      {
        wordings: ['Can you show the fixed version with a test that reproduces the race?'],
        category: 'code',
        complexity: 'complex',
        replyWords: 150,
      },
      { wordings: ['Make it shorter, just the highlights.'], category: 'code', complexity: 'simple' },
    ],
  },
  {
    id: 'conv.study',
    slots: each('topic', ['photosynthesis', 'supply and demand', 'recursion', 'plate tectonics']),
    turns: [
      {
        wordings: ['Can you explain {topic} simply?', 'Explain {topic} like I am twelve.'],
        category: 'factual',
        complexity: 'simple',
        replyWords: 90,
      },
      {
        wordings: ['Give me an everyday example.', 'Can you give an example from daily life?'],
        category: 'factual',
        complexity: 'simple',
      },
      {
        wordings: ['Now quiz me with three short questions.', 'Quiz me: three quick questions.'],
        category: 'factual',
        complexity: 'simple',
      },
    ],
  },
  {
    // Long enough that its later turns exceed a 4k-token context: what context pruning is for.
    id: 'conv.review',
    weight: 0.5,
    slots: each('doc', ['payments ledger migration', 'mobile offline sync', 'search relevance overhaul']),
    turns: [
      {
        wordings: [
          'We are reviewing the design for the {doc}. I will paste sections one by one; for each, list the main risks and open questions.\n\n{section}',
        ],
        category: 'reasoning',
        complexity: 'complex',
        replyWords: 260,
      },
      { wordings: ['Next section:\n\n{section}'], category: 'reasoning', complexity: 'complex', replyWords: 260 },
      { wordings: ['Next section:\n\n{section}'], category: 'reasoning', complexity: 'complex', replyWords: 260 },
      { wordings: ['Next section:\n\n{section}'], category: 'reasoning', complexity: 'complex', replyWords: 260 },
      { wordings: ['Next section:\n\n{section}'], category: 'reasoning', complexity: 'complex', replyWords: 260 },
      {
        wordings: [
          'Given everything so far, which three risks should block the launch, and what would you ask the team to change first? Justify the ranking.',
        ],
        category: 'reasoning',
        complexity: 'complex',
        replyWords: 200,
      },
      {
        wordings: ['Write the summary for the steering committee in five bullet points.'],
        category: 'reasoning',
        complexity: 'complex',
        replyWords: 120,
      },
    ],
  },
];

/** Words the generator builds filler prose from (design-doc sections, assistant replies). */
export const PROSE_WORDS: readonly string[] = (
  'the system service request latency budget queue worker retry timeout cache entry tenant region replica ' +
  'migration schema index write read path failure mode owner rollout flag metric alert threshold window ' +
  'capacity cost risk mitigation dependency contract version client server batch stream partition key ' +
  'consistency durability backup restore audit review approval deadline milestone scope estimate team ' +
  'should must could will may because therefore however while after before during unless until ' +
  'new old shared separate critical minor expected observed measured planned current proposed ' +
  'we they it this that each every some most all few many more less'
).split(' ');
