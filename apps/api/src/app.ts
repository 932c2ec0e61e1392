import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { SluiceConfig } from '@sluice/config';
import { JobEventSubscriber, JobStore, newJobId } from '@sluice/jobs';
import { ALL_QUEUES, createQueue } from '@sluice/queues';
import { clusterReady, createKeys, isCluster, type Redis } from '@sluice/redis';
import { createEmbedder } from '@sluice/cache';
import { createLedger, counterfactualCost, entryFromResult, type Ledger } from '@sluice/ledger';
import { limitsFromConfig } from '@sluice/limits';
import { UpstreamClient } from '@sluice/llm';
import { createRouterTierCall, routerFromConfig, type Router } from '@sluice/routing';
import { createApiMetrics, createMetricsRegistry, createOpsStats } from '@sluice/metrics';
import type { Logger, QueueTelemetry } from '@sluice/telemetry';
import type { TenantStore } from '@sluice/tenants';
import type { ResponseCache } from '@sluice/cache';
import { registerAdmin } from './admin.ts';
import { createCacheFastPath } from './fast-path.ts';
import { createAdmission } from './admission.ts';
import type { ApiContext } from './context.ts';
import { clientErrorHandler, frameworkErrors, installErrorHandler, unauthorized } from './errors.ts';
import { installBodyParsing } from './body-parsing.ts';
import { registerCompletions } from './routes/completions.ts';
import { registerJobs } from './routes/jobs.ts';
import { registerUsage } from './routes/usage.ts';
import { registerOps } from './routes/ops.ts';
import { registerModels } from './routes/models.ts';
import { registerResponses } from './routes/responses.ts';
import { registerMessages } from './routes/messages.ts';
import { registerEmbeddings } from './routes/embeddings.ts';
import { Submitter } from './submit.ts';
import { installCors } from './cors.ts';

/** Options for {@link buildApi}. */
export interface ApiOptions {
  config: SluiceConfig;
  logger: Logger;
  /** Fail-fast connection (role `request`) for the request path. */
  connection: Redis;
  /** Pub/sub connection (role `worker`: it must resubscribe after a Redis restart). */
  subscriber: Redis;
  tenants: TenantStore;
  /** The shared response cache (exact fast path, admin purge). @defaultValue none: no fast path */
  cache?: ResponseCache;
  /** Routing stack for `POST /v1/route`. @defaultValue built from `config.routing`, like the classifier's */
  router?: Router;
  /** The cost ledger. @defaultValue a ledger on `connection` */
  ledger?: Ledger;
  /** BullMQ telemetry (tracing on): the trace of a request continues in its job. @defaultValue none */
  telemetry?: QueueTelemetry;
}

/** The built API and how to stop it. */
export interface Api {
  app: FastifyInstance;
  context: ApiContext;
  /** Close the server and its queue handles. Idempotent. */
  close(): Promise<void>;
}

