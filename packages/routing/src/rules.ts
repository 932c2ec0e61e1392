import type { CategoryName, ChatRequest, RouteDecision } from '@sluice/queues';
import { InvalidRoutingOptionsError } from './errors.ts';
import { extractFeatures, instructionText, type PromptFeatures } from './features.ts';

/** What every strategy is handed: the request, and the job's embedding when one was computed. */
export interface RoutingInput {
  request: Pick<ChatRequest, 'messages' | 'model'> & Partial<ChatRequest>;
  /** Embedding of the prompt (computed once per job by the classifier, shared with the cache). */
  embedding?: Float32Array;
  /**
   * Whose learned routing exemplars apply ({@link learningScope} of the tenant or its share
   * group): only seeds and that scope's own feedback vote. @defaultValue none: every exemplar
   * (offline evaluation only; the API and workers always pass one)
   */
  learningScope?: string;
  /**
   * The request's cost–quality setting (`x-sluice-quality`), for strategies with a knob (the
   * learned router). Absent: each strategy's configured default.
   */
  quality?: number;
  /** The category an earlier strategy already found, so a later one need not detect it again. */
  category?: CategoryName;
}

/** A routing strategy: returns tier, category, confidence and reasons. */
export interface RoutingStrategy {
  /** Short name shown in `RouteDecision.strategy` (`rules`, `knn`, `llm`). */
  readonly name: string;
  /** Decide the tier and category of a request. May throw; the router falls back. */
  decide(input: RoutingInput): RouteDecision | Promise<RouteDecision>;
  /**
   * A final strategy decides every request that reaches it, whatever its confidence (the
   * learned router: its knob, not a confidence bar, sets the trade-off). @defaultValue false
   */
  readonly final?: boolean;
}

/** Options for {@link rulesStrategy}. */
export interface RulesStrategyOptions {
  /**
   * Complexity points at or above which a request goes to the large tier. Each fired rule adds
   * (or, for simplicity markers, removes) points; see the rule table in `rules.ts`.
   * @defaultValue 0.65
   */
  largeAt?: number;
  /**
   * Whether shortness alone counts as evidence of simplicity, so that a short prompt with no
   * other marker goes small confidently. Off in front of the learned router (`rules,learned`),
   * which then decides such prompts: "Explain the causes of the First World War and how the
   * alliances widened it" is short and not simple.
   * @defaultValue true
   */
  lengthIsEvidence?: boolean;
}

/** One labelled marker: a phrase family with the label shown in reasons. */
type Marker = readonly [label: string, pattern: RegExp];

/** Labels of the markers of a family found in a text, each family member counted once. */
function matches(markers: readonly Marker[], text: string): string[] {
  const found: string[] = [];
  for (const [label, pattern] of markers) if (pattern.test(text)) found.push(label);
  return found;
}

