import type { ChatMessage } from '@sluice/queues';
import { lossySummary, type GeneratedConversation } from './conversations.ts';
import type { ContextManager, PreparedContext, SummaryJob } from './manager.ts';

/** Options for {@link simulateConversation}. */
export interface SimulateOptions {
  /** Built with a `requestSummary` that pushes into `jobs`. */
  manager: ContextManager;
  /** The queue `requestSummary` pushes into; the simulated router-tier worker drains it. */
  jobs: SummaryJob[];
  conversation: GeneratedConversation;
  tenant: string;
  /** `client`: the client resends the whole history; `stored`: Sluice keeps it under `conversation_id`. */
  mode: 'client' | 'stored';
  /** Requests a summary job waits before the worker finishes it; `never` models a router tier that is down. */
  summaryLag: number | 'never';
}

/** One request of a simulated conversation. */
export interface TurnFigures {
  turn: number;
  fullTokens: number;
  sentTokens: number;
  mode: PreparedContext['mode'];
}

/**
 * Play a generated conversation turn by turn through a context manager, with a summary worker
 * that answers with {@link lossySummary} after `summaryLag` requests. Returns the figures of
 * every request and the context built for the last one.
 */
export async function simulateConversation(
  options: SimulateOptions,
): Promise<{ turns: TurnFigures[]; last: PreparedContext; completedJobs: SummaryJob[] }> {
  const { manager, jobs, conversation, tenant, mode, summaryLag } = options;
  const turns: TurnFigures[] = [];
  const waiting: { job: SummaryJob; readyAt: number }[] = [];
  const completedJobs: SummaryJob[] = [];
  const conversationId = `sim-${Math.random().toString(36).slice(2)}`;
  let last: PreparedContext | undefined;
  const userTurns = conversation.messages.filter((m) => m.role === 'user').length;
  for (let t = 1; t <= userTurns; t++) {
    const upTo = 2 * t - 1; // messages through user turn t
    const prepared =
      mode === 'client'
        ? await manager.prepare({ tenant, messages: conversation.messages.slice(0, upTo) })
        : await manager.prepare({ tenant, conversationId, messages: [conversation.messages[upTo - 1]!] });
    last = prepared;
    turns.push({ turn: t, fullTokens: prepared.fullTokens, sentTokens: prepared.tokens, mode: prepared.mode });
    while (jobs.length)
      waiting.push({ job: jobs.shift()!, readyAt: summaryLag === 'never' ? Infinity : t + summaryLag });
    for (const w of [...waiting]) {
      if (w.readyAt > t) continue;
      waiting.splice(waiting.indexOf(w), 1);
      const folded = w.job.prompt.length ? foldedMessages(conversation.messages, w.job, mode) : [];
      await manager.completeSummary(w.job, lossySummary(w.job.previousSummary, folded));
      completedJobs.push(w.job);
    }
    const reply = conversation.messages[upTo];
    if (mode === 'stored' && reply) await manager.recordReply(prepared.conversation, reply);
  }
  return { turns, last: last!, completedJobs };
}

function foldedMessages(messages: readonly ChatMessage[], job: SummaryJob, _mode: 'client' | 'stored'): ChatMessage[] {
  // Both modes index the same conversation from 0 (no system message in generated ones).
  return messages.slice(job.from, job.to);
}
