import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChatRequest } from '@sluice/queues';
import type { StoreInput } from './cache-types.ts';
import type { ResponseCache } from './response-cache.ts';
import { ask, CacheTestBed, completion } from './test-helpers.ts';

const HOUR = 3_600_000;
const ctx = { tenant: 'acme', tier: 'small' as const, model: 'gpt-4o-mini' };
const QUESTION = 'What is the capital of France?';

let bed: CacheTestBed;
let cache: ResponseCache;

beforeEach(() => {
  bed = new CacheTestBed();
  cache = bed.cache();
});
afterEach(async () => {
  await bed.close();
});

const put = (text: string, patch: Partial<StoreInput> = {}) =>
  cache.store({
    ...ctx,
    category: 'factual',
    request: ask(text),
    completion: completion(`answer to: ${text}`),
    jobId: 'job-1',
    ...patch,
  });

/** A connection of the test bed that records the name of every command it sends. */
function recording() {
  const redis = bed.connect();
  const sent: string[] = [];
  const send = redis.sendCommand.bind(redis) as (command: { name: string }) => unknown;
  (redis as unknown as { sendCommand(command: { name: string }): unknown }).sendCommand = (command) => {
    sent.push(command.name);
    return send(command);
  };
  return { redis, sent };
}

describe('lookup and store', () => {
  it('answers an identical request from the exact level and a rewording from the semantic level', async () => {
    const stored = await put(QUESTION);
    expect(stored).toMatchObject({ stored: true, semantic: true, evicted: 0 });

    const exact = await cache.lookup({
      ...ctx,
      category: 'factual',
      request: ask('  what is the capital of France? '),
    });
    expect(exact).toMatchObject({ hit: true, kind: 'exact', similarity: 1, sourceJobId: 'job-1', category: 'factual' });
    expect(exact.hit && exact.completion.choices?.[0]?.message?.content).toBe(`answer to: ${QUESTION}`);

    const semantic = await cache.lookup({ ...ctx, category: 'factual', request: ask("What's the capital of France?") });
    expect(semantic).toMatchObject({ hit: true, kind: 'semantic', sourceJobId: 'job-1' });
    expect(semantic.hit && semantic.similarity).toBeGreaterThanOrEqual(0.95);
    expect(semantic.hit && semantic.entryId).toBe(stored.stored && stored.entryId);
  });

  it('serves a re-stored answer from the semantic level, not the one it judged before', async () => {
    await put(QUESTION, { completion: completion('Paris, v1'), jobId: 'job-1' });
    const rewording = () =>
      cache.lookup({ ...ctx, category: 'factual', request: ask("What's the capital of France?") });
    const first = await rewording();
    expect(first.hit && first.completion.choices?.[0]?.message?.content).toBe('Paris, v1');
    // The caller may change what it was given; the cache's copy stays as stored.
    if (first.hit) first.completion.choices![0]!.message!.content = 'changed';
    // Same length, so the remembered candidate is the one judged again.
    await put(QUESTION, { completion: completion('Paris, v2'), jobId: 'job-2' });
    const second = await rewording();
    expect(second).toMatchObject({ hit: true, kind: 'semantic', sourceJobId: 'job-2' });
    expect(second.hit && second.completion.choices?.[0]?.message?.content).toBe('Paris, v2');
  });

  it('reads the semantic level only with exact: false (the fast path has just read the exact one)', async () => {
    await put(QUESTION);
    expect(await cache.lookup({ ...ctx, request: ask(QUESTION), semantic: false, exact: false })).toMatchObject({
      hit: false,
      reason: 'not-found',
    });
    expect(await cache.lookup({ ...ctx, request: ask("What's the capital of France?"), exact: false })).toMatchObject({
      hit: true,
      kind: 'semantic',
    });
    // A scope the caller already worked out is used as given.
    const context = { ...ctx, request: ask(QUESTION) };
    expect(await cache.lookup({ ...context, scope: cache.scope(context) })).toMatchObject({ hit: true, kind: 'exact' });
  });

  it('rejects a close near-miss by verification and says why', async () => {
    await put(QUESTION);
    // Calibrated similarity is about 0.91 here; a lower threshold makes verification decide.
    const result = await cache.lookup({
      ...ctx,
      category: 'factual',
      request: ask('What is the capital of Germany?'),
      threshold: 0.8,
    });
    expect(result).toMatchObject({ hit: false, kind: 'miss', reason: 'rejected' });
    expect(result.rejections.map((r) => r.reason)).toEqual(['entities']);
    const stats = await cache.stats();
    expect(stats.rejections.byReason).toEqual({ entities: 1 });
    expect(stats.misses.byReason).toEqual({ rejected: 1 });
  });

  it('uses only the exact level when asked (the API fast path) and returns the embedding it computed on a miss', async () => {
    await put(QUESTION);
    const fast = await cache.lookup({ ...ctx, request: ask("What's the capital of France?"), semantic: false });
    expect(fast).toMatchObject({ hit: false, reason: 'not-found' });
    const miss = await cache.lookup({ ...ctx, category: 'factual', request: ask('How tall is the Eiffel Tower?') });
    expect(miss.hit).toBe(false);
    expect(!miss.hit && miss.embedding).toHaveLength(256);
  });

  it('keeps the semantic level off when the config turns it off, whatever the call says', async () => {
    const exactOnly = bed.cache({ semantic: false });
    const stored = await exactOnly.store({
      ...ctx,
      category: 'factual',
      request: ask(QUESTION),
      completion: completion('Paris.'),
      jobId: 'j',
    });
    expect(stored).toMatchObject({ stored: true, semantic: false });
    expect(
      (await exactOnly.lookup({ ...ctx, request: ask("What's the capital of France?"), semantic: true })).hit,
    ).toBe(false);
    expect((await exactOnly.lookup({ ...ctx, request: ask(QUESTION) })).hit).toBe(true);
  });

  it('embeds only plain-text last user messages', () => {
    expect(
      cache.embedPrompt({
        model: 'auto',
        messages: [
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Hello' },
          { role: 'user', content: [{ type: 'text', text: 'Bye' }] },
        ],
      }),
    ).toBe('Bye');
    expect(
      cache.embedPrompt({
        model: 'auto',
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x' } } as never] }],
      }),
    ).toBeUndefined();
    expect(
      cache.embedPrompt({ model: 'auto', messages: [{ role: 'system', content: 'Only a system prompt.' }] }),
    ).toBeUndefined();
    expect(cache.embedPrompt(ask('x'.repeat(2_001)))).toBeUndefined();
  });

  it('takes the embedding from the caller instead of computing one', async () => {
    const embedding = await cache.embed(ask(QUESTION));
    expect(cache.embedPrompt(ask(QUESTION))).toBe(QUESTION);
    await put(QUESTION, { embedding: Array.from(embedding!) });
    const hit = await cache.lookup({
      ...ctx,
      category: 'factual',
      request: ask("What's the capital of France?"),
      embedding: await cache.embed(ask("What's the capital of France?")),
    });
    expect(hit).toMatchObject({ hit: true, kind: 'semantic' });
    // An embedding of another size (another embedder's, mid rolling upgrade) is not used: the prompt is embedded again.
    await expect(
      cache.lookup({
        ...ctx,
        category: 'factual',
        request: ask("What's the capital of France?"),
        embedding: [1, 2, 3],
      }),
    ).resolves.toMatchObject({ hit: true, kind: 'semantic' });
  });

  it('with the embedding given, reads the exact entry and searches the vectors in one command, searching only without an exact entry', async () => {
    const { redis, sent } = recording();
    const counted = bed.cache({}, { redis, statsFlushMs: 60_000 });
    await put(QUESTION);
    const lookup = async (text: string) => {
      const embedding = Array.from((await counted.embed(ask(text)))!);
      sent.length = 0;
      const result = await counted.lookup({ ...ctx, category: 'factual', request: ask(text), embedding });
      return { result, sent: [...sent] };
    };
    // Loaded once (the first call on a fresh Redis falls back to EVAL), so the counts below are the steady state.
    await lookup('Which rivers cross Mongolia?');
    const exact = await lookup(QUESTION);
    expect(exact.result).toMatchObject({ hit: true, kind: 'exact' });
    expect(exact.sent).toEqual(['evalsha_ro']);
    const semantic = await lookup("What's the capital of France?");
    expect(semantic.result).toMatchObject({ hit: true, kind: 'semantic', sourceJobId: 'job-1' });
    // The script's search found the stored entry and read it: verification needs no second read.
    expect(semantic.sent).toEqual(['evalsha_ro']);
    // A neighbour below the threshold is found but not read, and the lookup is still one command.
    sent.length = 0;
    // Calibrated similarity about 0.996.
    const reworded = ask("Tell me France's capital");
    const embedding = Array.from((await counted.embed(reworded))!);
    sent.length = 0;
    const strict = await counted.lookup({
      ...ctx,
      category: 'factual',
      request: reworded,
      embedding,
      threshold: 0.999,
    });
    expect(strict).toMatchObject({ hit: false, kind: 'miss', reason: 'below-threshold' });
    expect(sent).toEqual(['evalsha_ro']);
    const none = await lookup('Which rivers cross Mongolia?');
    expect(none.result).toMatchObject({ hit: false, kind: 'miss' });
    expect(none.sent).toEqual(['evalsha_ro']);
  });

  it('with the embedding given, judges each candidate by its own entry (read in the lookup script, in the order of the search)', async () => {
    await put(QUESTION, { jobId: 'job-a' });
    await put("What's the capital of France?", { jobId: 'job-b' });
    const request = ask("Tell me France's capital");
    const embedding = Array.from((await cache.embed(request))!);
    const look = () => cache.lookup({ ...ctx, category: 'factual', request, embedding });
    const first = await look();
    expect(first).toMatchObject({ hit: true, kind: 'semantic' });
    if (!first.hit) return;
    // The nearer entry is gone while its vector stays (expired, not yet swept): the next
    // candidate is judged, and served, with its own entry.
    await bed.connect().del(bed.keys.family('cache', first.namespace, 'e', first.entryId));
    const second = await look();
    expect(second).toMatchObject({ hit: true, kind: 'semantic' });
    if (!second.hit) return;
    expect(second.entryId).not.toBe(first.entryId);
    expect(second.sourceJobId).toBe(first.sourceJobId === 'job-a' ? 'job-b' : 'job-a');
  });

  it("skips a scope's search when the other scope of the same request has an exact entry (the API's two tiers)", async () => {
    const { redis, sent } = recording();
    const counted = bed.cache({}, { redis, statsFlushMs: 0 });
    const large = { ...ctx, tier: 'large' as const, model: 'gpt-4o' };
    const request = ask(QUESTION);
    const embedding = Array.from((await counted.embed(request))!);
    const smallScope = counted.scope({ ...ctx, request });
    const largeScope = counted.scope({ ...large, request });
    // The question and a near neighbour are stored on small only.
    await counted.store({ ...ctx, category: 'factual', request, completion: completion('Paris.'), jobId: 'job-1' });
    await counted.store({
      ...ctx,
      category: 'factual',
      request: ask("What's the capital of France?"),
      completion: completion('Paris!'),
      jobId: 'job-2',
    });
    await counted.lookup({ ...large, category: 'factual', request: ask('warm-up'), embedding }); // loads the script
    const look = (tier: typeof ctx | typeof large, other: typeof smallScope) =>
      counted.lookup({ ...tier, category: 'factual', request, embedding, supersededBy: other });
    sent.length = 0;
    const [small, big] = await Promise.all([look(ctx, largeScope), look(large, smallScope)]);
    expect(small).toMatchObject({ hit: true, kind: 'exact', sourceJobId: 'job-1' });
    // Large has no entry of its own and is not searched: small's entry answers the request.
    expect(big).toMatchObject({ hit: false, kind: 'miss', reason: 'superseded' });
    // One script each, nothing after it but the counters (statsFlushMs 0).
    expect(sent.filter((name) => name !== 'hincrby' && name !== 'pexpire' && name !== 'expire')).toEqual([
      'evalsha_ro',
      'evalsha_ro',
    ]);
    // Without the other scope's entry, the search runs: small's entries are not large's.
    const alone = await counted.lookup({ ...large, category: 'factual', request, embedding });
    expect(alone).toMatchObject({ hit: false, kind: 'miss' });
    expect(alone.hit === false && alone.reason).not.toBe('superseded');
    // A superseded lookup is not counted as a miss.
    const stats = await counted.stats();
    expect(stats.misses.byReason.superseded).toBeUndefined();
  });

  it('honours threshold overrides: per call, per tenant, per category', async () => {
    await put(QUESTION);
    // Calibrated similarity about 0.996.
    const reworded = ask("Tell me France's capital");
    expect((await cache.lookup({ ...ctx, category: 'factual', request: reworded })).hit).toBe(true);
    expect((await cache.lookup({ ...ctx, category: 'factual', request: reworded, threshold: 0.999 })).hit).toBe(false);
    const strictTenant = bed.cache({}, { thresholdByTenant: { acme: 0.999 } });
    expect((await strictTenant.lookup({ ...ctx, category: 'factual', request: reworded })).hit).toBe(false);
    const strictCategory = bed.cache({ thresholdByCategory: { factual: 0.999 } });
    expect((await strictCategory.lookup({ ...ctx, category: 'factual', request: reworded })).hit).toBe(false);
    expect((await strictCategory.lookup({ ...ctx, category: 'general', request: reworded })).hit).toBe(true);
    await expect(cache.lookup({ ...ctx, request: reworded, threshold: 2 })).rejects.toMatchObject({
      code: 'SLUICE_ERR_CACHE_REQUEST',
    });
  });

  it('bypasses on no-cache but still stores; looks up on no-store but does not store', async () => {
    expect(await cache.lookup({ ...ctx, request: ask(QUESTION), cacheMode: 'no-cache' })).toMatchObject({
      hit: false,
      kind: 'bypass',
      reason: 'no-cache',
    });
    expect(await put(QUESTION, { cacheMode: 'no-cache' })).toMatchObject({ stored: true });
    expect(await cache.lookup({ ...ctx, request: ask(QUESTION), cacheMode: 'no-store' })).toMatchObject({ hit: true });
    expect(await put('Another question?', { cacheMode: 'no-store' })).toEqual({ stored: false, reason: 'no-store' });
    expect((await cache.lookup({ ...ctx, request: ask('Another question?') })).hit).toBe(false);
  });
});

