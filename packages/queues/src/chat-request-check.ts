import type { ChatRequest } from './payload.ts';

/** Why a chat request would be refused by an OpenAI upstream, with the field to blame. */
export interface ChatRequestProblem {
  /** OpenAI's wording where it has one (`Missing required parameter: 'messages[1].tool_call_id'.`). */
  message: string;
  /** The field, as OpenAI names it (`tools[0].function.name`). */
  param: string;
  /** OpenAI's code: `missing_required_parameter`, `invalid_type` or `invalid_value`. */
  code: 'missing_required_parameter' | 'invalid_type' | 'invalid_value';
}

/** Options for {@link checkChatRequest}. */
export interface ChatRequestCheckOptions {
  /**
   * The request continues a conversation Sluice stores (`conversation_id`): earlier messages
   * (an assistant's tool calls) are not in the body, so the order of tool messages is not checked.
   * @defaultValue `Boolean(body.conversation_id)`
   */
  continuesConversation?: boolean;
}

/** OpenAI's pattern for function, tool and schema names. */
const NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

/** Most tools in one request (OpenAI's limit). */
const MAX_TOOLS = 128;

class Problem extends Error {
  constructor(readonly problem: ChatRequestProblem) {
    super(problem.message);
  }
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a decimal';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'boolean') return 'a boolean';
  return 'an object';
}

const missing = (param: string): never => {
  throw new Problem({ message: `Missing required parameter: '${param}'.`, param, code: 'missing_required_parameter' });
};
const wrongType = (param: string, expected: string, value: unknown): never => {
  throw new Problem({
    message: `Invalid type for '${param}': expected ${expected}, but got ${kindOf(value)} instead.`,
    param,
    code: 'invalid_type',
  });
};
const invalid = (param: string, message: string): never => {
  throw new Problem({ message, param, code: 'invalid_value' });
};
const oneOf = (param: string, value: unknown, allowed: readonly string[]): never =>
  invalid(
    param,
    `Invalid value: '${String(value)}'. Supported values are: ${allowed.map((a) => `'${a}'`).join(', ')}.`,
  );

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function object(value: unknown, param: string): Record<string, unknown> {
  if (value === undefined) missing(param);
  if (!isObject(value)) wrongType(param, 'an object', value);
  return value as Record<string, unknown>;
}

function string(value: unknown, param: string, required = true): string | undefined {
  if (value === undefined) return required ? missing(param) : undefined;
  if (typeof value !== 'string') wrongType(param, 'a string', value);
  return value as string;
}

function optionalBoolean(value: unknown, param: string): void {
  if (value !== undefined && value !== null && typeof value !== 'boolean') wrongType(param, 'a boolean', value);
}

function name(value: unknown, param: string): string {
  const n = string(value, param)!;
  if (!NAME_PATTERN.test(n))
    invalid(
      param,
      `Invalid '${param}': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$' (at most 64 characters).`,
    );
  return n;
}

const TEXT_ONLY = ['text'] as const;
const USER_PARTS = ['text', 'image_url', 'input_audio', 'file'] as const;
const ASSISTANT_PARTS = ['text', 'refusal'] as const;

function contentParts(content: unknown[], param: string, allowed: readonly string[]): void {
  content.forEach((p, j) => {
    const at = `${param}[${j}]`;
    const part = object(p, at);
    const type = string(part.type, `${at}.type`)!;
    if (!allowed.includes(type)) oneOf(`${at}.type`, type, allowed);
    if (type === 'text') string(part.text, `${at}.text`);
    else if (type === 'refusal') string(part.refusal, `${at}.refusal`);
    else if (type === 'image_url') string(object(part.image_url, `${at}.image_url`).url, `${at}.image_url.url`);
    else if (type === 'input_audio') {
      const audio = object(part.input_audio, `${at}.input_audio`);
      string(audio.data, `${at}.input_audio.data`);
      const format = string(audio.format, `${at}.input_audio.format`);
      if (format !== 'wav' && format !== 'mp3') oneOf(`${at}.input_audio.format`, format, ['wav', 'mp3']);
    } else if (type === 'file') object(part.file, `${at}.file`);
  });
}

function content(value: unknown, param: string, allowed: readonly string[], required: boolean): void {
  if (value === undefined || value === null) {
    if (required) missing(param);
    return;
  }
  if (typeof value === 'string') return;
  if (!Array.isArray(value)) wrongType(param, 'one of a string or array of objects', value);
  contentParts(value as unknown[], param, allowed);
}

