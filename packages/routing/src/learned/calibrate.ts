import type { ChatMessage } from '@sluice/queues';
import { InvalidRoutingOptionsError } from '../errors.ts';
import { latestUserText } from '../features.ts';
import { complexityOf, rulesStrategy, type RoutingInput } from '../rules.ts';
import { qualityForLargeShare } from './curve.ts';
import { learnedStrategy, type LearnedStrategy } from './strategy.ts';

/** A prompt of an operator's sample, as the router sees it. */
export type SampleRequest = RoutingInput['request'];

/**
 * Read a sample of prompts: JSON Lines or a JSON array whose items are a prompt string,
 * `{ "prompt": "…" }`, or a chat request `{ "messages": [...] }`; anything else is taken as
 * plain text, one prompt per non-empty line.
 * @throws {@link InvalidRoutingOptionsError} naming the first item that is none of these.
 */
export function parsePromptSample(text: string): SampleRequest[] {
  const trimmed = text.trim();
  let items: unknown[] | undefined;
  if (trimmed.startsWith('[')) {
    try {
      items = JSON.parse(trimmed) as unknown[];
    } catch {
      items = undefined;
    }
  }
  if (!items && /^[{"]/.test(trimmed)) {
    try {
      items = trimmed
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as unknown);
    } catch {
      items = undefined;
    }
  }
  if (!items)
    return trimmed
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => ({ model: 'auto', messages: [{ role: 'user', content: l.trim() }] }));
  return items.map((item, i) => {
    if (typeof item === 'string') return { model: 'auto', messages: [{ role: 'user', content: item }] };
    const o = item as { prompt?: unknown; messages?: unknown } | null;
    if (o && typeof o.prompt === 'string') return { model: 'auto', messages: [{ role: 'user', content: o.prompt }] };
    if (o && Array.isArray(o.messages) && o.messages.length)
      return { model: 'auto', messages: o.messages as ChatMessage[] };
    throw new InvalidRoutingOptionsError(
      `Sample item ${i + 1} is neither a prompt string, {"prompt": "…"} nor a chat request with \`messages\``,
    );
  });
}

/** What {@link calibrateQuality} found. */
export interface Calibration {
  /** The quality setting to configure (`SLUICE_ROUTING_QUALITY`) or send (`x-sluice-quality`). */
  quality: number;
  /** Share of the sample sent large at that setting (the rules' confident "small" decisions included). */
  largeShare: number;
  /** Share of the sample the rules decide confidently small, which no setting sends large. */
  rulesSmallShare: number;
  /** Prompts in the sample. */
  n: number;
  /** Set when the share asked for cannot be reached (more than the rules leave to the learned router). */
  note?: string;
}

/**
 * Pick the quality setting at which the shipped router (the rules' confident "small"
 * stands, the learned router decides the rest) sends `largeShare` of a sample of the
 * operator's own prompts to the large tier, as RouteLLM's `calibrate_threshold` does.
 */
export function calibrateQuality(
  sample: readonly SampleRequest[],
  largeShare: number,
  learned: LearnedStrategy = learnedStrategy(),
): Calibration {
  if (!(largeShare >= 0 && largeShare <= 1))
    throw new InvalidRoutingOptionsError(
      `Expected --large-share to be a number in [0, 1], got \`${String(largeShare)}\``,
    );
  if (!sample.length) throw new InvalidRoutingOptionsError('The sample holds no prompts');
  const rules = rulesStrategy({ lengthIsEvidence: false });
  const open: number[] = [];
  for (const request of sample) {
    const d = rules.decide({ request });
    if (!(d.tier === 'small' && d.confidence >= 0.7))
      open.push(learned.model.smallSuffices(latestUserText(request), complexityOf(request).points));
  }
  const n = sample.length;
  const wanted = Math.round(largeShare * n);
  let note: string | undefined;
  let quality: number;
  if (!open.length) {
    quality = learned.quality;
    note = 'the rules decide every prompt of this sample confidently small; the setting changes nothing here';
  } else {
    if (wanted > open.length)
      note = `at most ${((open.length / n) * 100).toFixed(1)}% of this sample can go large: the rules decide the rest confidently small`;
    quality = qualityForLargeShare(open, Math.min(1, wanted / open.length));
  }
  quality = Math.round(quality * 10_000) / 10_000;
  // Rounding may move a score across the setting: report the share the rounded setting gives.
  const large = open.filter((p) => p < quality).length;
  return { quality, largeShare: large / n, rulesSmallShare: (n - open.length) / n, n, ...(note ? { note } : {}) };
}
