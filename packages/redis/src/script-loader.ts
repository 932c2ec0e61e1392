import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { RedisKey, RedisValue } from 'ioredis';
import { defineError, SluiceError } from '@sluice/errors';
import type { Redis } from './index.ts';

/**
 * The one way Sluice packages run Lua (after BullMQ's `script-loader.ts`).
 *
 * - A package keeps its scripts in a `lua/` folder next to its sources, one file per atomic
 *   operation, named `<name>-<numberOfKeys>.lua` (`acquire-8.lua`). The number of keys comes
 *   from the file name, so the caller and the script cannot disagree about it silently.
 * - Lua shared by several scripts lives in `lua/includes/`; a line `-- @include "<file>"`
 *   (path relative to `includes/`, `.lua` optional) is replaced by that file. Includes may
 *   include others; each file is pasted at most once per script; a cycle is an error.
 * - Sources are read, expanded and hashed once per process.
 * - {@link Script.run} sends EVALSHA and, when Redis answers NOSCRIPT (a restart or
 *   `SCRIPT FLUSH` emptied its script cache, or a fresh server), sends the source once with
 *   EVAL, which also caches it again. A read-only script uses EVALSHA_RO / EVAL_RO: Redis
 *   refuses any write from it.
 * - Scripts are not queued in pipelines or MULTI: no caller does, and a NOSCRIPT inside one
 *   cannot be retried command by command. Add a pipeline path here if one ever needs it.
 */

/** How a package declares one of its scripts. */
export interface ScriptDefinition {
  /**
   * The script only reads. It runs with EVALSHA_RO / EVAL_RO, so Redis refuses a write from
   * it and a replica may serve it.
   * @defaultValue false
   */
  readOnly?: boolean;
}

const SCRIPT_ERRORS = {
  load: defineError({
    code: 'script_load',
    status: 500,
    openaiType: 'server_error',
    expose: false,
    subsystem: '@sluice/redis',
    message: 'a Lua script could not be loaded',
  }),
  keys: defineError({
    code: 'script_keys',
    status: 500,
    openaiType: 'server_error',
    expose: false,
    subsystem: '@sluice/redis',
    message: 'a Lua script was run with the wrong number of keys',
  }),
} as const;

/** A script file is missing, ambiguous, or names an include that cannot be used (a packaging bug). */
export class ScriptLoadError extends SluiceError {
  override name = 'ScriptLoadError' as const;
  declare readonly code: 'SLUICE_ERR_SCRIPT_LOAD';
  constructor(message: string, options?: { cause?: unknown }) {
    super(SCRIPT_ERRORS.load, message, options);
  }
}

/** A script was run with a number of keys other than its file name declares. */
export class ScriptKeyCountError extends SluiceError {
  override name = 'ScriptKeyCountError' as const;
  declare readonly code: 'SLUICE_ERR_SCRIPT_KEYS';
  constructor(
    /** {@link Script.name} of the script. */
    readonly script: string,
    /** Keys the script takes (from its file name). */
    readonly expected: number,
    /** Keys it was given. */
    readonly got: number,
  ) {
    super(SCRIPT_ERRORS.keys, `Expected script \`${script}\` to get ${expected} keys, got ${got}`);
  }
}

/** True for a {@link ScriptKeyCountError}. */
export function isScriptKeyCountError(error: unknown): error is ScriptKeyCountError {
  return error instanceof ScriptKeyCountError;
}

/** A loaded script, ready to run on any connection. */
export interface Script {
  /** `<scope>:<file name without -N.lua>`, e.g. `limits:acquire`; traces show it. */
  readonly name: string;
  /** Keys the script takes, from its file name. */
  readonly numberOfKeys: number;
  /** Runs with EVALSHA_RO / EVAL_RO. */
  readonly readOnly: boolean;
  /** The source sent to Redis, includes expanded. */
  readonly source: string;
  /** SHA1 of {@link Script.source}, as EVALSHA names it. */
  readonly sha: string;
  /**
   * Run the script: EVALSHA, or EVAL after NOSCRIPT (the `_RO` forms for a read-only one).
   * Rejects with {@link ScriptKeyCountError}, without sending anything, when `keys` does not
   * hold exactly {@link Script.numberOfKeys} keys.
   */
  run(redis: Redis, keys: readonly RedisKey[], args?: readonly RedisValue[]): Promise<unknown>;
}

/** The scripts {@link loadScripts} returns, by the names they were declared under. */
export type Scripts<T> = { readonly [K in keyof T]: Script };

/** A line `-- @include "file"`. */
const includeLine = () => /^[ \t]*--[ \t]*@include[ \t]+"([^"]+)"[ \t]*$/gm;

/**
 * SHA → script name of every script loaded in this process. On `globalThis` under a
 * registered symbol so that a tool preloaded into a process (`load-tests/src/redis-trace.ts`),
 * which cannot import this module instance, can name the EVALSHA calls it sees.
 */
const REGISTRY_SYMBOL = Symbol.for('sluice.redis.scripts');
const registry: Map<string, string> = ((globalThis as Record<symbol, unknown>)[REGISTRY_SYMBOL] ??= new Map<
  string,
  string
>()) as Map<string, string>;

