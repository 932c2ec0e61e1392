import { Type, type Static } from '@sinclair/typebox';

import type { Category, Tier } from '@sluice/config';

/** Tier names as used in queues: `@sluice/config`'s `Tier`. */
export type TierName = Tier;
/** Categories: `@sluice/config`'s `Category`. */
export type CategoryName = Category;

const ContentPart = Type.Object(
  {
    type: Type.String({ minLength: 1, maxLength: 64 }),
    text: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);

/** One chat message as OpenAI accepts it. Content may be text or an array of parts. */
export const ChatMessageSchema = Type.Object(
  {
    role: Type.Union([
      Type.Literal('system'),
      Type.Literal('developer'),
      Type.Literal('user'),
      Type.Literal('assistant'),
      Type.Literal('tool'),
    ]),
    content: Type.Optional(Type.Union([Type.String(), Type.Array(ContentPart, { maxItems: 256 }), Type.Null()])),
    name: Type.Optional(Type.String({ maxLength: 256 })),
    tool_calls: Type.Optional(Type.Array(Type.Unknown(), { maxItems: 128 })),
    tool_call_id: Type.Optional(Type.String({ maxLength: 256 })),
  },
  { additionalProperties: true },
);
/** A chat message. */
export type ChatMessage = Static<typeof ChatMessageSchema>;

/**
 * The OpenAI chat-completions request body Sluice accepts. Field limits name the field in
 * the 400 message. Unknown fields are kept and passed upstream (forward compatibility), but
 * every field that changes the output is part of the cache scope.
 */
export const ChatRequestSchema = Type.Object(
  {
    model: Type.String({ minLength: 1, maxLength: 256 }),
    messages: Type.Array(ChatMessageSchema, { minItems: 1 }),
    stream: Type.Optional(Type.Boolean()),
    stream_options: Type.Optional(
      Type.Union([
        Type.Object({ include_usage: Type.Optional(Type.Boolean()) }, { additionalProperties: true }),
        Type.Null(),
      ]),
    ),
    temperature: Type.Optional(Type.Union([Type.Number({ minimum: 0, maximum: 2 }), Type.Null()])),
    top_p: Type.Optional(Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()])),
    max_tokens: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 1_000_000 }), Type.Null()])),
    max_completion_tokens: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 1_000_000 }), Type.Null()])),
    n: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 128 }), Type.Null()])),
    seed: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
    stop: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String(), { maxItems: 4 }), Type.Null()])),
    frequency_penalty: Type.Optional(Type.Union([Type.Number({ minimum: -2, maximum: 2 }), Type.Null()])),
    presence_penalty: Type.Optional(Type.Union([Type.Number({ minimum: -2, maximum: 2 }), Type.Null()])),
    logprobs: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
    top_logprobs: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 20 }), Type.Null()])),
    logit_bias: Type.Optional(
      Type.Union([Type.Record(Type.String(), Type.Number({ minimum: -100, maximum: 100 })), Type.Null()]),
    ),
    parallel_tool_calls: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
    metadata: Type.Optional(
      Type.Union([
        Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 512 }), { maxProperties: 16 }),
        Type.Null(),
      ]),
    ),
    store: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
    // Shapes checked by `checkChatRequest`, whose messages name the field as OpenAI does.
    tools: Type.Optional(Type.Unknown()),
    tool_choice: Type.Optional(Type.Unknown()),
    response_format: Type.Optional(Type.Unknown()),
    user: Type.Optional(Type.String({ maxLength: 256 })),
    conversation_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:-]+$' })),
  },
  { additionalProperties: true },
);
/** A chat-completions request body. */
export type ChatRequest = Static<typeof ChatRequestSchema>;

/** How the client asked the cache to behave (`Cache-Control`). */
export type CacheMode = 'default' | 'no-cache' | 'no-store';

/** The routing decision (what `POST /v1/route` shows). */
export interface RouteDecision {
  tier: TierName;
  category: CategoryName;
  /** 0..1 */
  confidence: number;
  reasons: string[];
  /** Which strategy decided (`rules`, `pinned`, …). */
  strategy: string;
  /** Answer on the small tier first and escalate to large when the quality gate fails. */
  cascade?: boolean;
}

/** One billed upstream call of a job (a cascade makes two; an LLM routing decision one more). */
export interface BilledCall {
  /** What the call was for. */
  purpose: 'answer' | 'cascade-small' | 'routing';
  tier: TierName;
  model: string;
  /** `cache` when the cache answered (priced at zero). */
  deploymentId: string;
  promptTokens: number;
  completionTokens: number;
  /** Of `promptTokens`, those the provider's prompt cache served (priced at the cached rate). */
  cachedTokens?: number;
  /** Answered through the provider's batch API (priced at the batch rate). */
  batch?: boolean;
  costUsd: number;
}

