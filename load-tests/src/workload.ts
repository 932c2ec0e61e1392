/**
 * Seeded, reproducible workload: single prompts drawn by Zipf popularity from the catalog's
 * intents (each asked in several wordings), multi-turn conversations whose later turns arrive
 * a few seconds after the earlier ones, and several tenants with their own system prompts.
 * Every request carries its intent group and the tier a correct router would pick, and the
 * workload indexes the simulator fingerprint of every prompt it contains, so a reply can be
 * traced back to the prompt it was produced for.
 */
import { createHash } from 'node:crypto';
import type { Category } from '@sluice/config';
import { fingerprintMessages } from '@sluice/sim';
import {
  CONVERSATION_TEMPLATES,
  INTENT_TEMPLATES,
  PROSE_WORDS,
  TENANTS,
  type Complexity,
  type ConversationTemplate,
  type IntentTemplate,
  type Slots,
  type TenantProfile,
} from './catalog.ts';

/** A chat message as sent. */
export interface WorkloadMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** One request of the workload. */
export interface WorkloadRequest {
  /** Position in the arrival sequence. */
  index: number;
  tenant: string;
  messages: WorkloadMessage[];
  /**
   * What is being asked. Requests of one group deserve the same answer: a reply whose
   * fingerprint belongs to another group is a wrong answer. Conversation turns are grouped by
   * conversation template, slot and turn (the context is part of the question).
   */
  intentGroup: string;
  /** Catalog template id (`fact.capital`, `conv.trip`). */
  templateId: string;
  category: Category;
  complexity: Complexity;
  /** The tier a correct router picks: `small` for simple prompts, `large` for complex ones. */
  expectedTier: 'small' | 'large';
  /** Simulator fingerprint of `messages` (`[sim:<fingerprint>]` starts its reply). */
  fingerprint: string;
  /** Set for conversation turns. */
  conversation?: { id: string; turn: number; turns: number };
}

/** Where a fingerprint comes from. */
export interface FingerprintOrigin {
  intentGroup: string;
  tenant: string;
}

/** Options for {@link generateWorkload}. */
export interface WorkloadOptions {
  seed: number;
  /** Number of requests. */
  requests: number;
  /** Arrival rate (req/s) the workload will be sent at: spaces conversation turns in time. */
  rate: number;
  /** Share of new single prompts that are complex. @defaultValue 0.25 */
  complexShare?: number;
  /** Share of new arrivals that start a conversation. @defaultValue 0.05 */
  conversationShare?: number;
  /** Zipf exponent of intent popularity. @defaultValue 1.0 */
  zipfExponent?: number;
  /** Zipf exponent over the wordings of one intent (first wording most common). @defaultValue 1.2 */
  wordingExponent?: number;
  /** Seconds between a conversation's turns (uniform). @defaultValue [3, 10] */
  thinkSeconds?: readonly [number, number];
  /** @defaultValue {@link TENANTS} */
  tenants?: readonly TenantProfile[];
  /** @defaultValue {@link INTENT_TEMPLATES} */
  intents?: readonly IntentTemplate[];
  /** @defaultValue {@link CONVERSATION_TEMPLATES} */
  conversations?: readonly ConversationTemplate[];
}

/** What {@link generateWorkload} produced. */
export interface Workload {
  seed: number;
  requests: WorkloadRequest[];
  /** Every fingerprint of the workload → its intent group and tenant. */
  fingerprints: Map<string, FingerprintOrigin>;
  summary: WorkloadSummary;
}

/** Shape of a workload, for the report. */
export interface WorkloadSummary {
  requests: number;
  tenants: Record<string, number>;
  byCategory: Record<string, { simple: number; complex: number }>;
  complex: number;
  conversationTurns: number;
  conversations: number;
  distinctIntentGroups: number;
  distinctPrompts: number;
  /** Share of requests whose exact prompt (same tenant) was sent before and may be cached. */
  exactRepeatShare: number;
  /** Share of requests whose intent (same tenant) was asked before and may be cached: the most a correct cache can hit. */
  intentRepeatShare: number;
  /** Share of the single-prompt traffic taken by the most popular intent. */
  topIntentShare: number;
}

/** mulberry32: a small, fast, seedable PRNG; returns floats in [0, 1). */
export function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Samples ranks 0..n-1 with P(rank r) ∝ 1 / (r + 1)^exponent. */
export interface ZipfSampler {
  readonly n: number;
  sample(random: () => number): number;
  /** Probability of rank r. */
  probability(rank: number): number;
}

