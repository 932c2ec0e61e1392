import { messageText } from '@sluice/llm';
import type { ChatMessage } from '@sluice/queues';

/** Longest excerpt of one message shown to the summarizer (characters). */
const MAX_MESSAGE_CHARS = 2_000;

/**
 * Messages for the `router` tier to extend a rolling summary with newer messages. The
 * previous summary is updated, never rewritten from the whole history, so each job's cost is
 * bounded by the batch, not by the conversation's length. Hard constraints are deliberately
 * not the summary's job: they travel verbatim in their own buffer.
 */
export function summaryPrompt(previousSummary: string | undefined, messages: readonly ChatMessage[]): ChatMessage[] {
  const transcript = messages
    .map((m) => {
      const text = messageText(m.content);
      return `${m.role}: ${text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS)} […]` : text}`;
    })
    .join('\n\n');
  return [
    {
      role: 'system',
      content:
        'You maintain the running summary of a conversation. An assistant will see only this summary and the latest messages. Update the previous summary with the new messages: keep facts, decisions, numbers, names, open questions and what the user wants; drop pleasantries. At most 250 words. Reply with the updated summary only.',
    },
    {
      role: 'user',
      content: `Previous summary:\n${previousSummary?.trim() || '(none yet)'}\n\nNew messages:\n${transcript}`,
    },
  ];
}
