import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiContext } from '../context.ts';
import { badRequest } from '../errors.ts';
import { chatStream, finalResult, openSse, startChatRun } from '../pipeline.ts';
import {
  anthropicError,
  AnthropicStreamTranslator,
  completionToMessage,
  messagesToChat,
  MessagesRequestSchema,
  type MessagesRequest,
} from '../protocols/anthropic.ts';
import { resultHeaders } from './completions.ts';

/**
 * Rewrites the OpenAI error body the one error handler produced into Anthropic's
 * `{type:"error", error:{type, message}}`, so that errors of this route (auth, validation,
 * limits, a failed job) reach Anthropic clients in the shape they parse.
 */
async function anthropicErrors(_request: FastifyRequest, reply: FastifyReply, payload: unknown) {
  if (reply.statusCode < 400 || typeof payload !== 'string') return payload;
  try {
    const body = JSON.parse(payload) as { error?: { message?: string }; type?: string };
    if (body.type === 'error' || typeof body.error?.message !== 'string') return payload;
    return JSON.stringify(anthropicError(reply.statusCode, body.error.message));
  } catch {
    return payload;
  }
}

/**
 * `POST /v1/messages`: Anthropic's Messages API inbound, on the chat job pipeline (tenant,
 * routing, caches, limits, ledger). The key comes as `x-api-key` (or a Bearer token);
 * `anthropic-version` is accepted as any `YYYY-MM-DD` date.
 */
export function registerMessages(app: FastifyInstance, ctx: ApiContext): void {
  app.post(
    '/v1/messages',
    { schema: { body: MessagesRequestSchema }, onSend: anthropicErrors },
    async (request: FastifyRequest, reply: FastifyReply) => {
      const version = request.headers['anthropic-version'];
      if (version !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(String(version)))
        throw badRequest(
          `Invalid anthropic-version \`${String(version)}\`: use a version date such as 2023-06-01.`,
          'anthropic-version',
        );
      const body = request.body as MessagesRequest;
      const chat = messagesToChat(body);
      const run = await startChatRun(ctx, request, reply, chat);
      try {
        if (!chat.stream) {
          const result = await finalResult(run);
          return reply
            .headers(resultHeaders(run.jobId, result))
            .send(completionToMessage(run.jobId, result.completion, result.model));
        }
        let translator: AnthropicStreamTranslator | undefined;
        const raw = reply.raw;
        const send = (events: { type: string }[]) => {
          for (const e of events) raw.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
        };
        for await (const step of chatStream(run)) {
          if (step.kind === 'attempt') {
            if (translator) continue;
            translator = new AnthropicStreamTranslator(run.jobId, step.result.model);
            openSse(reply, { ...resultHeaders(run.jobId, step.result), trailer: 'x-sluice-cost-usd' });
            send(translator.start());
          } else if (step.kind === 'chunk') {
            if (translator) send(translator.chunk(step.chunk));
          } else if (step.kind === 'done') {
            if (translator) send(translator.finish(step.result.completion));
            raw.addTrailers({ 'x-sluice-cost-usd': step.result.costUsd.toFixed(9) });
            raw.end();
          } else if (step.kind === 'error') {
            send([anthropicError(500, step.error.message)]);
            raw.end();
          }
        }
        return reply;
      } finally {
        await run.finish();
      }
    },
  );
}
