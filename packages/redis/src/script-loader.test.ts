import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createRedis } from './index.ts';
import { loadScripts, scriptName, ScriptKeyCountError, ScriptLoadError } from './script-loader.ts';

const redis = createRedis({ url: inject('redisUrl'), role: 'worker', name: 'script-loader-test' });
afterAll(() => redis.disconnect());

/** A fresh `lua/` folder holding `files` (paths relative to it). */
function luaFolder(files: Record<string, string>): URL {
  const root = mkdtempSync(join(tmpdir(), 'sluice-lua-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return pathToFileURL(`${root}/`);
}

const SET_AND_GET = `--[[
  KEYS[1] key  ARGV[1] value; returns the value read back
]]
redis.call('SET', KEYS[1], ARGV[1])
return redis.call('GET', KEYS[1])
`;

describe('loadScripts', () => {
  it('takes the number of keys from the file name and runs the script', async () => {
    const scripts = loadScripts('test', luaFolder({ 'set-and-get-1.lua': SET_AND_GET }), { setAndGet: {} });
    expect(scripts.setAndGet).toMatchObject({ name: 'test:set-and-get', numberOfKeys: 1, readOnly: false });
    const key = `test:{${randomUUID()}}`;
    expect(await scripts.setAndGet.run(redis, [key], ['one'])).toBe('one');
    expect(await redis.get(key)).toBe('one');
    expect(scriptName(scripts.setAndGet.sha)).toBe('test:set-and-get');
  });

  it('recovers from NOSCRIPT after SCRIPT FLUSH by sending the source, which loads it again', async () => {
    const scripts = loadScripts('test', luaFolder({ 'set-and-get-1.lua': SET_AND_GET }), { setAndGet: {} });
    const key = `test:{${randomUUID()}}`;
    await scripts.setAndGet.run(redis, [key], ['before']);
    expect(await redis.script('EXISTS', scripts.setAndGet.sha)).toEqual([1]);
    await redis.script('FLUSH');
    expect(await redis.script('EXISTS', scripts.setAndGet.sha)).toEqual([0]);
    expect(await scripts.setAndGet.run(redis, [key], ['after'])).toBe('after');
    // The EVAL fallback cached it again: the next call is a plain EVALSHA.
    expect(await redis.script('EXISTS', scripts.setAndGet.sha)).toEqual([1]);
  });

  it('runs a read-only script with EVALSHA_RO / EVAL_RO, which refuse writes', async () => {
    const folder = luaFolder({
      'read-1.lua': `return redis.call('GET', KEYS[1])\n`,
      'write-1.lua': `return redis.call('SET', KEYS[1], 'x')\n`,
    });
    const scripts = loadScripts('test', folder, { read: { readOnly: true }, write: { readOnly: true } });
    const key = `test:{${randomUUID()}}`;
    await redis.set(key, 'stored');
    await redis.script('FLUSH');
    // Not cached yet: EVAL_RO; then cached: EVALSHA_RO.
    expect(await scripts.read.run(redis, [key])).toBe('stored');
    expect(await scripts.read.run(redis, [key])).toBe('stored');
    const sent: string[] = [];
    const send = redis.sendCommand.bind(redis) as (command: { name: string }) => unknown;
    const counted = Object.create(redis, {
      sendCommand: { value: (command: { name: string }) => (sent.push(command.name), send(command)) },
    }) as typeof redis;
    await scripts.read.run(counted, [key]);
    expect(sent).toEqual(['evalsha_ro']);
    await expect(scripts.write.run(redis, [key])).rejects.toThrow(
      /Write commands are not allowed from read-only scripts/,
    );
    await redis.script('FLUSH');
    await expect(scripts.write.run(redis, [key])).rejects.toThrow(
      /Write commands are not allowed from read-only scripts/,
    );
    expect(await redis.get(key)).toBe('stored');
  });

  it('refuses a call with the wrong number of keys before sending it', async () => {
    const scripts = loadScripts('test', luaFolder({ 'set-and-get-1.lua': SET_AND_GET }), { setAndGet: {} });
    const [a, b] = [`test:{${randomUUID()}}`, `test:{${randomUUID()}}`];
    const error = await scripts.setAndGet.run(redis, [a, b], ['v']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScriptKeyCountError);
    expect(error).toMatchObject({ code: 'SLUICE_ERR_SCRIPT_KEYS', script: 'test:set-and-get', expected: 1, got: 2 });
    await expect(scripts.setAndGet.run(redis, [], ['v'])).rejects.toBeInstanceOf(ScriptKeyCountError);
    expect(await redis.exists(a, b)).toBe(0);
  });

  it('expands includes, nested ones too, each once', async () => {
    const folder = luaFolder({
      'includes/double.lua': `-- @include "one"\nlocal function double(x) return 2 * x * one() end`,
      'includes/one.lua': `local function one() return 1 end`,
      'calc-0.lua': `-- @include "double.lua"\n-- @include "one"\nreturn double(tonumber(ARGV[1]))\n`,
    });
    const scripts = loadScripts('test', folder, { calc: {} });
    expect(scripts.calc.source).toBe(
      'local function one() return 1 end\nlocal function double(x) return 2 * x * one() end\n\nreturn double(tonumber(ARGV[1]))\n',
    );
    expect(scripts.calc.numberOfKeys).toBe(0);
    expect(await scripts.calc.run(redis, [], [21])).toBe(42);
  });

  it('refuses a missing or ambiguous script and a missing or circular include', () => {
    expect(() => loadScripts('test', luaFolder({ 'other-1.lua': 'return 1' }), { absent: {} })).toThrow(
      ScriptLoadError,
    );
    expect(() =>
      loadScripts('test', luaFolder({ 'twice-1.lua': 'return 1', 'twice-2.lua': 'return 2' }), { twice: {} }),
    ).toThrow(/found twice-1.lua, twice-2.lua/);
    expect(() => loadScripts('test', luaFolder({ 'a-0.lua': '-- @include "nope"\nreturn 1' }), { a: {} })).toThrow(
      /includes `nope.lua`/,
    );
    const cyclic = luaFolder({
      'includes/x.lua': '-- @include "y"',
      'includes/y.lua': '-- @include "x"',
      'a-0.lua': '-- @include "x"\nreturn 1',
    });
    expect(() => loadScripts('test', cyclic, { a: {} })).toThrow(/cycle in `a-0.lua`: x.lua → y.lua → x.lua/);
  });
});