describe('scope isolation', () => {
  const lookupLike = (patch: {
    tenant?: string;
    tier?: 'small' | 'large';
    model?: string;
    shareGroup?: string;
    request?: ChatRequest;
  }) => cache.lookup({ ...ctx, category: 'factual', request: ask(QUESTION), ...patch });

  it('never hits across tenants, unless both share a group', async () => {
    await put(QUESTION);
    expect(await lookupLike({ tenant: 'globex' })).toMatchObject({ hit: false, reason: 'no-candidates' });
    await put(QUESTION, { tenant: 'a', shareGroup: 'public' });
    expect(await lookupLike({ tenant: 'b', shareGroup: 'public' })).toMatchObject({ hit: true, kind: 'exact' });
    expect((await lookupLike({ tenant: 'b' })).hit).toBe(false);
  });

  it('never hits across tiers or models', async () => {
    await put(QUESTION);
    expect((await lookupLike({ tier: 'large' })).hit).toBe(false);
    expect((await lookupLike({ model: 'gpt-4o' })).hit).toBe(false);
    expect((await lookupLike({})).hit).toBe(true);
  });

  it('never hits across system prompts or conversation context', async () => {
    await put(QUESTION, {
      request: {
        model: 'auto',
        messages: [
          { role: 'system', content: 'Answer in one word.' },
          { role: 'user', content: QUESTION },
        ],
      },
    });
    expect(
      (
        await lookupLike({
          request: {
            model: 'auto',
            messages: [
              { role: 'system', content: 'Answer at length.' },
              { role: 'user', content: QUESTION },
            ],
          },
        })
      ).hit,
    ).toBe(false);
    expect((await lookupLike({ request: ask(QUESTION) })).hit).toBe(false);
    expect(
      (
        await lookupLike({
          request: {
            model: 'auto',
            messages: [
              { role: 'system', content: 'Answer in one word.' },
              { role: 'user', content: QUESTION },
            ],
          },
        })
      ).hit,
    ).toBe(true);

    await put('And its population?', {
      request: {
        model: 'auto',
        messages: [
          { role: 'user', content: 'Tell me about Paris.' },
          { role: 'assistant', content: 'Paris is…' },
          { role: 'user', content: 'And its population?' },
        ],
      },
    });
    const otherContext: ChatRequest = {
      model: 'auto',
      messages: [
        { role: 'user', content: 'Tell me about Tokyo.' },
        { role: 'assistant', content: 'Tokyo is…' },
        { role: 'user', content: 'And its population?' },
      ],
    };
    expect((await lookupLike({ request: otherContext })).hit).toBe(false);
  });

  it.each<[string, Partial<ChatRequest>]>([
    ['temperature', { temperature: 0 }],
    ['top_p', { top_p: 0.1 }],
    ['tools', { tools: [{ type: 'function', function: { name: 'search', parameters: {} } }] }],
    ['tool_choice', { tool_choice: 'required' }],
    ['response_format', { response_format: { type: 'json_object' } }],
    ['max_tokens', { max_tokens: 5 }],
    ['max_completion_tokens', { max_completion_tokens: 5 }],
    ['seed', { seed: 1 }],
    ['n', { n: 1 }],
    ['stop', { stop: 'END' }],
    ['an unknown body field', { logit_bias: { '50256': -100 } } as Partial<ChatRequest>],
  ])('never hits across a different %s', async (_, params) => {
    await put(QUESTION);
    const result = await lookupLike({ request: ask(QUESTION, params) });
    expect(result.hit).toBe(false);
    // And the other way round: an entry stored with the parameter is not served without it.
    await put('What is the capital of Spain?', { request: ask('What is the capital of Spain?', params) });
    expect((await lookupLike({ request: ask('What is the capital of Spain?') })).hit).toBe(false);
    expect((await lookupLike({ request: ask('What is the capital of Spain?', params) })).hit).toBe(true);
  });
});

