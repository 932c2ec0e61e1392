export {
  countTokens,
  countChatTokens,
  encodingForModel,
  messageText,
  rememberTokenCount,
  tokenCountOf,
} from './tokens.ts';
export type { Encoding, CountableMessage, TokenCount } from './tokens.ts';
export { UpstreamClient, UpstreamError, isUpstreamError, retryAfterMs, costUsd, upstreamBody } from './upstream.ts';
export type { UpstreamCompletion, UpstreamFailureKind, CallOptions, DeploymentPrices } from './upstream.ts';
export { GEN_AI, genAiProvider } from './genai-span.ts';
export { EmbeddingsClient, vectorToBase64, base64ToVector } from './embeddings.ts';
export type { EmbeddingInput, UpstreamEmbeddings } from './embeddings.ts';
export { chatToAnthropic, anthropicToCompletion, anthropicToChatUsage, mapAnthropicHeaders } from './anthropic.ts';
