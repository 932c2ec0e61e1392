/**
 * Word lists shared by the offline embedder and match verification. They are deliberately
 * small and general-purpose (not tuned to any eval pair): each list answers one question
 * such as "is this word a unit?" or "does this word change which answer is right?".
 */

const set = (words: string) => new Set(words.split(/\s+/).filter(Boolean));

/**
 * Function words that carry little meaning of their own. The embedder down-weights them and
 * the content-word check ignores them. Negations, wh-words other than what/which, and
 * comparison words are *not* here: they change the answer.
 */
export const STOPWORDS = set(`
  a an the this that these those it its is are am was were be been being do does did doing done
  has have had having of in on at to for from by with into onto about as than then so and or
  if but i me my mine we us our ours you your yours he him his she her they them their
  there here what which whats whose also just some any all each every other such
  very really actually exactly basically simply quite please kindly thanks thank
  can could would will shall should may might must
  use using via per
`);

/**
 * Request verbs and politeness ("tell me", "can you explain", "write a"): they say *that*
 * an answer is wanted, not *which*, so rewordings swap them freely.
 */
export const FILLERS = set(`
  tell explain describe give show provide write help know want need like let
  get find share say
`);

/** Negation markers, after contraction expansion (`don't` → `do not`). */
export const NEGATIONS = set(`not no never none nobody nothing neither nor without cannot except excluding unless`);

/** Question words that change what kind of answer is right (who vs when vs where). */
export const QUESTION_WORDS = set(`who whom when where why how`);

/**
 * Equivalent words mapped to one canonical form. Only pairs that are interchangeable in
 * almost every question are listed; anything doubtful stays distinct (a miss costs one
 * upstream call, a false hit costs a wrong answer).
 */
export const SYNONYMS: ReadonlyMap<string, string> = new Map(
  Object.entries({
    wrote: 'author',
    written: 'author',
    writer: 'author',
    authored: 'author',
    big: 'large',
    bigger: 'larger',
    biggest: 'largest',
    little: 'small',
    begin: 'start',
    beginning: 'start',
    commence: 'start',
    automobile: 'car',
    purchase: 'buy',
    quick: 'fast',
    quickly: 'fast',
    create: 'make',
    making: 'make',
    made: 'make',
    meaning: 'mean',
    definition: 'mean',
    define: 'mean',
    means: 'mean',
    differ: 'difference',
    different: 'difference',
    differences: 'difference',
    vs: 'difference',
    versus: 'difference',
    kid: 'child',
    kids: 'child',
    children: 'child',
  }),
);

/** Words that ask for a particular output shape; mapped to a canonical format name. */
export const FORMAT_WORDS: ReadonlyMap<string, string> = new Map(
  Object.entries({
    json: 'json',
    jsonl: 'json',
    yaml: 'yaml',
    yml: 'yaml',
    csv: 'csv',
    tsv: 'csv',
    xml: 'xml',
    html: 'html',
    markdown: 'markdown',
    md: 'markdown',
    table: 'table',
    tables: 'table',
    tabular: 'table',
    bullet: 'bullets',
    bullets: 'bullets',
    bulleted: 'bullets',
    numbered: 'numbered',
    code: 'code',
    snippet: 'code',
    pseudocode: 'code',
    example: 'examples',
    examples: 'examples',
    paragraph: 'paragraphs',
    paragraphs: 'paragraphs',
    sentence: 'sentences',
    sentences: 'sentences',
    word: 'words',
    words: 'words',
    line: 'lines',
    lines: 'lines',
    page: 'pages',
    pages: 'pages',
    brief: 'short',
    briefly: 'short',
    short: 'short',
    shorter: 'short',
    concise: 'short',
    concisely: 'short',
    succinct: 'short',
    tldr: 'short',
    detail: 'long',
    detailed: 'long',
    thorough: 'long',
    thoroughly: 'long',
    comprehensive: 'long',
    long: 'long',
    longer: 'long',
    elaborate: 'long',
    eli5: 'simple',
    simple: 'simple',
    beginner: 'simple',
    beginners: 'simple',
    formal: 'formal',
    informal: 'informal',
    casual: 'informal',
    uppercase: 'uppercase',
    lowercase: 'lowercase',
  }),
);

/** Words that pin an answer to a moment; a cached answer for another moment is wrong. */
export const TIME_WORDS = set(`
  today tonight tomorrow yesterday now currently current latest recent recently newest
  upcoming ago nowadays present
  monday tuesday wednesday thursday friday saturday sunday weekend
  january february march april june july august september october november december
  morning afternoon evening
`);