describe('freshness', () => {
  it('expires an entry at its absolute category TTL, by the injected clock', async () => {
    await put(QUESTION);
    bed.clock.advance(HOUR - 1);
    expect(await cache.lookup({ ...ctx, request: ask(QUESTION) })).toMatchObject({ hit: true });
    bed.clock.advance(1);
    expect(await cache.lookup({ ...ctx, request: ask(QUESTION) })).toMatchObject({ hit: false, reason: 'expired' });
    expect(
      await cache.lookup({ ...ctx, category: 'factual', request: ask("What's the capital of France?") }),
    ).toMatchObject({ hit: false, reason: 'expired' });
    expect((await cache.stats()).expirations).toBe(2);
  });

  it('never extends the expiry on a hit', async () => {
    await put(QUESTION);
    for (let i = 0; i < 5; i += 1) {
      bed.clock.advance(HOUR / 6);
      expect((await cache.lookup({ ...ctx, request: ask(QUESTION) })).hit).toBe(true);
    }
    bed.clock.advance(HOUR / 6);
    expect((await cache.lookup({ ...ctx, request: ask(QUESTION) })).hit).toBe(false);
  });

  it('does not serve an entry older than the asking request’s category TTL', async () => {
    await put(QUESTION, { category: 'general' });
    bed.clock.advance(2 * HOUR);
    expect((await cache.lookup({ ...ctx, category: 'general', request: ask(QUESTION) })).hit).toBe(true);
    expect((await cache.lookup({ ...ctx, category: 'factual', request: ask(QUESTION) })).hit).toBe(false);
  });

  it('neither stores nor serves time-sensitive answers by default', async () => {
    expect(await put('What is the weather now?', { category: 'time_sensitive' })).toEqual({
      stored: false,
      reason: 'category-not-cached',
    });
    expect(
      await cache.lookup({ ...ctx, category: 'time_sensitive', request: ask('What is the weather now?') }),
    ).toMatchObject({ kind: 'bypass', reason: 'category-not-cached' });
  });
});

