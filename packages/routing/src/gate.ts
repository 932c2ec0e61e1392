import type { ChatRequest } from '@sluice/queues';

/** Which check a completion failed (`ok` when it passed). */
export type QualityCheck =
  'ok' | 'empty' | 'truncated' | 'filtered' | 'refusal' | 'uncertain' | 'json' | 'schema' | 'tool_call';

/** The quality gate's verdict on a small-tier answer. */
export interface QualityVerdict {
  pass: boolean;
  check: QualityCheck;
  /** What was wrong (or `ok`), for the escalation's reasons and logs. */
  reason: string;
}

/** The parts of an OpenAI `chat.completion` the gate reads. */
export interface GateCompletion {
  choices?: Array<{
    finish_reason?: string | null;
    message?: {
      content?: string | null;
      refusal?: string | null;
      tool_calls?: Array<{ function?: { name?: string; arguments?: string } }> | null;
    } | null;
  }>;
}

// Refusals are judged on the opening of the answer: a refusal comes first, while "I can't
// stress enough" deep in a good answer is not one.
const REFUSAL = [
  /^\W*(i'?m sorry|sorry|i apologi[sz]e|unfortunately)\b[^.]{0,80}\b(can(?:no|')?t|unable|not able|won'?t|do not have|don'?t have)\b/i,
  /\bI (?:can(?:no|')t|am unable to|'m unable to|won'?t be able to|am not able to|'m not able to) (?:help|assist|provide|answer|comply|do that|fulfil|complete|write|create|generate)\b/i,
  /\bas an AI(?: language model| assistant)?\b/i,
];
const UNCERTAIN =
  /\bI(?:'m| am) not (?:entirely |completely |fully )?(?:sure|certain)\b|\bI (?:don'?t|do not) know\b|\bI(?:'m| am) unsure\b|\bI cannot (?:be certain|determine|verify)\b|\bI (?:don'?t|do not) have (?:enough |sufficient )?(?:information|access|data|context)\b|\bI(?:'m| am) not able to (?:determine|verify)\b|\bI may be (?:wrong|mistaken)\b/i;

const ok = (): QualityVerdict => ({ pass: true, check: 'ok', reason: 'ok' });
const fail = (check: QualityCheck, reason: string): QualityVerdict => ({ pass: false, check, reason });

/**
 * The cascade's quality gate: does a small-tier answer stand, or must the large tier answer
 * instead? It fails an answer that is empty, cut off (`finish_reason: length`) or filtered,
 * opens with a refusal or admits uncertainty, whose tool-call arguments are not JSON, or that
 * does not match a requested `response_format` (`json_object`: a JSON object;
 * `json_schema`: required keys, types, enums, items, `additionalProperties: false`).
 * A gate cannot see a subtly wrong answer; that is why the router sends prompts that lean
 * complex straight to large.
 */
export function qualityGate(
  request: Pick<ChatRequest, 'response_format' | 'tools' | 'tool_choice'>,
  completion: GateCompletion,
): QualityVerdict {
  const choice = completion?.choices?.[0];
  if (!choice) return fail('empty', 'no choices in the completion');
  if (choice.finish_reason === 'length') return fail('truncated', 'the answer was cut off (finish_reason: length)');
  if (choice.finish_reason === 'content_filter') return fail('filtered', 'the answer was withheld by a content filter');
  const message = choice.message ?? {};
  if (message.refusal) return fail('refusal', `the model refused: ${message.refusal.slice(0, 120)}`);
  const toolCalls = message.tool_calls ?? [];
  const content = typeof message.content === 'string' ? message.content : '';

  const wantsTool =
    request.tool_choice === 'required' || (typeof request.tool_choice === 'object' && request.tool_choice !== null);
  if (wantsTool && Array.isArray(request.tools) && request.tools.length && !toolCalls.length)
    return fail('tool_call', 'a tool call was required but none was made');
  for (const call of toolCalls) {
    const args = call.function?.arguments ?? '';
    try {
      const parsed: unknown = JSON.parse(args || '{}');
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
        return fail('tool_call', `arguments of tool \`${call.function?.name ?? '?'}\` are not a JSON object`);
    } catch {
      return fail('tool_call', `arguments of tool \`${call.function?.name ?? '?'}\` are not valid JSON`);
    }
  }
  if (toolCalls.length && !content.trim()) return ok();
  if (!content.trim()) return fail('empty', 'the answer is empty');

  const opening = content.slice(0, 300);
  for (const pattern of REFUSAL)
    if (pattern.test(opening)) return fail('refusal', `the answer opens with a refusal: "${opening.slice(0, 80)}"`);
  // A hedge anywhere in a short answer is the answer; in a long one only the opening counts.
  const hedge = (content.length < 600 ? content : opening).match(UNCERTAIN);
  if (hedge) return fail('uncertain', `the answer admits uncertainty ("${hedge[0]}")`);

  const format = request.response_format as { type?: string; json_schema?: { schema?: unknown } } | undefined | null;
  if (format?.type === 'json_object' || format?.type === 'json_schema') {
    let value: unknown;
    try {
      value = JSON.parse(content);
    } catch {
      return fail('json', `response_format ${format.type} was requested but the answer is not valid JSON`);
    }
    if (format.type === 'json_object' && (typeof value !== 'object' || value === null || Array.isArray(value))) {
      return fail('json', 'response_format json_object was requested but the answer is not a JSON object');
    }
    if (format.type === 'json_schema' && format.json_schema?.schema) {
      const error = validateSchema(value, format.json_schema.schema, '$');
      if (error) return fail('schema', `the answer does not match the requested JSON schema: ${error}`);
    }
  }
  return ok();
}

type Schema = {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  const?: unknown;
  additionalProperties?: boolean | Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  minItems?: number;
  maxItems?: number;
  minimum?: number;
  maximum?: number;
};

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/**
 * A small JSON Schema check covering what structured outputs use: type (or a type list),
 * properties, required, items, enum, const, additionalProperties, anyOf/oneOf, min/max.
 * `$ref` and formats are not followed (they pass). Returns the first error with its path.
 */
export function validateSchema(value: unknown, schema: unknown, path = '$'): string | undefined {
  if (typeof schema !== 'object' || schema === null) return undefined;
  const s = schema as Schema;
  const actual = typeOf(value);
  if (s.anyOf || s.oneOf) {
    const options = (s.anyOf ?? s.oneOf)!;
    if (!options.some((o) => validateSchema(value, o, path) === undefined))
      return `${path} matches none of the allowed shapes`;
  }
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? s.type : [s.type];
    const fits = types.some((t) => t === actual || (t === 'number' && actual === 'integer'));
    if (!fits) return `${path} should be ${types.join(' or ')}, got ${actual}`;
  }
  if (s.enum && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(value)))
    return `${path} should be one of ${JSON.stringify(s.enum)}`;
  if ('const' in s && JSON.stringify(s.const) !== JSON.stringify(value))
    return `${path} should be ${JSON.stringify(s.const)}`;
  if (actual === 'object') {
    const object = value as Record<string, unknown>;
    for (const key of s.required ?? []) if (!(key in object)) return `${path} is missing required key \`${key}\``;
    for (const [key, v] of Object.entries(object)) {
      const sub = s.properties?.[key];
      if (sub) {
        const error = validateSchema(v, sub, `${path}.${key}`);
        if (error) return error;
      } else if (s.additionalProperties === false) {
        return `${path} has unexpected key \`${key}\``;
      } else if (typeof s.additionalProperties === 'object') {
        const error = validateSchema(v, s.additionalProperties, `${path}.${key}`);
        if (error) return error;
      }
    }
  }
  if (actual === 'array') {
    const array = value as unknown[];
    if (s.minItems !== undefined && array.length < s.minItems)
      return `${path} should have at least ${s.minItems} items`;
    if (s.maxItems !== undefined && array.length > s.maxItems) return `${path} should have at most ${s.maxItems} items`;
    if (s.items) {
      for (let i = 0; i < array.length; i++) {
        const error = validateSchema(array[i], s.items, `${path}[${i}]`);
        if (error) return error;
      }
    }
  }
  if (typeof value === 'number') {
    if (s.minimum !== undefined && value < s.minimum) return `${path} should be ≥ ${s.minimum}`;
    if (s.maximum !== undefined && value > s.maximum) return `${path} should be ≤ ${s.maximum}`;
  }
  return undefined;
}
