/**
 * One table of every error code Sluice can answer a client with, and the one mapping from an
 * error to an OpenAI-style HTTP answer. Packages and apps define their codes here with
 * {@link defineError} (a code defined twice throws at load), their error classes derive from
 * {@link SluiceError}, and the API, the executor, the classifier and the batcher all answer
 * through {@link toOpenAIError}, so one error reaches a client under one code and status
 * whichever process raised it.
 */

/** OpenAI error `type` values Sluice answers with (`cancelled` is Sluice's own: a cancelled job). */
export type OpenAIErrorType =
  | 'invalid_request_error'
  | 'rate_limit_error'
  | 'service_unavailable'
  | 'server_error'
  | 'upstream_error'
  | 'timeout'
  | 'cancelled';

const OPENAI_TYPES: ReadonlySet<string> = new Set<OpenAIErrorType>([
  'invalid_request_error',
  'rate_limit_error',
  'service_unavailable',
  'server_error',
  'upstream_error',
  'timeout',
  'cancelled',
]);

/** What {@link defineError} takes. */
export interface ErrorDefinitionInput<Args extends unknown[] = []> {
  /** The code clients see in `error.code`, snake_case (`rate_limited`). Unique in the table. */
  code: string;
  /** HTTP status, 400..599. */
  status: number;
  /** OpenAI error `type`. */
  openaiType: OpenAIErrorType;
  /** Whether trying again later can succeed. @defaultValue `false` */
  retryable?: boolean;
  /**
   * Whether the message may reach a client. An error that only fails startup or is always
   * handled inside Sluice is not exposed: should one escape, it is answered as a 500
   * `internal_error` without its message. @defaultValue `true`
   */
  expose?: boolean;
  /** The stable machine code its errors carry in `code`. @defaultValue `SLUICE_ERR_` + code in upper case */
  sluiceCode?: string;
  /** Who raises it (`@sluice/limits`, `apps/api`); for the docs and for reading the table. */
  subsystem: string;
  /** Default message: a fixed text, or a template filled from arguments. */
  message: string | ((...args: Args) => string);
}

/** One row of the table. Frozen. */
export interface ErrorDefinition<Args extends unknown[] = unknown[]> {
  readonly code: string;
  readonly status: number;
  readonly openaiType: OpenAIErrorType;
  readonly retryable: boolean;
  readonly expose: boolean;
  readonly sluiceCode: string;
  readonly subsystem: string;
  /** The default message for these arguments. */
  format(...args: Args): string;
}

const CODE = /^[a-z][a-z0-9_]*$/;
const TABLE = new Map<string, ErrorDefinition>();

/**
 * Register an error code. Throws when the code is already defined or a field is invalid, so a
 * duplicate shows up when the module loads, not when a client meets it.
 */
export function defineError<Args extends unknown[] = []>(input: ErrorDefinitionInput<Args>): ErrorDefinition<Args> {
  if (!CODE.test(input.code)) throw new TypeError(`Expected \`code\` to be snake_case, got \`${input.code}\``);
  if (!Number.isInteger(input.status) || input.status < 400 || input.status > 599)
    throw new TypeError(`Expected \`status\` of \`${input.code}\` to be 400..599, got \`${input.status}\``);
  if (!OPENAI_TYPES.has(input.openaiType))
    throw new TypeError(`Unknown \`openaiType\` \`${input.openaiType}\` for \`${input.code}\``);
  if (TABLE.has(input.code))
    throw new Error(`Error code \`${input.code}\` is defined twice (first by ${TABLE.get(input.code)!.subsystem})`);
  const template = input.message;
  const definition: ErrorDefinition<Args> = Object.freeze({
    code: input.code,
    status: input.status,
    openaiType: input.openaiType,
    retryable: input.retryable ?? false,
    expose: input.expose ?? true,
    sluiceCode: input.sluiceCode ?? `SLUICE_ERR_${input.code.toUpperCase()}`,
    subsystem: input.subsystem,
    format: (...args: Args) => (typeof template === 'string' ? template : template(...args)),
  });
  TABLE.set(input.code, definition as unknown as ErrorDefinition);
  return definition;
}

/** The definition of a client code, if one is registered in this process. */
export function errorDefinition(code: string): ErrorDefinition | undefined {
  return TABLE.get(code);
}

/** Every registered definition, in definition order. */
export function errorDefinitions(): readonly ErrorDefinition[] {
  return [...TABLE.values()];
}

/** What answers anything unknown: no internals leak. */
export const INTERNAL_ERROR = defineError({
  code: 'internal_error',
  status: 500,
  openaiType: 'server_error',
  subsystem: '@sluice/errors',
  message: 'Internal error; the request was not completed.',
});

/** 400 for a request Sluice cannot accept; the message says why. */
export const INVALID_REQUEST = defineError({
  code: 'invalid_request',
  status: 400,
  openaiType: 'invalid_request_error',
  subsystem: '@sluice/errors',
  message: 'The request is invalid.',
});

/** 400: a field has a value Sluice does not accept. */
export const INVALID_VALUE = defineError({
  code: 'invalid_value',
  status: 400,
  openaiType: 'invalid_request_error',
  subsystem: '@sluice/errors',
  message: (param: string) => `Invalid value for \`${param}\`.`,
});