describe('what is never cached', () => {
  it.each([
    ['an error', { error: new Error('boom'), completion: undefined }, 'error'],
    ['a truncated answer', { completion: completion('Paris is the', 'length') }, 'finish-reason'],
    [
      'a tool call',
      {
        completion: {
          ...completion(''),
          choices: [
            {
              index: 0,
              message: {
                role: 'assistant',
                content: null,
                tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }],
              },
              finish_reason: 'tool_calls',
            },
          ],
        },
      },
      'tool-calls',
    ],
    ['a temperature above the cap', { request: ask(QUESTION, { temperature: 1.7 }) }, 'temperature'],
  ])('does not store %s', async (_, patch, reason) => {
    expect(await put(QUESTION, patch as Partial<StoreInput>)).toEqual({ stored: false, reason });
    expect((await cache.lookup({ ...ctx, request: ask(QUESTION) })).hit).toBe(false);
    expect((await cache.stats()).storeSkips.byReason).toEqual({ [reason]: 1 });
  });

  it('stores tool calls when configured to', async () => {
    const tools = bed.cache({ cacheToolCalls: true });
    const call = {
      ...completion(''),
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }],
          },
          finish_reason: 'tool_calls',
        },
      ],
    };
    expect(
      await tools.store({ ...ctx, category: 'code', request: ask(QUESTION), completion: call, jobId: 'j' }),
    ).toMatchObject({ stored: true });
  });
});

