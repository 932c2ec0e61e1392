import { Writable } from 'node:stream';
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import { startTelemetry } from './index.ts';

const sink = () => {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).trim().split('\n'));
      done();
    },
  });
  return { lines, destination };
};

// One process per test file: the first test sees the process as `SLUICE_OTEL_ENABLED` unset
// leaves it; the second turns tracing on.
describe('telemetry', () => {
  it('with tracing off: no SDK, no BullMQ telemetry, spans are non-recording no-ops, logs carry no trace ids', async () => {
    const { lines, destination } = sink();
    const telemetry = startTelemetry({ serviceName: 'off', tracing: false, destination });
    expect(telemetry.tracing).toBe(false);
    expect(telemetry.queues).toBeUndefined();
    const span = trace.getTracer('x').startSpan('y');
    expect(span.isRecording()).toBe(false);
    span.end();
    telemetry.logger.info('hello');
    expect(JSON.parse(lines.at(-1)!)).not.toHaveProperty('trace_id');
    await telemetry.shutdown();
  });

  it('with tracing on: spans recorded, BullMQ telemetry given, log lines inside a span carry its trace id', async () => {
    const exporter = new InMemorySpanExporter();
    const { lines, destination } = sink();
    const telemetry = startTelemetry({
      serviceName: 'on',
      tracing: true,
      destination,
      spanProcessors: [new SimpleSpanProcessor({ exporter })],
    });
    expect(telemetry.tracing).toBe(true);
    expect(telemetry.queues?.tracer).toBeDefined();
    expect(telemetry.queues?.contextManager).toBeDefined();
    const traceId = trace.getTracer('x').startActiveSpan('work', (span) => {
      telemetry.logger.info('inside');
      span.end();
      return span.spanContext().traceId;
    });
    const line = JSON.parse(lines.find((l) => l.includes('"inside"'))!);
    expect(line.trace_id).toBe(traceId);
    // The processor exports on a later tick.
    for (let i = 0; i < 50 && exporter.getFinishedSpans().length === 0; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['work']);
    await telemetry.shutdown();
    await telemetry.shutdown();
  });
});
