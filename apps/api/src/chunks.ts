/**
 * Turn a finished `chat.completion` into OpenAI `chat.completion.chunk` objects: per choice a
 * role chunk, content in pieces of a few words, its tool calls, a final chunk with
 * `finish_reason`, and (if asked) a usage chunk with empty `choices`. Used to answer a
 * `stream: true` request whose answer was not streamed live (a cache hit, or a job that
 * finished before the client attached).
 */
export function completionToChunks(completion: Record<string, any>, options: { includeUsage: boolean; wordsPerChunk?: number }): Record<string, unknown>[] {
  const base: Record<string, unknown> = { id: completion.id, object: 'chat.completion.chunk', created: completion.created, model: completion.model };
  if (completion.system_fingerprint !== undefined) base.system_fingerprint = completion.system_fingerprint;
  const chunks: Record<string, unknown>[] = [];
  const choices: Record<string, any>[] = completion.choices?.length ? completion.choices : [{}];
  choices.forEach((choice, i) => {
    const index = typeof choice.index === 'number' ? choice.index : i;
    const message = choice.message ?? {};
    const piece = (delta: Record<string, unknown>, finish: string | null = null) => chunks.push({ ...base, choices: [{ index, delta, finish_reason: finish, logprobs: null }] });
    piece({ role: 'assistant', content: '' });
    const content: string = typeof message.content === 'string' ? message.content : '';
    for (const words of content.match(new RegExp(`(?:\\S+\\s*){1,${options.wordsPerChunk ?? 4}}|\\s+`, 'g')) ?? []) piece({ content: words });
    if (typeof message.refusal === 'string' && message.refusal) piece({ refusal: message.refusal });
    if (Array.isArray(message.tool_calls)) piece({ tool_calls: message.tool_calls.map((tc: object, n: number) => ({ index: n, ...tc })) });
    piece({}, choice.finish_reason ?? 'stop');
  });
  if (options.includeUsage && completion.usage) chunks.push({ ...base, choices: [], usage: completion.usage });
  return chunks;
}