describe('bounded keys', () => {
  it('evicts the oldest entries past the namespace cap', async () => {
    const capped = bed.cache({ namespaceCap: 3 });
    const questions = [
      'Who painted the Mona Lisa?',
      'How tall is Mount Everest?',
      'What is photosynthesis?',
      'Who wrote Hamlet?',
      'What is the speed of light?',
    ];
    const stored = [];
    for (const q of questions) {
      stored.push(
        await capped.store({ ...ctx, category: 'general', request: ask(q), completion: completion('a'), jobId: q }),
      );
      bed.clock.advance(1_000);
    }
    expect(stored.map((s) => s.stored && s.evicted)).toEqual([0, 0, 0, 1, 1]);
    const hits = await Promise.all(questions.map(async (q) => (await capped.lookup({ ...ctx, request: ask(q) })).hit));
    expect(hits).toEqual([false, false, true, true, true]);
    const namespace = capped.scope({ ...ctx, request: ask(questions[0]!) }).namespace;
    const raw = bed.connect();
    expect(await raw.call('VCARD', (await raw.keys(`${bed.keys.prefix}:{cache:${namespace}}:v:*`))[0]!)).toBe(3);
    expect(await raw.zcard(bed.keys.family('cache', namespace, 'age'))).toBe(3);
    expect((await capped.stats()).evictions).toBe(2);
  });

  it('sweeps expired vector elements and index entries in bounded batches', async () => {
    const raw = bed.connect();
    for (const q of ['Who painted the Mona Lisa?', 'How tall is Mount Everest?', 'What is photosynthesis?'])
      await put(q);
    await put('Who wrote Hamlet?', { category: 'general' });
    const namespace = cache.scope({ ...ctx, request: ask(QUESTION) }).namespace;
    const [vectorKey] = await raw.keys(`${bed.keys.prefix}:{cache:${namespace}}:v:*`);
    expect(await raw.call('VCARD', vectorKey!)).toBe(4);

    bed.clock.advance(HOUR);
    expect(await cache.sweepExpired(bed.clock.now, 2)).toEqual({ scanned: 2, removed: 2, more: true });
    expect(await cache.sweepExpired(bed.clock.now, 2)).toEqual({ scanned: 1, removed: 1, more: false });
    expect(await cache.sweepExpired(bed.clock.now, 2)).toEqual({ scanned: 0, removed: 0, more: false });
    expect(await raw.call('VCARD', vectorKey!)).toBe(1);
    expect(await raw.zrange(bed.keys.family('cache', namespace, 'exp'), 0, '-1')).toHaveLength(1);
    expect(await raw.zcard(bed.keys.family('cache-meta', 'all', 'expiry'))).toBe(1);
    expect((await cache.lookup({ ...ctx, request: ask('Who wrote Hamlet?') })).hit).toBe(true);
    expect((await cache.stats()).swept).toBe(3);
  });

  it('keeps an entry stored again after its first expiry', async () => {
    await put(QUESTION);
    bed.clock.advance(HOUR + 1);
    await put(QUESTION, { jobId: 'job-2' });
    expect((await cache.sweepExpired()).removed).toBe(0);
    expect(await cache.lookup({ ...ctx, request: ask(QUESTION) })).toMatchObject({ hit: true, sourceJobId: 'job-2' });
  });

  it('gives every key it writes a TTL', async () => {
    await put(QUESTION);
    await put('Who wrote Hamlet?', { category: 'general', tenant: 'other', shareGroup: 'g1' });
    await cache.lookup({ ...ctx, request: ask(QUESTION) });
    const fill = await cache.acquireFill(cache.scope({ ...ctx, request: ask('x') }).exactKey);
    const raw = bed.connect();
    const keys = await raw.keys(`${bed.keys.prefix}:*`);
    expect(keys.length).toBeGreaterThanOrEqual(10);
    for (const key of keys) expect([key, await raw.pttl(key)]).toEqual([key, expect.any(Number)]);
    const ttls = await Promise.all(keys.map((k) => raw.pttl(k)));
    expect(ttls.filter((t) => t <= 0)).toEqual([]);
    if (fill.leader) await fill.release();
  });
});