/** Check a message's shape by role; returns the ids of the tool calls an assistant message makes. */
function message(m: Record<string, unknown>, i: number): string[] {
  const param = `messages[${i}]`;
  switch (m.role) {
    case 'system':
    case 'developer':
      content(m.content, `${param}.content`, TEXT_ONLY, true);
      return [];
    case 'user':
      content(m.content, `${param}.content`, USER_PARTS, true);
      return [];
    case 'tool':
      content(m.content, `${param}.content`, TEXT_ONLY, true);
      string(m.tool_call_id, `${param}.tool_call_id`);
      return [];
    case 'assistant': {
      content(m.content, `${param}.content`, ASSISTANT_PARTS, false);
      const calls = m.tool_calls;
      if (calls !== undefined && calls !== null && !Array.isArray(calls))
        wrongType(`${param}.tool_calls`, 'an array', calls);
      const list = (calls ?? []) as unknown[];
      const hasContent = m.content !== undefined && m.content !== null;
      // The legacy `function_call` and an `audio` reference also make an assistant turn.
      if (!hasContent && list.length === 0 && m.function_call == null && m.audio == null) {
        invalid(`${param}.content`, `Invalid '${param}': an assistant message needs 'content' or 'tool_calls'.`);
      }
      return list.map((c, k) => {
        const at = `${param}.tool_calls[${k}]`;
        const call = object(c, at);
        const id = string(call.id, `${at}.id`)!;
        const type = string(call.type, `${at}.type`);
        if (type === 'function') {
          const fn = object(call.function, `${at}.function`);
          string(fn.name, `${at}.function.name`);
          string(fn.arguments, `${at}.function.arguments`);
        } else if (type === 'custom') {
          const custom = object(call.custom, `${at}.custom`);
          string(custom.name, `${at}.custom.name`);
          string(custom.input, `${at}.custom.input`);
        } else oneOf(`${at}.type`, type, ['function', 'custom']);
        return id;
      });
    }
    default:
      return [];
  }
}

function tools(value: unknown): Set<string> {
  const names = new Set<string>();
  if (value === undefined || value === null) return names;
  if (!Array.isArray(value)) wrongType('tools', 'an array', value);
  if ((value as unknown[]).length > MAX_TOOLS)
    invalid(
      'tools',
      `Invalid 'tools': array too long. Expected an array with maximum length ${MAX_TOOLS}, but got an array with length ${(value as unknown[]).length} instead.`,
    );
  (value as unknown[]).forEach((t, k) => {
    const at = `tools[${k}]`;
    const tool = object(t, at);
    const type = string(tool.type, `${at}.type`);
    if (type === 'function') {
      const fn = object(tool.function, `${at}.function`);
      names.add(name(fn.name, `${at}.function.name`));
      string(fn.description, `${at}.function.description`, false);
      if (fn.parameters !== undefined && !isObject(fn.parameters))
        wrongType(`${at}.function.parameters`, 'an object', fn.parameters);
      optionalBoolean(fn.strict, `${at}.function.strict`);
    } else if (type === 'custom') {
      const custom = object(tool.custom, `${at}.custom`);
      names.add(name(custom.name, `${at}.custom.name`));
      string(custom.description, `${at}.custom.description`, false);
      if (custom.format !== undefined && !isObject(custom.format))
        wrongType(`${at}.custom.format`, 'an object', custom.format);
    } else oneOf(`${at}.type`, type, ['function', 'custom']);
  });
  return names;
}

const TOOL_CHOICE_MODES = ['none', 'auto', 'required'] as const;

