import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { freePort } from '@sluice/redis-server';
import { sluiceCacheDir } from '@sluice/config';
import { ROOT, until } from './harness.ts';

const run = promisify(execFile);
type Json = Record<string, any>;

/** The direct children of `pid` whose command line mentions `needle`. */
async function childPids(pid: number, needle: string): Promise<number[]> {
  const { stdout } = await run('ps', ['-o', 'pid=,args=', '--ppid', String(pid)]);
  return stdout
    .split('\n')
    .filter((line) => line.includes(needle))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

/**
 * `pnpm start` supervises its workers (issue 12, defect 5): SIGKILL of the executor while it
 * runs jobs, and of the classifier while jobs wait to be routed, restarts each (a log line
 * naming the old and the new process), and every accepted job completes. Only the API (or
 * Redis) dying stops the stack, with a message and a non-zero exit.
 */
describe('pnpm start supervises its workers', () => {
  it(
    'restarts a killed executor and classifier; every accepted job completes; the API dying stops the stack',
    { timeout: 240_000 },
    async () => {
      const [apiPort, simPort] = [await freePort(), await freePort()];
      const home = mkdtempSync(join(tmpdir(), 'sluice-supervise-'));
      linkProvisioned(join(home, '.cache', 'sluice'));
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        // Its own HOME and cache folder: the run state file is this stack's alone. The Redis 8
        // and word vectors provisioned for this machine are linked in, not provisioned again.
        HOME: home,
        XDG_CACHE_HOME: join(home, '.cache'),
        SLUICE_API_PORT: String(apiPort),
        SLUICE_SIM_PORT: String(simPort),
        SLUICE_SIM_URL: `http://127.0.0.1:${simPort}/v1`,
        SLUICE_SIM_PROFILE: 'fast',
        SLUICE_REDIS_PORT: '0',
        SLUICE_REDIS_DATA_DIR: join(home, 'data'),
        // A dead worker's jobs are taken over after one lock period.
        SLUICE_LOCK_DURATION_MS: '3000',
      };
      const child = spawn(process.execPath, ['--import', 'tsx', 'apps/cli/src/index.ts', 'start'], {
        cwd: ROOT,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      const exited = new Promise<number | null>((res) => child.once('exit', res));
      try {
        await until(() => out.includes('Sluice is ready.'), 120_000, 200);
        // The state file is this stack's (by its API port), and `keys create --api` finds its Redis.
        expect(existsSync(join(home, '.cache', 'sluice', `run-${apiPort}.json`))).toBe(true);
        const created = await run(
          process.execPath,
          [
            '--import',
            'tsx',
            'apps/cli/src/index.ts',
            'keys',
            'create',
            '--tenant',
            'supervised',
            '--api',
            `http://localhost:${apiPort}`,
          ],
          { cwd: ROOT, env: { ...env, SLUICE_API_PORT: '1' } },
        );
        const key = created.stdout.trim().split('\n').at(-1)!;
        expect(key).toMatch(/^sk-sluice-/);
        const api = `http://localhost:${apiPort}`;
        const submit = async (i: number) => {
          const res = await fetch(`${api}/v1/jobs`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${key}`,
              'content-type': 'application/json',
              'cache-control': 'no-store',
            },
            body: JSON.stringify({
              model: 'small',
              max_tokens: 16,
              messages: [{ role: 'user', content: `supervised job ${i} [[sim:slow=2500]]` }],
            }),
          });
          expect(res.status).toBe(202);
          return ((await res.json()) as Json).id as string;
        };
        const status = async (id: string) =>
          (
            (await (
              await fetch(`${api}/v1/jobs/${id}`, { headers: { authorization: `Bearer ${key}` } })
            ).json()) as Json
          ).status as string;

        // Jobs running on the executor when it is killed.
        const [executorPid] = await childPids(child.pid!, 'apps/executor/src/index.ts');
        expect(executorPid).toBeGreaterThan(0);
        const running = await Promise.all(Array.from({ length: 6 }, (_, i) => submit(i)));
        await until(async () => (await Promise.all(running.map(status))).some((s) => s === 'running'), 20_000, 100);
        process.kill(executorPid!, 'SIGKILL');
        await until(
          () => out.includes(`executor-1 (pid ${executorPid}) exited with signal SIGKILL; restarting it in 1 s`),
          10_000,
          100,
        );
        await until(() => /executor-1 restarted as pid \d+/.test(out), 10_000, 100);

        // Jobs accepted while the classifier is dead wait in the route queue for its replacement.
        const [classifierPid] = await childPids(child.pid!, 'apps/classifier/src/index.ts');
        process.kill(classifierPid!, 'SIGKILL');
        const queued = await Promise.all(Array.from({ length: 6 }, (_, i) => submit(100 + i)));
        await until(
          () => out.includes(`classifier (pid ${classifierPid}) exited with signal SIGKILL; restarting it in 1 s`),
          10_000,
          100,
        );
        await until(() => /classifier restarted as pid \d+/.test(out), 10_000, 100);

        const all = [...running, ...queued];
        await until(async () => (await Promise.all(all.map(status))).every((s) => s === 'completed'), 120_000, 500);
        // The replacements are the ones serving now.
        const [newExecutor] = await childPids(child.pid!, 'apps/executor/src/index.ts');
        const [newClassifier] = await childPids(child.pid!, 'apps/classifier/src/index.ts');
        expect(newExecutor).not.toBe(executorPid);
        expect(newClassifier).not.toBe(classifierPid);
        expect(out).toContain(`executor-1 restarted as pid ${newExecutor}`);
        expect(out).toContain(`classifier restarted as pid ${newClassifier}`);
        expect(out).not.toMatch(/stopping the stack/);

        // The API dying is fatal: the stack stops, says why, and exits non-zero.
        const [apiPid] = await childPids(child.pid!, 'apps/api/src/index.ts');
        process.kill(apiPid!, 'SIGKILL');
        expect(await exited).toBe(1);
        expect(out).toMatch(/supervisor\| api exited; stopping the stack/);
        expect(existsSync(join(home, '.cache', 'sluice', `run-${apiPort}.json`))).toBe(false);
      } finally {
        if (child.exitCode === null) child.kill('SIGTERM');
        await exited;
        rmSync(home, { recursive: true, force: true });
      }
    },
  );
});

/** Links this machine's provisioned Redis 8 and word vectors into a test's own cache folder. */
function linkProvisioned(cacheDir: string): void {
  mkdirSync(cacheDir, { recursive: true });
  const shared = sluiceCacheDir(process.env);
  for (const name of ['redis-8', 'embeddings']) {
    if (existsSync(join(shared, name))) symlinkSync(join(shared, name), join(cacheDir, name));
  }
}
