import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../../..');
const sluice = (...args: string[]) =>
  run(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'apps/cli/src/index.ts'), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH },
  });

describe('pnpm sluice routing calibrate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-calibrate-'));
  const file = join(dir, 'sample.jsonl');
  const adjectives = ['old', 'red', 'tall', 'quiet', 'famous', 'broken', 'northern', 'ancient'];
  const nouns = ['bridge', 'glaze', 'opera', 'river', 'engine'];
  writeFileSync(
    file,
    Array.from({ length: 40 }, (_, i) =>
      JSON.stringify({
        prompt: `Describe the ${adjectives[i % 8]} ${nouns[Math.floor(i / 8)]} of the catalogue and what a reader should take away from it, over several paragraphs with examples drawn from its history and the people who used it.`,
      }),
    ).join('\n'),
  );

  it('prints the quality setting that sends the asked share of the sample large', async () => {
    const { stdout } = await sluice('routing', 'calibrate', '--sample', file, '--large-share', '0.25');
    expect(stdout).toContain('40 prompts');
    expect(stdout).toContain('25.0% of them go to the large tier');
    const setting = Number(stdout.match(/^SLUICE_ROUTING_QUALITY=([\d.]+)$/m)?.[1]);
    expect(setting).toBeGreaterThan(0);
    expect(setting).toBeLessThan(1);
    // A larger share needs a higher setting.
    const more = await sluice('routing', 'calibrate', '--sample', file, '--large-share', '0.75');
    expect(Number(more.stdout.match(/^SLUICE_ROUTING_QUALITY=([\d.]+)$/m)?.[1])).toBeGreaterThan(setting);
  }, 60_000);

  it('refuses a share outside [0, 1] and a missing file, saying which', async () => {
    await expect(sluice('routing', 'calibrate', '--sample', file, '--large-share', '2')).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('Invalid --large-share `2`'),
    });
    await expect(
      sluice('routing', 'calibrate', '--sample', join(dir, 'nope.jsonl'), '--large-share', '0.5'),
    ).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('No such sample file') });
  }, 60_000);
});
