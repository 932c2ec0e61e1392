import { defineError, SluiceError } from '@sluice/errors';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  CATEGORIES,
  createConvict,
  schema,
  TIERS,
  type Category,
  type DeploymentConfig,
  type EmbeddingDeploymentConfig,
  type Tier,
} from './schema.ts';

export { CATEGORIES, TIERS, schema };
export type { Category, DeploymentConfig, EmbeddingDeploymentConfig, Tier };

/** A deployment with its API key resolved from `apiKeyRef` (never printed). */
export interface ResolvedDeployment extends DeploymentConfig {
  /** The key itself; empty for keyless upstreams such as the simulator. */
  readonly apiKey: string;
}

/** An embedding deployment with its API key resolved from `apiKeyRef` (never printed). */
export interface ResolvedEmbeddingDeployment extends EmbeddingDeploymentConfig {
  readonly apiKey: string;
}

/** The validated, frozen configuration of one Sluice process. */
export interface SluiceConfig {
  env: 'development' | 'production' | 'test';
  redis: { url: string; prefix: string; cacheDir: string; dataDir: string; port: number };
  api: {
    port: number;
    host: string;
    bodyLimitBytes: number;
    maxJsonDepth: number;
    maxMessages: number;
    maxMessageChars: number;
    syncTimeoutMs: number;
    cancelOnDisconnect: boolean;
    corsOrigins: string;
    sseKeepAliveMs: number;
  };
  admin: { password: string };
  openai: { apiKey: string; baseUrl: string };
  /** Every deployment, defaults applied and keys resolved. */
  deployments: readonly ResolvedDeployment[];
  /** Deployments serving `POST /v1/embeddings`, defaults applied and keys resolved. */
  embeddingDeployments: readonly ResolvedEmbeddingDeployment[];
  sim: { url: string; port: number; profile: 'realistic' | 'fixed' | 'fast' };
  queues: {
    attempts: number;
    backoffMs: number;
    resultTtlSeconds: number;
    keepCompleted: number;
    keepFailed: number;
    lockDurationMs: number;
  };
  classifier: { concurrency: number };
  executor: { concurrency: number; processes: number; drainTimeoutMs: number };
  log: { level: string; prompts: boolean };
  telemetry: { enabled: boolean };
  /** Workers' own HTTP port for /metrics, /healthz, /readyz. */
  metrics: { port: number };
  bullBoard: { readOnly: boolean; showPrompts: boolean };
  tenants: { defaultRpm: number; defaultTokensPerDay: number };
  limits: {
    backpressureMaxWaitMs: number;
    backpressureMinThroughput: number;
    circuitOpenMs: number;
    permitWaitMs: number;
    permitHoldMs: number;
  };
  cache: {
    enabled: boolean;
    semantic: boolean;
    threshold: number;
    thresholdByCategory: Partial<Record<Category, number>>;
    ttlSeconds: Record<Category, number>;
    maxTemperature: number;
    namespaceCap: number;
    cacheToolCalls: boolean;
  };
  embeddings: {
    baseUrl: string;
    local: 'word-vectors' | 'hashing';
    modelDir: string;
    timeoutMs: number;
    model: string;
    dimensions: number;
    apiKeyRef: string;
    readonly apiKey: string;
  };
  routing: {
    strategy: string;
    threshold: number;
    lowConfidence: 'large' | 'cascade';
    llmTimeoutMs: number;
    quality: number;
  };
  context: { maxInputTokens: number; ttlSeconds: number };
  ledger: { retentionDays: number };
  /** Deferrable jobs answered through the providers' batch APIs. */
  batch: { maxSize: number; maxAgeMs: number; pollIntervalMs: number; fallbackMarginMs: number; tickMs: number };
}

/** Raised when configuration is invalid; the message names every bad setting. */
export class ConfigError extends SluiceError {
  override name = 'ConfigError' as const;
  declare readonly code: 'SLUICE_ERR_CONFIG';
  constructor(message: string, options?: { cause?: unknown }) {
    super(CONFIG_INVALID, message, options);
  }
}

// Fails startup only; never reaches a client as itself.
const CONFIG_INVALID = defineError({
  code: 'config_invalid',
  status: 500,
  openaiType: 'server_error',
  expose: false,
  sluiceCode: 'SLUICE_ERR_CONFIG',
  subsystem: '@sluice/config',
  message: 'invalid configuration',
});

