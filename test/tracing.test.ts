import OpenAI from 'openai';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTelemetry, type Telemetry } from '@sluice/telemetry';
import { startStack, until, type TestStack } from './harness.ts';

/**
 * One job's trace through every hop, with tracing on as `SLUICE_OTEL_ENABLED` turns it on in a
 * process, but exported to memory: API request → `{route}` queue → classifier → tier queue →
 * executor → upstream call (GenAI attributes) → result delivery, all one trace id, each hop a
 * child of the one before.
 */
describe('tracing across the queues', () => {
  const exporter = new InMemorySpanExporter();
  let telemetry: Telemetry;
  let stack: TestStack;
  let client: OpenAI;
  beforeAll(async () => {
    telemetry = startTelemetry({
      serviceName: 'sluice-test',
      tracing: true,
      logLevel: 'silent',
      spanProcessors: [new SimpleSpanProcessor({ exporter })],
    });
    expect(telemetry.queues).toBeDefined();
    stack = await startStack({ telemetry: telemetry.queues });
    client = new OpenAI({ baseURL: `${stack.apiUrl}/v1`, apiKey: await stack.key('acme'), maxRetries: 0 });
  });
  afterAll(async () => {
    await stack?.stop();
    await telemetry?.shutdown();
  });

  it(
    'follows one job from the API request to the delivered result in one trace, with GenAI attributes on the upstream call',
    { timeout: 60_000 },
    async () => {
      exporter.reset();
      const { data, response } = await client.chat.completions
        .create({
          model: 'auto',
          messages: [{ role: 'user', content: 'What is the capital of Portugal?' }],
          max_tokens: 64,
        })
        .withResponse();
      const jobId = response.headers.get('x-sluice-job-id')!;
      expect(response.headers.get('x-sluice-tier')).toBe('small');

      const spans = () => exporter.getFinishedSpans();
      const byName = (name: string, pick: (s: ReadableSpan) => boolean = () => true) =>
        spans().find((s) => s.name === name && pick(s));
      // The API's request span ends after the response is sent; wait until every hop is in.
      const deliverOf = (s: ReadableSpan) => s.attributes['sluice.job.id'] === jobId;
      const sameTrace = (s: ReadableSpan) =>
        s.spanContext().traceId === byName('sluice.job.deliver', deliverOf)?.spanContext().traceId;
      await until(
        () =>
          byName('sluice.job.deliver', deliverOf) &&
          byName('request', (s) => s.attributes['http.route'] === '/v1/chat/completions' && sameTrace(s)) &&
          byName('process {tier-small}', sameTrace),
        10_000,
      );

      const deliver = byName('sluice.job.deliver', (s) => s.attributes['sluice.job.id'] === jobId)!;
      const traceId = deliver.spanContext().traceId;
      const inTrace = spans().filter((s) => s.spanContext().traceId === traceId);
      const find = (name: string) => {
        const span = inTrace.find((s) => s.name === name);
        expect(
          span,
          `span "${name}" in trace ${traceId}; have: ${[...new Set(inTrace.map((s) => s.name))].join(', ')}`,
        ).toBeDefined();
        return span!;
      };
      const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

      // API: the HTTP server span and Fastify's request span for the route.
      const server = inTrace.find(
        (s) =>
          s.kind === SpanKind.SERVER &&
          s.instrumentationScope.name === '@opentelemetry/instrumentation-http' &&
          String(s.attributes['url.path'] ?? s.attributes['http.target'] ?? '').startsWith('/v1/chat/completions'),
      );
      expect(server, 'API HTTP server span').toBeDefined();
      const request = find('request');
      expect(request.attributes['http.route']).toBe('/v1/chat/completions');
      expect(request.instrumentationScope.name).toBe('@fastify/otel');

      // API → {route} queue → classifier → tier queue → executor: producer and consumer spans
      // from BullMQ, each consumer a child of the producer whose context the job carried.
      // (BullMQ names a producer span `add <queue>.<job name>`.)
      const addRoute = find('add {route}.completion');
      const processRoute = find('process {route}');
      const addTier = find('add {tier-small}.completion');
      const processTier = find('process {tier-small}');
      expect(addRoute.kind).toBe(SpanKind.PRODUCER);
      expect(processRoute.kind).toBe(SpanKind.CONSUMER);
      expect(parentOf(processRoute)).toBe(addRoute.spanContext().spanId);
      expect(parentOf(addTier)).toBe(processRoute.spanContext().spanId);
      expect(parentOf(processTier)).toBe(addTier.spanContext().spanId);

      // Executor → upstream: a GenAI client span inside the executor's consumer span, and the
      // HTTP call under it (whose traceparent the simulator received).
      const chat = find('chat sim-small');
      expect(chat.kind).toBe(SpanKind.CLIENT);
      expect(chat.attributes).toMatchObject({
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai_compatible',
        'gen_ai.system': 'openai_compatible',
        'gen_ai.request.model': 'sim-small',
        'gen_ai.request.max_tokens': 64,
        'gen_ai.response.model': 'sim-small',
        'gen_ai.usage.input_tokens': data.usage!.prompt_tokens,
        'gen_ai.usage.output_tokens': data.usage!.completion_tokens,
        'sluice.deployment.id': 'sim-small',
        'sluice.tier': 'small',
      });
      expect(chat.attributes['gen_ai.response.finish_reasons']).toEqual(['stop']);
      let ancestor: ReadableSpan | undefined = chat;
      while (ancestor && ancestor !== processTier)
        ancestor = inTrace.find((s) => s.spanContext().spanId === parentOf(ancestor!));
      expect(ancestor, 'the upstream span descends from the executor consumer span').toBe(processTier);
      const fetchSpan = inTrace.find(
        (s) =>
          s.instrumentationScope.name === '@opentelemetry/instrumentation-undici' &&
          parentOf(s) === chat.spanContext().spanId,
      );
      expect(fetchSpan, 'the HTTP call to the upstream').toBeDefined();
      // No prompt or answer text on any span.
      for (const s of inTrace) expect(JSON.stringify(s.attributes)).not.toContain('Portugal');

      // Result delivery, from the executor's run.
      expect(deliver.attributes['sluice.job.status']).toBe('completed');
      let hop: ReadableSpan | undefined = deliver;
      while (hop && hop !== processTier) hop = inTrace.find((s) => s.spanContext().spanId === parentOf(hop!));
      expect(hop, 'delivery happens inside the executor consumer span').toBe(processTier);
    },
  );
});