/** Words that, right after `this`/`last`/`next`, name a period ("last year"). */
export const PERIOD_WORDS = set(
  `day week month year quarter season decade century night weekend morning evening summer winter spring autumn fall`,
);

/** Past and present copulas: "what was the capital" and "what is the capital" differ. */
export const PAST_COPULAS = set(`was were`);
export const PRESENT_COPULAS = set(`is are am`);

/** Small number words; ordinals map to the same value (`third` → 3). */
export const NUMBER_WORDS: ReadonlyMap<string, number> = new Map(
  Object.entries({
    zero: 0,
    one: 1,
    two: 2,
    three: 3,
    four: 4,
    five: 5,
    six: 6,
    seven: 7,
    eight: 8,
    nine: 9,
    ten: 10,
    eleven: 11,
    twelve: 12,
    thirteen: 13,
    fourteen: 14,
    fifteen: 15,
    sixteen: 16,
    seventeen: 17,
    eighteen: 18,
    nineteen: 19,
    twenty: 20,
    thirty: 30,
    forty: 40,
    fifty: 50,
    sixty: 60,
    seventy: 70,
    eighty: 80,
    ninety: 90,
    hundred: 100,
    thousand: 1_000,
    million: 1_000_000,
    billion: 1_000_000_000,
    trillion: 1_000_000_000_000,
    dozen: 12,
    half: 0.5,
    quarter: 0.25,
    once: 1,
    twice: 2,
    double: 2,
    triple: 3,
    single: 1,
    pair: 2,
    couple: 2,
    first: 1,
    second: 2,
    third: 3,
    fourth: 4,
    fifth: 5,
    sixth: 6,
    seventh: 7,
    eighth: 8,
    ninth: 9,
    tenth: 10,
  }),
);

/**
 * Units, mapped to a canonical name. Single letters (`m`, `g`, `s`) count only right after a
 * number ("5 m"), because on their own they are usually not units.
 */
export const UNITS: ReadonlyMap<string, string> = new Map(
  Object.entries({
    km: 'km',
    kms: 'km',
    kilometer: 'km',
    kilometers: 'km',
    kilometre: 'km',
    kilometres: 'km',
    mi: 'mile',
    mile: 'mile',
    miles: 'mile',
    meter: 'm',
    meters: 'm',
    metre: 'm',
    metres: 'm',
    cm: 'cm',
    centimeter: 'cm',
    centimeters: 'cm',
    centimetre: 'cm',
    centimetres: 'cm',
    mm: 'mm',
    millimeter: 'mm',
    millimeters: 'mm',
    millimetre: 'mm',
    millimetres: 'mm',
    ft: 'ft',
    foot: 'ft',
    feet: 'ft',
    inch: 'inch',
    inches: 'inch',
    yd: 'yard',
    yard: 'yard',
    yards: 'yard',
    kg: 'kg',
    kgs: 'kg',
    kilogram: 'kg',
    kilograms: 'kg',
    kilo: 'kg',
    kilos: 'kg',
    gram: 'g',
    grams: 'g',
    gramme: 'g',
    grammes: 'g',
    mg: 'mg',
    milligram: 'mg',
    milligrams: 'mg',
    lb: 'lb',
    lbs: 'lb',
    pound: 'lb',
    pounds: 'lb',
    oz: 'oz',
    ounce: 'oz',
    ounces: 'oz',
    ton: 'ton',
    tons: 'ton',
    tonne: 'ton',
    tonnes: 'ton',
    liter: 'l',
    liters: 'l',
    litre: 'l',
    litres: 'l',
    ml: 'ml',
    milliliter: 'ml',
    milliliters: 'ml',
    millilitre: 'ml',
    gallon: 'gallon',
    gallons: 'gallon',
    gal: 'gallon',
    cup: 'cup',
    cups: 'cup',
    tbsp: 'tbsp',
    tablespoon: 'tbsp',
    tablespoons: 'tbsp',
    tsp: 'tsp',
    teaspoon: 'tsp',
    teaspoons: 'tsp',
    celsius: 'celsius',
    centigrade: 'celsius',
    fahrenheit: 'fahrenheit',
    kelvin: 'kelvin',
    degree: 'degree',
    degrees: 'degree',
    mph: 'mph',
    kph: 'km/h',
    kmh: 'km/h',
    'km/h': 'km/h',
    knots: 'knot',
    knot: 'knot',
    'm/s': 'm/s',
    seconds: 'second',
    sec: 'second',
    secs: 'second',
    ms: 'ms',
    millisecond: 'ms',
    milliseconds: 'ms',
    minute: 'minute',
    minutes: 'minute',
    mins: 'minute',
    hour: 'hour',
    hours: 'hour',
    hr: 'hour',
    hrs: 'hour',
    day: 'day',
    days: 'day',
    week: 'week',
    weeks: 'week',
    month: 'month',
    months: 'month',
    year: 'year',
    years: 'year',
    calorie: 'kcal',
    calories: 'kcal',
    kcal: 'kcal',
    joule: 'joule',
    joules: 'joule',
    kj: 'kj',
    watt: 'watt',
    watts: 'watt',
    kw: 'kw',
    kwh: 'kwh',
    volt: 'volt',
    volts: 'volt',
    amp: 'amp',
    amps: 'amp',
    bit: 'bit',
    bits: 'bit',
    byte: 'byte',
    bytes: 'byte',
    kb: 'kb',
    mb: 'mb',
    gb: 'gb',
    tb: 'tb',
    kib: 'kib',
    mib: 'mib',
    gib: 'gib',
    hz: 'hz',
    khz: 'khz',
    mhz: 'mhz',
    ghz: 'ghz',
    usd: 'usd',
    dollar: 'usd',
    dollars: 'usd',
    eur: 'eur',
    euro: 'eur',
    euros: 'eur',
    gbp: 'gbp',
    sterling: 'gbp',
    yen: 'jpy',
    jpy: 'jpy',
    yuan: 'cny',
    cny: 'cny',
    rupee: 'inr',
    rupees: 'inr',
    inr: 'inr',
    bitcoin: 'btc',
    btc: 'btc',
    percent: 'percent',
    percentage: 'percent',
    pct: 'percent',
  }),
);

