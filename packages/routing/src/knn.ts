import { createHash, randomUUID } from 'node:crypto';
import { loadScripts, type Keys, type Redis } from '@sluice/redis';
import type { CategoryName, RouteDecision, TierName } from '@sluice/queues';
import { InvalidRoutingOptionsError, StrategyFailedError } from './errors.ts';
import { latestUserText } from './features.ts';
import type { RoutingInput, RoutingStrategy } from './rules.ts';
import SHIPPED_EXEMPLARS from './exemplars.json' with { type: 'json' };

/** Embeds texts; the classifier passes the same embedder the cache uses (one embedding per job). */
export type EmbedFunction = (texts: readonly string[]) => Promise<Float32Array[]>;

/** A labelled example prompt. */
export interface Exemplar {
  text: string;
  tier: Exclude<TierName, 'router'>;
  category: CategoryName;
}

/** The exemplar set shipped with the package (`src/exemplars.json`), distinct from the eval set. */
export const DEFAULT_EXEMPLARS: readonly Exemplar[] = Object.freeze(SHIPPED_EXEMPLARS as Exemplar[]);

/** Options for {@link knnStrategy}. */
export interface KnnStrategyOptions {
  /** ioredis connection (Redis ≥ 8, vector sets). */
  redis: Redis;
  /** Key helper (`createKeys(prefix)`); keys live under the `routing` family. */
  keys: Keys;
  /** Embedding function. An `embedding` passed to `decide` must come from the same one. */
  embed: EmbedFunction;
  /**
   * Identifies the embedder (model and dimension). Changing it re-embeds every exemplar,
   * seeded and learned, so vectors from two embedders never mix in one set.
   * @defaultValue `'default'`
   */
  embedderId?: string;
  /** Exemplar namespace (one vector set each). @defaultValue `'default'` */
  namespace?: string;
  /** Neighbours consulted. @defaultValue 7 */
  k?: number;
  /** Seed exemplars. @defaultValue {@link DEFAULT_EXEMPLARS} */
  exemplars?: readonly Exemplar[];
  /** Most learned exemplars kept per learning scope (oldest evicted). @defaultValue 10_000 */
  maxLearned?: number;
  /** Vote weight of a learned exemplar relative to a seeded one. @defaultValue 2 */
  learnedWeight?: number;
  /**
   * Share of the (similarity-weighted) neighbour vote for `large` at or above which the
   * request goes large. Below one half on purpose: a split neighbourhood is a complex-prompt
   * risk. @defaultValue 0.4
   */
  largeShare?: number;
  /** Clock (ms). @defaultValue `Date.now` */
  now?: () => number;
}

/** Feedback that a prompt needed a given tier. */
export interface RoutingFeedback {
  /** The prompt text (the latest user message). */
  prompt: string;
  /** Its embedding, when the job already has one. */
  embedding?: Float32Array;
  /** The tier it should have gone to. */
  tier: Exclude<TierName, 'router'>;
  /** Its category. @defaultValue `'general'` */
  category?: CategoryName;
  /** Where the label came from (`POST /v1/feedback` or a cascade escalation). @defaultValue `'feedback'` */
  source?: 'feedback' | 'escalation';
  /**
   * The {@link learningScope} it was learned in: only decisions in the same scope see it.
   * @defaultValue none: seen only by decisions without a scope (offline evaluation)
   */
  scope?: string;
}

/**
 * The scope a tenant's routing feedback is learned in: its share group when it has one (tenants
 * in a group share what they teach, as they share cache entries), else the tenant alone. A
 * hash, so the exemplar's attributes name no tenant.
 */
export function learningScope(tenant: string, shareGroup?: string): string {
  return createHash('sha1')
    .update(shareGroup ? `group\n${shareGroup}` : `tenant\n${tenant}`)
    .digest('hex')
    .slice(0, 20);
}

/** Result of {@link KnnStrategy.seed}. */
export interface SeedResult {
  /** False when the set was already current, or another process was seeding it. */
  seeded: boolean;
  /** Seed exemplars written. */
  exemplars: number;
  /** Learned exemplars re-embedded. */
  relearned: number;
}

