import type { FastifyInstance } from 'fastify';
import type { Queue } from 'bullmq';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { QUEUE_DESCRIPTIONS } from '@sluice/queues';
import { ApiError, errorBody } from './errors.ts';

/**
 * Queue names carry Redis Cluster hash tags (`{tier-small}`); Bull Board puts the name in its
 * page URLs, where braces get percent-encoded and `/admin/queues/queue/tier-small` found no
 * queue. The board names each queue without them; the queue itself keeps its name.
 */
class SluiceQueueAdapter extends BullMQAdapter {
  override getName(): string {
    return super.getName().replace(/[{}]/g, '');
  }
}

/** Options for {@link registerBullBoard}. */
export interface BullBoardOptions {
  /** Every queue, by name. */
  queues: Readonly<Record<string, Queue>>;
  /** No action at all: retry, remove, promote, clean, pause, add, edit. @defaultValue false */
  readOnly: boolean;
  /** Show prompts, context and answers as stored. @defaultValue false: redacted */
  showPrompts: boolean;
}

/** Request fields that never carry customer text; every other one is redacted. */
const SAFE_REQUEST_FIELDS = new Set([
  'model',
  'stream',
  'stream_options',
  'temperature',
  'top_p',
  'max_tokens',
  'max_completion_tokens',
  'n',
  'seed',
  'conversation_id',
]);

/** What stands in for redacted text: its size, so an operator still sees how big it was. */
function redactedText(value: unknown): string {
  if (typeof value === 'string') return `[redacted: ${value.length} chars]`;
  if (Array.isArray(value)) return `[redacted: ${value.length} items]`;
  return value === null || value === undefined ? String(value) : '[redacted]';
}

/** Messages with only their roles and sizes left. */
function redactMessages(messages: unknown): unknown {
  if (!Array.isArray(messages)) return redactedText(messages);
  return messages.map((m) => {
    const message = (m ?? {}) as Record<string, unknown>;
    return {
      role: message.role,
      content: redactedText(message.content),
      ...(message.tool_calls ? { tool_calls: redactedText(message.tool_calls) } : {}),
      ...(message.tool_call_id ? { tool_call_id: message.tool_call_id } : {}),
    };
  });
}

/**
 * A completion job's data as Bull Board shows it without `SLUICE_BULLBOARD_SHOW_PROMPTS`:
 * tenant, priority, route, cost bookkeeping and request parameters stay; the messages (the
 * client's and the pruned context's), tool and response-format definitions, the end-user id,
 * the embedding (derived from the prompt) and a conversation summary are replaced by their
 * size. Unknown request fields are redacted too: a new field is customer data until known safe.
 */
export function redactJobData(data: unknown): unknown {
  if (!data || typeof data !== 'object') return data;
  const out: Record<string, unknown> = { ...(data as Record<string, unknown>) };
  if (out.request && typeof out.request === 'object') {
    const request: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(out.request as Record<string, unknown>)) {
      request[key] =
        key === 'messages' ? redactMessages(value) : SAFE_REQUEST_FIELDS.has(key) ? value : redactedText(value);
    }
    out.request = request;
  }
  if (Array.isArray(out.embedding)) out.embedding = `[${out.embedding.length} numbers]`;
  else if (typeof out.embedding === 'string')
    out.embedding = `[${Math.floor((out.embedding.length * 3) / 4 / 4)} floats, base64]`;
  if (out.context && typeof out.context === 'object') {
    const context = out.context as Record<string, unknown>;
    out.context = { ...context, messages: redactMessages(context.messages) };
  }
  if (out.summary && typeof out.summary === 'object') {
    const summary = out.summary as Record<string, unknown>;
    out.summary = {
      ...summary,
      ...(summary.previousSummary !== undefined ? { previousSummary: redactedText(summary.previousSummary) } : {}),
    };
  }
  return out;
}

