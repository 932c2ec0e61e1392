import { defineError, isSluiceError, SluiceError, type ErrorDefinition, type SluiceErrorOptions } from '@sluice/errors';

/** Client codes of `@sluice/routing`, registered once in `@sluice/errors`. */
export const ROUTING_ERRORS = {
  modelNotFound: defineError({
    code: 'model_not_found',
    status: 404,
    openaiType: 'invalid_request_error',
    sluiceCode: 'SLUICE_ERR_UNKNOWN_MODEL',
    subsystem: '@sluice/routing',
    message: (model: string) => `The model \`${model}\` does not exist.`,
  }),
  failed: defineError({
    code: 'routing_error',
    status: 500,
    openaiType: 'server_error',
    expose: false,
    sluiceCode: 'SLUICE_ERR_ROUTING',
    subsystem: '@sluice/routing',
    message: 'routing failed',
  }),
  options: defineError({
    code: 'routing_options',
    status: 500,
    openaiType: 'server_error',
    expose: false,
    subsystem: '@sluice/routing',
    message: 'invalid routing options',
  }),
  // Never reaches a client: the router falls back to the next strategy.
  strategyFailed: defineError({
    code: 'strategy_failed',
    status: 500,
    openaiType: 'server_error',
    retryable: true,
    expose: false,
    subsystem: '@sluice/routing',
    message: 'a routing strategy failed',
  }),
} as const;

/**
 * Base class of every error `@sluice/routing` throws. Callers branch on `code`, never on the
 * message text.
 */
export class RoutingError extends SluiceError {
  override name: string = 'RoutingError';

  constructor(message: string, options?: SluiceErrorOptions, definition: ErrorDefinition = ROUTING_ERRORS.failed) {
    super(definition, message, options);
  }
}

/**
 * The request's `model` is neither `auto`, a tier name, nor a configured model. The API answers
 * 404 with OpenAI's `model_not_found` body (what OpenAI itself answers for an unknown model).
 */
export class UnknownModelError extends RoutingError {
  override name = 'UnknownModelError' as const;
  /** OpenAI error `type`. */
  readonly type = 'invalid_request_error' as const;
  /** OpenAI error `code`. */
  readonly openaiCode = 'model_not_found' as const;
  /** The model name the request asked for. */
  readonly model: string;
  /** Model names that would have been accepted (for the message). */
  readonly available: readonly string[];

  constructor(model: string, available: readonly string[]) {
    super(
      `The model \`${model}\` does not exist. Use \`auto\`, a tier (\`router\`, \`small\`, \`large\`), or a configured model${available.length ? `: ${available.map((m) => `\`${m}\``).join(', ')}` : ''}.`,
      { param: 'model' },
      ROUTING_ERRORS.modelNotFound,
    );
    this.model = model;
    this.available = available;
  }
}

/** An options object handed to a routing factory is invalid; the message names the field. */
export class InvalidRoutingOptionsError extends RoutingError {
  override name = 'InvalidRoutingOptionsError' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options, ROUTING_ERRORS.options);
  }
}

/** A strategy could not produce a decision (timeout, bad answer, Redis away). Never reaches a client: the router falls back. */
export class StrategyFailedError extends RoutingError {
  override name = 'StrategyFailedError' as const;
  /** Which strategy failed. */
  readonly strategy: string;

  constructor(strategy: string, message: string, options?: { cause?: unknown }) {
    super(`${strategy} strategy failed: ${message}`, options, ROUTING_ERRORS.strategyFailed);
    this.strategy = strategy;
  }
}

/** True for any error thrown by `@sluice/routing`. */
export function isRoutingError(error: unknown): error is RoutingError {
  return error instanceof RoutingError || (isSluiceError(error) && ROUTING_CODES.has(error.code));
}

const ROUTING_CODES: ReadonlySet<string> = new Set(Object.values(ROUTING_ERRORS).map((d) => d.sluiceCode));

/** True when the request named a model Sluice does not serve. */
export function isUnknownModelError(error: unknown): error is UnknownModelError {
  return (
    error instanceof UnknownModelError ||
    (isSluiceError(error) && error.code === ROUTING_ERRORS.modelNotFound.sluiceCode)
  );
}