// Markers of work a small model does badly. Each family is weighted in scoreComplexity.
// The first version was written before the labelled set; the families were then widened
// where the set showed a general gap (see the note in eval/README.md and the figures there).
const PROOF: readonly Marker[] = [
  ['prove', /\bprove\b|\bproof\b|\bshow that\b|\bby induction\b|\bif and only if\b|\bshow there (are|is) no\b/i],
  ['derive', /\bderiv(e|ation)\b/i],
  ['theorem', /\btheorem\b|\blemma\b|\bcorollary\b|\baxiom/i],
];
const ADVANCED_MATH: readonly Marker[] = [
  [
    'calculus',
    /\bintegra(l|te)\b|\bderivative\b|\bdifferential equation|\blimit of\b|\bpartial derivative|∫|\\int\b|d\/dx|dy\/dx/i,
  ],
  [
    'linear algebra',
    /\beigen(value|vector)s?\b|\bdeterminant\b|\bmatri(x|ces)\b.{0,120}\b(rank|inverse|diagonali[sz]|eigen)/i,
  ],
  [
    'probability',
    /\bprobabilit(y|ies)\b|\bexpected value\b|\bbayes\b|\bvariance\b|\bmarkov\b|\bsensitiv(e|ity)\b.{0,120}\bspecific(ity)?\b/i,
  ],
  [
    'combinatorics',
    /\bhow many (ways|distinct|different (ways|arrangements))\b|\bin how many ways\b|\bcombinatori|\bpermutations? of\b/i,
  ],
  [
    'optimisation',
    /\b(maximi[sz]e|minimi[sz]e)s?\b|\boptimal\b|\bbest (product )?(mix|combination|allocation)\b|\blinear program|\bconvex\b|\blagrang/i,
  ],
  [
    'discrete math',
    /\bsystem of (linear )?equations\b|\brecurrence\b|\bbig-?o\b|\btime complexity\b|\bamortized\b|\bgroup (of|theory)\b|\bprime order\b|\bisomorphi/i,
  ],
  ['finance math', /\bcompound(ed|ing)?\b|\bnet present value\b|\bnpv\b|\binternal rate of return\b|\bannuit/i],
  ['notation', /\\frac|\\sum|∑|∏|√|\b[a-z]\s*\^\s*[2-9n]\b.{0,120}=|\bmod(ulo)? \d+\b/i],
];
const MULTI_STEP: readonly Marker[] = [
  [
    'step by step',
    /\bstep[- ]by[- ]step\b|\bwalk (me )?through\b|\bshow (your|all|the) (work|steps|reasoning)\b|\bwith reasoning\b/i,
  ],
  ['compare', /\bcompare\b|\bcontrast\b|\bversus\b|\bvs\.? /i],
  ['trade-offs', /\btrade-?offs?\b|\bpros and cons\b|\bweigh(ing)? (the|both|all)?\b/i],
  [
    'design',
    /\bdesign (a|an|the)\b.{0,120}\b(system|architecture|service|platform|pipeline|schema|protocol|infrastructure|backend|experiment|study|trial|curriculum|syllabus|program)\b|\bsystem design\b/i,
  ],
  [
    'analysis',
    /\banaly[sz]e\b|\banalysis of\b|\bcritique\b|\bcritically\b|\bevaluate\b|\bassess\b|\broot cause\b|\bimplications\b|\bdiagnose\b|\b(first|second|third)-order\b/i,
  ],
  [
    'planning',
    /\b(\d+-(day|week|month|year)|detailed|concrete|full|comprehensive|strategic|migration|business|project|semester) (plan|program|syllabus|roadmap|strategy|schedule)\b|\bplan (the|a|an) (migration|launch|rollout|expansion|move|reorgani[sz]ation)\b|\broadmap\b|\bgo-to-market\b/i,
  ],
  [
    'why/what-if',
    /\bexplain why\b|\bwhat would happen\b|\band why\b|\bjustify\b|\bcounter-?argument|\bargue\b|\bwhich .{0,120} (best|most) .{0,120} and why\b/i,
  ],
  [
    'in depth',
    /\bin (great )?depth\b|\bin detail\b|\bdetailed\b|\bcomprehensive\b|\bthorough(ly)?\b|\brigorous(ly)?\b|\bcarefully\b|\bmisconceptions?\b|\bmechanisms?\b/i,
  ],
  // "including A, B and C": a clause of at most ~200 characters after the word, with a comma
  // and a closing and/or/to. Written without nested quantifiers (it ran away on 15 kB of
  // ", bb, bb…" before: ambiguous `(,[^.]{2,200})+` backtracks exponentially).
  ['enumerated scope', /\b(?:including|covering|from)\b[^.?!,]{1,200},[^.?!]{0,200}?\b(?:and|or|to)\b/i],
  ['review', /\breview (this|my|the|our)\b|\baudit (this|my|our)\b/i],
  ['assumptions', /\bassumptions?\b|\bfermi\b|\border of magnitude\b|\bsensitivity analysis\b/i],
];
const HARD_CODE: readonly Marker[] = [
  [
    'concurrency',
    /\brace condition|\bdeadlock|\bconcurren(t|cy)\b|\bthread[- ]safe|\block[- ]free|\bmutex|\batomic(s|ally)?\b|\bmemory (leak|model|ordering)/i,
  ],
  [
    'distributed',
    /\bdistributed\b|\bconsensus\b|\braft\b|\bpaxos\b|\bsharding\b|\breplication\b|\beventual(ly)? consisten|\b(exactly|effectively|at[- ]least)[- ]once\b|\bidempoten|\brebalanc|\bleader election\b|\bnetwork partition/i,
  ],
  [
    'performance',
    /\boptimi[sz]e\b|\bperformance\b|\bprofil(e|ing)\b|\blatency\b|\bthroughput\b|\bbottleneck|\bindex(es)?\b.{0,120}\b(fast|slow)\b|\b(make|is) it (fast|slow)|\btakes \d+ (seconds|minutes)\b|\b\d+ (million|billion) (rows|orders|records|events|users)/i,
  ],
  ['refactor', /\brefactor|\bmigrat(e|ion)\b.{0,120}\b(from|to)\b|\bdesign pattern|\bclean architecture|\bmonolith/i],
  [
    'low-level',
    /\bsegfault|\bundefined behavio|\bpointer aliasing|\bborrow checker|\bborrow(ed)? as (im)?mutable|\bcompiler\b.{0,120}\b(bug|error)|\bkernel\b|\bsimd\b|\bgarbage collect/i,
  ],
  [
    'implementation',
    /\b(implement|write|build|create)\b.{0,40}\b(parser|interpreter|compiler|allocator|scheduler|crawler|tokenizer|lexer|virtual machine|b-?tree|trie|lru|rate limiter|state machine|orm|query planner)\b|\bimplement (a|an|the)\b.{0,120}\b(cache|tree|graph|engine|protocol|database|heap|queue)\b/i,
  ],
  [
    'security',
    /\bvulnerabilit|\bsql injection\b|\bxss\b|\bcsrf\b|\bthreat model|\bcryptograph|\bsecurity (review|audit|hole|issue)/i,
  ],
  ['multi-tenant', /\bmulti-?tenan|\baudit log\b|\bimmutable\b.{0,120}\blog\b|\bschema and (rest )?api\b/i],
];
// Debugging: only counts when there is code or an error in sight (a pasted snippet, a stack
// trace, a language or tool), so "why is the sky blue" is not debugging.
const DEBUGGING =
  /\bbugs?\b|\bdebug|\bfails?\b|\bfailing\b|\bcrash\w*|\bleak\w*|\bhangs?\b|\bbroken\b|\bdoesn'?t (work|compile)|\bflaky\b|\bOOM\w*|\bloops? forever\b|\bincorrect\b|\bunexpected\b|\boccasionally\b|\bintermittent(ly)?\b|\bsometimes\b|\binconsistent\b|\bslow(ly)?\b|\beats memory\b/i;