/** Build the Fastify app with every route (not listening yet). */
export async function buildApi(options: ApiOptions): Promise<Api> {
  const { config, logger } = options;
  const keys = createKeys(config.redis.prefix);
  // The queues below check the Redis version once, at creation; on a cluster, the fail-fast
  // connection refuses commands until the topology is known.
  await clusterReady(options.connection);
  const app = Fastify({
    // Per-request access lines are left to /metrics; the HTTP logger only reports problems.
    loggerInstance: logger.child({ component: 'http' }, { level: 'warn' }) as unknown as FastifyBaseLogger,
    bodyLimit: config.api.bodyLimitBytes,
    // Strict validation: a string is not silently turned into a number, and extra fields are
    // kept (passed upstream and hashed into the cache scope), never dropped.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    clientErrorHandler,
    frameworkErrors,
  });
  installBodyParsing(app, { maxJsonDepth: config.api.maxJsonDepth });
  const store = new JobStore({ redis: options.connection, keys, ttlSeconds: config.queues.resultTtlSeconds });
  const queueError = (error: Error, queue: string) => logger.warn({ err: error, queue }, 'queue connection error');
  // One reply channel per API process on one Redis (a job's script cannot publish to another
  // shard's channel on a cluster, where each job keeps its own channel).
  const cluster = isCluster(options.connection);
  const subscriber = new JobEventSubscriber({
    subscriber: options.subscriber,
    keys,
    store,
    ...(cluster ? {} : { replyChannel: keys.family('reply', newJobId()) }),
  });
  await subscriber.start();
  const queues = Object.fromEntries(
    ALL_QUEUES.map((name) => [
      name,
      createQueue(name, { connection: options.connection, keys, telemetry: options.telemetry, onError: queueError }),
    ]),
  );
  const stats = createOpsStats({
    redis: options.connection,
    keys,
    onError: (error) => logger.warn({ err: error }, 'could not update the shared operations counters'),
  });
  const metrics = createApiMetrics({ registry: createMetricsRegistry({ role: 'api' }), queues, stats });
  // The same router the classifier builds, so the dry run shows what routing would do.
  const routing = routerFromConfig({
    config,
    redis: options.connection,
    keys,
    embedder: options.cache?.embedder ?? createEmbedder({ ...config.embeddings, apiKey: config.embeddings.apiKey }),
    complete: /\bllm\b/.test(config.routing.strategy)
      ? createRouterTierCall({
          deployments: config.deployments.filter((d) => d.tier === 'router'),
          upstream: new UpstreamClient(),
          limiter: limitsFromConfig(config, { redis: options.connection, keys }),
        })
      : undefined,
  });
  const router = options.router ?? routing.router;
  const ledger =
    options.ledger ??
    createLedger({
      redis: options.connection,
      keys,
      retentionDays: config.ledger.retentionDays,
      markerTtlSeconds: 2 * config.queues.resultTtlSeconds,
    });
  const fastPath = options.cache ? createCacheFastPath({ cache: options.cache, config, store }) : undefined;
  const submitter = new Submitter({ config, store, subscriber, routeQueue: queues['{route}']!, ordered: !cluster });
  const admission = createAdmission({ config, redis: options.connection, keys, queues: Object.values(queues) });
  const context: ApiContext = {
    config,
    logger,
    redis: options.connection,
    store,
    tenants: options.tenants,
    submitter,
    subscriber,
    router,
    knn: routing.knn,
    ledger,
    queues,
    cache: options.cache,
    async fastPath(data, admit) {
      if (!fastPath) return undefined;
      const result = await fastPath(data, admit);
      if (!result) return undefined;
      const usage = (result.completion as { usage?: { completion_tokens?: number } }).usage;
      const counterfactual = counterfactualCost({
        deployments: config.deployments,
        messages: data.request.messages,
        tools: data.request.tools,
        responseFormat: data.request.response_format,
        completionTokens: usage?.completion_tokens ?? 0,
      });
      metrics.fastPathHit({ ...result, counterfactual });
      await ledger
        .record(
          entryFromResult(
            { tenant: data.tenant, jobId: data.id, finishedAt: Date.now() },
            { ...result, counterfactual },
          ),
        )
        .catch((error: unknown) =>
          logger.error({ err: error, jobId: data.id }, 'fast-path bookkeeping (ledger) failed'),
        );
      return result;
    },
    async admit(tenant, data, admitOptions) {
      return (await admission.admit(tenant, data, admitOptions)).rateLimitHeaders;
    },
  };
  installErrorHandler(app, logger);
  installCors(app, config.api.corsOrigins);

  // Keyed on the route that matched, never on the raw URL: the router decodes the path
  // (`/%761/usage` is `/v1/usage`), so a check on `request.url` let such a request in unauthenticated.
  app.addHook('onRequest', async (request) => {
    if (!request.routeOptions.url?.startsWith('/v1/')) return;
    const header = request.headers.authorization;
    // Anthropic's clients send the key as `x-api-key`.
    const apiKey = request.headers['x-api-key'];
    const match = header
      ? /^Bearer\s+(\S+)$/i.exec(header)
      : typeof apiKey === 'string' && apiKey
        ? [apiKey, apiKey]
        : null;
    if (!match)
      throw unauthorized(
        'Missing API key: send `Authorization: Bearer <key>` (create one with `pnpm sluice keys create --tenant NAME`).',
      );
    const tenant = await options.tenants.authenticate(match[1]!);
    if (!tenant) throw unauthorized('Incorrect API key provided.');
    request.tenant = tenant;
  });

  registerOps(app, context, metrics);
  registerCompletions(app, context);
  registerJobs(app, context);
  registerUsage(app, context);
  registerModels(app, context);
  registerResponses(app, context);
  registerMessages(app, context);
  registerEmbeddings(app, context);
  await registerAdmin(app, context, { metrics, stats });

  let closed: Promise<void> | undefined;
  return {
    app,
    context,
    close() {
      closed ??= (async () => {
        const results = await Promise.allSettled([app.close(), ...Object.values(queues).map((q) => q.close())]);
        // After the server: the counts of the last requests are in.
        results.push(...(await Promise.allSettled([stats.close()])));
        for (const r of results) if (r.status === 'rejected') logger.error({ err: r.reason }, 'api close step failed');
      })();
      return closed;
    },
  };
}
