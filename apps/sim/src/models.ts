import { SimConfigError } from './errors.ts';
import type { SimFaults, SimModelInput, SimModelKind, SimModelOptions, SimModelPatch, SimProfile } from './types.ts';

const NO_FAULTS: SimFaults = Object.freeze({ errorRate: 0, timeoutRate: 0, dropStreamRate: 0 });

const CHAT_DEFAULTS: Omit<SimModelOptions, 'id'> = {
  kind: 'chat',
  ttftMs: 100,
  perTokenMs: 5,
  jitter: 0.2,
  rpm: 5_000,
  tpm: 2_000_000,
  maxConcurrency: 0,
  faults: NO_FAULTS,
  defaultMaxTokens: 4096,
  minReplyWords: 20,
  maxReplyWords: 120,
  contextWindow: 128_000,
  dimensions: 256,
};

const EMBEDDING_DEFAULTS: Omit<SimModelOptions, 'id'> = {
  ...CHAT_DEFAULTS,
  kind: 'embedding',
  ttftMs: 30,
  perTokenMs: 0.01,
  jitter: 0.1,
  rpm: 10_000,
  tpm: 5_000_000,
  contextWindow: 8191,
};

/**
 * The models a simulator serves unless told otherwise. Latencies are the `realistic`
 * profile; limits are generous enough for demos and can be tightened per test with
 * `updateModel` or an `@suffix` variant.
 *
 * | id | kind | ttft | per token | rpm | tpm |
 * | --- | --- | --- | --- | --- | --- |
 * | `sim-router` | chat | 50 ms | 2 ms | 10 000 | 5 000 000 |
 * | `sim-small` | chat | 100 ms | 5 ms | 5 000 | 2 000 000 |
 * | `sim-large` | chat | 300 ms | 20 ms | 1 000 | 400 000 |
 * | `sim-embed` | embedding (256 dims) | 30 ms | 0.01 ms | 10 000 | 5 000 000 |
 */
export const DEFAULT_SIM_MODELS: readonly SimModelOptions[] = Object.freeze(
  [
    {
      ...CHAT_DEFAULTS,
      id: 'sim-router',
      ttftMs: 50,
      perTokenMs: 2,
      rpm: 10_000,
      tpm: 5_000_000,
      minReplyWords: 5,
      maxReplyWords: 40,
    },
    { ...CHAT_DEFAULTS, id: 'sim-small', ttftMs: 100, perTokenMs: 5, rpm: 5_000, tpm: 2_000_000 },
    { ...CHAT_DEFAULTS, id: 'sim-large', ttftMs: 300, perTokenMs: 20, rpm: 1_000, tpm: 400_000 },
    { ...EMBEDDING_DEFAULTS, id: 'sim-embed', dimensions: 256 },
  ].map((model) => Object.freeze(model)),
);

/** Id under which the simulator serves a real sentence embedder (`sentenceEmbedder`). */
export const SIF_MODEL_ID = 'sluice-sif-wink-sg100d';

/** The model entry of {@link SIF_MODEL_ID}: embedding latency and limits of `sim-embed`. */
export function sifModel(dimensions: number): SimModelOptions {
  return { ...EMBEDDING_DEFAULTS, id: SIF_MODEL_ID, dimensions };
}

/** Total chat latency under the `fixed` profile when `latencyMs` is not given. */
export const DEFAULT_FIXED_LATENCY_MS = 200;

/** Builds full model settings from the options' list (or the defaults), then applies the profile. */
export function buildModels(
  inputs: readonly SimModelInput[] | undefined,
  profile: SimProfile,
  latencyMs: number,
): SimModelOptions[] {
  const models = inputs === undefined ? DEFAULT_SIM_MODELS.map(cloneModel) : inputs.map(modelFromInput);
  const seen = new Set<string>();
  for (const model of models) {
    if (seen.has(model.id)) throw new SimConfigError(`Expected model ids to be unique, got \`${model.id}\` twice`);
    seen.add(model.id);
  }
  return models.map((model) => applyProfile(model, profile, latencyMs));
}

function modelFromInput(input: SimModelInput, index: number): SimModelOptions {
  if (typeof input !== 'object' || input === null) {
    throw new SimConfigError(`Expected \`models[${index}]\` to be an object, got \`${String(input)}\``);
  }
  if (typeof input.id !== 'string' || input.id.length === 0 || input.id.includes('@')) {
    throw new SimConfigError(
      `Expected \`models[${index}].id\` to be a non-empty string without \`@\`, got \`${String(input.id)}\``,
    );
  }
  const base = DEFAULT_SIM_MODELS.find((model) => model.id === input.id);
  const kind: SimModelKind = input.kind ?? base?.kind ?? 'chat';
  if (kind !== 'chat' && kind !== 'embedding') {
    throw new SimConfigError(`Expected \`models[${index}].kind\` to be 'chat' or 'embedding', got \`${String(kind)}\``);
  }
  const start = base !== undefined && base.kind === kind ? base : kind === 'chat' ? CHAT_DEFAULTS : EMBEDDING_DEFAULTS;
  const { id, kind: _kind, faults, ...rest } = input;
  assertPatch(rest, `models[${index}]`);
  if (faults !== undefined) assertFaults(faults, `models[${index}].faults`);
  const model: SimModelOptions = { ...start, ...rest, id, kind, faults: { ...start.faults, ...faults } };
  assertReplyBounds(model, `models[${index}]`);
  return model;
}