const LOGIC: readonly Marker[] = [
  [
    'logic puzzle',
    /\bpuzzle\b|\bknights? and knaves\b|\bwhich of the following must be true\b|\b(liar|truth-teller)s?\b|\bsyllogism\b|\bis lying\b|\btells? the truth\b|\bexactly one of (them|these)\b|\bevery label is wrong\b/i,
  ],
];
const CREATIVE_CRAFT: readonly Marker[] = [
  [
    'long piece',
    /\b[\d,]{4,}[- ]word\b|\b(two|three|four|five|\d+)[- ]page\b|\bchapter\b|\bnovel(la)?\b|\bone-act\b|\bscreenplay\b/i,
  ],
  [
    'strict form',
    /\b(villanelle|sestina|sonnets|pantoum|iambic|pentameter|terza rima|ghazal)\b|\bfollows? the form\b|\brhyme scheme\b|\bin the style of\b/i,
  ],
  [
    'literary craft',
    /\bunreliable\b|\bsubtext\b|\bplant(ing)? (three|\d+|the) clues\b|\binterwoven\b|\bperspective\b|\bworldbuilding\b|\bmagic system\b|\bpolitical systems?\b|\btrilogy\b/i,
  ],
];
const CONSTRAINTS: readonly Marker[] = [
  [
    'must/without',
    /\bwithout using\b|\bmust (not )?(be|handle|run|support|use|include)\b|\bshould handle\b|\bedge cases\b|\bkeep(ing)? behaviou?r identical\b|\bat least (two|three|\d+)\b|\bunder (\d+|a|an) /i,
  ],
  ['complexity bound', /\bin O\(|\bO\(n|\bconstant (space|memory)\b|\bat most \d+ (ms|bytes|queries|passes)/i],
  [
    'production',
    /\bproduction[- ](ready|grade)\b|\bscal(able|ability|e to)\b|\bhigh[- ]availability\b|\bfault[- ]tolerant\b|\bzero downtime\b|\broll ?back\b|\bwith (unit )?tests\b|\bunit tests for\b/i,
  ],
];

// Markers of work a small model does well (read from the instruction, not the material).
const SIMPLE_TASK: readonly Marker[] = [
  [
    'translate',
    /^\s*(please\s+)?translate\b|\btranslate (this|that|the following|it)\b|\bhow do you say\b|\b(into|in|to) (french|spanish|german|italian|japanese|chinese|portuguese)\b/i,
  ],
  [
    'rewrite',
    /\b(rephrase|paraphrase|reword|rewrite|shorten|proofread|simplify)\b|\bfix (the |any )?(grammar|spelling|typos?)\b|\bsyntax error\b|\bmake (it|this)( sentence)? (more )?(formal|casual|polite|concise|shorter|friendlier|funnier)\b/i,
  ],
  ['summarize', /^\s*(please\s+)?(summari[sz]e|tl;?dr)\b|\bsummari[sz]e (this|the following|it)\b/i],
  ['list', /^\s*(list|name|give me|suggest|come up with) (\d+|a few|some|three|five|ten)\b/i],
  ['convert', /^\s*convert\b|\bhow many \w+ (in|are in) (a|an|one|\d)/i],
  ['define', /^\s*(define|what does \S+ mean|what is the meaning of|synonyms? for|antonyms? (for|of))\b/i],
  [
    'format',
    /\b(format|sort|alphabeti[sz]e|capitali[sz]e)\b.{0,120}\b(list|these|this)\b|\balphabetical order\b|\bbullet(ed)? (list|points)\b/i,
  ],
];
const BRIEF =
  /\bbriefly\b|\bin one (sentence|line|word)\b|\bin a few words\b|\bshort answer\b|\bquick question\b|\bone-liner\b|\beli5\b|\bkeep it short\b|\bin simple terms\b/i;
const CHIT_CHAT =
  /^\s*(hi|hello|hey|thanks|thank you|good (morning|night|evening)|how are you|what's up|ok|okay|cool|nice|bye)\b[\s\S]{0,40}$/i;
const ARITHMETIC = /^\s*(what('s| is)\s+)?[\d\s.,+\-*/×÷()^%x]+(\s*of\s*[\d.,]+)?\s*[=?]?\s*$/i;
const FACTOID_OPENER =
  /^\s*(who|what|when|where|which|how (many|much|far|long|old|tall|big|deep|fast|hot|cold)|is|are|was|were|does|did|can|define|name|tell me)\b/i;
const HOW_TO = /^\s*(how (do|can|should|would) (i|you|we)|what'?s the (best )?way to|what is the (best )?way to)\b/i;
const NUMERIC_QUESTION =
  /\b(times|divided|plus|minus|percent|average|mean|sum|round|prime|fraction|convert|how (far|much|many|long)|per (hour|day|week)|larger|smaller|sale price|off|double|twice|half)\b|[%×÷*/+=-]/i;

// Category evidence.
const TIME_SENSITIVE_STRONG: readonly Marker[] = [
  ['today/tonight', /\b(today|tonight|tomorrow|yesterday|last night)('s)?\b/i],
  [
    'this period',
    /\bthis (week|weekend|month|morning|afternoon|evening|season|quarter)\b|\bthese days\b|\bnowadays\b/i,
  ],
  [
    'right now',
    /\bright now\b|\bat the moment\b|\bas of (now|today)\b|\bcurrently\b|\bwhat time is it\b|\bup to date\b/i,
  ],
  ['latest', /\blatest\b|\bmost recent\b|\bnewest\b|\bbreaking\b|\bjust (announced|released)\b|\btrending\b/i],
  [
    'current state',
    /\bcurrent (price|weather|time|events?|news|president|prime minister|ceo|ranking|standings|rate|status|version|leader|champion|score|temperature|exchange|interest|mortgage|state)\b/i,
  ],
  [
    'prices/markets',
    /\b(stock|share|bitcoin|btc|eth|crypto|gas|oil|gold) price\b|\bprice of (bitcoin|gold|oil|\w+ stock)\b|\bexchange rate\b|\bmarket (cap|today)\b|\btrading at\b|\bmortgage rates\b|\binterest rates\b.{0,120}\b(now|today|this|these)\b|\bs&p 500\b|\bnasdaq\b|\bdow jones\b/i,
  ],
  ['weather', /\bweather\b|\bforecast\b|\bwill it (rain|snow)\b/i],
  [
    'news/scores',
    /\bnews\b|\b(top|today'?s|latest|breaking) (stories|headlines)\b|\bheadlines\b|\blive score\b|\bwho won\b|\b(election|match|game) results?\b|\bscore of the\b/i,
  ],
  [
    'open now',
    /\b(open|closed) now\b|\bnow\?\s*$|\b(open|available) right now\b|\bstill (alive|open|available|in stock)\b|\bupcoming\b|\bnext (game|match|launch|release)\b|\bplaying in theaters\b/i,
  ],
];
const CODE_TERMS: readonly Marker[] = [
  [
    'language',
    /\b(python|javascript|typescript|java|c\+\+|c#|golang|go|rust|ruby|php|kotlin|swift|scala|haskell|elixir|perl|bash|powershell|sql|postgres(ql)?|mysql|sqlite|html|css|react|vue|angular|node\.?js|django|flask|fastapi|spring|numpy|pandas|pytorch|tensorflow|kafka|kubernetes|docker|jest|express)\b/i,
  ],
  [
    'code noun',
    /\b(function|method|class|variable|array|dictionary|hashmap|regex|regular expression|loop|recursion|api|endpoint|json|yaml|dockerfile|git|npm|pip|compiler|linked list|binary (tree|search)|stack trace|unit tests?|script|query|database schema|algorithm|exception|async|promise|interface|div|branch|commit|container|pods?|consumer|parser|type hints?|list comprehension)s?\b/i,
  ],
  [
    'code verb',
    /\b(write|implement|code|debug|fix|refactor|compile|deploy)\b.{0,120}\b(function|script|program|class|method|query|regex|code|test|endpoint|api|component|bug|loop|algorithm|parser|cli|crawler)\b/i,
  ],
];
const REASONING_TERMS: readonly Marker[] = [
  ['calculate', /\b(calculate|compute|solve|estimate|how much (would|will|does|do)|how long (does|would|will))\b/i],
  ['argue', /\b(argue|reason|logic(al)?|deduce|infer|hypothes[ie]s|paradox|dilemma|why would)\b/i],
];
const CREATIVE_TERMS: readonly Marker[] = [
  [
    'verse',
    /\b(poem|poetry|haiku|limerick|sonnets?|verse|rhym(e|ing)|lyrics|song|rap|ballad|ode|villanelle|sestina)\b|\bpoetically\b/i,
  ],
  [
    'story',
    /\b(short story|story|fairy tale|fable|bedtime story|fiction|flash fiction|novel|screenplay|scene|dialogue between|monologue|plot|character|villain|worldbuilding|fan ?fic)\b/i,
  ],
  [
    'copy',
    /\b(slogan|tagline|catchphrase|jingle|ad copy|pun|joke|riddle|toast|wedding speech|birthday (message|wish)|greeting card|love letter|tweet|caption|product description|horoscope)\b/i,
  ],
  ['ideas', /\b(brainstorm|come up with|invent|imagine|creative|whimsical|names? for (my|a|an|our))\b/i],
];
const FACTUAL_TERMS: readonly Marker[] = [
  [
    'fact lookup',
    /\b(capital of|population of|who (wrote|invented|discovered|painted|founded|was|is the author)|when (was|did|were)|where (is|was|are)|how (many|tall|far|old|deep|big)|what year|boiling point|melting point|speed of|distance (from|between)|chemical (formula|symbol)|atomic number|largest|smallest|tallest|longest|closest|first (person|woman|man) to|stand for|definition of|meaning of|specializ(e|es) in|main ingredient|what language)\b/i,
  ],
  [
    'explain concept',
    /^\s*(what (is|are|was|were)|explain (what|how)|describe (what|how)|how (does|did) (a|an|the)?|why (does|do|did|is|are))\b/i,
  ],
];

// Per request object: the rules and the learned router (which reads the rules' complexity
// points) share one feature extraction, the most expensive step of routing.
const featureMemo = new WeakMap<object, PromptFeatures>();
const complexityMemo = new WeakMap<object, { points: number; fired: Fired[] }>();

/** {@link extractFeatures} of a request, computed once per request object. */
export function featuresOf(request: RoutingInput['request']): PromptFeatures {
  let f = featureMemo.get(request);
  if (!f) featureMemo.set(request, (f = extractFeatures(request)));
  return f;
}

/** The rules' complexity points of a request (and the rules that fired), computed once per request object. */
export function complexityOf(request: RoutingInput['request']): { points: number; fired: Fired[] } {
  let c = complexityMemo.get(request);
  if (!c) complexityMemo.set(request, (c = scoreComplexity(featuresOf(request))));
  return c;
}

/** The rules strategy: synchronous, so callers that need a decision without awaiting (a fallback) can have one. */
export interface RulesStrategy extends RoutingStrategy {
  readonly name: 'rules';
  decide(input: RoutingInput): RouteDecision;
}

/** A rule that fired: its label and the points it added. */
interface Fired {
  label: string;
  points: number;
}

/** Complexity points of a request and the rules that produced them. */
export function scoreComplexity(f: PromptFeatures): { points: number; fired: Fired[] } {
  const fired: Fired[] = [];
  const add = (label: string, points: number) => {
    if (points !== 0) fired.push({ label, points });
  };
  const text = f.text;
  const ask = f.ask;
  const codeInSight = f.fencedCodeLines > 0 || f.codeLikeLines >= 2 || f.stackTrace || CODE_TERMS[0]![1].test(text);

  const proof = matches(PROOF, ask);
  if (proof.length) add(`proof (${proof.join(', ')})`, 2.0);
  const math = matches(ADVANCED_MATH, ask);
  if (math.length) add(`advanced math (${math.join(', ')})`, Math.min(1.4, 0.9 * math.length));
  const steps = matches(MULTI_STEP, ask);
  if (steps.length) add(`multi-step (${steps.join(', ')})`, Math.min(1.6, 0.9 * steps.length));
  const hardCode = matches(HARD_CODE, text);
  if (hardCode.length) add(`hard code task (${hardCode.join(', ')})`, Math.min(1.6, 0.9 * hardCode.length));
  if (codeInSight && DEBUGGING.test(ask)) add('debugging (code in sight and a failure described)', 0.9);
  const logic = matches(LOGIC, ask);
  if (logic.length) add(`logic (${logic.join(', ')})`, 1.2);
  const craft = matches(CREATIVE_CRAFT, ask);
  if (craft.length) add(`demanding creative work (${craft.join(', ')})`, Math.min(1.4, 0.8 * craft.length));
  const constraints = matches(CONSTRAINTS, ask);
  if (constraints.length) add(`constraints (${constraints.join(', ')})`, Math.min(0.6, 0.3 * constraints.length));
  if (f.deliverables.length >= 2)
    add(`several deliverables (${f.deliverables.join(', ')})`, f.deliverables.length >= 3 ? 0.7 : 0.4);
  if (f.numbers >= 3 && f.askTokens >= 30) add(`word problem: ${f.numbers} quantities`, 0.6);
  if (f.stackTrace) add('stack trace / error output', 0.8);
  if (f.fencedCodeLines > 0) add('pasted code to work on', 0.3);
  const codeLines = f.fencedCodeLines + f.codeLikeLines;
  if (codeLines >= 40) add(`code: ${codeLines} lines`, 0.5);
  if (f.listItems >= 3) add(`multi-part: ${f.listItems} listed items`, f.listItems >= 6 ? 0.6 : 0.4);
  else if (f.questions >= 3) add(`multi-part: ${f.questions} questions`, 0.4);
  if (f.askTokens > 80) add(`long instruction: ${f.askTokens} tokens`, f.askTokens > 200 ? 0.6 : 0.4);
  else if (f.askTokens > 45) add(`detailed instruction: ${f.askTokens} tokens`, 0.2);
  if (f.textTokens > 1500) add(`length: ${f.textTokens} tokens in latest message`, 0.4);
  if (f.totalTokens > 8000) add(`context: ${f.totalTokens} tokens in conversation`, 0.4);
  if (f.userTurns >= 20) add(`depth: ${f.userTurns} user turns`, 0.4);
  else if (f.userTurns >= 8) add(`depth: ${f.userTurns} user turns`, 0.2);

  // Simplicity markers pull the score down; when a complexity marker fired too they pull
  // half as hard ("summarize today's news and assess its impact" is not a summary).
  let simple = 0;
  const simpleFired: string[] = [];
  if (f.askTokens <= 25) {
    simple += 0.4;
    simpleFired.push(`short: ${f.askTokens} tokens`);
  }
  const task = matches(SIMPLE_TASK, ask);
  if (task.length) {
    simple += 0.5;
    simpleFired.push(`simple task (${task.join(', ')})`);
  }
  if (FACTOID_OPENER.test(ask) && f.askTokens <= 40) {
    simple += 0.3;
    simpleFired.push('factoid question');
  }
  if (BRIEF.test(ask)) {
    simple += 0.3;
    simpleFired.push('asks for brevity');
  }
  if (CHIT_CHAT.test(ask)) {
    simple += 0.6;
    simpleFired.push('chit-chat');
  }
  if (ARITHMETIC.test(ask) && /\d/.test(ask)) {
    simple += 0.6;
    simpleFired.push('plain arithmetic');
  }
  const complexSoFar = fired.some((r) => r.points > 0);
  if (simple) add(simpleFired.join(', '), -Math.min(1.5, simple) * (complexSoFar ? 0.5 : 1));

  const points = fired.reduce((sum, r) => sum + r.points, 0);
  return { points: Math.round(points * 100) / 100, fired };
}

/** Category points of a piece of text. */
function categoryPoints(
  f: Pick<
    PromptFeatures,
    'text' | 'ask' | 'fencedCodeLines' | 'codeLikeLines' | 'stackTrace' | 'askTokens' | 'numbers'
  >,
  add: (c: CategoryName, points: number, why: string) => void,
): void {
  const { text, ask } = f;
  for (const label of matches(TIME_SENSITIVE_STRONG, ask)) add('time_sensitive', 2.5, label);

  if (f.fencedCodeLines > 0) add('code', 3, 'fenced code');
  if (f.codeLikeLines >= 2) add('code', 2, 'source lines');
  if (f.stackTrace) add('code', 3, 'stack trace');
  const codeTerms = matches(CODE_TERMS, text);
  for (const label of codeTerms) add('code', label === 'code verb' ? 2 : 1, label);
  if (codeTerms.length && HOW_TO.test(ask)) add('code', 1.5, 'how-to about a tool');
  for (const label of matches(HARD_CODE, text)) add('code', 0.5, label);

  for (const label of matches(PROOF, ask)) add('reasoning', 3, label);
  for (const label of matches(ADVANCED_MATH, ask)) add('reasoning', 2, label);
  for (const label of matches(LOGIC, ask)) add('reasoning', 3, label);
  for (const label of matches(MULTI_STEP, ask))
    if (label !== 'in depth' && label !== 'planning' && label !== 'enumerated scope' && label !== 'review')
      add('reasoning', 1.2, label);
  for (const label of matches(REASONING_TERMS, ask)) add('reasoning', 1.2, label);
  if (f.numbers >= 1 && NUMERIC_QUESTION.test(ask.replace(/\d+[-/]\d+/g, '')))
    add('reasoning', 2.5, 'numeric question');
  if (f.numbers >= 3 && f.askTokens >= 30) add('reasoning', 1.5, 'word problem');

  for (const label of matches(CREATIVE_TERMS, ask)) add('creative', label === 'ideas' ? 1.2 : 2.5, label);

  for (const label of matches(FACTUAL_TERMS, ask)) add('factual', 1.5, label);
  if (FACTOID_OPENER.test(ask) && !HOW_TO.test(ask) && f.askTokens <= 40) add('factual', 1.2, 'short question');
  if (CHIT_CHAT.test(ask)) add('general', 2, 'chit-chat');
}

/** Category evidence: points per category and why. */
function scoreCategories(f: PromptFeatures): { category: CategoryName; evidence: string[] } {
  const scores: Record<CategoryName, number> = {
    time_sensitive: 0,
    code: 0,
    reasoning: 0,
    creative: 0,
    factual: 0,
    general: 1,
  };
  const evidence: Record<CategoryName, string[]> = {
    time_sensitive: [],
    code: [],
    reasoning: [],
    creative: [],
    factual: [],
    general: ['default'],
  };
  categoryPoints(f, (category, points, why) => {
    scores[category] += points;
    evidence[category].push(why);
  });
  // Earlier user turns count half: "make it shorter" after "write a poem" is still creative.
  if (f.earlierUserText) {
    const earlier = f.earlierUserText;
    categoryPoints(
      {
        text: earlier,
        ask: instructionText(earlier),
        fencedCodeLines: /```/.test(earlier) ? 1 : 0,
        codeLikeLines: 0,
        stackTrace: false,
        askTokens: 100,
        numbers: 0,
      },
      (category, points, why) => {
        if (category === 'time_sensitive') return; // only the latest question decides freshness
        scores[category] += points / 2;
        evidence[category].push(`earlier turn: ${why}`);
      },
    );
  }

  // Ties go to the category whose cache policy is safest: time-sensitive answers are never
  // cached, so a tie must not turn a "latest price" question into a cached factual one.
  const order: CategoryName[] = ['time_sensitive', 'code', 'reasoning', 'creative', 'factual', 'general'];
  let best: CategoryName = 'general';
  for (const c of order)
    if (scores[c] > scores[best] || (scores[c] === scores[best] && order.indexOf(c) < order.indexOf(best))) best = c;
  return { category: best, evidence: evidence[best] };
}

/** True when the instruction asks about something that changes over time (today, latest, prices, weather, news). */
export function isTimeSensitive(text: string): boolean {
  return matches(TIME_SENSITIVE_STRONG, instructionText(text)).length > 0;
}

/** The category of a request by the rules (also used for pinned requests, which skip tiering). */
export function detectCategory(request: RoutingInput['request']): CategoryName {
  return scoreCategories(featuresOf(request)).category;
}

/** The simplicity label of a prompt whose only simplicity marker is its length. */
const SHORT_ONLY = /^short: \d+ tokens$/;

/** Confidence of a small decision made without any simplicity marker. */
const UNEVIDENCED_SMALL_CONFIDENCE = 0.6;

/** Map a distance from the decision boundary to a confidence in (0.5, 0.95). */
export function marginConfidence(margin: number): number {
  return Math.round((0.5 + 0.45 * Math.tanh(Math.abs(margin) * 1.5)) * 1000) / 1000;
}

/**
 * The transparent rules strategy. Every rule that fires adds complexity points (code and
 * math and multi-step markers, length in real tokens, conversation depth) or removes them
 * (short factoid questions, rewrites, chit-chat); at or above `largeAt` the request goes to
 * the large tier. Confidence grows with the distance from that boundary, so a request with
 * little evidence either way gets a low confidence and the router's low-confidence policy.
 * Reasons list every rule that fired with its points.
 */
export function rulesStrategy(options: RulesStrategyOptions = {}): RulesStrategy {
  const largeAt = options.largeAt ?? 0.65;
  const lengthIsEvidence = options.lengthIsEvidence ?? true;
  if (typeof largeAt !== 'number' || !Number.isFinite(largeAt)) {
    throw new InvalidRoutingOptionsError(`Expected \`largeAt\` to be a finite number, got \`${String(largeAt)}\``);
  }
  return {
    name: 'rules',
    decide({ request }: RoutingInput): RouteDecision {
      const features = featuresOf(request);
      const { points, fired } = complexityOf(request);
      const { category, evidence } = scoreCategories(features);
      const tier = points >= largeAt ? 'large' : 'small';
      const reasons = fired.map((r) => `${r.label} (${r.points > 0 ? '+' : ''}${r.points.toFixed(1)})`);
      if (!fired.length) reasons.push('no complexity markers');
      reasons.push(`complexity ${points.toFixed(2)} ${tier === 'large' ? '≥' : '<'} ${largeAt} → ${tier}`);
      reasons.push(`category ${category}: ${evidence.join(', ')}`);
      let confidence = marginConfidence(points - largeAt);
      // "Small" only because nothing complex was spotted is a guess, not evidence: without a
      // single simplicity marker (short, factoid, rewrite, chit-chat…) the confidence stays
      // below the router's threshold and its low-confidence policy decides.
      if (tier === 'small' && !fired.some((r) => r.points < 0 && (lengthIsEvidence || !SHORT_ONLY.test(r.label)))) {
        confidence = Math.min(confidence, UNEVIDENCED_SMALL_CONFIDENCE);
        reasons.push(`no simplicity evidence → confidence capped at ${UNEVIDENCED_SMALL_CONFIDENCE}`);
      }
      return { tier, category, confidence, reasons, strategy: 'rules' };
    },
  };
}