/** Units that are single letters or symbols: counted only when attached to a number. */
export const SHORT_UNITS: ReadonlyMap<string, string> = new Map(
  Object.entries({
    m: 'm',
    g: 'g',
    s: 'second',
    h: 'hour',
    l: 'l',
    k: 'thousand',
    c: 'celsius',
    f: 'fahrenheit',
    '%': 'percent',
    '°c': 'celsius',
    '°f': 'fahrenheit',
    '°': 'degree',
    $: 'usd',
    '€': 'eur',
    '£': 'gbp',
    '¥': 'jpy',
  }),
);

/** Language names (for "answer in French"); a mismatch is a `language` rejection. */
export const LANGUAGE_NAMES = set(`
  english spanish french german italian portuguese dutch russian chinese mandarin cantonese japanese
  korean arabic hindi bengali urdu turkish polish ukrainian swedish norwegian danish finnish greek hebrew
  czech hungarian romanian thai vietnamese indonesian malay tagalog persian farsi swahili latin catalan
  castellano español espanol français francais deutsch italiano português portugues
`);

/**
 * Proper nouns that are often typed in lower case: places, programming languages and tools,
 * companies, celestial bodies. A capitalised word is an entity anyway; this list catches
 * "capital of australia" vs "capital of austria".
 */
export const GAZETTEER = set(`
  afghanistan albania algeria argentina armenia australia austria azerbaijan bangladesh belarus belgium bolivia
  bosnia brazil bulgaria cambodia cameroon canada chile china colombia croatia cuba cyprus czechia denmark
  ecuador egypt england estonia ethiopia finland france georgia germany ghana greece guatemala haiti honduras
  hungary iceland india indonesia iran iraq ireland israel italy jamaica japan jordan kazakhstan kenya korea
  kuwait laos latvia lebanon libya lithuania luxembourg madagascar malaysia mali malta mexico moldova mongolia
  montenegro morocco mozambique myanmar nepal netherlands holland zealand nicaragua niger nigeria norway oman
  pakistan panama paraguay peru philippines poland portugal qatar romania russia rwanda scotland senegal serbia
  singapore slovakia slovenia somalia spain sudan sweden switzerland syria taiwan tanzania thailand tunisia
  turkey uganda ukraine uruguay usa uk uae uzbekistan venezuela vietnam wales yemen zambia zimbabwe
  america europe asia africa antarctica oceania
  london paris berlin madrid rome tokyo beijing shanghai moscow delhi mumbai sydney melbourne toronto vancouver
  montreal chicago boston seattle denver miami dallas houston atlanta amsterdam brussels vienna prague warsaw
  budapest lisbon dublin stockholm oslo copenhagen helsinki athens istanbul cairo dubai seoul bangkok jakarta
  manila singapore hanoi lagos nairobi johannesburg lima bogota santiago mexico havana ottawa canberra
  wellington munich hamburg barcelona milan venice florence naples zurich geneva
  california texas florida york ohio oregon washington nevada arizona alaska hawaii
  python javascript typescript java kotlin scala ruby rust golang php perl haskell elixir erlang clojure
  swift objective lua julia matlab fortran cobol pascal dart zig nim ocaml fsharp csharp cpp
  sql mysql postgres postgresql sqlite mongodb redis cassandra elasticsearch kafka rabbitmq
  react vue angular svelte nextjs nodejs node.js deno bun django flask rails spring laravel express fastify
  docker kubernetes terraform ansible linux ubuntu debian fedora centos windows macos ios android
  aws azure gcp git github gitlab npm pnpm yarn pip conda numpy pandas pytorch tensorflow excel
  google apple microsoft amazon meta facebook netflix tesla ford toyota honda bmw nvidia intel amd ibm oracle
  samsung sony openai anthropic twitter uber airbnb spotify adobe salesforce
  sun moon earth mars venus mercury jupiter saturn uranus neptune pluto
`);

