/**
 * The bare BullMQ two-hop pipeline Sluice's cache-miss path is compared with: a client adds a
 * job to queue one, a no-op worker process moves it to queue two, a second no-op worker
 * process publishes its id, and the client, subscribed beforehand, resolves. Same Redis,
 * same worker concurrency as Sluice; no HTTP, no job store, no routing, no cache, no upstream.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import type { Sender } from './driver.ts';
import { ROOT, type BenchProcess } from './processes.ts';

/** Job options of both hops: kept like Sluice keeps them, so Redis does the same cleanup work. */
export const BARE_JOB_OPTIONS = {
  removeOnComplete: { count: 1_000 },
  removeOnFail: { count: 5_000 },
  attempts: 1,
} as const;

/** Queue and channel names of a bare pipeline under `prefix`. */
export function bareNames(prefix: string) {
  return { bullPrefix: `{${prefix}}`, first: 'route', second: 'tier', doneChannel: `{${prefix}}:done` };
}

/** Options for {@link startBarePipeline}. */
export interface BarePipelineOptions {
  redisUrl: string;
  prefix: string;
  /** Worker concurrency of each hop. */
  concurrency: number;
}

/** A running bare pipeline. */
export interface BarePipeline {
  /** Sends one job through both hops; for the drivers. */
  send: Sender;
  /** Process ids of the two hops. */
  pids: number[];
  stop(): Promise<void>;
}

function spawnHop(hop: 1 | 2, options: BarePipelineOptions): Promise<BenchProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'load-tests/src/bare-worker.ts'),
      String(hop),
      options.redisUrl,
      options.prefix,
      String(options.concurrency),
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let err = '';
  child.stderr!.on('data', (d) => (err = (err + d).slice(-4000)));
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  const proc: BenchProcess = {
    name: `bare-hop-${hop}`,
    child,
    output: () => err,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      if (String(d).includes('ready')) resolve(proc);
    });
    child.once('exit', (code) => reject(new Error(`bare hop ${hop} exited ${code}: ${err}`)));
  });
}

/** Start both hops as processes and return a sender. */
export async function startBarePipeline(options: BarePipelineOptions): Promise<BarePipeline> {
  const names = bareNames(options.prefix);
  const hops = await Promise.all([spawnHop(1, options), spawnHop(2, options)]);
  const commands = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  const subscriber = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(names.first, { connection: commands, prefix: names.bullPrefix });
  const waiting = new Map<string, () => void>();
  subscriber.on('message', (_channel: string, id: string) => {
    waiting.get(id)?.();
    waiting.delete(id);
  });
  await subscriber.subscribe(names.doneChannel);
  return {
    pids: hops.map((h) => h.child.pid!),
    send: async (i, { signal }) => {
      const id = randomUUID();
      const done = new Promise<void>((resolve, reject) => {
        waiting.set(id, resolve);
        signal.addEventListener('abort', () => {
          waiting.delete(id);
          reject(new Error('deadline'));
        });
      });
      await queue.add(
        'job',
        { i, messages: [{ role: 'user', content: `bare ${i}` }] },
        { ...BARE_JOB_OPTIONS, jobId: id },
      );
      await done;
      return { status: '200', ok: true };
    },
    async stop() {
      await Promise.allSettled(hops.map((h) => h.stop()));
      await queue.close();
      subscriber.disconnect();
      commands.disconnect();
    },
  };
}