describe('stampede control', () => {
  it('lets exactly one of 20 concurrent identical misses, in 20 processes, fill; the rest get its entry', async () => {
    const processes = Array.from({ length: 20 }, () => bed.cache());
    const request = ask('Explain how photosynthesis works.');
    const exactKey = processes[0]!.scope({ ...ctx, request }).exactKey;
    let upstreamCalls = 0;
    const answers = await Promise.all(
      processes.map(async (p, i) => {
        const fill = await p.acquireFill(exactKey, { ttlMs: 10_000 });
        if (fill.leader) {
          upstreamCalls += 1;
          await new Promise((r) => setTimeout(r, 100));
          await p.store({
            ...ctx,
            category: 'general',
            request,
            completion: completion('Light to sugar.'),
            jobId: `job-${i}`,
          });
          await fill.release();
          return `job-${i}`;
        }
        const hit = await fill.wait(5_000);
        return hit?.sourceJobId;
      }),
    );
    expect(upstreamCalls).toBe(1);
    const leaderJob = answers.find((a) => a !== undefined);
    expect(answers).toEqual(Array(20).fill(leaderJob));
    // Each process adds its counts up and writes them every `statsFlushMs`; write them now.
    await Promise.all(processes.map((p) => p.flushStats()));
    expect((await processes[0]!.stats()).fills).toEqual({ leaders: 1, waiters: 19, shared: 19, uncoalesced: 0 });
  });

  it('hands leadership on when the leader fails without storing', async () => {
    const [a, b, c] = [bed.cache(), bed.cache(), bed.cache()];
    const exactKey = a.scope({ ...ctx, request: ask(QUESTION) }).exactKey;
    const first = await a.acquireFill(exactKey);
    expect(first.leader).toBe(true);
    const waiters = [await b.acquireFill(exactKey), await c.acquireFill(exactKey)];
    expect(waiters.map((w) => w.leader)).toEqual([false, false]);
    const waits = waiters.map((w) => (w.leader ? undefined : w.wait(5_000)));
    await new Promise((r) => setTimeout(r, 50));
    if (first.leader) await first.release();
    expect(await Promise.all(waits)).toEqual([undefined, undefined]);
    const again = await Promise.all([b.acquireFill(exactKey), c.acquireFill(exactKey)]);
    expect(again.filter((f) => f.leader)).toHaveLength(1);
  });

  it('lets identical requests through at once after the leader’s answer was refused, instead of one by one', async () => {
    const processes = Array.from({ length: 5 }, () => bed.cache());
    const request = ask('Write a long essay about rivers.');
    const exactKey = processes[0]!.scope({ ...ctx, request }).exactKey;
    const first = await processes[0]!.acquireFill(exactKey);
    const waiters = await Promise.all(processes.slice(1).map((p) => p.acquireFill(exactKey)));
    expect([first.leader, ...waiters.map((w) => w.leader)]).toEqual([true, false, false, false, false]);
    const waits = waiters.map((w) => (w.leader ? undefined : w.wait(5_000)));
    // The leader's answer was cut off: not storable, so not shareable.
    expect(
      await processes[0]!.store({
        ...ctx,
        category: 'creative',
        request,
        completion: completion('Rivers are', 'length'),
        jobId: 'j',
      }),
    ).toEqual({ stored: false, reason: 'finish-reason' });
    if (first.leader) await first.release();
    expect(await Promise.all(waits)).toEqual([undefined, undefined, undefined, undefined]);
    const again = await Promise.all(processes.slice(1).map((p) => p.acquireFill(exactKey)));
    expect(again.map((f) => f.leader && f.coordinated)).toEqual([false, false, false, false]);
    expect(again.every((f) => f.leader)).toBe(true);
    // A later answer that can be stored restores coalescing.
    await processes[0]!.store({
      ...ctx,
      category: 'creative',
      request,
      completion: completion('Rivers flow.'),
      jobId: 'j2',
    });
    const next = await processes[0]!.acquireFill(exactKey);
    expect(next.leader && next.coordinated).toBe(true);
    await Promise.all(processes.map((p) => p.flushStats()));
    expect((await processes[0]!.stats()).fills.uncoalesced).toBe(4);
  });

  it('frees the key when a leader dies (its lock expires)', async () => {
    const [a, b] = [bed.cache(), bed.cache()];
    const exactKey = a.scope({ ...ctx, request: ask(QUESTION) }).exactKey;
    expect((await a.acquireFill(exactKey, { ttlMs: 150 })).leader).toBe(true);
    const waiter = await b.acquireFill(exactKey);
    const started = Date.now();
    expect(waiter.leader === false && (await waiter.wait(5_000))).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect((await b.acquireFill(exactKey)).leader).toBe(true);
  });

  it('times a waiter out when the leader takes too long', async () => {
    const exactKey = cache.scope({ ...ctx, request: ask(QUESTION) }).exactKey;
    await cache.acquireFill(exactKey);
    const waiter = await bed.cache().acquireFill(exactKey);
    const started = Date.now();
    expect(waiter.leader === false && (await waiter.wait(200))).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });
});

