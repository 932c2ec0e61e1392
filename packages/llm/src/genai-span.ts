import { SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import type { ResolvedDeployment } from '@sluice/config';
import type { ChatRequest } from '@sluice/queues';

/**
 * OpenTelemetry GenAI semantic-convention attribute names (semconv 1.37+, "Development").
 * Spelled out here rather than imported: the conventions package only exports the unstable
 * GenAI names from its `incubating` entry point, which may rename them in any release.
 */
export const GEN_AI = Object.freeze({
  operationName: 'gen_ai.operation.name',
  providerName: 'gen_ai.provider.name',
  /** The pre-1.37 name of `gen_ai.provider.name`; still read by many backends. */
  system: 'gen_ai.system',
  requestModel: 'gen_ai.request.model',
  requestMaxTokens: 'gen_ai.request.max_tokens',
  requestTemperature: 'gen_ai.request.temperature',
  requestTopP: 'gen_ai.request.top_p',
  requestSeed: 'gen_ai.request.seed',
  responseModel: 'gen_ai.response.model',
  responseId: 'gen_ai.response.id',
  responseFinishReasons: 'gen_ai.response.finish_reasons',
  usageInputTokens: 'gen_ai.usage.input_tokens',
  usageOutputTokens: 'gen_ai.usage.output_tokens',
});

const tracer = trace.getTracer('@sluice/llm');

/**
 * The `gen_ai.provider.name` of a deployment, from its host: the convention's well-known
 * values where the host says which provider it is, else `openai_compatible` (an
 * OpenAI-compatible server of unknown make, the bundled simulator included).
 */
export function genAiProvider(baseUrl: string): string {
  let host = '';
  try {
    host = new URL(baseUrl).hostname;
  } catch {
    return 'openai_compatible';
  }
  if (host === 'api.openai.com') return 'openai';
  if (host.endsWith('.openai.azure.com')) return 'azure.ai.openai';
  if (host === 'api.anthropic.com') return 'anthropic';
  if (host === 'api.mistral.ai') return 'mistral_ai';
  if (host === 'api.groq.com') return 'groq';
  if (host === 'api.deepseek.com') return 'deepseek';
  if (host === 'api.x.ai') return 'x_ai';
  if (host.endsWith('googleapis.com')) return 'gcp.gen_ai';
  return 'openai_compatible';
}

/** What the call reports back for its span. */
export interface GenAiResult {
  responseModel?: string;
  responseId?: string;
  finishReason?: string | null;
  inputTokens?: number;
  outputTokens?: number;
}

/**
 * Run one upstream chat call inside a CLIENT span named `chat {model}` carrying the GenAI
 * attributes: operation, provider, request model and parameters, response model, id, finish
 * reason, token usage; `error.type` and an error status when it fails. Prompts and answers
 * are customer data and never become attributes. With no tracer provider registered (tracing
 * off) the span is a non-recording no-op and no attribute is computed.
 */
export async function withGenAiSpan<T>(
  deployment: ResolvedDeployment,
  request: ChatRequest,
  stream: boolean,
  call: (span: Span) => Promise<T>,
  describe: (result: T) => GenAiResult,
): Promise<T> {
  return tracer.startActiveSpan(`chat ${deployment.model}`, { kind: SpanKind.CLIENT }, async (span) => {
    if (span.isRecording()) span.setAttributes(requestAttributes(deployment, request, stream));
    try {
      const result = await call(span);
      if (span.isRecording()) span.setAttributes(responseAttributes(describe(result)));
      return result;
    } catch (error) {
      if (span.isRecording()) {
        const e = error as { kind?: string; status?: number; upstreamStatus?: number; message?: string };
        // An UpstreamError's `status` is what Sluice's client gets; the span wants the upstream's.
        const status = 'upstreamStatus' in e ? e.upstreamStatus : e.status;
        span.setAttribute('error.type', e.kind ?? (status ? String(status) : '_OTHER'));
        if (status) span.setAttribute('http.response.status_code', status);
        span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
      }
      throw error;
    } finally {
      span.end();
    }
  });
}

function requestAttributes(deployment: ResolvedDeployment, request: ChatRequest, stream: boolean): Attributes {
  const provider = genAiProvider(deployment.baseUrl);
  const attributes: Attributes = {
    [GEN_AI.operationName]: 'chat',
    [GEN_AI.providerName]: provider,
    [GEN_AI.system]: provider,
    [GEN_AI.requestModel]: deployment.model,
    'sluice.deployment.id': deployment.id,
    'sluice.tier': deployment.tier,
    'sluice.stream': stream,
  };
  try {
    const url = new URL(deployment.baseUrl);
    attributes['server.address'] = url.hostname;
    attributes['server.port'] = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  } catch {
    // A deployment's URL is validated by the config; nothing to add if it is not a URL.
  }
  const maxTokens = request.max_completion_tokens ?? request.max_tokens;
  if (typeof maxTokens === 'number') attributes[GEN_AI.requestMaxTokens] = maxTokens;
  if (typeof request.temperature === 'number') attributes[GEN_AI.requestTemperature] = request.temperature;
  if (typeof request.top_p === 'number') attributes[GEN_AI.requestTopP] = request.top_p;
  if (typeof request.seed === 'number') attributes[GEN_AI.requestSeed] = request.seed;
  return attributes;
}

function responseAttributes(result: GenAiResult): Attributes {
  const attributes: Attributes = {};
  if (result.responseModel) attributes[GEN_AI.responseModel] = result.responseModel;
  if (result.responseId) attributes[GEN_AI.responseId] = result.responseId;
  if (result.finishReason) attributes[GEN_AI.responseFinishReasons] = [result.finishReason];
  if (result.inputTokens !== undefined) attributes[GEN_AI.usageInputTokens] = result.inputTokens;
  if (result.outputTokens !== undefined) attributes[GEN_AI.usageOutputTokens] = result.outputTokens;
  return attributes;
}
