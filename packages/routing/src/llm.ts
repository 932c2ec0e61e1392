import type { CategoryName, ChatMessage, RouteDecision } from '@sluice/queues';
import { InvalidRoutingOptionsError, StrategyFailedError } from './errors.ts';
import { extractFeatures } from './features.ts';
import { rulesStrategy, type RoutingInput, type RoutingStrategy, type RulesStrategy } from './rules.ts';

/**
 * Calls the `router` tier's model with chat messages and resolves to the reply text. It
 * should stop work when `signal` aborts; the strategy stops waiting at `timeoutMs` either way.
 */
export type CompleteFunction = (
  messages: ChatMessage[],
  options: { timeoutMs: number; signal: AbortSignal },
) => Promise<string>;

/** Options for {@link llmStrategy}. */
export interface LlmStrategyOptions {
  /** Calls the router tier. */
  complete: CompleteFunction;
  /** How long the router model may take before the rules decide instead. @defaultValue 2_000 */
  timeoutMs?: number;
  /** What decides when the model is slow, fails or answers badly. @defaultValue `rulesStrategy()` */
  fallback?: RulesStrategy;
  /** Longest prompt excerpt shown to the router model, in characters (head and tail kept). @defaultValue 6_000 */
  maxPromptChars?: number;
  /** Called when the model fails and the fallback decides; for logs and metrics. */
  onFallback?: (error: StrategyFailedError) => void;
}

const CATEGORIES: readonly CategoryName[] = ['time_sensitive', 'factual', 'general', 'creative', 'code', 'reasoning'];

/** The router model's instructions. Kept short: every routed request pays for them. */
export const LLM_ROUTER_PROMPT = `You route requests for an LLM gateway to the cheapest model that can answer them well.
Choose "large" for complex work: multi-step reasoning, proofs or non-trivial math, debugging, designing or reviewing non-trivial software, deep analysis or comparison, long or multi-part tasks, long creative writing with strict constraints.
Choose "small" for simple work: factual lookups, short explanations, rewriting, translation, summaries, simple code snippets or syntax questions, simple arithmetic, short creative pieces, chit-chat.
When unsure, choose "large".
Category: "time_sensitive" (depends on today's date, news, prices, weather, scores), "factual", "general", "creative", "code" or "reasoning".
Reply with only a JSON object: {"tier":"small"|"large","category":"...","confidence":0.0-1.0,"reason":"at most 12 words"}`;

function excerpt(text: string, max: number): string {
  if (text.length <= max) return text;
  const half = Math.floor(max / 2);
  return `${text.slice(0, half)}\n[… ${text.length - max} characters omitted …]\n${text.slice(-half)}`;
}

/** Parse the router model's reply; throws a message naming what is wrong. */
export function parseRouterReply(reply: string): {
  tier: 'small' | 'large';
  category?: CategoryName;
  confidence?: number;
  reason?: string;
} {
  const start = reply.indexOf('{');
  const end = reply.lastIndexOf('}');
  if (start < 0 || end <= start) throw new Error('no JSON object in the reply');
  let value: unknown;
  try {
    value = JSON.parse(reply.slice(start, end + 1));
  } catch {
    throw new Error('the reply is not valid JSON');
  }
  if (typeof value !== 'object' || value === null) throw new Error('the reply is not a JSON object');
  const v = value as Record<string, unknown>;
  const tier = typeof v.tier === 'string' ? v.tier.toLowerCase() : '';
  if (tier !== 'small' && tier !== 'large')
    throw new Error(`\`tier\` must be "small" or "large", got ${JSON.stringify(v.tier)}`);
  const category =
    typeof v.category === 'string' && CATEGORIES.includes(v.category as CategoryName)
      ? (v.category as CategoryName)
      : undefined;
  const confidence =
    typeof v.confidence === 'number' && v.confidence >= 0 && v.confidence <= 1 ? v.confidence : undefined;
  const reason = typeof v.reason === 'string' ? v.reason.slice(0, 200) : undefined;
  return { tier, category, confidence, reason };
}

/**
 * The LLM router: the `router` tier's model is asked for a JSON decision. When it is slower
 * than `timeoutMs`, fails, or answers with anything but a valid decision, the rules decide
 * (`strategy: 'llm→rules'`, the failure in the reasons), so a request is never held up or
 * failed by the router model.
 */
export function llmStrategy(options: LlmStrategyOptions): RoutingStrategy {
  const { complete, onFallback } = options;
  const timeoutMs = options.timeoutMs ?? 2_000;
  const maxPromptChars = options.maxPromptChars ?? 6_000;
  const fallback = options.fallback ?? rulesStrategy();
  if (typeof complete !== 'function') throw new InvalidRoutingOptionsError('Expected `complete` to be a function');
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1)
    throw new InvalidRoutingOptionsError(`Expected \`timeoutMs\` to be an integer ≥ 1, got \`${String(timeoutMs)}\``);

  async function ask(input: RoutingInput): Promise<RouteDecision> {
    const features = extractFeatures(input.request);
    const messages: ChatMessage[] = [
      { role: 'system', content: LLM_ROUTER_PROMPT },
      {
        role: 'user',
        content: `Conversation: ${features.userTurns} user turn(s), ${features.totalTokens} tokens.\nLatest request:\n<<<\n${excerpt(features.text, maxPromptChars)}\n>>>`,
      },
    ];
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new StrategyFailedError('llm', `no answer within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    const call = complete(messages, { timeoutMs, signal: controller.signal });
    call.catch(() => undefined); // a late rejection after the timeout must not go unhandled
    let reply: string;
    try {
      reply = await Promise.race([call, timeout]);
    } catch (error) {
      if (error instanceof StrategyFailedError) throw error;
      throw new StrategyFailedError(
        'llm',
        `the router model failed: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    } finally {
      clearTimeout(timer);
    }
    let parsed: ReturnType<typeof parseRouterReply>;
    try {
      parsed = parseRouterReply(String(reply));
    } catch (error) {
      throw new StrategyFailedError('llm', `bad answer: ${(error as Error).message}`, { cause: error });
    }
    const rulesCategory = parsed.category ? undefined : fallback.decide(input).category;
    return {
      tier: parsed.tier,
      category: parsed.category ?? rulesCategory ?? 'general',
      // A model that states no confidence is taken at 0.75: above the router's default
      // threshold, since it was asked precisely because the cheaper strategies were unsure.
      confidence: parsed.confidence ?? 0.75,
      reasons: [
        `router model: ${parsed.tier}${parsed.reason ? ` (${parsed.reason})` : ''}`,
        ...(parsed.category ? [] : ['category from rules (model gave none)']),
      ],
      strategy: 'llm',
    };
  }

  return {
    name: 'llm',
    async decide(input) {
      try {
        return await ask(input);
      } catch (error) {
        const failure =
          error instanceof StrategyFailedError
            ? error
            : new StrategyFailedError('llm', String(error), { cause: error });
        onFallback?.(failure);
        const decision = fallback.decide(input);
        return {
          ...decision,
          reasons: [`${failure.message} → rules fallback`, ...decision.reasons],
          strategy: 'llm→rules',
        };
      }
    },
  };
}
