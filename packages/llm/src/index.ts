export { countTokens, countChatTokens, encodingForModel, messageText } from './tokens.ts';
export type { Encoding, CountableMessage } from './tokens.ts';
