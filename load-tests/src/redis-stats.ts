import type { Redis as Standalone } from 'ioredis';

/** Calls per command from `INFO commandstats` (commands run inside scripts included), and the server's CPU. */
export interface RedisCommandStats {
  calls: Record<string, number>;
  total: number;
  /** used_cpu_sys + used_cpu_user (ms). */
  cpuMs: number;
}

/** Read a Redis server's command counts and CPU time. */
export async function readCommandStats(node: Standalone): Promise<RedisCommandStats> {
  const [commands, cpu] = await Promise.all([node.info('commandstats'), node.info('cpu')]);
  const calls: Record<string, number> = {};
  let total = 0;
  for (const m of commands.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    calls[m[1]!] = Number(m[2]);
    total += Number(m[2]);
  }
  const seconds = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? 0);
  return { calls, total, cpuMs: (seconds('used_cpu_sys') + seconds('used_cpu_user')) * 1000 };
}

/** What a server did between two readings. */
export function commandStatsDelta(before: RedisCommandStats, after: RedisCommandStats): RedisCommandStats {
  const calls: Record<string, number> = {};
  for (const [name, n] of Object.entries(after.calls)) calls[name] = n - (before.calls[name] ?? 0);
  return { calls, total: after.total - before.total, cpuMs: after.cpuMs - before.cpuMs };
}
