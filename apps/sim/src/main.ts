/**
 * Simulator process entry: parses flags, starts a simulator, prints `sim listening on URL`,
 * and shuts down gracefully on SIGTERM/SIGINT (a second signal exits at once).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SifEmbedder, WordVectors, wordVectorsPath } from '@sluice/embeddings';
import { pino } from 'pino';
import { SimCliError, USAGE, parseSimArgs } from './cli-args.ts';
import { createSimulator } from './simulator.ts';
import type { SimModelInput } from './types.ts';
import { sluiceCacheDir } from '@sluice/config';

/** Sluice's word-vector model, when provisioned, served as `sluice-sif-wink-sg100d`. */
function sentenceEmbedder(logger: { info(o: object, m: string): void }): { sentenceEmbedder?: SifEmbedder } {
  const dir = process.env.SLUICE_EMBEDDINGS_MODEL_DIR || join(sluiceCacheDir(process.env), 'embeddings');
  const path = wordVectorsPath(dir);
  if (!existsSync(path)) {
    logger.info({ path }, 'word-vector model not provisioned; sluice-sif-wink-sg100d not served');
    return {};
  }
  return { sentenceEmbedder: new SifEmbedder({ vectors: WordVectors.load(path) }) };
}

async function main(): Promise<void> {
  let args;
  try {
    args = parseSimArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof SimCliError)) throw error;
    process.stderr.write(`${error.message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }

  // Fastify's request serializer logs method, url and status only: bodies, and so prompts,
  // never reach the log.
  const logger = pino({ level: args.logLevel, base: { service: 'sluice-sim' } });
  const models = args.modelsFile === undefined ? undefined : await readModelsFile(args.modelsFile);
  const simulator = createSimulator({
    profile: args.profile,
    ...(args.latencyMs === undefined ? {} : { latencyMs: args.latencyMs }),
    ...(models === undefined ? {} : { models }),
    ...sentenceEmbedder(logger),
    ...(args.batchMs === undefined ? {} : { batch: { processingMs: args.batchMs } }),
    logger,
  });
  // Handlers go in before listen(): a signal during start-up still closes cleanly.
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal, exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    simulator.close().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  const { url } = await simulator.listen({ port: args.port, host: args.host });
  if (!stopping) process.stdout.write(`sim listening on ${url}\n`);
}

async function readModelsFile(path: string): Promise<SimModelInput[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new SimCliError(`Could not read --models ${path}: ${(error as Error).message}`);
  }
  const list = Array.isArray(parsed) ? parsed : (parsed as { models?: unknown } | null)?.models;
  if (!Array.isArray(list)) throw new SimCliError(`Expected --models ${path} to hold an array or { "models": [...] }`);
  return list as SimModelInput[];
}

main().catch((error: unknown) => {
  process.stderr.write(`sim failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
