import { readFileSync } from 'node:fs';
import type { Redis } from '@sluice/redis';

/** Every Lua script of this package: file, number of keys, and whether it only reads. */
const DEFINITIONS = {
  acquire: { file: 'acquire.lua', keys: 8, readOnly: false },
  release: { file: 'release.lua', keys: 4, readOnly: false },
  renewLease: { file: 'renew-lease.lua', keys: 2, readOnly: false },
  cooldown: { file: 'cooldown.lua', keys: 1, readOnly: false },
  adapt: { file: 'adapt.lua', keys: 3, readOnly: false },
  circuit: { file: 'circuit.lua', keys: 1, readOnly: false },
  inspect: { file: 'inspect.lua', keys: 8, readOnly: true },
  tenantCheck: { file: 'tenant-check.lua', keys: 2, readOnly: false },
} as const;

/** Name of a script of this package. */
export type ScriptName = keyof typeof DEFINITIONS;

/** Typed callers of the scripts on one connection. */
export type LimitScripts = Readonly<
  Record<ScriptName, (keys: readonly string[], args: readonly (string | number)[]) => Promise<unknown[]>>
>;

let sources: Record<ScriptName, string> | undefined;

function readSources(): Record<ScriptName, string> {
  // Read once per process: the files ship next to this module (the package runs from source).
  sources ??= Object.fromEntries(
    Object.entries(DEFINITIONS).map(([name, def]) => [
      name,
      readFileSync(new URL(`./lua/${def.file}`, import.meta.url), 'utf8'),
    ]),
  ) as Record<ScriptName, string>;
  return sources;
}

function commandName(name: ScriptName): string {
  // Namespaced: the connection is shared with BullMQ and other packages that define their own.
  return `sluiceLimits${name[0]!.toUpperCase()}${name.slice(1)}`;
}

type Callable = Record<string, (...args: (string | number)[]) => Promise<unknown>>;

/**
 * Define this package's scripts on a connection (ioredis `defineCommand`: EVALSHA, falling
 * back to EVAL once after a Redis restart flushed the script cache) and return typed callers.
 */
export function loadScripts(redis: Redis): LimitScripts {
  const lua = readSources();
  const callable = redis as unknown as Callable;
  const scripts = {} as Record<
    ScriptName,
    (keys: readonly string[], args: readonly (string | number)[]) => Promise<unknown[]>
  >;
  for (const [name, def] of Object.entries(DEFINITIONS) as [ScriptName, (typeof DEFINITIONS)[ScriptName]][]) {
    const command = commandName(name);
    if (typeof callable[command] !== 'function') {
      redis.defineCommand(command, { lua: lua[name], numberOfKeys: def.keys, readOnly: def.readOnly });
    }
    scripts[name] = async (keys, args) => {
      if (keys.length !== def.keys) throw new Error(`${def.file} takes ${def.keys} keys, got ${keys.length}`);
      return (await callable[command]!(...keys, ...args)) as unknown[];
    };
  }
  return scripts;
}
