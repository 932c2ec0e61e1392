/**
 * Turn a finished `chat.completion` into OpenAI `chat.completion.chunk` objects: a role chunk,
 * content in pieces of a few words, a final chunk with `finish_reason`, and (if asked) a usage
 * chunk with empty `choices`. Used to answer a `stream: true` request whose answer was not
 * streamed live (a cache hit, or a job that finished before the client attached).
 */
export function completionToChunks(completion: Record<string, any>, options: { includeUsage: boolean; wordsPerChunk?: number }): Record<string, unknown>[] {
  const base = { id: completion.id, object: 'chat.completion.chunk', created: completion.created, model: completion.model };
  const choice = completion.choices?.[0] ?? {};
  const message = choice.message ?? {};
  const chunks: Record<string, unknown>[] = [{ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null, logprobs: null }] }];
  const content: string = typeof message.content === 'string' ? message.content : '';
  const pieces = content.match(new RegExp(`(?:\\S+\\s*){1,${options.wordsPerChunk ?? 4}}|\\s+`, 'g')) ?? [];
  for (const piece of pieces) chunks.push({ ...base, choices: [{ index: 0, delta: { content: piece }, finish_reason: null, logprobs: null }] });
  if (Array.isArray(message.tool_calls)) {
    chunks.push({ ...base, choices: [{ index: 0, delta: { tool_calls: message.tool_calls.map((tc: object, index: number) => ({ index, ...tc })) }, finish_reason: null, logprobs: null }] });
  }
  chunks.push({ ...base, choices: [{ index: 0, delta: {}, finish_reason: choice.finish_reason ?? 'stop', logprobs: null }] });
  if (options.includeUsage && completion.usage) chunks.push({ ...base, choices: [], usage: completion.usage });
  return chunks;
}
