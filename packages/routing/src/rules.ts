import type { CategoryName, ChatRequest, RouteDecision } from '@sluice/queues';
import { InvalidRoutingOptionsError } from './errors.ts';
import { extractFeatures, type PromptFeatures } from './features.ts';

/** What every strategy is handed: the request, and the job's embedding when one was computed. */
export interface RoutingInput {
  request: Pick<ChatRequest, 'messages' | 'model'> & Partial<ChatRequest>;
  /** Embedding of the prompt (computed once per job by the classifier, shared with the cache). */
  embedding?: Float32Array;
}

/** A routing strategy: returns tier, category, confidence and reasons. */
export interface RoutingStrategy {
  /** Short name shown in `RouteDecision.strategy` (`rules`, `knn`, `llm`). */
  readonly name: string;
  /** Decide the tier and category of a request. May throw; the router falls back. */
  decide(input: RoutingInput): RouteDecision | Promise<RouteDecision>;
}

/** Options for {@link rulesStrategy}. */
export interface RulesStrategyOptions {
  /**
   * Complexity points at or above which a request goes to the large tier. Each fired rule adds
   * (or, for simplicity markers, removes) points; see the rule table in `rules.ts`.
   * @defaultValue 0.65
   */
  largeAt?: number;
}

/** One labelled marker: a phrase family with the label shown in reasons. */
type Marker = readonly [label: string, pattern: RegExp];

/** Labels of the markers of a family found in a text, each family member counted once. */
function matches(markers: readonly Marker[], text: string): string[] {
  const found: string[] = [];
  for (const [label, pattern] of markers) if (pattern.test(text)) found.push(label);
  return found;
}

