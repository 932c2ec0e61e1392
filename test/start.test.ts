import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { freePort } from '@sluice/redis-server';
import { ROOT, until } from './harness.ts';

const run = promisify(execFile);

/**
 * The README's run command with no configuration (only ports moved so the test cannot collide
 * with a developer's running stack): it brings up Redis, the simulator, API, classifier and
 * executor; `pnpm sluice keys create` prints a key on its last line; the official openai client
 * gets a completion streamed and not.
 */
describe('pnpm start', () => {
  it('brings the whole stack up with no configuration and serves the openai client', { timeout: 120_000 }, async () => {
    const [apiPort, simPort] = [await freePort(), await freePort()];
    const dataDir = mkdtempSync(join(tmpdir(), 'sluice-start-'));
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      SLUICE_API_PORT: String(apiPort),
      SLUICE_SIM_PORT: String(simPort),
      SLUICE_SIM_URL: `http://127.0.0.1:${simPort}/v1`,
      SLUICE_SIM_PROFILE: 'fast',
      SLUICE_REDIS_PORT: '0',
      SLUICE_REDIS_DATA_DIR: dataDir,
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
      await until(() => out.includes('Sluice is ready.'), 90_000, 200);
      expect(out).toContain(`http://localhost:${apiPort}/v1`);
      expect(out).toMatch(/Bull Board: +http:\/\/localhost:\d+\/admin\/queues/);
      const redisUrl = /Redis 8\.\d+\.\d+ at (redis:\/\/\S+)/.exec(out)?.[1];
      expect(redisUrl).toBeDefined();
      const keys = await run(
        process.execPath,
        ['--import', 'tsx', 'apps/cli/src/index.ts', 'keys', 'create', '--tenant', 'smoke'],
        { cwd: ROOT, env: { ...env, REDIS_URL: redisUrl } },
      );
      const key = keys.stdout.trim().split('\n').at(-1)!;
      expect(key).toMatch(/^sk-sluice-/);
      const client = new OpenAI({ baseURL: `http://localhost:${apiPort}/v1`, apiKey: key });
      const completion = await client.chat.completions.create({
        model: 'auto',
        messages: [{ role: 'user', content: 'Say hello' }],
      });
      expect(completion.choices[0]!.message.content).toMatch(/^\[sim:[0-9a-f]{16}\]/);
      let streamed = '';
      for await (const chunk of await client.chat.completions.create({
        model: 'auto',
        stream: true,
        messages: [{ role: 'user', content: 'Say hello, streamed' }],
      })) {
        streamed += chunk.choices[0]?.delta?.content ?? '';
      }
      expect(streamed).toMatch(/^\[sim:[0-9a-f]{16}\]/);
      // Logs never carry the API key or the prompt text.
      expect(out).not.toContain(key);
      expect(out).not.toContain('Say hello');
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
