import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ResponseStore, type StoredResponse } from '@sluice/jobs';
import type { ChatMessage, CompletionJobData } from '@sluice/queues';
import { createKeys } from '@sluice/redis';
import { createContextStore } from '@sluice/routing';
import type { ApiContext } from '../context.ts';
import { ApiError, badRequest } from '../errors.ts';
import { chatStream, finalResult, openSse, startChatRun } from '../pipeline.ts';
import {
  completionToResponse,
  outputToMessage,
  responseIds,
  responsesToChat,
  ResponsesRequestSchema,
  ResponsesStreamTranslator,
  type ResponseEcho,
  type ResponsesRequest,
} from '../protocols/responses.ts';
import { resultHeaders } from './completions.ts';

const isSystem = (m: ChatMessage) => m.role === 'system' || m.role === 'developer';

/** Most stored responses walked back to rebuild a branched conversation. */
const MAX_CHAIN = 1_000;

const notFoundResponse = (id: string, param: string | null) =>
  new ApiError(
    'response_not_found',
    `No response with id \`${id}\` is stored for this API key (it may have expired, or was created with \`store: false\`).`,
    { param: param },
  );

/**
 * `POST /v1/responses`, `GET /v1/responses/{id}`, `DELETE /v1/responses/{id}`: OpenAI's
 * Responses API on the chat job pipeline. `previous_response_id` continues a conversation
 * held by Sluice's conversation memory (`conversation_id`: pruning, summary, constraint
 * buffer): the first continuation seeds it with the chain's turns, later ones add only their
 * new turn. Continuing a response that another one already continued (a branch) seeds a new
 * conversation from the branch's chain, so branches never mix.
 */
export function registerResponses(app: FastifyInstance, ctx: ApiContext): void {
  const keys = createKeys(ctx.config.redis.prefix);
  const ttlSeconds = ctx.config.context.ttlSeconds;
  const responses = new ResponseStore({ redis: ctx.redis, keys, ttlSeconds });
  const conversations = createContextStore({ redis: ctx.redis, keys, ttlSeconds });

  /** The turns of a chain ending at `last`, oldest first. */
  const chainMessages = async (tenant: string, last: StoredResponse): Promise<ChatMessage[]> => {
    const turns: ChatMessage[][] = [last.turn];
    let at = last.previousResponseId;
    for (let n = 0; at && n < MAX_CHAIN; n++) {
      const r = await responses.get(tenant, at);
      if (!r) break;
      turns.unshift(r.turn);
      at = r.previousResponseId;
    }
    return turns.flat();
  };

  /** Attach the conversation the new response continues (see the route's doc). */
  const continueFrom = (previous: StoredResponse) => async (data: CompletionJobData) => {
    const id = responseIds.response(data.id);
    if (previous.conversationId && (await responses.claimHead(previous.conversationId, previous.id, id))) {
      return { ...data, request: { ...data.request, conversation_id: previous.conversationId } };
    }
    const conversationId = `r-${data.id}`;
    const history = await chainMessages(data.tenant, previous);
    await conversations.append({ tenant: data.tenant, id: conversationId }, history);
    await responses.startConversation(conversationId, id);
    return { ...data, request: { ...data.request, conversation_id: conversationId } };
  };

  app.post(
    '/v1/responses',
    { schema: { body: ResponsesRequestSchema } },
    async (request: FastifyRequest, reply: FastifyReply) => {
      const body = request.body as ResponsesRequest;
      const tenant = request.tenant!;
      const store = body.store !== false;
      let previous: StoredResponse | undefined;
      if (body.previous_response_id) {
        if (!store)
          throw badRequest(
            '`previous_response_id` needs `store: true` here: Sluice continues a response in its conversation memory, which keeps the new turn.',
            'store',
          );
        previous = await responses.get(tenant.name, body.previous_response_id);
        if (!previous) throw notFoundResponse(body.previous_response_id, 'previous_response_id');
      }
      // Continuing: the conversation is attached once the job id is known (its placeholder
      // marks the request as a stored conversation's turn for the checks before that).
      const chat = responsesToChat(body, previous ? { conversationId: previous.conversationId ?? 'r-pending' } : {});
      const run = await startChatRun(ctx, request, reply, chat, previous ? { prepare: continueFrom(previous) } : {});
      const turnInput = chat.messages.filter((m) => !isSystem(m));
      const echo = (model: string): ResponseEcho => ({
        jobId: run.jobId,
        createdAt: Math.floor(run.data.acceptedAt / 1000),
        model,
        body,
        store,
      });
      const keep = async (response: Record<string, unknown>, output: Record<string, any>[]) => {
        if (!store) return;
        await responses.save({
          id: String(response.id),
          tenant: tenant.name,
          jobId: run.jobId,
          conversationId: run.data.request.conversation_id,
          previousResponseId: previous?.id,
          turn: [...turnInput, outputToMessage(output)],
          response,
        });
      };
      try {
        if (!chat.stream) {
          const result = await finalResult(run);
          const response = completionToResponse(echo(result.model), result.completion);
          await keep(response, response.output);
          return reply.headers(resultHeaders(run.jobId, result)).send(response);
        }
        let translator: ResponsesStreamTranslator | undefined;
        const raw = reply.raw;
        const send = (events: { type: string }[]) => {
          for (const e of events) raw.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
        };
        for await (const step of chatStream(run)) {
          if (step.kind === 'attempt') {
            if (translator) continue;
            translator = new ResponsesStreamTranslator(echo(step.result.model));
            openSse(reply, { ...resultHeaders(run.jobId, step.result), trailer: 'x-sluice-cost-usd' });
            send(translator.start());
          } else if (step.kind === 'chunk') {
            if (translator) send(translator.chunk(step.chunk));
          } else if (step.kind === 'done') {
            translator ??= new ResponsesStreamTranslator(echo(step.result.model));
            const events = translator.finish(step.result.completion);
            const final = events.at(-1) as unknown as { response: Record<string, any> };
            await keep(final.response, final.response.output).catch((error: unknown) =>
              request.log.error({ err: error, jobId: run.jobId }, 'could not store the response'),
            );
            send(events);
            raw.addTrailers({ 'x-sluice-cost-usd': step.result.costUsd.toFixed(9) });
            raw.end();
          } else if (step.kind === 'error') {
            if (translator) send(translator.fail(step.error));
            raw.end();
          }
        }
        return reply;
      } finally {
        await run.finish();
      }
    },
  );

  app.get('/v1/responses/:id', async (request) => {
    const { id } = request.params as { id: string };
    const record = await responses.get(request.tenant!.name, id);
    if (!record) throw notFoundResponse(id, null);
    return record.response;
  });

  app.delete('/v1/responses/:id', async (request) => {
    const { id } = request.params as { id: string };
    if (!(await responses.delete(request.tenant!.name, id))) throw notFoundResponse(id, null);
    return { id, object: 'response', deleted: true };
  });
}