/** Options for {@link loadConfig}. */
export interface LoadConfigOptions {
  /** Environment to read (the app passes `process.env`; packages never read it). */
  env: NodeJS.ProcessEnv;
  /** Command-line arguments convict may read (`--redis.url …`). @defaultValue `[]` */
  args?: string[];
  /** A JSON config file; overrides defaults, overridden by env. @defaultValue `env.SLUICE_CONFIG` */
  file?: string;
  /** Overrides applied last (tests). */
  overrides?: DeepPartial<Omit<SluiceConfig, 'deployments' | 'embeddingDeployments'>> & {
    deployments?: Partial<DeploymentConfig>[];
    embeddingDeployments?: Partial<EmbeddingDeploymentConfig>[];
  };
}

/** Recursive partial. */
export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

/** Default USD prices per million tokens for common models; every price is overridable per deployment. */
export const DEFAULT_PRICES: Readonly<
  Record<string, { input: number; output: number; cachedInput?: number; cacheWrite?: number }>
> = Object.freeze({
  'gpt-4o': { input: 2.5, output: 10, cachedInput: 1.25 },
  'gpt-4o-mini': { input: 0.15, output: 0.6, cachedInput: 0.075 },
  'gpt-4.1': { input: 2, output: 8, cachedInput: 0.5 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6, cachedInput: 0.1 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4, cachedInput: 0.025 },
  'o3-mini': { input: 1.1, output: 4.4, cachedInput: 0.55 },
  'o4-mini': { input: 1.1, output: 4.4, cachedInput: 0.275 },
  // Anthropic's cache reads are a tenth of the input price; writes (5-minute cache) 1.25 times it.
  'claude-3-5-haiku': { input: 0.8, output: 4, cachedInput: 0.08, cacheWrite: 1 },
  'claude-sonnet-4': { input: 3, output: 15, cachedInput: 0.3, cacheWrite: 3.75 },
  // The simulator's models are priced like the OpenAI models they stand in for, so savings
  // measured on the simulator translate.
  'sim-router': { input: 0.1, output: 0.4, cachedInput: 0.025 },
  'sim-small': { input: 0.15, output: 0.6, cachedInput: 0.075 },
  'sim-large': { input: 2.5, output: 10, cachedInput: 1.25 },
  'sim-embed': { input: 0.02, output: 0 },
  'text-embedding-3-small': { input: 0.02, output: 0 },
  'text-embedding-3-large': { input: 0.13, output: 0 },
});

function defaultDeployments(openaiKey: string, openaiBaseUrl: string, simUrl: string): Partial<DeploymentConfig>[] {
  if (openaiKey) {
    return [
      {
        id: 'openai-router',
        tier: 'router',
        baseUrl: openaiBaseUrl,
        model: 'gpt-4.1-nano',
        apiKeyRef: 'OPENAI_API_KEY',
        batch: true,
      },
      {
        id: 'openai-small',
        tier: 'small',
        baseUrl: openaiBaseUrl,
        model: 'gpt-4o-mini',
        apiKeyRef: 'OPENAI_API_KEY',
        batch: true,
      },
      {
        id: 'openai-large',
        tier: 'large',
        baseUrl: openaiBaseUrl,
        model: 'gpt-4o',
        apiKeyRef: 'OPENAI_API_KEY',
        batch: true,
      },
    ];
  }
  return [
    { id: 'sim-router', tier: 'router', baseUrl: simUrl, model: 'sim-router', batch: true },
    { id: 'sim-small', tier: 'small', baseUrl: simUrl, model: 'sim-small', batch: true },
    { id: 'sim-large', tier: 'large', baseUrl: simUrl, model: 'sim-large', batch: true },
  ];
}

