import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ChatCompletionRequest, ChatUsage } from './chat-types.ts';
import {
  BATCH_TOKEN_HEADER,
  destroyConnection,
  holdUntilAbort,
  responseId,
  rollFault,
  type SimContext,
} from './context.ts';
import { SimInjectedFaultError, SimInvalidRequestError } from './errors.ts';
import { sampleLatency, sleep, type LatencyPlan } from './latency.ts';
import { admit, type Admission, type ModelRuntime } from './model-registry.ts';
import { planChatReply, type ChatReplyPlan, type PlannedChoice } from './reply.ts';
import { CHAT_COMPLETION_BODY_SCHEMA } from './schemas.ts';
import { decodeTokens } from './tokens.ts';
import type { TrackedRequest } from './request-tracker.ts';

/** Smallest number of tokens per streamed chunk: a few, as real endpoints send. */
const MIN_TOKENS_PER_CHUNK = 3;
/**
 * Shortest gap between streamed chunks. Fast models get more tokens per chunk instead of
 * more timers, so a 4 000-token reply costs hundreds of timers, not thousands.
 */
const MIN_CHUNK_INTERVAL_MS = 15;

const SYSTEM_FINGERPRINT = 'fp_sluice_sim';
const UNLIMITED_ADMISSION: Admission = { headers: {}, release: () => undefined };
const NO_LATENCY: LatencyPlan = { ttftMs: 0, perTokenMs: 0 };

/** Registers `POST /v1/chat/completions`. */
export function registerChatRoute(app: FastifyInstance, ctx: SimContext): void {
  app.post('/v1/chat/completions', { schema: { body: CHAT_COMPLETION_BODY_SCHEMA } }, async (request, reply) => {
    const body = request.body as ChatCompletionRequest;
    assertChatSemantics(body);
    const runtime = ctx.registry.require(body.model);
    const model = runtime.options;
    if (model.kind !== 'chat') {
      throw new SimInvalidRequestError(
        'This is not a chat model and thus not supported in the v1/chat/completions endpoint.',
        {
          param: 'model',
          status: 404,
        },
      );
    }
    runtime.stats.add('requests');
    ctx.onChatRequest?.(body);
    // A line of a batch (replayed in process by the batch runner): the batch API has its own
    // limits and no per-request latency, so it skips admission, timing and connection faults.
    const inBatch = request.headers[BATCH_TOKEN_HEADER] === ctx.batchToken;
    const plan = planChatReply(body, model);
    if (plan.promptTokens > model.contextWindow) {
      throw new SimInvalidRequestError(
        `This model's maximum context length is ${model.contextWindow} tokens. However, your messages resulted in ${plan.promptTokens} tokens. Please reduce the length of the messages.`,
        { param: 'messages', openaiCode: 'context_length_exceeded' },
      );
    }
    const choiceCount = body.n ?? 1;
    // Like OpenAI, reserve max_tokens when given; otherwise the reply's real length, which the
    // simulator knows exactly.
    const reservedTokens =
      plan.promptTokens + choiceCount * (plan.explicitMaxTokens ? plan.maxTokens : plan.completionTokens);
    const admission = inBatch ? UNLIMITED_ADMISSION : admit(runtime, reservedTokens, ctx.now());
    const tracked = ctx.tracker.begin(reply.raw);
    try {
      runtime.stats.add('promptTokens', plan.promptTokens);
      // Only an admitted request reaches the model, and so its prompt cache.
      const cachedTokens = ctx.promptCache.lookupAndStore(
        runtime.id,
        body.messages,
        body.tools,
        plan.promptTokens,
        ctx.now(),
      );
      const id = responseId('chatcmpl');
      const headers: Record<string, string> = { ...admission.headers, 'x-request-id': id };
      const rolled = plan.directives.error ? 'error' : rollFault(model.faults, ctx.random);
      const fault = inBatch && rolled !== 'error' ? undefined : rolled;
      if (fault === 'error') {
        runtime.stats.add('errors');
        throw new SimInjectedFaultError('The server had an error while processing your request. Sorry about that!', {
          headers,
        });
      }
      if (fault === 'timeout') {
        runtime.stats.add('timeouts');
        await holdUntilAbort(reply, tracked);
        return reply;
      }
      const completion: Completion = {
        id,
        created: Math.floor(ctx.now() / 1000),
        runtime,
        plan,
        cachedTokens,
        choiceCount,
        latency: inBatch ? NO_LATENCY : sampleLatency(model, ctx.random, plan.directives.slowMs),
        headers,
        drop: fault === 'drop',
        tracked,
        closing: () => ctx.tracker.closing,
        logprobs: (body as { logprobs?: unknown }).logprobs === true,
      };
      if (body.stream === true) {
        await streamCompletion(reply, completion, body.stream_options?.include_usage === true);
      } else {
        await sendCompletion(reply, completion);
      }
      return reply;
    } finally {
      admission.release();
      tracked.finish();
    }
  });
}