// Markers of work a small model does badly. Each family is weighted below; the lists were
// grown from the labelled set in eval/prompts.json (see eval.ts for the measured figures).
const PROOF: readonly Marker[] = [
  ['prove', /\bprove\b|\bproof\b|\bshow that\b|\bby induction\b|\bif and only if\b/i],
  ['derive', /\bderiv(e|ation)\b/i],
  ['theorem', /\btheorem\b|\blemma\b|\bcorollary\b|\baxiom/i],
];
const ADVANCED_MATH: readonly Marker[] = [
  ['calculus', /\bintegra(l|te)\b|\bderivative\b|\bdifferential equation|\blimit of\b|\bpartial derivative|∫|\\int\b|d\/dx|dy\/dx/i],
  ['linear algebra', /\beigen(value|vector)s?\b|\bmatri(x|ces)\b.*\b(rank|inverse|determinant|diagonali[sz])|\bdeterminant\b/i],
  ['probability', /\bprobability (that|of)\b|\bexpected value\b|\bbayes\b|\bvariance\b|\bmarkov\b|\bconditional probability\b/i],
  ['combinatorics', /\bhow many (ways|distinct|different (ways|arrangements))\b|\bcombinatori|\bpermutations? of\b/i],
  ['optimisation', /\bminimi[sz]e\b.*\bsubject to\b|\blinear program|\bconvex\b|\blagrang/i],
  ['equation system', /\bsystem of (linear )?equations\b|\brecurrence (relation)?\b|\bbig-?o\b|\btime complexity\b|\bamortized\b/i],
  ['notation', /\\frac|\\sum|∑|∏|√|\b[a-z]\s*\^\s*[2-9n]\b.*=|\bmod(ulo)? \d+\b/i],
];
const MULTI_STEP: readonly Marker[] = [
  ['step by step', /\bstep[- ]by[- ]step\b|\bwalk me through\b|\bshow (your|all) (work|steps)\b/i],
  ['compare and contrast', /\bcompare and contrast\b|\bcompare\b.*\b(and|with|vs\.?|versus)\b.*\b(in terms of|for|regarding|across)\b/i],
  ['trade-offs', /\btrade-?offs?\b|\bpros and cons\b|\bweigh(ing)? the\b/i],
  ['design a system', /\bdesign (a|an|the)\b.*\b(system|architecture|service|platform|pipeline|schema|protocol|infrastructure|backend)\b|\bsystem design\b|\barchitect(ure)? for\b/i],
  ['analysis', /\banaly[sz]e\b|\banalysis of\b|\bcritique\b|\bcritically\b|\bevaluate\b|\bassess\b|\broot cause\b|\bimplications of\b/i],
  ['planning', /\b(strategy|roadmap|migration plan|business plan|go-to-market)\b|\bplan (for|out|to)\b/i],
  ['why/what-if', /\bexplain why\b|\bwhat would happen if\b|\bwhy does\b.*\bbut\b|\bjustify\b|\bcounter-?argument/i],
  ['in depth', /\bin (great )?depth\b|\bin detail\b|\bdetailed\b|\bcomprehensive\b|\bthorough(ly)?\b|\brigorous(ly)?\b/i],
];
const HARD_CODE: readonly Marker[] = [
  ['debugging', /\bdebug\b|\bwhy (does|is|do|doesn't|isn't) (this|my|the)\b.*\b(code|function|query|test|program|loop|script|fail|crash|hang|leak|slow|return|work)|\bflaky\b|\bintermittent(ly)?\b/i],
  ['concurrency', /\brace condition|\bdeadlock|\bconcurren(t|cy)\b|\bthread[- ]safe|\block[- ]free|\bmutex|\batomic(s|ally)?\b|\bmemory (leak|model|ordering)/i],
  ['distributed', /\bdistributed\b|\bconsensus\b|\braft\b|\bpaxos\b|\bsharding\b|\breplication\b|\beventual(ly)? consisten|\bexactly[- ]once\b|\bidempoten/i],
  ['performance', /\boptimi[sz]e\b|\bperformance\b|\bprofil(e|ing)\b|\blatency\b|\bthroughput\b|\bbottleneck/i],
  ['refactor', /\brefactor|\bmigrate\b.*\b(from|to)\b|\bdesign pattern|\bclean architecture|\bmonolith/i],
  ['low-level', /\bsegfault|\bundefined behavio|\bpointer aliasing|\bborrow checker|\blifetimes?\b.*\brust\b|\bcompiler\b.*\b(bug|error)|\bkernel\b|\bsimd\b|\bgarbage collect/i],
  ['implementation', /\bimplement (a|an)\b.*\b(parser|interpreter|compiler|allocator|scheduler|cache|tree|graph|engine|protocol|database|b-?tree|trie|heap|lru|rate limiter|queue)\b/i],
  ['security', /\bvulnerabilit|\bsql injection\b|\bxss\b|\bcsrf\b|\bthreat model|\bcryptograph/i],
];
const LOGIC: readonly Marker[] = [
  ['logic puzzle', /\bpuzzle\b|\bknights? and knaves\b|\bwhich of the following must be true\b|\b(liar|truth-teller)s?\b|\bsyllogism\b/i],
];
const CONSTRAINTS: readonly Marker[] = [
  ['must/without', /\bwithout using\b|\bmust (not )?(be|handle|run|support|use)\b|\bshould handle\b|\bedge cases\b/i],
  ['complexity bound', /\bin O\(|\bO\(n|\bconstant (space|memory)\b|\bat most \d+ (ms|bytes|queries|passes)/i],
  ['production', /\bproduction[- ](ready|grade)\b|\bscal(able|ability|e to)\b|\bhigh[- ]availability\b|\bfault[- ]tolerant\b/i],
];

// Markers of work a small model does well.
const SIMPLE_TASK: readonly Marker[] = [
  ['translate', /^\s*(please\s+)?translate\b|\btranslate (this|that|the following|it)\b|\bhow do you say\b|\bin (french|spanish|german|italian|japanese|chinese|portuguese)\??\s*$/i],
  ['rewrite', /\b(rephrase|paraphrase|reword|rewrite|shorten|proofread|simplify)\b|\bfix (the )?(grammar|spelling|typos?)\b|\bmake (it|this) (more )?(formal|casual|polite|concise|shorter|friendlier)\b/i],
  ['summarize', /^\s*(please\s+)?(summari[sz]e|tl;?dr)\b|\bsummari[sz]e (this|the following|it)\b/i],
  ['list', /^\s*(list|name|give me) (\d+|a few|some|three|five|ten)\b/i],
  ['convert', /^\s*convert\b|\bhow many \w+ (in|are in) (a|an|one)\b/i],
  ['define', /^\s*(define|what does \S+ mean|what is the meaning of|synonyms? for|antonyms? (for|of))\b/i],
  ['format', /\b(format|sort|alphabeti[sz]e|capitali[sz]e)\b.*\b(list|these|this)\b/i],
];
const BRIEF = /\bbriefly\b|\bin one (sentence|line|word)\b|\bin a few words\b|\bshort answer\b|\bquick question\b|\bone-liner\b|\beli5\b|\bkeep it short\b/i;
const CHIT_CHAT = /^\s*(hi|hello|hey|thanks|thank you|good (morning|night|evening)|how are you|what's up)\b[\s\S]{0,40}$/i;
const ARITHMETIC = /^\s*(what('s| is)\s+)?[\d\s.,+\-*/×÷()^%x]+(\s*of\s*[\d.,]+)?\s*[=?]?\s*$/i;
const FACTOID_OPENER = /^\s*(who|what|when|where|which|how (many|much|far|long|old|tall|big|deep|fast|hot|cold)|is|are|was|were|does|did|can|define|name|tell me)\b/i;

// Category evidence.
const TIME_SENSITIVE_STRONG: readonly Marker[] = [
  ['today/tonight', /\b(today|tonight|tomorrow|yesterday)('s)?\b/i],
  ['this period', /\bthis (week|weekend|month|morning|afternoon|evening|season|quarter)\b/i],
  ['right now', /\bright now\b|\bat the moment\b|\bas of (now|today)\b|\bcurrently\b|\bwhat time is it\b|\bup to date\b/i],
  ['latest', /\blatest\b|\bmost recent\b|\bbreaking\b|\bjust (announced|released)\b|\btrending\b/i],
  ['current state', /\bcurrent (price|weather|time|events?|news|president|prime minister|ceo|ranking|standings|rate|status|version|leader|champion|score|temperature|exchange|interest|mortgage)\b/i],
  ['prices/markets', /\b(stock|share|bitcoin|btc|eth|crypto|gas|oil|gold) price\b|\bprice of (bitcoin|gold|oil|\w+ stock)\b|\bexchange rate\b|\bmarket (cap|today)\b|\btrading at\b/i],
  ['weather', /\bweather\b|\bforecast\b|\bwill it (rain|snow)\b/i],
  ['news/scores', /\bnews\b|\bheadlines?\b|\blive score\b|\bwho won (the|last)\b|\b(election|match|game) results?\b|\bscore of the\b/i],
  ['open now', /\b(open|closed) now\b|\bnow\?\s*$|\bstill (alive|open|available|in stock)\b|\bupcoming\b|\bnext (game|match|launch|release)\b/i],
];
const CODE_TERMS: readonly Marker[] = [
  ['language', /\b(python|javascript|typescript|java|c\+\+|c#|golang|rust|ruby|php|kotlin|swift|scala|haskell|elixir|perl|bash|powershell|sql|postgres(ql)?|mysql|sqlite|html|css|react|vue|angular|node\.?js|django|flask|fastapi|spring|numpy|pandas|pytorch|tensorflow)\b/i],
  ['code noun', /\b(function|method|class|variable|array|dictionary|hashmap|regex|regular expression|string|integer|loop|recursion|api|endpoint|json|yaml|dockerfile|docker|kubernetes|git|npm|pip|compiler|linked list|binary tree|stack trace|unit tests?|script|query|database schema|algorithm|bug|exception|async|promise)s?\b/i],
  ['code verb', /\b(write|implement|code|debug|fix|refactor|compile|deploy)\b.*\b(function|script|program|class|method|query|regex|code|test|endpoint|api|component|bug|loop|algorithm|parser|cli)\b/i],
];
const REASONING_TERMS: readonly Marker[] = [
  ['calculate', /\b(calculate|compute|solve|estimate|how much (would|will|does)|what is \d|percent(age)?|\d+\s*%|\binterest\b.*\brate\b)\b/i],
  ['argue', /\b(argue|reason|logic(al)?|deduce|infer|hypothes[ie]s|paradox|dilemma|why would)\b/i],
];
const CREATIVE_TERMS: readonly Marker[] = [
  ['verse', /\b(poem|poetry|haiku|limerick|sonnet|verse|rhym(e|ing)|lyrics|song|rap|ballad|ode)\b/i],
  ['story', /\b(short story|story|fairy tale|fable|bedtime story|fiction|flash fiction|novel|screenplay|scene|dialogue between|monologue|plot|character|villain|worldbuilding|fan ?fic)\b/i],
  ['copy', /\b(slogan|tagline|catchphrase|jingle|ad copy|pun|joke|riddle|toast|wedding speech|birthday (message|wish)|greeting card|love letter)\b/i],
  ['ideas', /\b(brainstorm|come up with|invent|imagine|creative|whimsical|names? for (my|a|an|our))\b/i],
];
const FACTUAL_TERMS: readonly Marker[] = [
  ['fact lookup', /\b(capital of|population of|who (wrote|invented|discovered|painted|founded|was|is the author)|when (was|did|were)|where (is|was|are|do)|how (many|tall|far|old|long|deep|big)|what year|boiling point|melting point|speed of|distance (from|between)|chemical (formula|symbol)|atomic number|largest|smallest|tallest|longest|first person to|stand for|definition of|meaning of)\b/i],
  ['explain concept', /^\s*(what (is|are|was|were)|explain (what|how)|describe (what|how)|how (does|do|did) (a|an|the)?)\b/i],
];

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

  const proof = matches(PROOF, text);
  if (proof.length) add(`proof (${proof.join(', ')})`, 2.0);
  const math = matches(ADVANCED_MATH, text);
  if (math.length) add(`advanced math (${math.join(', ')})`, Math.min(1.4, 0.8 * math.length));
  const steps = matches(MULTI_STEP, text);
  if (steps.length) add(`multi-step (${steps.join(', ')})`, Math.min(1.6, 0.8 * steps.length));
  const hardCode = matches(HARD_CODE, text);
  if (hardCode.length) add(`hard code task (${hardCode.join(', ')})`, Math.min(1.6, 0.8 * hardCode.length));
  const logic = matches(LOGIC, text);
  if (logic.length) add(`logic (${logic.join(', ')})`, 1.0);
  const constraints = matches(CONSTRAINTS, text);
  if (constraints.length) add(`constraints (${constraints.join(', ')})`, Math.min(0.6, 0.3 * constraints.length));
  if (f.stackTrace) add('stack trace / error output', 0.8);
  const codeLines = f.fencedCodeLines + f.codeLikeLines;
  if (codeLines >= 40) add(`code: ${codeLines} lines`, 0.7);
  else if (codeLines >= 15) add(`code: ${codeLines} lines`, 0.3);
  if (f.listItems >= 3) add(`multi-part: ${f.listItems} listed items`, f.listItems >= 6 ? 0.6 : 0.4);
  else if (f.questions >= 3) add(`multi-part: ${f.questions} questions`, 0.4);
  if (f.textTokens > 1500) add(`length: ${f.textTokens} tokens in latest message`, 0.6);
  else if (f.textTokens > 500) add(`length: ${f.textTokens} tokens in latest message`, 0.3);
  if (f.totalTokens > 8000) add(`context: ${f.totalTokens} tokens in conversation`, 0.4);
  if (f.userTurns >= 20) add(`depth: ${f.userTurns} user turns`, 0.4);
  else if (f.userTurns >= 8) add(`depth: ${f.userTurns} user turns`, 0.2);

  // Simplicity markers pull the score down; they never cancel a proof on their own (−1.5 at most).
  let simple = 0;
  const simpleFired: string[] = [];
  if (f.textTokens <= 25) {
    simple += 0.4;
    simpleFired.push(`short: ${f.textTokens} tokens`);
  }
  const task = matches(SIMPLE_TASK, text);
  if (task.length) {
    simple += 0.5;
    simpleFired.push(`simple task (${task.join(', ')})`);
  }
  if (FACTOID_OPENER.test(text) && f.textTokens <= 60) {
    simple += 0.3;
    simpleFired.push('factoid question');
  }
  if (BRIEF.test(text)) {
    simple += 0.3;
    simpleFired.push('asks for brevity');
  }
  if (CHIT_CHAT.test(text)) {
    simple += 0.6;
    simpleFired.push('chit-chat');
  }
  if (ARITHMETIC.test(text) && /\d/.test(text)) {
    simple += 0.6;
    simpleFired.push('plain arithmetic');
  }
  if (simple) add(simpleFired.join(', '), -Math.min(1.5, simple));

  const points = fired.reduce((sum, r) => sum + r.points, 0);
  return { points: Math.round(points * 100) / 100, fired };
}

/** Category evidence: points per category and why. */
function scoreCategories(f: PromptFeatures): { category: CategoryName; evidence: string[] } {
  const text = f.text;
  const scores: Record<CategoryName, number> = { time_sensitive: 0, code: 0, reasoning: 0, creative: 0, factual: 0, general: 1 };
  const evidence: Record<CategoryName, string[]> = { time_sensitive: [], code: [], reasoning: [], creative: [], factual: [], general: ['default'] };
  const add = (category: CategoryName, points: number, why: string) => {
    scores[category] += points;
    evidence[category].push(why);
  };

  for (const label of matches(TIME_SENSITIVE_STRONG, text)) add('time_sensitive', 2.5, label);

  if (f.fencedCodeLines > 0) add('code', 3, 'fenced code');
  if (f.codeLikeLines >= 2) add('code', 2, 'source lines');
  if (f.stackTrace) add('code', 3, 'stack trace');
  for (const label of matches(CODE_TERMS, text)) add('code', label === 'code verb' ? 2 : 1, label);
  for (const label of matches(HARD_CODE, text)) add('code', 0.5, label);

  for (const label of matches(PROOF, text)) add('reasoning', 3, label);
  for (const label of matches(ADVANCED_MATH, text)) add('reasoning', 2, label);
  for (const label of matches(LOGIC, text)) add('reasoning', 3, label);
  for (const label of matches(MULTI_STEP, text)) add('reasoning', 1.2, label);
  for (const label of matches(REASONING_TERMS, text)) add('reasoning', 1.2, label);
  if (ARITHMETIC.test(text) && /\d/.test(text)) add('reasoning', 2, 'arithmetic');

  for (const label of matches(CREATIVE_TERMS, text)) add('creative', label === 'ideas' ? 1.2 : 2.5, label);

  for (const label of matches(FACTUAL_TERMS, text)) add('factual', 1.5, label);
  if (FACTOID_OPENER.test(text) && f.textTokens <= 40) add('factual', 0.6, 'short question');
  if (CHIT_CHAT.test(text)) add('general', 2, 'chit-chat');
  for (const label of matches(SIMPLE_TASK, text)) add('general', 1, label);

  // Ties go to the category whose cache policy is safest: time-sensitive answers are never
  // cached, so a tie must not turn a "latest price" question into a cached factual one.
  const order: CategoryName[] = ['time_sensitive', 'code', 'reasoning', 'creative', 'factual', 'general'];
  let best: CategoryName = 'general';
  for (const c of order) if (scores[c] > scores[best] || (scores[c] === scores[best] && order.indexOf(c) < order.indexOf(best))) best = c;
  return { category: best, evidence: evidence[best] };
}

/** The category of a request by the rules (also used for pinned requests, which skip tiering). */
export function detectCategory(request: RoutingInput['request']): CategoryName {
  return scoreCategories(extractFeatures(request)).category;
}

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
  if (typeof largeAt !== 'number' || !Number.isFinite(largeAt)) {
    throw new InvalidRoutingOptionsError(`Expected \`largeAt\` to be a finite number, got \`${String(largeAt)}\``);
  }
  return {
    name: 'rules',
    decide({ request }: RoutingInput): RouteDecision {
      const features = extractFeatures(request);
      const { points, fired } = scoreComplexity(features);
      const { category, evidence } = scoreCategories(features);
      const tier = points >= largeAt ? 'large' : 'small';
      const reasons = fired.map((r) => `${r.label} (${r.points > 0 ? '+' : ''}${r.points.toFixed(1)})`);
      if (!fired.length) reasons.push('no complexity markers');
      reasons.push(`complexity ${points.toFixed(2)} ${tier === 'large' ? '≥' : '<'} ${largeAt} → ${tier}`);
      reasons.push(`category ${category}: ${evidence.join(', ')}`);
      return { tier, category, confidence: marginConfidence(points - largeAt), reasons, strategy: 'rules' };
    },
  };
}