/** Create a {@link ZipfSampler} over `n` ranks. */
export function createZipfSampler(n: number, exponent: number): ZipfSampler {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`Expected \`n\` to be an integer ≥ 1, got \`${n}\``);
  if (!(exponent >= 0)) throw new RangeError(`Expected \`exponent\` to be a number ≥ 0, got \`${exponent}\``);
  const cdf = new Float64Array(n);
  let total = 0;
  for (let r = 0; r < n; r++) cdf[r] = total += 1 / (r + 1) ** exponent;
  for (let r = 0; r < n; r++) cdf[r]! /= total;
  return {
    n,
    probability: (rank) => (rank === 0 ? cdf[0]! : cdf[rank]! - cdf[rank - 1]!),
    sample(random) {
      const u = random();
      let lo = 0;
      let hi = n - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (cdf[mid]! > u) hi = mid;
        else lo = mid + 1;
      }
      return lo;
    },
  };
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

const fill = (text: string, slots: Slots) => text.replace(/\{(\w+)\}/g, (m, name: string) => slots[name] ?? m);

/** Deterministic filler prose of `words` words, from a string seed. */
export function prose(seed: string, words: number): string {
  const random = createRandom(createHash('sha256').update(seed).digest().readUInt32LE(0));
  const out: string[] = [];
  let sentence = 0;
  for (let i = 0; i < words; i++) {
    let w = PROSE_WORDS[Math.floor(random() * PROSE_WORDS.length)]!;
    if (sentence === 0) w = w[0]!.toUpperCase() + w.slice(1);
    sentence++;
    if (sentence > 6 && random() < 0.18) {
      w += '.';
      sentence = 0;
    }
    out.push(w);
  }
  return `${out.join(' ').replace(/[.]?$/, '.')}`;
}

interface Intent {
  group: string;
  template: IntentTemplate;
  slots: Slots;
}

interface PendingTurn {
  due: number;
  conversationId: string;
  template: ConversationTemplate;
  slotIndex: number;
  turn: number;
  tenant: TenantProfile;
  history: WorkloadMessage[];
}

/** Generate a workload. Same options, same requests, byte for byte. */
export function generateWorkload(options: WorkloadOptions): Workload {
  const random = createRandom(options.seed);
  const tenants = options.tenants ?? TENANTS;
  const templates = options.intents ?? INTENT_TEMPLATES;
  const conversationTemplates = options.conversations ?? CONVERSATION_TEMPLATES;
  const complexShare = options.complexShare ?? 0.25;
  const conversationShare = options.conversationShare ?? 0.05;
  const exponent = options.zipfExponent ?? 1.0;
  const wordingExponent = options.wordingExponent ?? 1.2;
  const [thinkMin, thinkMax] = options.thinkSeconds ?? [3, 10];
  if (!(options.rate > 0)) throw new RangeError(`Expected \`rate\` to be > 0, got \`${options.rate}\``);
  if (!Number.isInteger(options.requests) || options.requests < 0)
    throw new RangeError(`Expected \`requests\` to be an integer ≥ 0, got \`${options.requests}\``);

  // Popularity ranks are a seeded shuffle, so popularity is not tied to catalog order.
  const pool = (complexity: Complexity): Intent[] =>
    shuffle(
      templates
        .filter((t) => t.complexity === complexity)
        .flatMap((template) => template.slots.map((slots, i) => ({ group: `${template.id}#${i}`, template, slots }))),
      random,
    );
  const pools = { simple: pool('simple'), complex: pool('complex') };
  const samplers = {
    simple: createZipfSampler(pools.simple.length, exponent),
    complex: createZipfSampler(pools.complex.length, exponent),
  };
  // A conversation: its template by weight, then its slot by Zipf popularity.
  const conversationSlots = conversationTemplates.map((template) => ({
    template,
    order: shuffle(
      template.slots.map((_, i) => i),
      random,
    ),
    sampler: createZipfSampler(template.slots.length, exponent),
  }));
  const pickConversation = () => {
    let u = random() * conversationTemplates.reduce((a, t) => a + (t.weight ?? 1), 0);
    const c =
      conversationSlots.find((slot) => (u -= slot.template.weight ?? 1) < 0) ??
      conversationSlots[conversationSlots.length - 1]!;
    return { template: c.template, slotIndex: c.order[c.sampler.sample(random)]! };
  };
  const wordingSamplers = new Map<number, ZipfSampler>();
  const wording = (wordings: readonly string[]) => {
    let s = wordingSamplers.get(wordings.length);
    if (!s) wordingSamplers.set(wordings.length, (s = createZipfSampler(wordings.length, wordingExponent)));
    return wordings[s.sample(random)]!;
  };
  const pickTenant = () => {
    let u = random() * tenants.reduce((a, t) => a + t.share, 0);
    for (const t of tenants) if ((u -= t.share) < 0) return t;
    return tenants[tenants.length - 1]!;
  };
  const opening = (tenant: TenantProfile): WorkloadMessage[] =>
    tenant.systemPrompt ? [{ role: 'system', content: tenant.systemPrompt }] : [];

  const requests: WorkloadRequest[] = [];
  const fingerprints = new Map<string, FingerprintOrigin>();
  const pending: PendingTurn[] = [];
  let conversations = 0;
  const singleCounts = new Map<string, number>();

  const push = (r: Omit<WorkloadRequest, 'index' | 'fingerprint'>) => {
    const fingerprint = fingerprintMessages(r.messages);
    const known = fingerprints.get(fingerprint);
    if (known && (known.intentGroup !== r.intentGroup || known.tenant !== r.tenant)) {
      throw new Error(
        `Workload bug: fingerprint ${fingerprint} is both ${known.intentGroup}/${known.tenant} and ${r.intentGroup}/${r.tenant}`,
      );
    }
    fingerprints.set(fingerprint, { intentGroup: r.intentGroup, tenant: r.tenant });
    requests.push({ ...r, index: requests.length, fingerprint });
  };

  const emitTurn = (p: PendingTurn) => {
    const t = p.template.turns[p.turn]!;
    const slots: Slots = {
      ...p.template.slots[p.slotIndex]!,
      section: prose(`${p.template.id}#${p.slotIndex}:section${p.turn}`, 550),
    };
    const messages: WorkloadMessage[] = [...p.history, { role: 'user', content: fill(wording(t.wordings), slots) }];
    push({
      tenant: p.tenant.name,
      messages,
      intentGroup: `${p.template.id}#${p.slotIndex}:t${p.turn}`,
      templateId: p.template.id,
      category: t.category,
      complexity: t.complexity,
      expectedTier: t.complexity === 'complex' ? 'large' : 'small',
      conversation: { id: p.conversationId, turn: p.turn, turns: p.template.turns.length },
    });
    if (p.turn + 1 < p.template.turns.length) {
      // The reply the client keeps is a function of the history, as a deterministic model's would
      // be: two conversations that asked the same things carry the same history.
      const reply = prose(`reply:${fingerprintMessages(messages)}`, t.replyWords ?? 60);
      const think = thinkMin + random() * (thinkMax - thinkMin);
      pending.push({
        ...p,
        turn: p.turn + 1,
        history: [...messages, { role: 'assistant', content: reply }],
        due: requests.length + Math.max(1, Math.round(think * options.rate)),
      });
      pending.sort((a, b) => a.due - b.due);
    }
  };

  while (requests.length < options.requests) {
    if (pending.length && pending[0]!.due <= requests.length) {
      emitTurn(pending.shift()!);
      continue;
    }
    if (conversationSlots.length && random() < conversationShare) {
      const { template, slotIndex } = pickConversation();
      conversations++;
      const tenant = pickTenant();
      emitTurn({
        due: requests.length,
        conversationId: `c${conversations}`,
        template,
        slotIndex,
        turn: 0,
        tenant,
        history: opening(tenant),
      });
      continue;
    }
    const complexity: Complexity = random() < complexShare ? 'complex' : 'simple';
    const intent = pools[complexity][samplers[complexity].sample(random)]!;
    const tenant = pickTenant();
    singleCounts.set(intent.group, (singleCounts.get(intent.group) ?? 0) + 1);
    push({
      tenant: tenant.name,
      messages: [...opening(tenant), { role: 'user', content: fill(wording(intent.template.wordings), intent.slots) }],
      intentGroup: intent.group,
      templateId: intent.template.id,
      category: intent.template.category,
      complexity,
      expectedTier: complexity === 'complex' ? 'large' : 'small',
    });
  }
  return { seed: options.seed, requests, fingerprints, summary: summarize(requests, conversations, singleCounts) };
}

