import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { sluiceCacheDir } from '@sluice/config';

/** What `pnpm start` writes down about the stack it runs, for the CLI's other commands. */
export interface RunState {
  /** Port of the Redis the stack started (absent when it uses a REDIS_URL the user gave). */
  redisPort?: string;
  /** Key prefix of the stack. */
  prefix: string;
  /** The API's port: the stack's identity on this machine. */
  apiPort: number;
  /** Process id of `pnpm start`. */
  pid: number;
}

/** Folder of the state files, one per running stack. */
export const RUN_STATE_DIR = sluiceCacheDir(process.env);

/**
 * The state file of the stack whose API listens on `apiPort`. One file per stack: two stacks on
 * one machine (different ports) used to overwrite one `run.json`, so `pnpm sluice keys create`
 * could write a key into the other stack's Redis.
 */
export function runStatePath(apiPort: number): string {
  return join(RUN_STATE_DIR, `run-${apiPort}.json`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Record a starting stack (replacing a stale file of a stack on the same port). */
export function writeRunState(state: RunState): void {
  const file = runStatePath(state.apiPort);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(state));
}

/** Remove the stack's state file when it stops (only its own: a later stack may own it now). */
export function clearRunState(apiPort: number, pid = process.pid): void {
  if (readRunState(apiPort)?.pid === pid) rmSync(runStatePath(apiPort), { force: true });
}

/**
 * The state of the stack whose API is on `apiPort`, or undefined when none runs there (no file,
 * or the `pnpm start` that wrote it is gone). What every CLI command that talks to a running
 * stack calls (`keys create`, and any command added later) to find its Redis.
 */
export function readRunState(apiPort: number): RunState | undefined {
  const file = runStatePath(apiPort);
  if (!existsSync(file)) return undefined;
  try {
    const state = JSON.parse(readFileSync(file, 'utf8')) as RunState;
    return alive(state.pid) ? state : undefined;
  } catch {
    return undefined;
  }
}

/** Where a CLI command finds the stack it acts on. */
export interface StackTarget {
  redisUrl: string;
  /** The stack's key prefix when its state file was found (else the configured one applies). */
  prefix?: string;
}

/**
 * The Redis a CLI command should use: `--redis URL` when given, else REDIS_URL
 * (`configuredUrl`), else the Redis of the stack on `--api URL`'s port (or the configured API
 * port), else the configured Redis port on localhost.
 */
export function stackTarget(options: {
  redisFlag?: string;
  apiFlag?: string;
  configuredUrl: string;
  apiPort: number;
  redisPort: number;
}): StackTarget {
  if (options.redisFlag) return { redisUrl: options.redisFlag };
  if (options.configuredUrl) return { redisUrl: options.configuredUrl };
  let apiPort = options.apiPort;
  if (options.apiFlag)
    apiPort = /^\d+$/.test(options.apiFlag) ? Number(options.apiFlag) : Number(new URL(options.apiFlag).port || 80);
  const state = readRunState(apiPort);
  if (state?.redisPort) return { redisUrl: `redis://127.0.0.1:${state.redisPort}`, prefix: state.prefix };
  return { redisUrl: `redis://127.0.0.1:${options.redisPort}` };
}