function resolveDeployment(d: Partial<DeploymentConfig>, index: number, env: NodeJS.ProcessEnv): ResolvedDeployment {
  const price = DEFAULT_PRICES[d.model ?? ''] ?? DEFAULT_PRICES[(d.model ?? '').split('@')[0] ?? ''];
  const resolved: DeploymentConfig = {
    id: d.id || `${d.tier}-${index}`,
    tier: d.tier as Tier,
    baseUrl: d.baseUrl ?? '',
    model: d.model ?? '',
    apiKeyRef: d.apiKeyRef ?? '',
    rpm: d.rpm ?? 0,
    tpm: d.tpm ?? 0,
    maxConcurrency: d.maxConcurrency ?? 0,
    weight: d.weight ?? 1,
    inputPricePerMTok: d.inputPricePerMTok ?? price?.input ?? 0,
    outputPricePerMTok: d.outputPricePerMTok ?? price?.output ?? 0,
    // Unknown models get no cache discount: a saving nobody documented is not assumed.
    cachedInputPricePerMTok:
      d.cachedInputPricePerMTok ?? price?.cachedInput ?? d.inputPricePerMTok ?? price?.input ?? 0,
    // OpenAI charges nothing extra to write its cache; Anthropic does, and says so in its usage.
    cacheWritePricePerMTok: d.cacheWritePricePerMTok ?? price?.cacheWrite ?? d.inputPricePerMTok ?? price?.input ?? 0,
    batch: d.batch ?? false,
    batchPriceFactor: d.batchPriceFactor ?? 0.5,
    timeoutMs: d.timeoutMs ?? 60_000,
    api: d.api ?? 'openai',
  };
  if (!resolved.baseUrl) throw new ConfigError(`deployments[${index}] (${resolved.id}) needs a baseUrl`);
  const apiKey = resolved.apiKeyRef ? (env[resolved.apiKeyRef] ?? '') : '';
  if (resolved.apiKeyRef && !apiKey) {
    throw new ConfigError(
      `deployments[${index}] (${resolved.id}) names key reference \`${resolved.apiKeyRef}\`, but that variable is not set`,
    );
  }
  return withSecret(resolved, 'apiKey', apiKey) as ResolvedDeployment;
}

function resolveEmbeddingDeployment(
  d: Partial<EmbeddingDeploymentConfig>,
  index: number,
  env: NodeJS.ProcessEnv,
): ResolvedEmbeddingDeployment {
  const resolved: EmbeddingDeploymentConfig = {
    id: d.id || `embed-${index}`,
    baseUrl: d.baseUrl ?? '',
    model: d.model ?? '',
    apiKeyRef: d.apiKeyRef ?? '',
    rpm: d.rpm ?? 0,
    tpm: d.tpm ?? 0,
    inputPricePerMTok: d.inputPricePerMTok ?? DEFAULT_PRICES[d.model ?? '']?.input ?? 0,
    timeoutMs: d.timeoutMs ?? 30_000,
  };
  if (!resolved.baseUrl) throw new ConfigError(`embeddingDeployments[${index}] (${resolved.id}) needs a baseUrl`);
  const apiKey = resolved.apiKeyRef ? (env[resolved.apiKeyRef] ?? '') : '';
  if (resolved.apiKeyRef && !apiKey)
    throw new ConfigError(
      `embeddingDeployments[${index}] (${resolved.id}) names key reference \`${resolved.apiKeyRef}\`, but that variable is not set`,
    );
  return withSecret(resolved, 'apiKey', apiKey) as ResolvedEmbeddingDeployment;
}

/** Attach a secret as a non-enumerable property, so JSON.stringify and loggers never see it. */
function withSecret<T extends object>(target: T, key: string, value: string): T {
  Object.defineProperty(target, key, { value, enumerable: false, writable: false });
  return target;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * Sluice's folder in the user's cache: `$XDG_CACHE_HOME/sluice`, else `~/.cache/sluice`. A
 * provisioned Redis 8, the word-vector model, `pnpm start`'s data and run state and the eval
 * data all live under it, never in the repository.
 */
export function sluiceCacheDir(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'sluice');
}

/**
 * Read and validate the configuration once: defaults, then the JSON file named by
 * `SLUICE_CONFIG`, then env vars, then overrides. The result is frozen; pass it down.
 *
 * @throws {@link ConfigError} naming each invalid setting.
 */
