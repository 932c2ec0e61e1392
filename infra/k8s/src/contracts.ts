/**
 * What the deployment files (infra/compose, infra/k8s) expect the Sluice processes to expose.
 * The Grafana dashboard and the KEDA queries may use only the metrics listed here, and
 * infra/README.md lists each of them; `manifests.test.ts` checks all three, so renaming a
 * metric in code without updating this list (or the reverse) fails a test.
 */

/** Where a metric is served. */
export type MetricSource = 'api' | 'classifier' | 'executor' | 'workers';

/** One Prometheus metric the dashboard or the autoscalers read. */
export interface ExpectedMetric {
  /** Metric name as exposed (for a histogram, without `_bucket`/`_sum`/`_count`). */
  readonly name: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  /** Label names the dashboard and scalers rely on. */
  readonly labels: readonly string[];
  /** Which process exports it. */
  readonly source: MetricSource;
  /**
   * `emitted`: registered in the code today (the test checks the name appears in a
   * `name: '…'` of apps/ or packages/). `planned`: named here first so the metrics code
   * matches the dashboard; flip to `emitted` when it lands.
   */
  readonly status: 'emitted' | 'planned';
  /** What one increment or one value means, and the label values expected. */
  readonly help: string;
}

/** Every metric the dashboard and the KEDA ScaledObjects use. */
export const EXPECTED_METRICS: readonly ExpectedMetric[] = Object.freeze([
  {
    name: 'sluice_http_requests_total',
    type: 'counter',
    labels: ['route', 'method', 'status'],
    source: 'api',
    status: 'emitted',
    help: 'HTTP requests; route is the registered route pattern (e.g. /v1/chat/completions), status the code as a string.',
  },
  {
    name: 'sluice_http_request_duration_seconds',
    type: 'histogram',
    labels: ['route', 'method'],
    source: 'api',
    status: 'emitted',
    help: 'HTTP request latency as the client sees it (queue wait included for synchronous completions).',
  },
  {
    name: 'sluice_queue_jobs',
    type: 'gauge',
    labels: ['queue', 'state'],
    source: 'api',
    status: 'emitted',
    help: 'Jobs per queue ({route}, {tier-router}, {tier-small}, {tier-large}) and state; state="waiting" counts waiting plus prioritized jobs. KEDA scales on it.',
  },
  {
    name: 'sluice_cache_lookups_total',
    type: 'counter',
    labels: ['result', 'kind'],
    source: 'executor',
    status: 'emitted',
    help: 'One per job that reaches the cache lookup. result: hit | miss | rejected (a semantic candidate refused by verification) | bypass (Cache-Control or policy); kind: exact | semantic for hit and rejected, none otherwise.',
  },
  {
    name: 'sluice_cost_usd_total',
    type: 'counter',
    labels: ['kind'],
    source: 'executor',
    status: 'emitted',
    help: 'Spend in USD. kind="actual": what the job cost (0 for a cache hit); kind="counterfactual": what it would have cost on the large tier without the cache. Both incremented for every finished job.',
  },
  {
    name: 'sluice_routing_decisions_total',
    type: 'counter',
    labels: ['tier'],
    source: 'classifier',
    status: 'emitted',
    help: 'Routing decisions per chosen tier (router | small | large), pinned tiers included.',
  },
  {
    name: 'sluice_upstream_429_total',
    type: 'counter',
    labels: ['deployment'],
    source: 'executor',
    status: 'emitted',
    help: '429 answers received from an upstream deployment (deployment = its configured id).',
  },
  {
    name: 'sluice_tokens_total',
    type: 'counter',
    labels: ['direction', 'tier'],
    source: 'executor',
    status: 'emitted',
    help: 'Tokens billed by upstream calls; direction: input | output; tier: router | small | large.',
  },
]);

/** Environment variable naming the port where classifiers and executors serve {@link WORKER_ENDPOINTS}. */
export const WORKER_METRICS_PORT_ENV = 'SLUICE_METRICS_PORT';

/** The port the manifests set in {@link WORKER_METRICS_PORT_ENV} and scrape. */
export const WORKER_METRICS_PORT = 9464;

/**
 * HTTP paths classifiers and executors are expected to serve on {@link WORKER_METRICS_PORT}:
 * `/metrics` (Prometheus), `/healthz` (process up, event loop answering; liveness) and
 * `/readyz` (Redis reachable and the worker consuming; readiness).
 */
export const WORKER_ENDPOINTS: readonly string[] = Object.freeze(['/metrics', '/healthz', '/readyz']);

/**
 * Environment variables the manifests set that are not (yet) settings of @sluice/config;
 * every other SLUICE_* variable they set must be one.
 */
export const PLANNED_ENV: readonly string[] = Object.freeze([]);