/** Stopwords per language for detecting which language a prompt is written in. */
export const LANGUAGE_STOPWORDS: Readonly<Record<string, Set<string>>> = {
  en: set(
    `the a an is are was what how why who which of and to in on at for with from by as you your this that does do can it be he she they we my his her or not`,
  ),
  es: set(`el la los las es son qué que cómo como por para con una un del al cuál cual dónde donde está y de en`),
  fr: set(`le la les est sont qu que quoi comment pourquoi avec une un des du au est-ce c'est et de en pour dans`),
  de: set(`der die das ist sind was wie warum mit ein eine einen und zu den dem des nicht ich für im`),
  it: set(`il lo la gli le è sono che come perché con una un del della di e per in cosa qual quale`),
  pt: set(`o a os as é são que como por para com uma um do da dos das e de em qual onde você`),
  nl: set(`de het een is zijn wat hoe waarom met van en in voor niet ik je dat welke`),
};

/**
 * Opposites. Word vectors learn from contexts, and opposites share theirs ("the highest /
 * lowest rating"), so their vectors are close (highest/lowest 0.85, advantages/disadvantages
 * 0.82): a content word is never accepted as a rewording of its opposite. Pairs are listed
 * once, in both directions by lookup; stems (plural-free) suffice.
 */
export const ANTONYMS: ReadonlyMap<string, ReadonlySet<string>> = (() => {
  const pairs = `
    high:low higher:lower highest:lowest max:min maximum:minimum most:least more:less fewer:more
    big:small large:small larger:smaller largest:smallest long:short longer:shorter longest:shortest
    good:bad better:worse best:worst positive:negative pro:con advantage:disadvantage benefit:drawback
    hot:cold hotter:colder hottest:coldest warm:cool warmer:cooler warmest:coolest heat:cold fast:slow faster:slower fastest:slowest early:late earlier:later earliest:latest
    before:after above:below over:under inside:outside inner:outer top:bottom up:down upper:lower left:right north:south east:west
    increase:decrease rise:fall raise:lower gain:loss win:lose won:lost winner:loser add:remove insert:delete push:pull
    buy:sell bought:sold import:export input:output send:receive give:take lend:borrow open:close start:stop start:end begin:end first:last
    enable:disable allow:deny accept:reject include:exclude encrypt:decrypt compress:decompress encode:decode upload:download
    true:false yes:no right:wrong correct:incorrect success:failure pass:fail valid:invalid safe:dangerous legal:illegal
    male:female man:woman men:women boy:girl husband:wife father:mother son:daughter brother:sister king:queen
    old:new older:newer oldest:newest old:young older:younger ancient:modern past:future
    rich:poor richest:poorest cheap:expensive cheapest:priciest strong:weak stronger:weaker strongest:weakest heavy:light hard:soft hard:easy harder:easier hardest:easiest difficult:easy simple:complex
    love:hate like:dislike happy:sad friend:enemy war:peace day:night light:dark black:white wet:dry full:empty
    internal:external public:private local:remote online:offline client:server import:export sync:async synchronous:asynchronous
    ascending:descending horizontal:vertical lowercase:uppercase minimum:maximum
    mean:median mean:mode average:median sum:product
  `;
  const map = new Map<string, Set<string>>();
  for (const pair of pairs.split(/\s+/).filter(Boolean)) {
    const [x, y] = pair.split(':') as [string, string];
    if (!map.has(x)) map.set(x, new Set());
    map.get(x)!.add(y);
  }
  return map;
})();
