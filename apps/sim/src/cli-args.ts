import { parseArgs } from 'node:util';
import type { SimProfile } from './types.ts';

/** Log levels the simulator process accepts for `--log-level`. */
export const LOG_LEVELS = ['silent', 'fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

/** Parsed command line of the simulator process. */
export interface SimCliArgs {
  /** `--port`, default 4010; 0 picks a free port. */
  port: number;
  /** `--host`, default 127.0.0.1. */
  host: string;
  /** `--profile`; `fixed` when only `--latency-ms` is given, else `realistic`. */
  profile: SimProfile;
  /** `--latency-ms`, total chat latency of the `fixed` profile. */
  latencyMs: number | undefined;
  /** `--batch-ms`, how long a batch of the Batch API takes to answer. */
  batchMs: number | undefined;
  /** `--models`, a JSON file with the model list. */
  modelsFile: string | undefined;
  /** `--log-level`, default info. */
  logLevel: (typeof LOG_LEVELS)[number];
  /** `--help`. */
  help: boolean;
}

/** Usage text printed by `--help` and after a bad flag. */
export const USAGE = `Usage: tsx apps/sim/src/main.ts [options]

Options:
  --port N            port to listen on (default 4010; 0 = any free port)
  --host HOST         interface to bind (default 127.0.0.1)
  --profile NAME      realistic | fixed | fast (default realistic; fixed when only --latency-ms is given)
  --latency-ms N      total latency of every chat answer under the fixed profile (default 200)
  --batch-ms N        time a batch of the Batch API takes to answer (default 2000)
  --models FILE       JSON file with the model list (an array, or { "models": [...] })
  --log-level LEVEL   ${LOG_LEVELS.join(' | ')} (default info)
  --help              print this text`;

/** A bad command line; the message says which flag and why. */
export class SimCliError extends Error {
  override name = 'SimCliError' as const;
}

/** Parses the simulator's flags (without the node and script entries of `process.argv`). */
export function parseSimArgs(argv: readonly string[]): SimCliArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        profile: { type: 'string' },
        'latency-ms': { type: 'string' },
        'batch-ms': { type: 'string' },
        models: { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (error) {
    throw new SimCliError((error as Error).message);
  }

  const port = values.port === undefined ? 4010 : parseInteger(values.port, '--port', 0, 65_535);
  const latencyMs =
    values['latency-ms'] === undefined ? undefined : parseInteger(values['latency-ms'], '--latency-ms', 0, 3_600_000);
  const batchMs =
    values['batch-ms'] === undefined ? undefined : parseInteger(values['batch-ms'], '--batch-ms', 0, 86_400_000);
  const profile = values.profile ?? (latencyMs === undefined ? 'realistic' : 'fixed');
  if (profile !== 'realistic' && profile !== 'fixed' && profile !== 'fast') {
    throw new SimCliError(`Expected --profile to be realistic, fixed or fast, got \`${profile}\``);
  }
  const logLevel = values['log-level'] ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new SimCliError(`Expected --log-level to be one of ${LOG_LEVELS.join(', ')}, got \`${logLevel}\``);
  }
  return {
    port,
    host: values.host ?? '127.0.0.1',
    profile,
    latencyMs,
    batchMs,
    modelsFile: values.models,
    logLevel: logLevel as SimCliArgs['logLevel'],
    help: values.help === true,
  };
}

function parseInteger(text: string, flag: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new SimCliError(`Expected ${flag} to be an integer in [${min}, ${max}], got \`${text}\``);
  }
  return value;
}