function summarize(
  requests: WorkloadRequest[],
  conversations: number,
  singleCounts: Map<string, number>,
): WorkloadSummary {
  const tenants: Record<string, number> = {};
  const byCategory: Record<string, { simple: number; complex: number }> = {};
  const seenExact = new Set<string>();
  const seenIntent = new Set<string>();
  let exactRepeats = 0;
  let intentRepeats = 0;
  for (const r of requests) {
    tenants[r.tenant] = (tenants[r.tenant] ?? 0) + 1;
    (byCategory[r.category] ??= { simple: 0, complex: 0 })[r.complexity]++;
    const cacheable = r.category !== 'time_sensitive';
    const exactKey = r.fingerprint;
    const intentKey = `${r.tenant}|${r.intentGroup}`;
    if (cacheable && seenExact.has(exactKey)) exactRepeats++;
    if (cacheable && seenIntent.has(intentKey)) intentRepeats++;
    seenExact.add(exactKey);
    seenIntent.add(intentKey);
  }
  const singles = [...singleCounts.values()];
  const singleTotal = singles.reduce((a, b) => a + b, 0);
  const n = requests.length || 1;
  return {
    requests: requests.length,
    tenants,
    byCategory,
    complex: requests.filter((r) => r.complexity === 'complex').length,
    conversationTurns: requests.filter((r) => r.conversation).length,
    conversations,
    distinctIntentGroups: new Set(requests.map((r) => r.intentGroup)).size,
    distinctPrompts: seenExact.size,
    exactRepeatShare: exactRepeats / n,
    intentRepeatShare: intentRepeats / n,
    topIntentShare: singleTotal ? Math.max(...singles) / singleTotal : 0,
  };
}