function toolChoice(value: unknown, toolNames: Set<string>, hasTools: boolean): void {
  if (value === undefined || value === null) return;
  if (!hasTools)
    invalid(
      'tool_choice',
      "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
    );
  if (typeof value === 'string') {
    if (!TOOL_CHOICE_MODES.includes(value as never)) oneOf('tool_choice', value, TOOL_CHOICE_MODES);
    return;
  }
  const choice = isObject(value) ? value : wrongType('tool_choice', 'one of a string or an object', value);
  const type = string(choice.type, 'tool_choice.type');
  const named = (n: string | undefined, param: string) => {
    if (n !== undefined && !toolNames.has(n))
      invalid(param, `Invalid value for '${param}': no tool named '${n}' in 'tools'.`);
  };
  if (type === 'function')
    named(
      string(object(choice.function, 'tool_choice.function').name, 'tool_choice.function.name'),
      'tool_choice.function.name',
    );
  else if (type === 'custom')
    named(
      string(object(choice.custom, 'tool_choice.custom').name, 'tool_choice.custom.name'),
      'tool_choice.custom.name',
    );
  else if (type === 'allowed_tools') {
    const allowed = object(choice.allowed_tools, 'tool_choice.allowed_tools');
    const mode = string(allowed.mode, 'tool_choice.allowed_tools.mode');
    if (mode !== 'auto' && mode !== 'required') oneOf('tool_choice.allowed_tools.mode', mode, ['auto', 'required']);
    if (!Array.isArray(allowed.tools)) wrongType('tool_choice.allowed_tools.tools', 'an array', allowed.tools);
  } else oneOf('tool_choice.type', type, ['function', 'custom', 'allowed_tools']);
}

const RESPONSE_FORMATS = ['text', 'json_object', 'json_schema'] as const;

function responseFormat(value: unknown): void {
  if (value === undefined || value === null) return;
  const format = object(value, 'response_format');
  const type = string(format.type, 'response_format.type');
  if (!RESPONSE_FORMATS.includes(type as never)) oneOf('response_format.type', type, RESPONSE_FORMATS);
  if (type !== 'json_schema') return;
  const schema = object(format.json_schema, 'response_format.json_schema');
  name(schema.name, 'response_format.json_schema.name');
  string(schema.description, 'response_format.json_schema.description', false);
  if (schema.schema !== undefined && !isObject(schema.schema))
    wrongType('response_format.json_schema.schema', 'an object', schema.schema);
  optionalBoolean(schema.strict, 'response_format.json_schema.strict');
}

/**
 * Check a chat request the way OpenAI's API does, beyond what the JSON schema expresses:
 * message shapes by role (a `tool` message needs `tool_call_id`, an assistant message needs
 * `content` or `tool_calls`, content parts allowed for each role), tool messages answering a
 * preceding assistant's tool calls, `tools`, `tool_choice` (and that it names a declared tool),
 * `response_format`, and `stream_options` only with `stream: true`. A request an upstream
 * would reject is refused at ingest, before it is queued, so it never spends an attempt.
 *
 * Returns the first problem, or undefined when the request is well formed.
 */
export function checkChatRequest(
  body: ChatRequest,
  options: ChatRequestCheckOptions = {},
): ChatRequestProblem | undefined {
  const continues = options.continuesConversation ?? Boolean(body.conversation_id);
  try {
    const b = body as Record<string, unknown>;
    if (b.stream_options !== undefined && b.stream_options !== null && body.stream !== true) {
      invalid('stream_options', "The 'stream_options' parameter is only allowed when 'stream' is enabled.");
    }
    const toolNames = tools(b.tools);
    toolChoice(b.tool_choice, toolNames, Array.isArray(b.tools) && b.tools.length > 0);
    responseFormat(b.response_format);
    let pending: string[] = [];
    let pendingSince = -1;
    body.messages.forEach((m, i) => {
      const ids = message(m as Record<string, unknown>, i);
      if (continues) return;
      if (m.role === 'tool') {
        const id = (m as { tool_call_id: string }).tool_call_id;
        if (!pending.includes(id)) {
          invalid(
            `messages[${i}].tool_call_id`,
            pendingSince < 0
              ? "Invalid parameter: messages with role 'tool' must be a response to a preceding message with 'tool_calls'."
              : `Invalid parameter: 'messages[${i}].tool_call_id' \`${id}\` answers no tool call of 'messages[${pendingSince}]'.`,
          );
        }
        pending = pending.filter((p) => p !== id);
        return;
      }
      if (pending.length) {
        invalid(
          `messages[${pendingSince}].tool_calls`,
          `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${pending.join(', ')}`,
        );
      }
      pending = ids;
      pendingSince = ids.length ? i : -1;
    });
    if (pending.length) {
      invalid(
        `messages[${pendingSince}].tool_calls`,
        `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${pending.join(', ')}`,
      );
    }
  } catch (error) {
    if (error instanceof Problem) return error.problem;
    throw error;
  }
  return undefined;
}
