import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { messageText } from '@sluice/llm';
import { createKeys, createRedis, type Redis } from '@sluice/redis';
import { createContextManager, createContextStore, type SummaryJob } from '../index.ts';
import { generateConversation } from './conversations.ts';
import { simulateConversation } from './simulate.ts';

const CONVERSATIONS = 10;
const TURNS = 60;

describe('context over long conversations (Redis)', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = createRedis({ url: inject('redisUrl'), role: 'worker' });
  });
  afterAll(async () => {
    await redis.quit();
  });

  const setup = (maxInputTokens = 4_096) => {
    const jobs: SummaryJob[] = [];
    const store = createContextStore({ redis, keys: createKeys(`test-${randomUUID()}`), ttlSeconds: 3_600 });
    const manager = createContextManager({ store, maxInputTokens, requestSummary: (job) => void jobs.push(job) });
    return { jobs, store, manager };
  };

  for (const mode of ['client', 'stored'] as const) {
    for (const summaryLag of [1, 'never'] as const) {
      it(`${mode} history, summary ${summaryLag === 'never' ? 'never ready' : `ready after ${summaryLag} request`}: the turn-1 constraint is sent verbatim at turn ${TURNS}, with ≥ 40% fewer input tokens`, async () => {
        const drops: number[] = [];
        const meanDrops: number[] = [];
        for (let seed = 0; seed < CONVERSATIONS; seed++) {
          const { jobs, manager } = setup();
          const conversation = generateConversation(seed, TURNS);
          const { turns, last, completedJobs } = await simulateConversation({
            manager,
            jobs,
            conversation,
            tenant: 't1',
            mode,
            summaryLag,
          });
          const sent = last.messages.map((m) => messageText(m.content)).join('\n');
          expect(sent, `seed ${seed}`).toContain(conversation.constraint);
          const final = turns.at(-1)!;
          const drop = 1 - final.sentTokens / final.fullTokens;
          expect(drop, `seed ${seed}: ${final.sentTokens} of ${final.fullTokens} tokens`).toBeGreaterThanOrEqual(0.4);
          drops.push(drop);
          meanDrops.push(1 - turns.reduce((s, t) => s + t.sentTokens, 0) / turns.reduce((s, t) => s + t.fullTokens, 0));
          if (summaryLag === 'never') {
            expect(last.mode).toBe('window');
          } else {
            expect(last.mode).toMatch(/^summary/);
            // Incremental: each job starts where the previous one stopped.
            for (let i = 1; i < completedJobs.length; i++)
              expect(completedJobs[i]!.from).toBe(completedJobs[i - 1]!.to);
            expect(completedJobs[1]!.previousSummary).toBeTruthy();
            expect(completedJobs[1]!.prompt.at(-1)!.content).toContain(completedJobs[1]!.previousSummary);
          }
        }
        const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
        console.info(
          `[context] ${mode}, summary lag ${summaryLag}: turn-${TURNS} input tokens −${(avg(drops) * 100).toFixed(1)}% (min −${(Math.min(...drops) * 100).toFixed(1)}%), ` +
            `all ${TURNS} requests −${(avg(meanDrops) * 100).toFixed(1)}%, constraint present in ${CONVERSATIONS}/${CONVERSATIONS}`,
        );
      }, 120_000);
    }
  }

  it('keeps state per conversation, TTL on every key, and never lets an older summary overwrite a newer one', async () => {
    const { jobs, store, manager } = setup(1_500);
    const conversation = generateConversation(1, 30);
    await simulateConversation({ manager, jobs, conversation, tenant: 't2', mode: 'stored', summaryLag: 1 });
    const keys = await redis.keys('test-*:{conv:t2/*');
    expect(keys.length).toBeGreaterThanOrEqual(3);
    for (const key of keys) expect(await redis.ttl(key)).toBeGreaterThan(0);
    const ref = { tenant: 't2', id: 'x' };
    expect(await store.saveSummary(ref, { text: 'new', coversUpTo: 20, lastCoveredHash: 'a', updatedAt: 1 })).toBe(
      true,
    );
    expect(await store.saveSummary(ref, { text: 'old', coversUpTo: 10, lastCoveredHash: 'b', updatedAt: 2 })).toBe(
      false,
    );
    expect((await store.load(ref)).summary?.text).toBe('new');
  });

  it('asks for one summary job at a time per conversation', async () => {
    const { jobs, manager } = setup(1_000);
    const messages = generateConversation(2, 30).messages;
    await manager.prepare({ tenant: 't3', messages });
    await manager.prepare({ tenant: 't3', messages });
    expect(jobs).toHaveLength(1);
  });
});
