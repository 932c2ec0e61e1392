import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import { pino, type Logger } from 'pino';
import { startTracing, traceFields, type QueueTelemetry, type Tracing } from './tracing.ts';

export type { Logger } from 'pino';
export { TRACER_NAME, traceFields, type QueueTelemetry } from './tracing.ts';

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
  /**
   * Span processors replacing the exporters the `OTEL_*` variables name (only with
   * `tracing`); tests pass a `SimpleSpanProcessor` over an `InMemorySpanExporter`.
   * @defaultValue from the environment (OTLP)
   */
  spanProcessors?: SpanProcessor[];
}

/** What {@link startTelemetry} gives a process. */
export interface Telemetry {
  logger: Logger;
  /** Whether the OpenTelemetry SDK is running. */
  readonly tracing: boolean;
  /**
   * BullMQ's `telemetry` option for every Queue and Worker, carrying the trace context in
   * each job across the queues (`bullmq-otel`). Undefined when tracing is off, so BullMQ
   * skips its tracing code entirely.
   */
  readonly queues: QueueTelemetry | undefined;
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

/** Create the structured logger every process uses; with `traceIds`, lines logged inside a span carry its `trace_id` and `span_id`. */
export function createLogger(
  options: Pick<TelemetryOptions, 'serviceName' | 'logLevel' | 'destination'> & { traceIds?: boolean },
): Logger {
  return pino(
    {
      name: options.serviceName,
      level: options.logLevel ?? 'info',
      redact: { paths: REDACT, censor: '[redacted]' },
      ...(options.traceIds ? { mixin: traceFields } : {}),
    },
    options.destination ?? process.stdout,
  );
}

/**
 * Start telemetry for a process: the logger always; the OpenTelemetry SDK only when tracing is
 * on, so that with tracing off nothing is instrumented and nothing costs.
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  const logger = createLogger({ ...options, traceIds: options.tracing });
  let tracing: Tracing | undefined;
  if (options.tracing) {
    tracing = startTracing({ serviceName: options.serviceName, spanProcessors: options.spanProcessors });
    logger.info(
      options.spanProcessors
        ? 'OpenTelemetry tracing started'
        : 'OpenTelemetry tracing started (exporters from OTEL_* variables)',
    );
  }
  let stopped: Promise<void> | undefined;
  return {
    logger,
    tracing: tracing !== undefined,
    queues: tracing?.queues,
    shutdown() {
      stopped ??= (async () => {
        try {
          await tracing?.shutdown();
        } catch (error) {
          logger.warn({ err: error }, 'telemetry shutdown failed');
        }
        logger.flush?.();
      })();
      return stopped;
    },
  };
}
