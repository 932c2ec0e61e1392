import type { Keys } from '@sluice/redis';

/** The Redis keys of one deployment's limiter; all share one hash tag (one cluster slot). */
export interface DeploymentKeys {
  readonly leases: string;
  readonly requests: string;
  readonly tokens: string;
  readonly tokenCounts: string;
  readonly tokenTotal: string;
  readonly cooldown: string;
  readonly adaptive: string;
  readonly circuit: string;
}

/**
 * Ids come from configuration and tenant records; a `{` or `}` in one would break the hash
 * tag and `:` would blur the key layout, so they are percent-encoded.
 */
export function encodeKeyPart(value: string): string {
  return encodeURIComponent(value);
}

/** Keys of a deployment's limiter: `<prefix>:{limit:<id>}:<name>`. */
export function deploymentKeys(keys: Keys, deploymentId: string): DeploymentKeys {
  const key = (name: string) => keys.family('limit', encodeKeyPart(deploymentId), name);
  return {
    leases: key('leases'),
    requests: key('requests'),
    tokens: key('tokens'),
    tokenCounts: key('token-counts'),
    tokenTotal: key('token-total'),
    cooldown: key('cooldown'),
    adaptive: key('adaptive'),
    circuit: key('circuit'),
  };
}

/** The eight keys in the order acquire-8.lua and inspect-8.lua expect. */
export function limiterKeyList(k: DeploymentKeys): string[] {
  return [k.leases, k.requests, k.tokens, k.tokenCounts, k.tokenTotal, k.cooldown, k.adaptive, k.circuit];
}