/** Checks that span fields, which the body schema cannot express. */
function assertChatSemantics(body: ChatCompletionRequest): void {
  body.messages.forEach((message, index) => {
    const param = `messages[${index}]`;
    const missingContent = message.content === undefined || message.content === null;
    if (
      (message.role === 'system' ||
        message.role === 'developer' ||
        message.role === 'user' ||
        message.role === 'tool') &&
      missingContent
    ) {
      throw new SimInvalidRequestError(`Missing required parameter: '${param}.content'.`, {
        param: `${param}.content`,
      });
    }
    if (
      message.role === 'assistant' &&
      missingContent &&
      (message.tool_calls === undefined || message.tool_calls.length === 0)
    ) {
      throw new SimInvalidRequestError(`Invalid '${param}': an assistant message needs 'content' or 'tool_calls'.`, {
        param,
      });
    }
    if (message.role === 'tool' && typeof message.tool_call_id !== 'string') {
      throw new SimInvalidRequestError(`Missing required parameter: '${param}.tool_call_id'.`, {
        param: `${param}.tool_call_id`,
      });
    }
  });
  if (body.stream_options != null && body.stream !== true) {
    throw new SimInvalidRequestError("The 'stream_options' parameter is only allowed when 'stream' is enabled.", {
      param: 'stream_options',
    });
  }
  // Was a TypeError (500) in the reply builder; OpenAI answers this 400.
  if (
    body.response_format?.type === 'json_schema' &&
    (body.response_format as { json_schema?: unknown }).json_schema == null
  ) {
    throw new SimInvalidRequestError("Missing required parameter: 'response_format.json_schema'.", {
      param: 'response_format.json_schema',
      openaiCode: 'missing_required_parameter',
    });
  }
  if (body.tool_choice !== undefined && (body.tools === undefined || body.tools.length === 0)) {
    throw new SimInvalidRequestError(
      "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
      {
        param: 'tool_choice',
      },
    );
  }
  const choice = body.tool_choice;
  if (typeof choice === 'object' && !body.tools?.some((tool) => tool.function.name === choice.function.name)) {
    throw new SimInvalidRequestError(
      `Invalid value for 'tool_choice': no tool named '${choice.function.name}' in 'tools'.`,
      {
        param: 'tool_choice',
      },
    );
  }
}

interface Completion {
  id: string;
  created: number;
  runtime: ModelRuntime;
  plan: ChatReplyPlan;
  /** Prompt tokens the provider-side prompt cache served. */
  cachedTokens: number;
  choiceCount: number;
  latency: LatencyPlan;
  headers: Record<string, string>;
  /** The drop fault: cut the connection part-way. */
  drop: boolean;
  tracked: TrackedRequest;
  /** Whether the simulator is shutting down (the stream then closes its connection). */
  closing: () => boolean;
  /** The request asked for `logprobs` (answered on non-streamed text replies). */
  logprobs: boolean;
}

/**
 * Deterministic log probabilities of a text reply, one entry per word-sized piece, so a client
 * can tell they were passed through (the simulator has no real distribution to sample).
 */
