import { NodeSDK } from '@opentelemetry/sdk-node';
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Options for {@link startTelemetry}. */
export interface TelemetryOptions {
  /** Service name reported in traces and logs, e.g. `sluice-api`. */
  serviceName: string;
  /** Start the OpenTelemetry SDK (OTLP exporters from the standard `OTEL_*` variables). @defaultValue false */
  tracing: boolean;
  /** Log level. @defaultValue `info` */
  logLevel?: string;
  /** Where log lines go. @defaultValue stdout */
  destination?: NodeJS.WritableStream;
}

/** What {@link startTelemetry} gives a process. */
export interface Telemetry {
  logger: Logger;
  /** Flush and stop exporters. Idempotent. */
  shutdown(): Promise<void>;
}

/**
 * Paths redacted from every log line: credentials and customer text never reach logs.
 * Prompts are only logged when `log.prompts` is set, and then by explicit fields.
 */
const REDACT = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'apiKey',
  '*.apiKey',
  'password',
  '*.password',
  'messages',
  '*.messages',
  'request.messages',
];

/** Create the structured logger every process uses. */
export function createLogger(options: Pick<TelemetryOptions, 'serviceName' | 'logLevel' | 'destination'>): Logger {
  return pino(
    { name: options.serviceName, level: options.logLevel ?? 'info', redact: { paths: REDACT, censor: '[redacted]' } },
    options.destination ?? process.stdout,
  );
}

/**
 * Start telemetry for a process: the logger always; the OpenTelemetry SDK only when tracing is
 * on, so that with tracing off nothing is instrumented and nothing costs.
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  const logger = createLogger(options);
  let sdk: NodeSDK | undefined;
  if (options.tracing) {
    sdk = new NodeSDK({ serviceName: options.serviceName });
    sdk.start();
    logger.info('OpenTelemetry tracing started (exporters from OTEL_* variables)');
  }
  let stopped: Promise<void> | undefined;
  return {
    logger,
    shutdown() {
      stopped ??= (async () => {
        try {
          await sdk?.shutdown();
        } catch (error) {
          logger.warn({ err: error }, 'telemetry shutdown failed');
        }
        logger.flush?.();
      })();
      return stopped;
    },
  };
}
