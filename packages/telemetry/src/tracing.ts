import { FastifyOtelInstrumentation } from '@fastify/otel';
import { context, trace } from '@opentelemetry/api';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { NodeSDK } from '@opentelemetry/sdk-node';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import { BullMQOtel } from 'bullmq-otel';
import type { Telemetry as BullTelemetry } from 'bullmq';
import { createRequire } from 'node:module';

/** Name of the tracer (instrumentation scope) of Sluice's own spans and BullMQ's. */
export const TRACER_NAME = 'sluice';

/** Telemetry to pass as BullMQ's `telemetry` option of every Queue and Worker. */
export type QueueTelemetry = BullTelemetry;

/** Options for {@link startTracing}. */
export interface TracingOptions {
  serviceName: string;
  /**
   * Span processors to use instead of the exporters named by the standard `OTEL_*` variables
   * (`OTEL_TRACES_EXPORTER`, `OTEL_EXPORTER_OTLP_ENDPOINT`, …). Tests pass an in-memory one.
   * @defaultValue from the environment (OTLP)
   */
  spanProcessors?: SpanProcessor[];
}

/** A started tracing pipeline. */
export interface Tracing {
  /** BullMQ telemetry: carries the trace context inside each job across the queues. */
  readonly queues: QueueTelemetry;
  shutdown(): Promise<void>;
}

/**
 * Paths whose requests are not traced: probes and scrapes arrive every few seconds and would
 * bury the request traces.
 */
const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Start the OpenTelemetry SDK with the instrumentations Sluice relies on: incoming and outgoing
 * HTTP (`node:http`; the API's Fastify server, the metrics server), `fetch`/undici (the
 * `openai` SDK's upstream calls, which then carry `traceparent`), ioredis commands, and
 * Fastify's routes and hooks (`@fastify/otel`, hooked in through Fastify's
 * `fastify.initialization` diagnostics channel, so every Fastify app built afterwards is
 * instrumented without code of its own).
 *
 * Only called when tracing is on: with tracing off no SDK is started, nothing is patched, no
 * span is recorded, and BullMQ gets no `telemetry` option (it then skips its tracing code).
 */
export function startTracing(options: TracingOptions): Tracing {
  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    ...(options.spanProcessors ? { spanProcessors: options.spanProcessors } : {}),
    // Traces only. Metrics are Prometheus's (`/metrics`), logs are JSON lines on stdout; left
    // to their defaults the SDK would also push both over OTLP (OTEL_METRICS_EXPORTER and
    // OTEL_LOGS_EXPORTER default to `otlp`), duplicating them and failing where the collector
    // has no such pipeline.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => UNTRACED_PATHS.has((request.url ?? '').split('?')[0]!),
      }),
      new UndiciInstrumentation(),
      // Without a parent span, a Redis command is background work (BullMQ's blocking
      // polls, the stalled checker, sweepers): one span per poll would drown the traces.
      // Command names only: arguments carry prompts and answers (job payloads, cache entries),
      // which are customer data and never leave in a span.
      new IORedisInstrumentation({ requireParentSpan: true, dbStatementSerializer: (command) => command }),
      new FastifyOtelInstrumentation({
        registerOnInitialization: true,
        ignorePaths: (route) => UNTRACED_PATHS.has(route.url),
      }),
    ],
  });
  sdk.start();
  // ES modules that were imported before the SDK started (an app's static imports) reach
  // CommonJS packages without the require hook seeing them. Requiring them once more here
  // gives the hook its chance to patch the already-loaded module objects.
  const requireCjs = createRequire(import.meta.url);
  for (const id of ['ioredis', 'node:http', 'node:https']) {
    try {
      requireCjs(id);
    } catch {
      // Not installed where this package resolves from: nothing to patch.
    }
  }
  return {
    queues: new BullMQOtel({ tracerName: TRACER_NAME }),
    shutdown: () => sdk.shutdown(),
  };
}

/** `trace_id`/`span_id` of the active span for log lines, or nothing when none is recording. */
export function traceFields(): { trace_id?: string; span_id?: string } {
  const span = trace.getSpan(context.active());
  if (!span || !span.isRecording()) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}