export function simLogprobs(content: string): {
  content: Array<{ token: string; logprob: number; bytes: number[]; top_logprobs: [] }>;
  refusal: null;
} {
  const pieces = content.match(/\S+\s*|\s+/g) ?? [];
  return {
    content: pieces.map((token, i) => ({
      token,
      logprob: -((i % 7) + 1) / 100,
      bytes: [...Buffer.from(token, 'utf8')],
      top_logprobs: [],
    })),
    refusal: null,
  };
}

function usageOf(completion: Completion): ChatUsage {
  const completionTokens = completion.plan.completionTokens * completion.choiceCount;
  return {
    prompt_tokens: completion.plan.promptTokens,
    completion_tokens: completionTokens,
    total_tokens: completion.plan.promptTokens + completionTokens,
    prompt_tokens_details: { cached_tokens: completion.cachedTokens },
    completion_tokens_details: { reasoning_tokens: 0 },
  };
}

async function sendCompletion(reply: FastifyReply, completion: Completion): Promise<void> {
  const { plan, latency, tracked, runtime } = completion;
  const totalMs = latency.ttftMs + latency.perTokenMs * plan.completionTokens;
  if (completion.drop) {
    runtime.stats.add('dropped');
    await sleep(totalMs / 2, tracked.signal);
    destroyConnection(reply);
    return;
  }
  if (!(await sleep(totalMs, tracked.signal))) {
    destroyConnection(reply);
    return;
  }
  const message =
    plan.choice.kind === 'text'
      ? { role: 'assistant', content: plan.choice.content, refusal: null }
      : { role: 'assistant', content: null, refusal: null, tool_calls: [plan.choice.toolCall] };
  const body = {
    id: completion.id,
    object: 'chat.completion',
    created: completion.created,
    model: runtime.id,
    system_fingerprint: SYSTEM_FINGERPRINT,
    choices: Array.from({ length: completion.choiceCount }, (_, index) => ({
      index,
      message,
      finish_reason: plan.finishReason,
      logprobs: completion.logprobs && plan.choice.kind === 'text' ? simLogprobs(plan.choice.content) : null,
    })),
    usage: usageOf(completion),
  };
  runtime.stats.add('completionTokens', body.usage.completion_tokens);
  void reply.code(200).headers(completion.headers).send(body);
}

async function streamCompletion(reply: FastifyReply, completion: Completion, includeUsage: boolean): Promise<void> {
  const { plan, latency, tracked, runtime } = completion;
  reply.hijack();
  const res = reply.raw;
  const signal = tracked.signal;
  if (!(await sleep(latency.ttftMs, signal))) {
    res.destroy();
    return;
  }
  res.writeHead(200, {
    ...completion.headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: completion.closing() ? 'close' : 'keep-alive',
  });

  const chunk = (choiceDelta: Record<string, unknown>, finishReason: string | null): Record<string, unknown> => ({
    id: completion.id,
    object: 'chat.completion.chunk',
    created: completion.created,
    model: runtime.id,
    system_fingerprint: SYSTEM_FINGERPRINT,
    choices: Array.from({ length: completion.choiceCount }, (_, index) => ({
      index,
      delta: choiceDelta,
      logprobs: null,
      finish_reason: finishReason,
    })),
    // With include_usage, OpenAI sends `usage: null` on every chunk but the last.
    ...(includeUsage ? { usage: null } : {}),
  });

  const tokensPerChunk =
    latency.perTokenMs > 0
      ? Math.max(MIN_TOKENS_PER_CHUNK, Math.ceil(MIN_CHUNK_INTERVAL_MS / latency.perTokenMs))
      : MIN_TOKENS_PER_CHUNK;
  const pieces = splitIntoPieces(plan.choice, tokensPerChunk);
  const start = performance.now() - latency.ttftMs;
  // The drop fault cuts the stream after about half of the content.
  const dropAfter = completion.drop ? Math.floor(pieces.length / 2) : Number.POSITIVE_INFINITY;
  if (completion.drop) runtime.stats.add('dropped');

  if (!(await writeEvent(res, chunk(firstDelta(plan.choice), null), signal))) return;
  let tokensSent = 0;
  for (let index = 0; index < pieces.length; index += 1) {
    if (index >= dropAfter) {
      await cutAfterFlush(res);
      return;
    }
    const piece = pieces[index]!;
    // Absolute deadlines, so timer lateness does not pile up over a long reply.
    if (!(await sleep(start + latency.ttftMs + latency.perTokenMs * tokensSent - performance.now(), signal))) {
      res.destroy();
      return;
    }
    if (!(await writeEvent(res, chunk(pieceDelta(plan.choice, piece.text), null), signal))) return;
    tokensSent += piece.tokens;
  }
  if (completion.drop) {
    await cutAfterFlush(res);
    return;
  }
  if (!(await sleep(start + latency.ttftMs + latency.perTokenMs * plan.completionTokens - performance.now(), signal))) {
    res.destroy();
    return;
  }
  if (!(await writeEvent(res, chunk({}, plan.finishReason), signal))) return;
  if (includeUsage) {
    const usageChunk = { ...chunk({}, null), choices: [], usage: usageOf(completion) };
    if (!(await writeEvent(res, usageChunk, signal))) return;
  }
  if (!(await writeEvent(res, '[DONE]', signal))) return;
  runtime.stats.add('completionTokens', plan.completionTokens * completion.choiceCount);
  res.end();
}