/** 400: a required field is missing. */
export const MISSING_REQUIRED_PARAMETER = defineError({
  code: 'missing_required_parameter',
  status: 400,
  openaiType: 'invalid_request_error',
  subsystem: '@sluice/errors',
  message: (param: string) => `Missing required parameter: \`${param}\`.`,
});

/** 400: a field has the wrong JSON type. */
export const INVALID_TYPE = defineError({
  code: 'invalid_type',
  status: 400,
  openaiType: 'invalid_request_error',
  subsystem: '@sluice/errors',
  message: (param: string) => `Invalid type for \`${param}\`.`,
});

/** Options every {@link SluiceError} takes. */
export interface SluiceErrorOptions {
  cause?: unknown;
  /** How long to wait before trying again, when known (sent as `retry-after`). */
  retryAfterMs?: number;
  /** The request field at fault (OpenAI's `param`). @defaultValue `null` */
  param?: string | null;
  /** The stable machine code. @defaultValue the definition's `sluiceCode` */
  code?: string;
  /** Extra headers of the HTTP answer (`x-sluice-job-id`). @defaultValue none */
  headers?: Record<string, string>;
}

// Symbol.for: the same symbol in every copy of this module, so a second install of
// @sluice/errors (or of a package bundling it) still recognises the first one's errors.
const BRAND = Symbol.for('sluice.error');

/** Base class of every error a Sluice package or app throws. */
export class SluiceError extends Error {
  override name: string = 'SluiceError';
  /** Stable machine code (`SLUICE_ERR_RATE_LIMITED`): branch on this, never on the message. */
  readonly code: string;
  /** The code clients see (`rate_limited`). */
  readonly clientCode: string;
  /** HTTP status a client gets. */
  readonly status: number;
  /** OpenAI error `type` a client gets. */
  readonly openaiType: OpenAIErrorType;
  /** Whether trying again later can succeed. */
  readonly retryable: boolean;
  /** Whether the message may reach a client (else it is answered as `internal_error`). */
  readonly expose: boolean;
  /** How long to wait before trying again; `undefined` when unknown. */
  readonly retryAfterMs: number | undefined;
  /** The request field at fault. */
  readonly param: string | null;
  /** Extra headers of the HTTP answer. */
  readonly responseHeaders: Readonly<Record<string, string>>;

  constructor(definition: ErrorDefinition, message?: string, options: SluiceErrorOptions = {}) {
    super(message ?? definition.format(), options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code ?? definition.sluiceCode;
    this.clientCode = definition.code;
    this.status = definition.status;
    this.openaiType = definition.openaiType;
    this.retryable = definition.retryable;
    this.expose = definition.expose;
    this.retryAfterMs = options.retryAfterMs;
    this.param = options.param ?? null;
    this.responseHeaders = options.headers ?? {};
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** True for any {@link SluiceError}, also one made by another copy of this module. */
export function isSluiceError(error: unknown): error is SluiceError {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[BRAND] === true;
}

/** The OpenAI error body. */
export interface OpenAIErrorBody {
  error: { message: string; type: OpenAIErrorType; code: string; param: string | null };
}

/** An error as an HTTP answer. */
export interface OpenAIErrorResponse {
  status: number;
  body: OpenAIErrorBody;
  /** `retry-after` / `retry-after-ms` when the error says when to retry, and the error's own headers. */
  headers: Record<string, string>;
  /** True when the error was not a client-facing one (answered as `internal_error`): log it. */
  internal: boolean;
}

/** `retry-after` (whole seconds, as HTTP says) and `retry-after-ms` (the openai SDKs read it first). */
export function retryAfterHeaders(retryAfterMs: number): Record<string, string> {
  const ms = Math.max(1, Math.ceil(retryAfterMs));
  return { 'retry-after': String(Math.ceil(ms / 1000)), 'retry-after-ms': String(ms) };
}

/**
 * The one mapping from an error to an HTTP answer. Exhaustive: anything that is not an exposed
 * {@link SluiceError} becomes a 500 `internal_error` whose message says nothing about it.
 */
export function toOpenAIError(error: unknown): OpenAIErrorResponse {
  if (!isSluiceError(error) || !error.expose) {
    return {
      status: INTERNAL_ERROR.status,
      body: {
        error: {
          message: INTERNAL_ERROR.format(),
          type: INTERNAL_ERROR.openaiType,
          code: INTERNAL_ERROR.code,
          param: null,
        },
      },
      headers: {},
      internal: true,
    };
  }
  return {
    status: error.status,
    body: { error: { message: error.message, type: error.openaiType, code: error.clientCode, param: error.param } },
    headers: {
      ...(error.retryAfterMs === undefined || !Number.isFinite(error.retryAfterMs)
        ? {}
        : retryAfterHeaders(error.retryAfterMs)),
      ...error.responseHeaders,
    },
    internal: false,
  };
}

/**
 * An error as the record a worker stores on a failed job (`@sluice/jobs` `JobErrorBody`): the
 * body {@link toOpenAIError} gives, with its status, so the API answers it unchanged.
 */
export function toErrorRecord(error: unknown): {
  message: string;
  type: OpenAIErrorType;
  code: string;
  param: string | null;
  status: number;
} {
  const { status, body } = toOpenAIError(error);
  return { ...body.error, status };
}