/** The context the classifier built for a long or stored conversation (sent instead of `request.messages`). */
export interface JobContext {
  /** Messages to send upstream (pruned history, summary, constraint buffer). */
  messages: ChatMessage[];
  mode: 'full' | 'summary' | 'window' | 'summary+window';
  /** Prompt tokens of the full history, and of `messages`. */
  fullTokens: number;
  tokens: number;
  /** Set when Sluice keeps the conversation (`conversation_id`): the reply is appended to it. */
  conversationId?: string;
}

/** A background job that extends a conversation's rolling summary on the router tier. */
export interface SummaryTask {
  conversation: { tenant: string; id: string };
  /** Absolute message range `[from, to)` folded into the summary. */
  from: number;
  to: number;
  previousSummary?: string;
  coverHash: string;
}

/** BullMQ job name of a summary job on the `router` tier queue (its data carries `summary`). */
export const SUMMARY_JOB_NAME = 'summary';

/** Payload of a completion job; the same object travels `route` → tier queue. */
export interface CompletionJobData {
  /** Sluice job id (nanoid), also the BullMQ job id in every queue. */
  id: string;
  tenant: string;
  /** ms since epoch when the API accepted it. */
  acceptedAt: number;
  request: ChatRequest;
  stream: boolean;
  priority: number;
  cacheMode: CacheMode;
  /** A pinned tier (from `model` or `x-sluice-tier`) skips the routing decision. */
  pinnedTier?: TierName;
  /** A pinned upstream model name (must be configured). */
  pinnedModel?: string;
  /** The tenant's cache-sharing group (tenants in one group share cache entries). */
  shareGroup?: string;
  /** The request's cost–quality setting for the learned router (`x-sluice-quality`, 0..1); absent: the configured one. */
  routingQuality?: number;
  /** Filled in by the classifier. */
  route?: RouteDecision;
  /**
   * One embedding per job, computed once (API fast path or classifier) and reused by the
   * router and the cache: base64 of its float32s ({@link encodeEmbedding}; read it with
   * `decodeEmbedding`, which also takes the number array older processes wrote).
   */
  embedding?: string | number[];
  /**
   * The API's cache fast path looked this request up, both levels, in these tiers' scopes with
   * this category's bounds, at `at` (ms), and found nothing: an executor starting soon after
   * need not search the semantic level again (it still reads the exact one).
   */
  cacheLooked?: { at: number; category: CategoryName; tiers: TierName[] };
  /**
   * Tokens of the last user message's text as the API counted them (its tokenizer named):
   * the classifier and the executor remember the count instead of running the tokenizer on
   * the same text again. Absent: each counts for itself.
   */
  promptTextTokens?: { encoding: 'o200k_base' | 'cl100k_base'; count: number };
  /** The pruned context of a long or stored conversation (classifier); absent: send `request.messages`. */
  context?: JobContext;
  /** Upstream calls the routing decision itself made (LLM router), costed with the job. */
  routingCalls?: BilledCall[];
  /** Set on summary jobs (job name {@link SUMMARY_JOB_NAME}): `request` is the summary prompt. */
  summary?: SummaryTask;
  /**
   * A deferrable job's deadline (ms since the epoch): it may be answered through a provider's
   * batch API any time before it. Absent: answered as soon as it can be.
   */
  deadline?: number;
}

/** Usage and cost of a finished job. */
export interface JobUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** What the provider's prompt cache served of the prompt (OpenAI's `cached_tokens`). */
  prompt_tokens_details?: {
    cached_tokens?: number;
    /** Prompt tokens written to the provider's prompt cache (Anthropic's cache creation). */
    cache_write_tokens?: number;
  };
}

/** The final, durable result of a completion job (also the BullMQ return value). */
export interface CompletionJobResult {
  /** The OpenAI `chat.completion` object. */
  completion: Record<string, unknown> & { usage?: JobUsage };
  tier: TierName;
  model: string;
  deploymentId: string;
  cache: 'hit' | 'miss' | 'bypass';
  cacheKind?: 'exact' | 'semantic';
  cacheSimilarity?: number;
  costUsd: number;
  /** Which attempt produced it (1-based). */
  attempt: number;
  /** Every billed call behind `costUsd` (absent on an API fast-path hit: nothing was called). */
  calls?: BilledCall[];
  /** Set when the job ran the cascade: whether the small answer failed the quality gate, and why. */
  cascade?: { escalated: boolean; check: string; reason: string };
  /** What the job would have cost on the large tier with the full context and no cache. */
  counterfactual?: { promptTokens: number; completionTokens: number; cachedTokens?: number; costUsd: number };
  /** How the context was pruned (long or stored conversations). */
  context?: { mode: JobContext['mode']; fullTokens: number; tokens: number };
}