/** The name of a script loaded in this process, by its SHA1 (as EVALSHA sends it). */
export function scriptName(sha: string): string | undefined {
  return registry.get(sha);
}

const folders = new Map<string, string[]>();
const sources = new Map<string, { source: string; sha: string }>();

function listFolder(path: string): string[] {
  let files = folders.get(path);
  if (!files) {
    try {
      files = readdirSync(path);
    } catch (error) {
      throw new ScriptLoadError(`Cannot read the Lua folder \`${path}\``, { cause: error });
    }
    folders.set(path, files);
  }
  return files;
}

function expand(includesPath: string, source: string, script: string, trail: string[], pasted: Set<string>): string {
  return source.replace(includeLine(), (_line, reference: string) => {
    const file = reference.endsWith('.lua') ? reference : `${reference}.lua`;
    if (trail.includes(file))
      throw new ScriptLoadError(`Lua include cycle in \`${script}\`: ${[...trail, file].join(' → ')}`);
    // A snippet defines locals; pasting it twice would only shadow them.
    if (pasted.has(file)) return '';
    pasted.add(file);
    let text: string;
    try {
      text = readFileSync(`${includesPath}/${file}`, 'utf8');
    } catch (error) {
      throw new ScriptLoadError(`\`${script}\` includes \`${file}\`, which is not in \`${includesPath}\``, {
        cause: error,
      });
    }
    return expand(includesPath, text.replace(/\n$/, ''), script, [...trail, file], pasted);
  });
}

function loadSource(folderPath: string, file: string): { source: string; sha: string } {
  const path = `${folderPath}/${file}`;
  let loaded = sources.get(path);
  if (!loaded) {
    const raw = readFileSync(path, 'utf8');
    const source = expand(`${folderPath}/includes`, raw, file, [], new Set());
    loaded = { source, sha: createHash('sha1').update(source).digest('hex') };
    sources.set(path, loaded);
  }
  return loaded;
}

/** `renewLease` → `renew-lease`: declared names are camelCase, file names kebab-case. */
function fileStem(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

const isNoScript = (error: unknown) => error instanceof Error && error.message.startsWith('NOSCRIPT');

function createScript(name: string, numberOfKeys: number, readOnly: boolean, source: string, sha: string): Script {
  return {
    name,
    numberOfKeys,
    readOnly,
    source,
    sha,
    async run(redis, keys, args = []) {
      if (keys.length !== numberOfKeys) throw new ScriptKeyCountError(name, numberOfKeys, keys.length);
      try {
        return await (readOnly
          ? redis.evalsha_ro(sha, numberOfKeys, ...keys, ...args)
          : redis.evalsha(sha, numberOfKeys, ...keys, ...args));
      } catch (error) {
        if (!isNoScript(error)) throw error;
        return readOnly
          ? redis.eval_ro(source, numberOfKeys, ...keys, ...args)
          : redis.eval(source, numberOfKeys, ...keys, ...args);
      }
    },
  };
}

/**
 * Load a package's scripts from its Lua folder. Each declared name (camelCase) is the file
 * `<kebab-case name>-<numberOfKeys>.lua` in `folder`; a name with no such file, or with two,
 * throws {@link ScriptLoadError}, as does an include that is missing or circular. Call it at
 * module level: the files are read once per process either way.
 *
 * @param scope - what {@link Script.name} starts with, usually the package (`limits`).
 * @param folder - the `lua/` folder, e.g. `new URL('./lua/', import.meta.url)`.
 * @param definitions - the scripts to load, by name, with their {@link ScriptDefinition}.
 *
 * @example
 * ```ts
 * const SCRIPTS = loadScripts('limits', new URL('./lua/', import.meta.url), {
 *   acquire: {},
 *   inspect: { readOnly: true },
 * });
 * const reply = await SCRIPTS.acquire.run(redis, keyList, [now, leaseId]);
 * ```
 */
export function loadScripts<const T extends Record<string, ScriptDefinition>>(
  scope: string,
  folder: URL,
  definitions: T,
): Scripts<T> {
  const folderPath = fileURLToPath(folder).replace(/\/$/, '');
  const files = listFolder(folderPath);
  const scripts: Record<string, Script> = {};
  for (const [name, definition] of Object.entries(definitions)) {
    const stem = fileStem(name);
    const pattern = new RegExp(`^${stem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d+)\\.lua$`);
    const matches = files.filter((file) => pattern.test(file));
    if (matches.length !== 1)
      throw new ScriptLoadError(
        matches.length === 0
          ? `Expected a script \`${stem}-<numberOfKeys>.lua\` in \`${folderPath}\`, found none`
          : `Expected one script \`${stem}-<numberOfKeys>.lua\` in \`${folderPath}\`, found ${matches.join(', ')}`,
      );
    const file = matches[0]!;
    const numberOfKeys = Number(pattern.exec(file)![1]);
    const { source, sha } = loadSource(folderPath, file);
    const qualified = `${scope}:${stem}`;
    registry.set(sha, qualified);
    scripts[name] = createScript(qualified, numberOfKeys, definition.readOnly === true, source, sha);
  }
  return scripts as Scripts<T>;
}