describe('purge and stats', () => {
  it('purges a tenant without touching another', async () => {
    await put(QUESTION);
    await put('Who wrote Hamlet?', {
      request: {
        model: 'auto',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Who wrote Hamlet?' },
        ],
      },
    });
    await put(QUESTION, { tenant: 'globex' });
    expect(await cache.purge({ tenant: 'acme' })).toEqual({ namespaces: 2, entries: 2 });
    expect((await cache.lookup({ ...ctx, request: ask(QUESTION) })).hit).toBe(false);
    expect((await cache.lookup({ ...ctx, tenant: 'globex', request: ask(QUESTION) })).hit).toBe(true);
    const raw = bed.connect();
    expect(await raw.zcard(bed.keys.family('cache-meta', 'all', 'expiry'))).toBe(1);
    expect((await cache.stats()).purged).toBe(2);
  });

  it('purges one namespace', async () => {
    const stored = await put(QUESTION);
    expect(stored.stored).toBe(true);
    if (!stored.stored) return;
    expect(await cache.purge({ namespace: stored.namespace })).toEqual({ namespaces: 1, entries: 1 });
    expect((await cache.lookup({ ...ctx, request: ask(QUESTION) })).hit).toBe(false);
    await expect(cache.purge({ namespace: 'not-hex' })).rejects.toMatchObject({ code: 'SLUICE_ERR_CACHE_REQUEST' });
  });

  it('counts hits, misses, bypasses and stores, shared by every process', async () => {
    await put(QUESTION);
    await cache.lookup({ ...ctx, request: ask(QUESTION) });
    const other = bed.cache();
    await other.lookup({ ...ctx, category: 'factual', request: ask("What's the capital of France?") });
    await cache.lookup({ ...ctx, request: ask('Unrelated question about knitting?') });
    await cache.lookup({ ...ctx, request: ask(QUESTION), cacheMode: 'no-cache' });
    // The other process's counts are written within its `statsFlushMs` (1 s by default).
    await expect.poll(async () => (await cache.stats()).lookups, { timeout: 3_000 }).toBe(4);
    const stats = await cache.stats();
    expect(stats).toMatchObject({
      stores: 1,
      lookups: 4,
      hits: { exact: 1, semantic: 1, total: 2 },
      misses: { total: 1 },
      bypasses: { total: 1, byReason: { 'no-cache': 1 } },
    });
    expect(stats.hitRate).toBeCloseTo(2 / 3, 5);
    bed.clock.advance(24 * HOUR);
    expect((await cache.stats()).lookups).toBe(0);
    expect((await cache.stats({ days: 2 })).lookups).toBe(4);
  });

  it('adds counts up in the process and writes them in one pipeline per interval', async () => {
    const counted = bed.cache({}, { statsFlushMs: 60_000 });
    const reader = bed.cache();
    for (let i = 0; i < 5; i++) await counted.lookup({ ...ctx, request: ask(`Question number ${i} about knitting?`) });
    // Nothing written yet: another process does not see them, the counting one does.
    expect((await reader.stats()).lookups).toBe(0);
    expect((await counted.stats()).lookups).toBe(5);
    expect((await reader.stats()).misses.total).toBe(5);
    await counted.lookup({ ...ctx, request: ask(QUESTION) });
    // close() writes what is left.
    await counted.close();
    expect((await reader.stats()).lookups).toBe(6);
  });

  it('counts each increment at once with statsFlushMs 0', async () => {
    const counted = bed.cache({}, { statsFlushMs: 0 });
    await counted.lookup({ ...ctx, request: ask(QUESTION) });
    await expect.poll(async () => (await bed.cache().stats()).lookups, { timeout: 500 }).toBe(1);
    expect(() => bed.cache({}, { statsFlushMs: -1 })).toThrow(/statsFlushMs/);
  });
});
