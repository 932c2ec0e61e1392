import { createHash } from 'node:crypto';
import { messageText } from '@sluice/llm';
import type { ChatMessage } from '@sluice/queues';
import { InvalidRoutingOptionsError } from '../errors.ts';
import { buildContext, coverHash, type BuiltContext } from './build.ts';
import type { ContextStore, ConversationRef } from './store.ts';
import { summaryPrompt } from './summary.ts';

/** A request to extend a conversation's rolling summary, for the `router` tier. */
export interface SummaryJob {
  conversation: ConversationRef;
  /** Absolute message range `[from, to)` to fold into the summary. */
  from: number;
  to: number;
  /** The summary being extended (covers `[0, from)`). */
  previousSummary?: string;
  /** Fingerprint the resulting summary is stored with (see `coverHash`). */
  coverHash: string;
  /** Messages to send to the router tier; its reply is the new summary. */
  prompt: ChatMessage[];
}

/** Options for {@link createContextManager}. */
export interface ContextManagerOptions {
  store: ContextStore;
  /**
   * Enqueue a summary job (a queued `router`-tier job) whose answer is handed to
   * {@link ContextManager.completeSummary}. Must not wait for the summary: until it is
   * stored, requests are served with the plain window.
   */
  requestSummary: (job: SummaryJob) => Promise<void> | void;
  /** Input tokens a built context may use. @defaultValue 4_096 */
  maxInputTokens?: number;
  /** Messages always sent verbatim. @defaultValue 6 */
  keepLastMessages?: number;
  /** Messages gathered outside the summary before it is extended. @defaultValue 8 */
  summarizeBatch?: number;
  /** Tokenizer family. @defaultValue `'gpt-4o'` */
  model?: string;
  /** How long a summary job may take before another may be requested. @defaultValue 120_000 */
  summaryJobTimeoutMs?: number;
  /** Called when storing state or requesting a summary fails (the request is still served). */
  onError?: (error: unknown) => void;
  /** Clock (ms). @defaultValue `Date.now` */
  now?: () => number;
}

/** One request's input to {@link ContextManager.prepare}. */
export interface PrepareContextInput {
  tenant: string;
  /** Sluice keeps the history under this id: `messages` are only the new ones. */
  conversationId?: string;
  /** The request's messages: the whole history, or with `conversationId` the new turn. */
  messages: readonly ChatMessage[];
  /** Tokenizer family (the tier's model). */
  model?: string;
}

/** A built context and which conversation it belongs to. */
export interface PreparedContext extends BuiltContext {
  conversation: ConversationRef;
  /** A summary job was enqueued by this call. */
  summaryRequested: boolean;
}

/** Builds each request's context and keeps the conversation's summary and constraints. */
export interface ContextManager {
  prepare(input: PrepareContextInput): Promise<PreparedContext>;
  /** Store a finished summary job's answer (ignored if a newer summary is already stored). */
  completeSummary(job: SummaryJob, summary: string): Promise<boolean>;
  /** Append the assistant's reply to a conversation kept under `conversation_id`. */
  recordReply(conversation: ConversationRef, reply: ChatMessage): Promise<void>;
}

const isSystem = (m: ChatMessage) => m.role === 'system' || m.role === 'developer';

/**
 * The id under which a client-sent history's summary and constraints are kept: a hash of its
 * opening (system prompt and first two turns), which stays the same as the client resends
 * the growing history. A summary is only used if it also matches the covered messages.
 */
export function deriveConversationId(messages: readonly ChatMessage[]): string {
  const opening = [...messages.filter(isSystem), ...messages.filter((m) => !isSystem(m)).slice(0, 2)];
  const hash = createHash('sha1');
  for (const m of opening) hash.update(`${m.role}\n${messageText(m.content)}\n`);
  return `h-${hash.digest('hex').slice(0, 32)}`;
}

/** Create a {@link ContextManager}. */
export function createContextManager(options: ContextManagerOptions): ContextManager {
  const { store, requestSummary, onError } = options;
  const maxInputTokens = options.maxInputTokens ?? 4_096;
  const summaryJobTimeoutMs = options.summaryJobTimeoutMs ?? 120_000;
  const now = options.now ?? Date.now;
  if (typeof requestSummary !== 'function')
    throw new InvalidRoutingOptionsError('Expected `requestSummary` to be a function');
  if (!Number.isInteger(maxInputTokens) || maxInputTokens < 1)
    throw new InvalidRoutingOptionsError(
      `Expected \`maxInputTokens\` to be an integer ≥ 1, got \`${String(maxInputTokens)}\``,
    );

  return {
    async prepare(input) {
      const stored = input.conversationId !== undefined;
      const conversation: ConversationRef = {
        tenant: input.tenant,
        id: input.conversationId ?? deriveConversationId(input.messages),
      };
      // A stored conversation keeps its turns; the request's system prompt is sent as is
      // each time rather than stored as a turn.
      const requestSystem = stored ? input.messages.filter(isSystem) : [];
      if (stored)
        await store.append(
          conversation,
          input.messages.filter((m) => !isSystem(m)),
        );
      const state = await store.load(conversation);
      const history = stored ? state.messages : [...input.messages];
      const offset = stored ? state.offset : 0;
      const built = buildContext({
        messages: history,
        system: requestSystem,
        offset,
        summary: state.summary,
        constraints: state.constraints,
        maxInputTokens,
        keepLastMessages: options.keepLastMessages,
        summarizeBatch: options.summarizeBatch,
        model: input.model ?? options.model,
      });

      const background: Promise<unknown>[] = [];
      if (JSON.stringify(built.constraints) !== JSON.stringify(state.constraints))
        background.push(store.saveConstraints(conversation, built.constraints));
      let summaryRequested = false;
      const request = built.summaryRequest;
      if (
        request &&
        (await store
          .claimSummaryJob(conversation, summaryJobTimeoutMs)
          .catch((error: unknown) => (onError?.(error), false)))
      ) {
        const slice = history.slice(request.from - offset, request.to - offset).filter((m) => !isSystem(m));
        // Extend the stored summary only if it is the one the range continues.
        const previousSummary = state.summary?.coversUpTo === request.from ? state.summary.text : undefined;
        const job: SummaryJob = {
          conversation,
          from: request.from,
          to: request.to,
          previousSummary,
          coverHash: coverHash(history, offset, request.to),
          prompt: summaryPrompt(previousSummary, slice),
        };
        summaryRequested = true;
        background.push(Promise.resolve().then(() => requestSummary(job)));
      }
      // Bookkeeping never fails the request: the context is already built.
      for (const result of await Promise.allSettled(background))
        if (result.status === 'rejected') onError?.(result.reason);
      return { ...built, conversation, summaryRequested };
    },
    completeSummary(job, summary) {
      return store.saveSummary(job.conversation, {
        text: summary.trim(),
        coversUpTo: job.to,
        lastCoveredHash: job.coverHash,
        updatedAt: now(),
      });
    },
    async recordReply(conversation, reply) {
      await store.append(conversation, [reply]);
    },
  };
}
