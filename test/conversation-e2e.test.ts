import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countChatTokens, messageText } from '@sluice/llm';
import type { ChatMessage } from '@sluice/queues';
import type { ChatCompletionRequest } from '@sluice/sim';
import { generateConversation } from '../packages/routing/src/context/conversations.ts';
import { startStack, until, type TestStack } from './harness.ts';

const CONVERSATIONS = 5;
const TURNS = 60;

/**
 * Long conversations through the whole stack (API, classifier with context pruning, router
 * tier summary jobs, executor, simulator). What the simulator received is captured, so the
 * test checks what really went upstream: the turn-1 constraint verbatim at turn 60, and the
 * input tokens against sending the full history (counted the way the simulator counts).
 */
describe('long conversations through the stack', () => {
  let stack: TestStack;
  let client: OpenAI;
  let received: ChatCompletionRequest[] = [];
  beforeAll(async () => {
    stack = await startStack({ sim: { onChatRequest: (body) => received.push(body) } });
    client = new OpenAI({ baseURL: `${stack.apiUrl}/v1`, apiKey: await stack.key('acme'), maxRetries: 0 });
  });
  afterAll(() => stack.stop());

  const answerRequests = () => received.filter((r) => !r.model.startsWith('sim-router'));
  const text = (messages: readonly { content?: unknown }[]) => messages.map((m) => messageText(m.content)).join('\n');
  const usesSummary = (messages: readonly { role: string; content?: unknown }[]) =>
    messages.some((m) => m.role === 'system' && messageText(m.content).startsWith('Summary of the earlier part'));

  for (const mode of ['client', 'stored'] as const) {
    it(`${mode === 'client' ? 'client-sent history' : 'history kept under conversation_id'}: the turn-1 constraint reaches the upstream verbatim at turn ${TURNS}, with ≥ 40% fewer input tokens than the full history`, async () => {
      const drops: number[] = [];
      const meanDrops: number[] = [];
      let summarized = 0;
      for (let seed = 0; seed < CONVERSATIONS; seed++) {
        const conversation = generateConversation(seed + (mode === 'stored' ? 100 : 0), TURNS);
        const history: ChatMessage[] = [];
        let sentTotal = 0;
        let fullTotal = 0;
        let last: { sent: ChatCompletionRequest; sentTokens: number; fullTokens: number } | undefined;
        for (let t = 1; t <= TURNS; t++) {
          const user = conversation.messages[2 * t - 2]!;
          history.push(user);
          received = [];
          // The client sends the whole history, or only its new turn under a conversation id.
          const body =
            mode === 'client'
              ? { model: 'auto', messages: history }
              : { model: 'auto', messages: [user], conversation_id: `trip-${seed}` };
          const completion = await client.chat.completions.create(body as never);
          const upstream = answerRequests();
          expect(upstream, `seed ${seed} turn ${t}: one upstream call`).toHaveLength(1);
          const sentTokens = completion.usage!.prompt_tokens;
          // The simulator counts prompt tokens exactly as @sluice/llm does (o200k, 3 per message).
          expect(countChatTokens(upstream[0]!.messages as never)).toBe(sentTokens);
          const fullTokens = countChatTokens(history);
          sentTotal += sentTokens;
          fullTotal += fullTokens;
          last = { sent: upstream[0]!, sentTokens, fullTokens };
          // Client mode replays the generated assistant turns; a stored conversation keeps
          // the answers the gateway really gave.
          history.push(
            mode === 'client'
              ? (conversation.messages[2 * t - 1] ?? { role: 'assistant', content: '' })
              : { role: 'assistant', content: completion.choices[0]!.message.content ?? '' },
          );
        }
        history.pop();
        expect(text(last!.sent.messages), `seed ${seed}`).toContain(conversation.constraint);
        const drop = 1 - last!.sentTokens / last!.fullTokens;
        expect(drop, `seed ${seed}: ${last!.sentTokens} of ${last!.fullTokens} tokens`).toBeGreaterThanOrEqual(0.4);
        drops.push(drop);
        meanDrops.push(1 - sentTotal / fullTotal);
        if (usesSummary(last!.sent.messages)) summarized++;
      }
      // Summary jobs ran on the router tier, and later requests used them.
      expect(stack.sim.stats().models['sim-router']?.accepted ?? 0).toBeGreaterThan(0);
      expect(summarized).toBeGreaterThan(0);
      const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      console.info(
        `[conversation e2e] ${mode}: turn-${TURNS} input tokens −${(avg(drops) * 100).toFixed(1)}% on average (min −${(Math.min(...drops) * 100).toFixed(1)}%), ` +
          `all ${TURNS} turns −${(avg(meanDrops) * 100).toFixed(1)}%, constraint verbatim in ${CONVERSATIONS}/${CONVERSATIONS}, ` +
          `turn ${TURNS} built with a rolling summary in ${summarized}/${CONVERSATIONS}, router-tier summary calls so far ${stack.sim.stats().models['sim-router']?.accepted ?? 0}`,
      );
    }, 600_000);
  }

  it('the reply of a stored conversation is appended to it and answers are never cached across conversations', async () => {
    const ask = (conversationId: string, content: string) =>
      client.chat.completions
        .create({ model: 'auto', messages: [{ role: 'user', content }], conversation_id: conversationId } as never)
        .withResponse();
    const a = await ask('c-a', 'My name is Ada. What should I cook tonight?');
    const b = await ask('c-b', 'My name is Bob. What should I cook tonight?');
    received = [];
    const followA = await ask('c-a', 'And for dessert?');
    const followB = await ask('c-b', 'And for dessert?');
    // Same new turn, different conversations: both go upstream, each with its own history.
    expect(followA.response.headers.get('x-sluice-cache')).toBe('bypass');
    expect(followB.response.headers.get('x-sluice-cache')).toBe('bypass');
    await until(() => answerRequests().length === 2);
    const [sentA, sentB] = answerRequests();
    expect(text(sentA!.messages)).toContain('My name is Ada');
    expect(text(sentA!.messages)).toContain(a.data.choices[0]!.message.content!);
    expect(text(sentB!.messages)).toContain('My name is Bob');
    expect(text(sentB!.messages)).toContain(b.data.choices[0]!.message.content!);
    expect(followA.data.choices[0]!.message.content).not.toBe(followB.data.choices[0]!.message.content);
  });
});