/** The kNN strategy, with the operations that teach it. */
export interface KnnStrategy extends RoutingStrategy {
  readonly name: 'knn';
  /** Load the seed exemplars (and re-embed learned ones) unless the set is current. Idempotent; `decide` calls it once. */
  seed(): Promise<SeedResult>;
  /** Add or update a learned exemplar (capped at `maxLearned`, oldest evicted). */
  recordFeedback(feedback: RoutingFeedback): Promise<void>;
  /** A cascade escalated: the small tier failed the quality gate, so this prompt needed large. */
  recordEscalation(feedback: Omit<RoutingFeedback, 'tier' | 'source'>): Promise<void>;
  /** Exemplars in the set, and how many of them were learned. */
  size(): Promise<{ total: number; learned: number }>;
}

const SCRIPTS = loadScripts('routing', new URL('./lua/', import.meta.url), { learnExemplar: {} });
const CATEGORIES: readonly CategoryName[] = ['time_sensitive', 'factual', 'general', 'creative', 'code', 'reasoning'];
// Only the start of a long prompt is embedded: what is being asked is stated there, and the
// embedder's cost grows with length.
const MAX_EMBED_CHARS = 4_000;

/**
 * The scope attribute of seeded exemplars, which every decision sees. A VSIM filter on an
 * attribute an element lacks excludes the element, so seeds carry one too.
 */
const SEED_SCOPE = 'all';

type Attributes = {
  tier: Exclude<TierName, 'router'>;
  category: CategoryName;
  source: 'seed' | 'feedback' | 'escalation';
  scope?: string;
};

function blob(vector: Float32Array): Buffer {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
}

function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

/**
 * Nearest neighbours over labelled exemplars kept in a Redis vector set. The k most similar
 * exemplars vote, weighted by squared cosine similarity (learned ones count more); confidence
 * is the vote's margin scaled down when even the nearest exemplar is far, so an unfamiliar
 * prompt falls through to the next strategy. It learns from feedback and escalations.
 */
