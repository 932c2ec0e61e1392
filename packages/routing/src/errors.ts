/**
 * Base class of every error `@sluice/routing` throws. Callers branch on `code`, never on the
 * message text.
 */
export class RoutingError extends Error {
  override name: string = 'RoutingError';
  /** Stable machine-readable code. */
  readonly code: string = 'SLUICE_ERR_ROUTING';
  /** HTTP status the API should answer with. */
  readonly status: number = 500;
  /** Whether retrying the same call can succeed. */
  readonly retryable: boolean = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The request's `model` is neither `auto`, a tier name, nor a configured model. The API answers
 * 404 with OpenAI's `model_not_found` body (what OpenAI itself answers for an unknown model).
 */
export class UnknownModelError extends RoutingError {
  override name = 'UnknownModelError' as const;
  override readonly code = 'SLUICE_ERR_UNKNOWN_MODEL';
  override readonly status = 404;
  /** OpenAI error `type`. */
  readonly type = 'invalid_request_error' as const;
  /** OpenAI error `code`. */
  readonly openaiCode = 'model_not_found' as const;
  /** Request field at fault. */
  readonly param = 'model' as const;
  /** The model name the request asked for. */
  readonly model: string;
  /** Model names that would have been accepted (for the message). */
  readonly available: readonly string[];

  constructor(model: string, available: readonly string[]) {
    super(
      `The model \`${model}\` does not exist. Use \`auto\`, a tier (\`router\`, \`small\`, \`large\`), or a configured model${available.length ? `: ${available.map((m) => `\`${m}\``).join(', ')}` : ''}.`,
    );
    this.model = model;
    this.available = available;
  }
}

/** An options object handed to a routing factory is invalid; the message names the field. */
export class InvalidRoutingOptionsError extends RoutingError {
  override name = 'InvalidRoutingOptionsError' as const;
  override readonly code = 'SLUICE_ERR_ROUTING_OPTIONS';
}

/** A strategy could not produce a decision (timeout, bad answer, Redis away). Never reaches a client: the router falls back. */
export class StrategyFailedError extends RoutingError {
  override name = 'StrategyFailedError' as const;
  override readonly code = 'SLUICE_ERR_STRATEGY_FAILED';
  override readonly retryable = true;
  /** Which strategy failed. */
  readonly strategy: string;

  constructor(strategy: string, message: string, options?: { cause?: unknown }) {
    super(`${strategy} strategy failed: ${message}`, options);
    this.strategy = strategy;
  }
}

/** True for any error thrown by `@sluice/routing`. */
export function isRoutingError(error: unknown): error is RoutingError {
  return error instanceof RoutingError;
}

/** True when the request named a model Sluice does not serve. */
export function isUnknownModelError(error: unknown): error is UnknownModelError {
  return error instanceof UnknownModelError;
}
