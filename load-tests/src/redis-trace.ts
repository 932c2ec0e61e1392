/**
 * Preloaded into a benchmarked process (`node --import tsx --import <this file>`): counts the
 * Redis round trips the process starts. Every command ioredis sends goes through
 * `Redis.prototype.sendCommand` (pipelines and auto-pipelining included, one call per command),
 * so the commands sent in one macrotask are one write, one round trip; commands sent together
 * on several connections count once too, since they wait in parallel.
 *
 * Each round trip is appended to `$SLUICE_BENCH_TRACE_DIR/<pid>.tsv` as
 * `<epoch µs>\t<commands>\t<first command names>`, flushed every 100 ms and at exit, so the
 * benchmark can count the ones inside a request's window. `SLUICE_BENCH_IOREDIS` names the
 * ioredis module the traced checkout loads (its own `node_modules`), which is the one to patch.
 * Scripts are named as `@sluice/redis` `loadScripts` names them (`limits:acquire`), through the
 * SHA → name map it keeps on `globalThis` under `Symbol.for('sluice.redis.scripts')` (this
 * file cannot import the traced checkout's module); an older checkout that defines its
 * scripts with `defineCommand` gets the command's name instead.
 * Only the benchmark sets these; nothing in the product reads them.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const dir = process.env.SLUICE_BENCH_TRACE_DIR;
const modulePath = process.env.SLUICE_BENCH_IOREDIS;
if (dir && modulePath) {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${process.pid}.tsv`);
  const requireCjs = createRequire(import.meta.url);
  type Proto = {
    sendCommand(command: { name: string; args?: unknown[] }, ...rest: unknown[]): unknown;
    defineCommand(name: string, definition: { lua: string; numberOfKeys?: number }): unknown;
  };
  const ioredis = requireCjs(modulePath) as { Redis: { prototype: Proto } };
  const proto = ioredis.Redis.prototype;
  const original = proto.sendCommand;
  // Scripts are named by their SHA in EVALSHA: remember which defined command each one is
  // (checkouts from before the script loader).
  const scripts = new Map<string, string>();
  const define = proto.defineCommand;
  proto.defineCommand = function (this: unknown, name: string, definition: { lua: string; numberOfKeys?: number }) {
    scripts.set(createHash('sha1').update(definition.lua).digest('hex'), name);
    return define.call(this, name, definition);
  };
  const loaded = () =>
    (globalThis as Record<symbol, unknown>)[Symbol.for('sluice.redis.scripts')] as Map<string, string> | undefined;
  const SCRIPT_COMMANDS = new Set(['evalsha', 'evalsha_ro', 'eval', 'eval_ro']);
  const nameOf = (command: { name: string; args?: unknown[] }) => {
    if (!SCRIPT_COMMANDS.has(command.name)) return command.name;
    // EVALSHA sends the SHA, EVAL (the NOSCRIPT fallback) the source.
    const first = command.args?.[0];
    const sha = command.name.startsWith('evalsha')
      ? String(first ?? '')
      : createHash('sha1')
          .update(String(first ?? ''))
          .digest('hex');
    return loaded()?.get(sha) ?? scripts.get(sha) ?? command.name;
  };
  let lines: string[] = [];
  let open: { at: number; commands: number; names: string[] } | undefined;
  const close = () => {
    if (!open) return;
    lines.push(`${open.at}\t${open.commands}\t${open.names.join(',')}`);
    open = undefined;
  };
  proto.sendCommand = function (this: unknown, command: { name: string }, ...rest: unknown[]) {
    if (!open) {
      open = { at: Math.round((performance.timeOrigin + performance.now()) * 1000), commands: 0, names: [] };
      setImmediate(close);
    }
    open.commands++;
    if (open.names.length < 8) open.names.push(nameOf(command));
    return original.call(this, command, ...rest);
  };
  const flush = () => {
    if (lines.length === 0) return;
    appendFileSync(file, `${lines.join('\n')}\n`);
    lines = [];
  };
  setInterval(flush, 100).unref();
  process.on('exit', () => {
    close();
    flush();
  });
}
