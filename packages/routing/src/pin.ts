import { TIERS, type TierName } from '@sluice/queues';
import { UnknownModelError } from './errors.ts';

/** A model a deployment serves, and its tier (a `DeploymentConfig` fits). */
export interface ConfiguredModel {
  model: string;
  tier: TierName;
}

/** What a request's `model` field asks for. */
export type PinResolution =
  /** `model: "auto"`: route it. */
  | { kind: 'auto' }
  /** A tier name: skip routing, use that tier. */
  | { kind: 'tier'; tier: TierName }
  /** A configured model: skip routing, use that model on its tier. */
  | { kind: 'model'; model: string; tier: TierName };

/**
 * Resolve a request's `model` field. `auto` routes; `router`, `small` and `large` pin a tier
 * (tier names win over a deployment that happens to use the same model name); a model some
 * deployment serves pins that model on that deployment's tier (the first one listed, when
 * several tiers serve it). Names are matched exactly, as OpenAI does, except that `auto`
 * and tier names also accept any letter case.
 * @throws {@link UnknownModelError} for anything else.
 */
export function resolvePin(model: string, configuredModels: readonly ConfiguredModel[]): PinResolution {
  const name = model.trim();
  const lower = name.toLowerCase();
  if (lower === 'auto') return { kind: 'auto' };
  if ((TIERS as readonly string[]).includes(lower)) return { kind: 'tier', tier: lower as TierName };
  const found = configuredModels.find((m) => m.model === name);
  if (found) return { kind: 'model', model: found.model, tier: found.tier };
  throw new UnknownModelError(model, [...new Set(configuredModels.map((m) => m.model))]);
}
