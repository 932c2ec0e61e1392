import { loadConfig, type SluiceConfig } from '@sluice/config';
import { startTelemetry, type Logger, type Telemetry } from '@sluice/telemetry';

/** What every Sluice process gets before it wires its app. */
export interface ProcessContext {
  config: SluiceConfig;
  logger: Logger;
  /** Tracing state; `queues` is BullMQ's `telemetry` option for every Queue and Worker (undefined when tracing is off). */
  telemetry: Pick<Telemetry, 'tracing' | 'queues'>;
  /** Register a cleanup; run in reverse order on shutdown, each even if an earlier one fails. */
  onShutdown(cleanup: () => Promise<void> | void): void;
}

/** Options for {@link runProcess}. */
export interface RunProcessOptions {
  /** Service name, e.g. `sluice-api`. */
  name: string;
  /** The process environment, read once into the validated config (the app passes `process.env`). */
  env: NodeJS.ProcessEnv;
  /** Build and start the app; throw to exit with status 1. */
  main(context: ProcessContext): Promise<void>;
  /** Longest a graceful shutdown may take before the process exits anyway (ms). @defaultValue 30_000 */
  shutdownTimeoutMs?: number;
}

/**
 * The one place a process reads its environment: load and validate config once, start
 * telemetry, run `main`, and on SIGTERM/SIGINT run every cleanup (stop taking work, finish
 * or hand back what is in flight) before exiting.
 */
export async function runProcess(options: RunProcessOptions): Promise<void> {
  let config: SluiceConfig;
  try {
    config = loadConfig({ env: options.env, args: [] });
  } catch (error) {
    console.error(`${options.name}: ${(error as Error).message}`);
    process.exit(2);
  }
  const telemetry = startTelemetry({
    serviceName: options.name,
    tracing: config.telemetry.enabled,
    logLevel: config.log.level,
  });
  const { logger } = telemetry;
  const cleanups: Array<() => Promise<void> | void> = [() => telemetry.shutdown()];
  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error('graceful shutdown timed out; exiting');
      process.exit(1);
    }, options.shutdownTimeoutMs ?? 30_000);
    timer.unref();
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        logger.error({ err: error }, 'cleanup failed');
      }
    }
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection'));
  try {
    await options.main({ config, logger, telemetry, onShutdown: (c) => cleanups.push(c) });
  } catch (error) {
    logger.fatal({ err: error }, 'failed to start');
    await telemetry.shutdown();
    process.exit(1);
  }
}
