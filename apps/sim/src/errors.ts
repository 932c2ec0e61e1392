/** OpenAI's error body, `{ error: { message, type, param, code } }`. */
export interface OpenAIErrorBody {
  error: {
    message: string;
    type: string;
    param: string | null;
    code: string | null;
  };
}

/** Stable codes of simulator errors. */
export type SimErrorCode =
  | 'SLUICE_ERR_SIM_INVALID_REQUEST'
  | 'SLUICE_ERR_SIM_MODEL_NOT_FOUND'
  | 'SLUICE_ERR_SIM_RATE_LIMITED'
  | 'SLUICE_ERR_SIM_INJECTED_FAULT'
  | 'SLUICE_ERR_SIM_CONFIG';

interface SimErrorInit {
  status: number;
  type: string;
  param?: string | null;
  openaiCode?: string | null;
  headers?: Record<string, string>;
  cause?: unknown;
}

/**
 * Base class of every simulator error. Route handlers throw these; the simulator's single
 * error handler turns them into OpenAI error bodies with `status` and `headers`.
 */
export class SimError extends Error {
  override name: string = 'SimError';
  /** Stable Sluice error code. */
  readonly code: SimErrorCode;
  /** HTTP status sent to the client. */
  readonly status: number;
  /** OpenAI `error.type`. */
  readonly type: string;
  /** OpenAI `error.param`. */
  readonly param: string | null;
  /** OpenAI `error.code`. */
  readonly openaiCode: string | null;
  /** Extra response headers (rate-limit headers, `retry-after`). */
  readonly headers: Record<string, string>;

  constructor(code: SimErrorCode, message: string, init: SimErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = code;
    this.status = init.status;
    this.type = init.type;
    this.param = init.param ?? null;
    this.openaiCode = init.openaiCode ?? null;
    this.headers = init.headers ?? {};
  }

  /** The body OpenAI would send for this error. */
  toBody(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.openaiCode } };
  }
}

/** A 400 (or 413) for a request OpenAI would reject. */
export class SimInvalidRequestError extends SimError {
  override name = 'SimInvalidRequestError' as const;
  constructor(message: string, options: { param?: string | null; openaiCode?: string | null; status?: number } = {}) {
    super('SLUICE_ERR_SIM_INVALID_REQUEST', message, {
      status: options.status ?? 400,
      type: 'invalid_request_error',
      param: options.param ?? null,
      openaiCode: options.openaiCode ?? null,
    });
  }
}

/** A 404 for a model id the simulator does not serve. */
export class SimModelNotFoundError extends SimError {
  override name = 'SimModelNotFoundError' as const;
  /** The id that was asked for. */
  readonly modelId: string;
  constructor(modelId: string) {
    super(
      'SLUICE_ERR_SIM_MODEL_NOT_FOUND',
      `The model \`${modelId}\` does not exist or you do not have access to it.`,
      {
        status: 404,
        type: 'invalid_request_error',
        param: 'model',
        openaiCode: 'model_not_found',
      },
    );
    this.modelId = modelId;
  }
}

/** A 429: request, token or concurrency limit reached. */
export class SimRateLimitError extends SimError {
  override name = 'SimRateLimitError' as const;
  /** Which limit was hit; also OpenAI's `error.type`. */
  readonly limit: 'requests' | 'tokens';
  /** How long the client should wait before retrying. */
  readonly retryAfterMs: number;
  /** Always true: waiting helps (except for a request larger than the whole token budget). */
  readonly retryable = true;
  constructor(
    message: string,
    options: { limit: 'requests' | 'tokens'; retryAfterMs: number; headers: Record<string, string> },
  ) {
    super('SLUICE_ERR_SIM_RATE_LIMITED', message, {
      status: 429,
      type: options.limit,
      param: null,
      openaiCode: 'rate_limit_exceeded',
      headers: options.headers,
    });
    this.limit = options.limit;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** A 5xx the simulator was asked to produce (fault injection or `[[sim:error]]`). */
export class SimInjectedFaultError extends SimError {
  override name = 'SimInjectedFaultError' as const;
  readonly retryable = true;
  constructor(message: string, options: { status?: 500 | 503; headers?: Record<string, string> } = {}) {
    super('SLUICE_ERR_SIM_INJECTED_FAULT', message, {
      status: options.status ?? 500,
      type: 'server_error',
      param: null,
      openaiCode: null,
      headers: options.headers ?? {},
    });
  }
}

/** Invalid simulator or model configuration; the message names the bad value. */
export class SimConfigError extends SimError {
  override name = 'SimConfigError' as const;
  constructor(message: string) {
    super('SLUICE_ERR_SIM_CONFIG', message, {
      status: 400,
      type: 'invalid_request_error',
      param: null,
      openaiCode: null,
    });
  }
}

/** True for any error thrown by the simulator. */
export function isSimError(error: unknown): error is SimError {
  return error instanceof SimError;
}

/** True for a simulator 429. */
export function isSimRateLimitError(error: unknown): error is SimRateLimitError {
  return error instanceof SimRateLimitError;
}
