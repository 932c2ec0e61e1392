import { Type, type Static } from '@sinclair/typebox';

/** Tier names as used in queues (mirrors `@sluice/config`'s `Tier`). */
export type TierName = 'router' | 'small' | 'large';
/** Categories (mirrors `@sluice/config`'s `Category`). */
export type CategoryName = 'time_sensitive' | 'factual' | 'general' | 'creative' | 'code' | 'reasoning';

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
    role: Type.Union([Type.Literal('system'), Type.Literal('developer'), Type.Literal('user'), Type.Literal('assistant'), Type.Literal('tool')]),
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
    stream_options: Type.Optional(Type.Union([Type.Object({ include_usage: Type.Optional(Type.Boolean()) }, { additionalProperties: true }), Type.Null()])),
    temperature: Type.Optional(Type.Union([Type.Number({ minimum: 0, maximum: 2 }), Type.Null()])),
    top_p: Type.Optional(Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()])),
    max_tokens: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 1_000_000 }), Type.Null()])),
    max_completion_tokens: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 1_000_000 }), Type.Null()])),
    n: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 1 }), Type.Null()])),
    seed: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
    stop: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String(), { maxItems: 4 }), Type.Null()])),
    tools: Type.Optional(Type.Array(Type.Unknown(), { maxItems: 128 })),
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
}

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
  /** Filled in by the classifier. */
  route?: RouteDecision;
  /** One embedding per job, computed once by the classifier and reused by the cache. */
  embedding?: number[];
}

/** Usage and cost of a finished job. */
export interface JobUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
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
}
