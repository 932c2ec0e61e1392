/**
 * The parts of OpenAI's chat-completion request and response that the simulator reads or
 * writes. Request shapes are what the route schema has already validated.
 */

/** One entry of `messages`. */
export interface ChatMessage {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool' | 'function';
  content?: string | ChatContentPart[] | null;
  name?: string;
  tool_calls?: unknown[];
  tool_call_id?: string;
}

/** One part of an array `content` (`text`, `image_url`, …). */
export interface ChatContentPart {
  type: string;
  text?: string;
  [key: string]: unknown;
}

/** One entry of `tools`. */
export interface ChatTool {
  type: 'function';
  function: { name: string; description?: string; parameters?: unknown };
}

/** `tool_choice`: a mode or one named function. */
export type ChatToolChoice = 'none' | 'auto' | 'required' | { type: 'function'; function: { name: string } };

/** `response_format`. */
export type ChatResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; json_schema: { name: string; schema?: unknown; strict?: boolean | null } };

/** The `POST /v1/chat/completions` body fields the simulator reads. */
export interface ChatCompletionRequest {
  model: string;
  messages: ChatMessage[];
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  n?: number | null;
  tools?: ChatTool[];
  tool_choice?: ChatToolChoice;
  response_format?: ChatResponseFormat;
}

/** `finish_reason` values the simulator produces. */
export type FinishReason = 'stop' | 'length' | 'tool_calls';

/** A tool call in an assistant message. */
export interface ChatToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** `usage` of a completion. */
export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
  completion_tokens_details: { reasoning_tokens: number };
}

/** The `POST /v1/embeddings` body. */
export interface EmbeddingRequest {
  model: string;
  input: string | string[] | number[] | number[][];
  encoding_format?: 'float' | 'base64';
  dimensions?: number;
}
