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
  // Scripts are named by their SHA in EVALSHA: remember which defined command each one is.
  const scripts = new Map<string, string>();
  const define = proto.defineCommand;
  proto.defineCommand = function (this: unknown, name: string, definition: { lua: string; numberOfKeys?: number }) {
    scripts.set(createHash('sha1').update(definition.lua).digest('hex'), name);
    return define.call(this, name, definition);
  };
  const nameOf = (command: { name: string; args?: unknown[] }) => {
    if (command.name !== 'evalsha') return command.name;
    const sha = String(command.args?.[0] ?? '');
    return scripts.get(sha) ?? 'evalsha';
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