function firstDelta(choice: PlannedChoice): Record<string, unknown> {
  if (choice.kind === 'text') return { role: 'assistant', content: '', refusal: null };
  const { id, type, function: fn } = choice.toolCall;
  return {
    role: 'assistant',
    content: null,
    refusal: null,
    tool_calls: [{ index: 0, id, type, function: { name: fn.name, arguments: '' } }],
  };
}

function pieceDelta(choice: PlannedChoice, text: string): Record<string, unknown> {
  return choice.kind === 'text' ? { content: text } : { tool_calls: [{ index: 0, function: { arguments: text } }] };
}

/**
 * Cuts the reply into chunks of `tokensPerChunk` tokens. Decoding token slices separately can
 * split a multi-byte character; when the pieces do not add up to the exact text, fall back
 * to cutting the text by characters into the same number of pieces.
 */
function splitIntoPieces(choice: PlannedChoice, tokensPerChunk: number): Array<{ text: string; tokens: number }> {
  const text = choice.kind === 'text' ? choice.content : choice.toolCall.function.arguments;
  const { tokens } = choice;
  const pieces: Array<{ text: string; tokens: number }> = [];
  for (let start = 0; start < tokens.length; start += tokensPerChunk) {
    const slice = tokens.slice(start, start + tokensPerChunk);
    pieces.push({ text: decodeTokens(slice), tokens: slice.length });
  }
  if (pieces.map((piece) => piece.text).join('') === text) return pieces;
  const characters = [...text];
  const perPiece = Math.ceil(characters.length / Math.max(1, pieces.length));
  return pieces.map((piece, index) => ({
    text: characters.slice(index * perPiece, (index + 1) * perPiece).join(''),
    tokens: piece.tokens,
  }));
}

/**
 * Destroys the connection once what was written has reached the socket. Node corks a
 * response's first writes until the next tick, so destroying straight away would drop the
 * chunks sent so far and the client would see no stream at all, not a cut one. The SSE
 * comment line is ignored by clients; its write callback runs after everything before it.
 */
async function cutAfterFlush(res: ServerResponse): Promise<void> {
  if (!res.destroyed)
    await new Promise<void>((resolve) => res.write(': connection dropped by fault injection\n', () => resolve()));
  res.destroy();
}

/** Writes one SSE event; waits for `drain` under back-pressure. False if the client is gone. */
async function writeEvent(res: ServerResponse, payload: unknown, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted || res.destroyed) {
    res.destroy();
    return false;
  }
  const data = typeof payload === 'string' ? payload : JSON.stringify(payload);
  if (res.write(`data: ${data}\n\n`)) return true;
  try {
    await once(res, 'drain', { signal });
    return true;
  } catch {
    res.destroy();
    return false;
  }
}