/** Rewrites a model's latency for a profile; `realistic` leaves it untouched. */
export function applyProfile(model: SimModelOptions, profile: SimProfile, latencyMs: number): SimModelOptions {
  switch (profile) {
    case 'realistic':
      return model;
    case 'fixed':
      return model.kind === 'chat'
        ? { ...model, ttftMs: latencyMs, perTokenMs: 0, jitter: 0 }
        : { ...model, jitter: 0 };
    case 'fast':
      // Not zero: a 1 ms first-token wait still lets other requests interleave, which tests
      // of concurrency and in-flight counters rely on.
      return { ...model, ttftMs: 1, perTokenMs: 0, jitter: 0 };
  }
}

/**
 * Applies a run-time patch to a model and returns the new settings; `faults` merges with
 * the current faults. Throws {@link SimConfigError} naming the first bad value.
 */
export function patchModel(model: SimModelOptions, patch: SimModelPatch): SimModelOptions {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
    throw new SimConfigError(`Expected the patch to be an object, got \`${JSON.stringify(patch)}\``);
  }
  if ('id' in patch || 'kind' in patch) throw new SimConfigError('A model patch cannot change `id` or `kind`');
  const { faults, ...rest } = patch;
  assertPatch(rest, 'patch');
  if (faults !== undefined) assertFaults(faults, 'patch.faults');
  const next: SimModelOptions = { ...model, ...rest, faults: { ...model.faults, ...faults } };
  assertReplyBounds(next, 'patch');
  return next;
}

/** Deep-enough copy so a caller's later mutation cannot reach the registry. */
export function cloneModel(model: SimModelOptions): SimModelOptions {
  return { ...model, faults: { ...model.faults } };
}

type NumericKey = Exclude<keyof SimModelOptions, 'id' | 'kind' | 'faults'>;

const NUMERIC_RULES: Record<NumericKey, { integer: boolean; min: number; max?: number }> = {
  ttftMs: { integer: false, min: 0 },
  perTokenMs: { integer: false, min: 0 },
  jitter: { integer: false, min: 0, max: 1 },
  rpm: { integer: true, min: 0 },
  tpm: { integer: true, min: 0 },
  maxConcurrency: { integer: true, min: 0 },
  defaultMaxTokens: { integer: true, min: 1 },
  minReplyWords: { integer: true, min: 0 },
  maxReplyWords: { integer: true, min: 0 },
  contextWindow: { integer: true, min: 1 },
  dimensions: { integer: true, min: 1, max: 65_536 },
};

function assertPatch(values: Record<string, unknown>, path: string): void {
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) continue;
    const rule = NUMERIC_RULES[key as NumericKey] as (typeof NUMERIC_RULES)[NumericKey] | undefined;
    if (rule === undefined) throw new SimConfigError(`Unknown model option \`${path}.${key}\``);
    assertNumber(value, `${path}.${key}`, rule);
  }
}

function assertFaults(faults: unknown, path: string): void {
  if (typeof faults !== 'object' || faults === null || Array.isArray(faults)) {
    throw new SimConfigError(`Expected \`${path}\` to be an object, got \`${JSON.stringify(faults)}\``);
  }
  for (const [key, value] of Object.entries(faults)) {
    if (!(key in NO_FAULTS)) throw new SimConfigError(`Unknown fault \`${path}.${key}\``);
    assertNumber(value, `${path}.${key}`, { integer: false, min: 0, max: 1 });
  }
}

function assertNumber(value: unknown, path: string, rule: { integer: boolean; min: number; max?: number }): void {
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (!rule.integer || Number.isInteger(value)) &&
    value >= rule.min &&
    (rule.max === undefined || value <= rule.max);
  if (!ok) {
    const kind = rule.integer ? 'an integer' : 'a number';
    const range = rule.max === undefined ? `≥ ${rule.min}` : `in [${rule.min}, ${rule.max}]`;
    throw new SimConfigError(`Expected \`${path}\` to be ${kind} ${range}, got \`${JSON.stringify(value)}\``);
  }
}

function assertReplyBounds(model: SimModelOptions, path: string): void {
  if (model.minReplyWords > model.maxReplyWords) {
    throw new SimConfigError(
      `Expected \`${path}.minReplyWords\` (${model.minReplyWords}) to be ≤ \`maxReplyWords\` (${model.maxReplyWords})`,
    );
  }
}