/** A job's return value (its result) without the answer's text and tool calls. */
export function redactReturnValue(value: unknown): unknown {
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  const completion = out.completion as { choices?: unknown } | undefined;
  if (completion && typeof completion === 'object' && Array.isArray(completion.choices)) {
    out.completion = {
      ...completion,
      choices: completion.choices.map((c) => {
        const choice = (c ?? {}) as Record<string, unknown>;
        const message = (choice.message ?? {}) as Record<string, unknown>;
        return {
          ...choice,
          message: {
            ...message,
            content: redactedText(message.content),
            ...(message.tool_calls ? { tool_calls: redactedText(message.tool_calls) } : {}),
          },
        };
      }),
    };
  }
  return out;
}

/** Content-Security-Policy of every Bull Board answer. */
export const BULL_BOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline' https://fonts.googleapis.com; font-src 'self' https://fonts.gstatic.com; img-src 'self' data:; connect-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/** Bull Board API paths that write job data: with redacted data they would write the redaction back. */
const DATA_WRITES = [/\/api\/queues\/[^/]+\/add$/, /\/api\/queues\/[^/]+\/[^/]+\/update-data$/];

/**
 * Bull Board at `/admin/queues` (the caller puts it behind admin auth): every queue with its
 * description; prompts and answers redacted unless `showPrompts`; with `readOnly`, no action
 * (Bull Board's own read-only mode per queue, and every non-GET request refused here as well,
 * so no endpoint a later Bull Board adds can write either).
 */
export async function registerBullBoard(scope: FastifyInstance, options: BullBoardOptions): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath('/admin/queues');
  const adapters = Object.entries(options.queues).map(([name, queue]) => {
    const adapter = new SluiceQueueAdapter(queue, {
      description: QUEUE_DESCRIPTIONS[name],
      displayName: name.replace(/[{}]/g, ''),
      readOnlyMode: options.readOnly,
    });
    if (!options.showPrompts) {
      adapter.setFormatter('data', redactJobData);
      adapter.setFormatter('returnValue', redactReturnValue);
    }
    return adapter;
  });
  createBullBoard({
    queues: adapters,
    serverAdapter,
    options: {
      uiConfig: {
        boardTitle: options.readOnly ? 'Sluice queues (read-only)' : 'Sluice queues',
        favIcon: { default: '/favicon.svg', alternative: '/favicon.svg' },
      },
    },
  });
  // Answered here rather than thrown: Bull Board's plugin has its own error handler, which
  // would turn any thrown error into a 500.
  // Like the dashboard: no framing (clickjacking of its actions), no foreign scripts. Its
  // stylesheet links Google Fonts; the UI config is an inert JSON script element.
  scope.addHook('onSend', async (_request, reply, payload) => {
    reply
      .header('content-security-policy', BULL_BOARD_CSP)
      .header('x-frame-options', 'DENY')
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer');
    return payload;
  });
  scope.addHook('onRequest', async (request, reply) => {
    // The route that matched, not the raw URL: the router decodes `%64` in `ad%64` to `add`.
    const path = request.routeOptions.url ?? request.url.split('?')[0]!;
    if (request.method === 'GET' || request.method === 'HEAD') return;
    if (options.readOnly) {
      return reply
        .status(405)
        .header('allow', 'GET, HEAD')
        .send(
          errorBody(new ApiError('bullboard_read_only', 'Bull Board is read-only here (SLUICE_BULLBOARD_READONLY).')),
        );
    }
    if (!options.showPrompts && DATA_WRITES.some((re) => re.test(path))) {
      return reply
        .status(403)
        .send(
          errorBody(
            new ApiError(
              'bullboard_data_redacted',
              'Job data is redacted in Bull Board (SLUICE_BULLBOARD_SHOW_PROMPTS is off), so it cannot be added or edited here.',
            ),
          ),
        );
    }
  });
  // Bull Board's page links Google Fonts; an operator page fetches nothing from the internet
  // (an offline or locked-down network, and no third party learning who opens it): the link
  // goes and the UI falls back to its system sans-serif.
  scope.addHook('onSend', async (_request, reply, payload) => {
    if (typeof payload !== 'string' || !String(reply.getHeader('content-type') ?? '').includes('text/html'))
      return payload;
    return payload.replace(/<link[^>]+fonts\.(googleapis|gstatic)\.com[^>]*>\s*/g, '');
  });
  await scope.register(serverAdapter.registerPlugin());
}
