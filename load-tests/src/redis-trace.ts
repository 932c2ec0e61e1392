/**
 * Preloaded into a benchmarked process (`node --import tsx --import <this file>`): counts the
 * Redis round trips the process starts. Every command ioredis sends goes through
 * `Redis.prototype.sendCommand` (pipelines and auto-pipelining included, one call per command),
 * so the commands sent in one macrotask are one write, one round trip; commands sent together
 * on several connections count once too, since they wait in parallel.
 *
 * Each round trip is appended to `$SLUICE_BENCH_TRACE_DIR/<pid>.tsv` as
 * `<epoch µs>\t<commands>\t<first command names>\t<idle commands>`, flushed every 100 ms and at
 * exit, so the benchmark can count the ones inside a request's window (idle: blocking pops and
 * BullMQ fetches that found no job). `SLUICE_BENCH_IOREDIS` names the
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
  // A write is idle when every command in it is a blocking pop or a BullMQ fetch that found no
  // job: neither hands anything to a request, so neither is a round trip a request waits for.
  // Whether a fetch found a job is known only from its reply, so rows wait for their replies
  // before they are written (a row still unanswered after 5 s is written as it stands).
  interface Row {
    at: number;
    commands: number;
    names: string[];
    idle: number;
    pending: number;
  }
  const rows: Row[] = [];
  let open: Row | undefined;
  const close = () => {
    if (!open) return;
    rows.push(open);
    open = undefined;
  };
  const BLOCKING = new Set(['bzpopmin', 'bzpopmax']);
  // moveToActive answers [jobData, jobId, rateLimitDelay, delayUntil]; a jobId of 0: no job.
  const foundNoJob = (reply: unknown) =>
    Array.isArray(reply) && (reply[1] === 0 || reply[1] === '0' || reply[1] == null);
  proto.sendCommand = function (
    this: unknown,
    command: { name: string; promise?: Promise<unknown> },
    ...rest: unknown[]
  ) {
    if (!open) {
      open = {
        at: Math.round((performance.timeOrigin + performance.now()) * 1000),
        commands: 0,
        names: [],
        idle: 0,
        pending: 0,
      };
      setImmediate(close);
    }
    const row = open;
    const name = nameOf(command);
    row.commands++;
    if (row.names.length < 8) row.names.push(name);
    const result = original.call(this, command, ...rest);
    if (BLOCKING.has(name)) row.idle++;
    else if (name.startsWith('moveToActive')) {
      const reply = command.promise ?? (result as Promise<unknown> | undefined);
      if (reply && typeof reply.then === 'function') {
        row.pending++;
        reply.then(
          (value) => {
            row.pending--;
            if (foundNoJob(value)) row.idle++;
          },
          () => row.pending--,
        );
      }
    }
    return result;
  };
  const flush = (all = false) => {
    const cutoff = Math.round((performance.timeOrigin + performance.now()) * 1000) - 5_000_000;
    let n = 0;
    while (n < rows.length && (all || rows[n]!.pending === 0 || rows[n]!.at < cutoff)) n++;
    if (n === 0) return;
    const lines = rows.splice(0, n).map((r) => `${r.at}\t${r.commands}\t${r.names.join(',')}\t${r.idle}`);
    appendFileSync(file, `${lines.join('\n')}\n`);
  };
  setInterval(flush, 100).unref();
  process.on('exit', () => {
    close();
    flush(true);
  });
}
