import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// Every package and app that defines error codes, so the table below is the whole registry.
import '@sluice/batch';
import '@sluice/cache';
import '@sluice/config';
import '@sluice/embeddings';
import '@sluice/jobs';
import '@sluice/ledger';
import '@sluice/limits';
import '@sluice/llm';
import '@sluice/redis';
import '@sluice/routing';
import '@sluice/tenants';
import '../apps/api/src/errors.ts';
import '../apps/classifier/src/app.ts';
import '../apps/executor/src/app.ts';
import { errorDefinitions, type ErrorDefinition } from '@sluice/errors';

const ARCHITECTURE = new URL('../ARCHITECTURE.md', import.meta.url);

/** The rows of the first markdown table after `heading`: `[code, status, type]`, from backticked cells. */
function tableAfter(markdown: string, heading: string): Array<[string, number, string]> {
  const start = markdown.indexOf(`\n${heading}\n`);
  expect(start, `ARCHITECTURE.md has a "${heading}" section`).toBeGreaterThanOrEqual(0);
  const lines = markdown.slice(start + heading.length + 2).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows: Array<[string, number, string]> = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    const cells = line.split('|').map((c) => c.trim());
    rows.push([cells[1]!.replace(/`/g, ''), Number(cells[2]), cells[3]!.replace(/`/g, '')]);
  }
  return rows;
}

const row = (d: ErrorDefinition): [string, number, string] => [d.code, d.status, d.openaiType];
const byCode = (a: [string, number, string], b: [string, number, string]) => a[0].localeCompare(b[0]);

describe('error codes', () => {
  const definitions = errorDefinitions();

  it('registers each client code once, with a 4xx/5xx status and an OpenAI type', () => {
    expect(definitions.length).toBeGreaterThan(40);
    const codes = definitions.map((d) => d.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const d of definitions) {
      expect(d.code, d.code).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(d.status, d.code).toBeGreaterThanOrEqual(400);
      expect(d.status, d.code).toBeLessThan(600);
      expect(d.openaiType, d.code).toMatch(/^[a-z_]+$/);
      expect(d.sluiceCode, d.code).toMatch(/^SLUICE_ERR_[A-Z0-9_]+$/);
    }
  });

  it('lists exactly the exposed codes, with their status and type, in ARCHITECTURE.md', () => {
    const markdown = readFileSync(ARCHITECTURE, 'utf8');
    expect(tableAfter(markdown, '## Error codes that reach clients').sort(byCode)).toEqual(
      definitions
        .filter((d) => d.expose)
        .map(row)
        .sort(byCode),
    );
  });

  it('lists exactly the codes that never reach a client as themselves in ARCHITECTURE.md', () => {
    const markdown = readFileSync(ARCHITECTURE, 'utf8');
    expect(tableAfter(markdown, '### Codes answered as `internal_error`').sort(byCode)).toEqual(
      definitions
        .filter((d) => !d.expose)
        .map(row)
        .sort(byCode),
    );
  });
});