export function knnStrategy(options: KnnStrategyOptions): KnnStrategy {
  const { redis, keys, embed } = options;
  const k = options.k ?? 7;
  const maxLearned = options.maxLearned ?? 10_000;
  const learnedWeight = options.learnedWeight ?? 2;
  const largeShare = options.largeShare ?? 0.4;
  const exemplars = options.exemplars ?? DEFAULT_EXEMPLARS;
  const embedderId = options.embedderId ?? 'default';
  const namespace = options.namespace ?? 'default';
  const now = options.now ?? Date.now;
  if (!Number.isInteger(k) || k < 1)
    throw new InvalidRoutingOptionsError(`Expected \`k\` to be an integer ≥ 1, got \`${String(k)}\``);
  if (!Number.isInteger(maxLearned) || maxLearned < 0)
    throw new InvalidRoutingOptionsError(`Expected \`maxLearned\` to be an integer ≥ 0, got \`${String(maxLearned)}\``);
  if (!(largeShare > 0 && largeShare <= 1))
    throw new InvalidRoutingOptionsError(`Expected \`largeShare\` to be in (0, 1], got \`${String(largeShare)}\``);
  if (!/^[A-Za-z0-9_.-]+$/.test(namespace))
    throw new InvalidRoutingOptionsError(`Expected \`namespace\` to be [A-Za-z0-9_.-]+, got \`${namespace}\``);
  if (typeof embed !== 'function') throw new InvalidRoutingOptionsError('Expected `embed` to be a function');

  const key = {
    set: keys.family('routing', namespace, 'exemplars'),
    building: keys.family('routing', namespace, 'exemplars-building'),
    learned: keys.family('routing', namespace, 'learned'),
    learnedAt: keys.family('routing', namespace, 'learned-at'),
    meta: keys.family('routing', namespace, 'meta'),
    lock: keys.family('routing', namespace, 'seed-lock'),
  };
  // `scoped`: sets seeded before seeds carried a scope are seeded again (once).
  const fingerprint = sha1(`${embedderId}\n${JSON.stringify(exemplars)}\nscoped`);
  let seeding: Promise<SeedResult> | undefined;

  async function embedOne(text: string): Promise<Float32Array> {
    const [vector] = await embed([text.slice(0, MAX_EMBED_CHARS)]);
    if (!vector || vector.length === 0) throw new StrategyFailedError('knn', 'the embedder returned no vector');
    return vector;
  }

  async function seed(): Promise<SeedResult> {
    const [current, exists] = await Promise.all([redis.hget(key.meta, 'fingerprint'), redis.exists(key.set)]);
    if (current === fingerprint && exists) return { seeded: false, exemplars: 0, relearned: 0 };
    const token = randomUUID();
    // Two minutes covers embedding a few thousand exemplars with a remote embedder.
    if ((await redis.set(key.lock, token, 'PX', 120_000, 'NX')) !== 'OK')
      return { seeded: false, exemplars: 0, relearned: 0 };
    try {
      const vectors: Float32Array[] = [];
      for (let i = 0; i < exemplars.length; i += 64) {
        vectors.push(...(await embed(exemplars.slice(i, i + 64).map((e) => e.text.slice(0, MAX_EMBED_CHARS)))));
      }
      const learned = Object.entries(await redis.hgetall(key.learned)).map(([element, json]) => ({
        element,
        record: JSON.parse(json) as { prompt: string } & Attributes,
      }));
      const learnedVectors = learned.length
        ? await embed(learned.map((l) => l.record.prompt.slice(0, MAX_EMBED_CHARS)))
        : [];
      // Built aside and swapped in with RENAME so deciders never see a half-filled set.
      const pipeline = redis.pipeline().del(key.building);
      exemplars.forEach((e, i) => {
        const attributes: Attributes = { tier: e.tier, category: e.category, source: 'seed', scope: SEED_SCOPE };
        pipeline.call(
          'VADD',
          key.building,
          'FP32',
          blob(vectors[i]!),
          `s:${i}:${sha1(e.text).slice(0, 10)}`,
          'SETATTR',
          JSON.stringify(attributes),
        );
      });
      learned.forEach((l, i) => {
        const { tier, category, source, scope } = l.record;
        pipeline.call(
          'VADD',
          key.building,
          'FP32',
          blob(learnedVectors[i]!),
          l.element,
          'SETATTR',
          JSON.stringify({ tier, category, source, ...(scope ? { scope } : {}) }),
        );
      });
      if (exemplars.length + learned.length > 0) pipeline.rename(key.building, key.set);
      pipeline.hset(key.meta, 'fingerprint', fingerprint, 'dimensions', String(vectors[0]?.length ?? 0));
      const results = (await pipeline.exec()) ?? [];
      const failed = results.find(([error]) => error);
      if (failed) throw new StrategyFailedError('knn', `seeding failed: ${failed[0]!.message}`, { cause: failed[0] });
      return { seeded: true, exemplars: exemplars.length, relearned: learned.length };
    } finally {
      if ((await redis.get(key.lock)) === token) await redis.del(key.lock);
    }
  }

  function ensureSeeded(): Promise<SeedResult> {
    seeding ??= seed().catch((error: unknown) => {
      seeding = undefined; // retry on the next request
      throw error;
    });
    return seeding;
  }

  async function decide({ request, embedding, learningScope: scope }: RoutingInput): Promise<RouteDecision> {
    await ensureSeeded();
    const text = latestUserText(request);
    const vector = embedding && embedding.length > 0 ? embedding : await embedOne(text);
    // Another tenant's feedback never votes, nor shows in the reasons: a tenant's identical
    // prompt used to route, and read "1 learned, nearest cosine 1.00", by what another taught.
    if (scope !== undefined && !/^[0-9a-f]{1,64}$/.test(scope))
      throw new InvalidRoutingOptionsError(`Expected \`learningScope\` to be hex (learningScope()), got \`${scope}\``);
    const filter = scope === undefined ? [] : ['FILTER', `.scope == "${SEED_SCOPE}" or .scope == "${scope}"`];
    const raw = (await redis.call(
      'VSIM',
      key.set,
      'FP32',
      blob(vector),
      'WITHSCORES',
      'COUNT',
      String(k),
      ...filter,
    )) as string[];
    if (!raw.length) throw new StrategyFailedError('knn', 'no exemplars in the set');
    const neighbours: { element: string; cosine: number }[] = [];
    for (let i = 0; i < raw.length; i += 2) neighbours.push({ element: raw[i]!, cosine: 2 * Number(raw[i + 1]) - 1 });
    const pipeline = redis.pipeline();
    for (const n of neighbours) pipeline.call('VGETATTR', key.set, n.element);
    const attrs = ((await pipeline.exec()) ?? []).map(([, value]) =>
      typeof value === 'string' ? (JSON.parse(value) as Attributes) : undefined,
    );

    const tierVotes = { small: 0, large: 0 };
    const categoryVotes = new Map<CategoryName, number>();
    let learnedNeighbours = 0;
    neighbours.forEach((n, i) => {
      const a = attrs[i];
      if (!a) return;
      const learned = a.source !== 'seed';
      if (learned) learnedNeighbours++;
      const weight = Math.max(0, n.cosine) ** 2 * (learned ? learnedWeight : 1);
      tierVotes[a.tier === 'large' ? 'large' : 'small'] += weight;
      if (CATEGORIES.includes(a.category)) categoryVotes.set(a.category, (categoryVotes.get(a.category) ?? 0) + weight);
    });
    const total = tierVotes.small + tierVotes.large;
    if (total === 0) throw new StrategyFailedError('knn', 'no similar exemplar');
    const share = tierVotes.large / total;
    const tier = share >= largeShare ? 'large' : 'small';
    const nearest = neighbours[0]!.cosine;
    // Distance from the cut, 0..1, then scaled by how near the nearest exemplar is: a cosine
    // of 0.6+ counts as "this kind of prompt is known".
    const margin = tier === 'large' ? (share - largeShare) / (1 - largeShare) : (largeShare - share) / largeShare;
    const closeness = Math.min(1, Math.max(0, (nearest - 0.15) / 0.45));
    const confidence = Math.round(Math.min(0.97, (0.5 + 0.5 * margin) * (0.55 + 0.45 * closeness)) * 1000) / 1000;
    let category: CategoryName = 'general';
    let best = -1;
    for (const [c, v] of categoryVotes) if (v > best) [category, best] = [c, v];
    const nearestAttrs = attrs[0];
    return {
      tier,
      category,
      confidence,
      reasons: [
        `${neighbours.length} nearest exemplars${learnedNeighbours ? ` (${learnedNeighbours} learned)` : ''}, nearest cosine ${nearest.toFixed(2)}${nearestAttrs ? ` (${nearestAttrs.tier}/${nearestAttrs.category})` : ''}`,
        `weighted vote large ${(share * 100).toFixed(0)}% ${tier === 'large' ? '≥' : '<'} ${(largeShare * 100).toFixed(0)}% → ${tier}`,
        `category ${category} by neighbour vote`,
      ],
      strategy: 'knn',
    };
  }

  async function recordFeedback(feedback: RoutingFeedback): Promise<void> {
    const prompt = feedback.prompt.slice(0, MAX_EMBED_CHARS);
    if (!prompt.trim()) throw new InvalidRoutingOptionsError('Expected feedback `prompt` to be a non-empty string');
    if (feedback.tier !== 'small' && feedback.tier !== 'large')
      throw new InvalidRoutingOptionsError(
        `Expected feedback \`tier\` to be \`small\` or \`large\`, got \`${String(feedback.tier)}\``,
      );
    await ensureSeeded();
    const vector = feedback.embedding && feedback.embedding.length > 0 ? feedback.embedding : await embedOne(prompt);
    const scope = feedback.scope;
    if (scope !== undefined && !/^[0-9a-f]{1,64}$/.test(scope))
      throw new InvalidRoutingOptionsError(`Expected feedback \`scope\` to be hex (learningScope()), got \`${scope}\``);
    const attributes: Attributes = {
      tier: feedback.tier,
      category: feedback.category ?? 'general',
      source: feedback.source ?? 'feedback',
      ...(scope ? { scope } : {}),
    };
    const at = now();
    await SCRIPTS.learnExemplar.run(
      redis,
      [
        key.set,
        key.learned,
        // Capped per scope: one tenant's feedback never evicts another's.
        scope ? keys.family('routing', namespace, 'learned-at', scope) : key.learnedAt,
      ],
      [
        scope ? `l:${scope}:${sha1(prompt).slice(0, 16)}` : `l:${sha1(prompt).slice(0, 16)}`,
        JSON.stringify(attributes),
        JSON.stringify({ prompt, ...attributes, at }),
        String(at),
        String(maxLearned),
        blob(vector),
      ],
    );
  }

  return {
    name: 'knn',
    seed: () => {
      seeding = seed();
      return seeding;
    },
    decide,
    recordFeedback,
    recordEscalation: (feedback) => recordFeedback({ ...feedback, tier: 'large', source: 'escalation' }),
    async size() {
      const [total, learned] = await Promise.all([
        redis.call('VCARD', key.set) as Promise<number>,
        redis.hlen(key.learned),
      ]);
      return { total: Number(total), learned };
    },
  };
}