export function loadConfig(options: LoadConfigOptions): SluiceConfig {
  const { env } = options;
  const conf = createConvict(env, options.args ?? []);
  const file = options.file ?? env.SLUICE_CONFIG;
  try {
    if (file) {
      if (!existsSync(file)) throw new ConfigError(`SLUICE_CONFIG names ${file}, which does not exist`);
      conf.loadFile(file);
    }
    const {
      deployments: overrideDeployments,
      embeddingDeployments: overrideEmbedding,
      ...rest
    } = options.overrides ?? {};
    if (Object.keys(rest).length) conf.load(rest);
    if (overrideDeployments) conf.set('deployments', overrideDeployments as never);
    if (overrideEmbedding) conf.set('embeddingDeployments', overrideEmbedding as never);
    conf.validate({ allowed: 'strict' });
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`Invalid configuration: ${(error as Error).message}`, { cause: error });
  }
  const raw = conf.getProperties() as unknown as Omit<SluiceConfig, 'deployments' | 'embeddingDeployments'> & {
    deployments: Partial<DeploymentConfig>[];
    embeddingDeployments: Partial<EmbeddingDeploymentConfig>[];
  };
  // The simulator `pnpm start` runs is where the default deployments point, on whatever port.
  raw.sim.url ||= `http://127.0.0.1:${raw.sim.port}/v1`;
  const configured = raw.deployments.length
    ? raw.deployments
    : defaultDeployments(raw.openai.apiKey, raw.openai.baseUrl, raw.sim.url);
  const deployments = configured.map((d, i) => resolveDeployment(d, i, env));
  for (const tier of TIERS) {
    if (!deployments.some((d) => d.tier === tier))
      throw new ConfigError(`No deployment serves tier \`${tier}\`; add one to SLUICE_DEPLOYMENTS`);
  }
  const embeddingDeployments = (
    raw.embeddingDeployments.length
      ? raw.embeddingDeployments
      : raw.openai.apiKey
        ? [
            {
              id: 'openai-embed',
              baseUrl: raw.openai.baseUrl,
              model: 'text-embedding-3-small',
              apiKeyRef: 'OPENAI_API_KEY',
            },
          ]
        : [{ id: 'sim-embed', baseUrl: raw.sim.url, model: 'sim-embed' }]
  ).map((d, i) => resolveEmbeddingDeployment(d, i, env));
  const cache = {
    ...raw.cache,
    ttlSeconds: { ...(schema.cache.ttlSeconds.default as Record<Category, number>), ...raw.cache.ttlSeconds },
  };
  // The provisioned model lives in the user's cache folder, like a provisioned Redis.
  raw.embeddings.modelDir ||= join(sluiceCacheDir(env), 'embeddings');
  const embeddings = withSecret(
    { ...raw.embeddings },
    'apiKey',
    raw.embeddings.apiKeyRef ? (env[raw.embeddings.apiKeyRef] ?? '') : '',
  );
  // Secrets become non-enumerable so that logging or serialising the config never leaks them.
  const redis = { ...raw.redis } as SluiceConfig['redis'];
  const admin = withSecret({} as SluiceConfig['admin'], 'password', raw.admin.password);
  const openai = withSecret({ baseUrl: raw.openai.baseUrl } as SluiceConfig['openai'], 'apiKey', raw.openai.apiKey);
  delete (redis as Partial<typeof redis>).url;
  withSecret(redis, 'url', raw.redis.url);
  return deepFreeze({
    ...raw,
    redis,
    admin,
    openai,
    cache,
    embeddings,
    deployments,
    embeddingDeployments,
  } as SluiceConfig);
}

/** A printable copy of the configuration with every secret masked. */
export function redactConfig(config: SluiceConfig): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(config)) as Record<string, any>;
  const mask = (v: string) => (v ? '********' : '');
  copy.redis.url = config.redis.url.replace(/\/\/([^@/]*)@/, '//********@');
  copy.admin.password = mask(config.admin.password);
  copy.openai.apiKey = mask(config.openai.apiKey);
  copy.deployments = config.deployments.map((d) => ({ ...d, apiKey: mask(d.apiKey) }));
  copy.embeddingDeployments = config.embeddingDeployments.map((d) => ({ ...d, apiKey: mask(d.apiKey) }));
  copy.embeddings.apiKey = mask(config.embeddings.apiKey);
  return copy;
}

/** Rows `{ env, path, default, doc }` for every setting, for the README table. */
export function describeSettings(): Array<{ env: string; path: string; default: string; doc: string }> {
  const rows: Array<{ env: string; path: string; default: string; doc: string }> = [];
  const walk = (node: Record<string, any>, path: string[]) => {
    for (const [key, value] of Object.entries(node)) {
      if (value && typeof value === 'object' && 'doc' in value && 'default' in value) {
        const def = value.sensitive ? '(secret)' : JSON.stringify(value.default);
        rows.push({ env: value.env ?? '', path: [...path, key].join('.'), default: def, doc: value.doc });
      } else if (value && typeof value === 'object') walk(value, [...path, key]);
    }
  };
  walk(schema, []);
  return rows;
}
