import { loadScripts, type Redis } from '@sluice/redis';

/** Every Lua script of this package (`lua/<name>-<keys>.lua`); `inspect` only reads. */
const SCRIPTS = loadScripts('limits', new URL('./lua/', import.meta.url), {
  acquire: {},
  release: {},
  renewLease: {},
  cooldown: {},
  adapt: {},
  circuit: {},
  inspect: { readOnly: true },
  tenantCheck: {},
});

/** Name of a script of this package. */
export type ScriptName = keyof typeof SCRIPTS;

/** Typed callers of the scripts on one connection. */
export type LimitScripts = Readonly<
  Record<ScriptName, (keys: readonly string[], args: readonly (string | number)[]) => Promise<unknown[]>>
>;

/** This package's scripts bound to a connection (a wrong key count rejects with `ScriptKeyCountError`). */
export function limitScripts(redis: Redis): LimitScripts {
  return Object.fromEntries(
    Object.entries(SCRIPTS).map(([name, script]) => [
      name,
      async (keys: readonly string[], args: readonly (string | number)[]) =>
        (await script.run(redis, keys, args)) as unknown[],
    ]),
  ) as unknown as LimitScripts;
}
