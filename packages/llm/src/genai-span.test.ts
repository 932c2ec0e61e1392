import { SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResolvedDeployment } from '@sluice/config';
import { genAiProvider, withGenAiSpan } from './genai-span.ts';
import { UpstreamError } from './upstream.ts';

const deployment = {
  id: 'mini',
  tier: 'small',
  baseUrl: 'https://api.openai.com/v1',
  model: 'gpt-4o-mini',
} as ResolvedDeployment;
const request = {
  model: 'auto',
  messages: [{ role: 'user' as const, content: 'secret prompt' }],
  temperature: 0.3,
  max_completion_tokens: 100,
  seed: 7,
};

describe('GenAI spans', () => {
  const exporter = new InMemorySpanExporter();
  beforeAll(() => {
    trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }));
  });
  afterAll(() => trace.disable());
  const finished = async () => {
    for (let i = 0; i < 50 && exporter.getFinishedSpans().length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    const spans = exporter.getFinishedSpans();
    exporter.reset();
    return spans;
  };

  it('names the provider from the deployment host, with the conventions well-known values', () => {
    expect(genAiProvider('https://api.openai.com/v1')).toBe('openai');
    expect(genAiProvider('https://my-res.openai.azure.com/openai/deployments/x')).toBe('azure.ai.openai');
    expect(genAiProvider('https://api.anthropic.com/v1')).toBe('anthropic');
    expect(genAiProvider('http://127.0.0.1:4010/v1')).toBe('openai_compatible');
    expect(genAiProvider('not a url')).toBe('openai_compatible');
  });

  it('describes a successful call: request parameters, response model and id, finish reason, usage; no prompt', async () => {
    const result = await withGenAiSpan(
      deployment,
      request,
      true,
      async () => 'ok',
      () => ({
        responseModel: 'gpt-4o-mini-2024-07-18',
        responseId: 'chatcmpl-up',
        finishReason: 'stop',
        inputTokens: 12,
        outputTokens: 34,
      }),
    );
    expect(result).toBe('ok');
    const [span] = await finished();
    expect(span!.name).toBe('chat gpt-4o-mini');
    expect(span!.attributes).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.system': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.request.max_tokens': 100,
      'gen_ai.request.temperature': 0.3,
      'gen_ai.request.seed': 7,
      'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
      'gen_ai.response.id': 'chatcmpl-up',
      'gen_ai.response.finish_reasons': ['stop'],
      'gen_ai.usage.input_tokens': 12,
      'gen_ai.usage.output_tokens': 34,
      'server.address': 'api.openai.com',
      'server.port': 443,
      'sluice.deployment.id': 'mini',
      'sluice.tier': 'small',
      'sluice.stream': true,
    });
  });

  it('marks a failed call with error.type and the HTTP status, and rethrows', async () => {
    const error = new UpstreamError('Upstream answered 429: slow down', 'rate_limited', 'mini', 429, 1_000, {});
    await expect(
      withGenAiSpan(
        deployment,
        request,
        false,
        async () => Promise.reject(error),
        () => ({}),
      ),
    ).rejects.toBe(error);
    const [span] = await finished();
    expect(span!.attributes['error.type']).toBe('rate_limited');
    expect(span!.attributes['http.response.status_code']).toBe(429);
    expect(span!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'Upstream answered 429: slow down' });
    expect(span!.attributes['gen_ai.usage.input_tokens']).toBeUndefined();
  });
});
