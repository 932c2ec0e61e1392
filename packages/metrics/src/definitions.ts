import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * Every Sluice metric, defined once. The names and labels the Grafana dashboard and the KEDA
 * scalers read are listed in `infra/k8s/src/contracts.ts` (EXPECTED_METRICS), and a test
 * checks each `name: '…'` below against it, so keep the literal `name:`/`labelNames:` form.
 */

/** Latency buckets (s) of requests as a client sees them: queue wait and upstream included. */
// Up to the 300 s sync timeout and past it: a top bucket of 30 s clipped every percentile of a
// slow minute (queued work waits minutes under a rate limit) to 30 s.
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
/** Buckets (s) of time spent waiting in a queue: milliseconds when idle, minutes under a rate limit. */
const WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** Buckets (s) of upstream calls and job runs. */
const CALL_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120];

/** HTTP metrics of the API. */
export function defineHttpMetrics(registry: Registry) {
  return {
    requests: new Counter({
      name: 'sluice_http_requests_total',
      help: 'HTTP requests by route pattern, method and status code',
      labelNames: ['route', 'method', 'status'] as const,
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'sluice_http_request_duration_seconds',
      help: 'HTTP request latency as the client sees it (queue wait included for synchronous completions)',
      labelNames: ['route', 'method'] as const,
      buckets: REQUEST_BUCKETS,
      registers: [registry],
    }),
  };
}

/** Queue depth gauges; their values are read from Redis at scrape time (`collect`). */
export function defineQueueDepthMetrics(
  registry: Registry,
  collect: {
    jobs(this: Gauge<'queue' | 'state'>): Promise<void>;
    byPriority(this: Gauge<'queue' | 'priority'>): Promise<void>;
  },
) {
  return {
    jobs: new Gauge({
      name: 'sluice_queue_jobs',
      help: 'Jobs per queue and state (waiting includes prioritized); KEDA scales on it',
      labelNames: ['queue', 'state'] as const,
      registers: [registry],
      collect: collect.jobs,
    }),
    waitingByPriority: new Gauge({
      name: 'sluice_queue_waiting_jobs',
      help: 'Jobs waiting per queue and priority (interactive, default, batch; other numeric priorities as other)',
      labelNames: ['queue', 'priority'] as const,
      registers: [registry],
      collect: collect.byPriority,
    }),
  };
}

/** What every worker process (classifier, executor) measures about the jobs it takes. */
export function defineWorkerMetrics(registry: Registry) {
  return {
    wait: new Histogram({
      name: 'sluice_queue_wait_seconds',
      help: 'Time a job waited in a queue before a worker started it (first start only), per queue and priority',
      labelNames: ['queue', 'priority'] as const,
      buckets: WAIT_BUCKETS,
      registers: [registry],
    }),
    run: new Histogram({
      name: 'sluice_job_run_seconds',
      help: 'Time a worker spent on a job run until it completed or failed, per queue',
      labelNames: ['queue', 'outcome'] as const,
      buckets: CALL_BUCKETS,
      registers: [registry],
    }),
    finished: new Counter({
      name: 'sluice_jobs_finished_total',
      help: 'Job runs that ended, per queue and outcome (completed, failed)',
      labelNames: ['queue', 'outcome'] as const,
      registers: [registry],
    }),
  };
}

/** The classifier's routing decisions. */
export function defineRoutingMetrics(registry: Registry) {
  return {
    decisions: new Counter({
      name: 'sluice_routing_decisions_total',
      help: 'Routing decisions per chosen tier (router, small, large), deciding strategy (rules, knn, llm, pinned, …) and category',
      labelNames: ['tier', 'strategy', 'category'] as const,
      registers: [registry],
    }),
  };
}

/** What finished jobs cost and saved (executors, and the API for its cache fast path). */
export function defineJobMetrics(registry: Registry) {
  return {
    cacheLookups: new Counter({
      name: 'sluice_cache_lookups_total',
      help: 'Cache lookups of jobs: result hit, miss, rejected (a semantic candidate refused by verification) or bypass; kind exact or semantic for hits and rejections, none otherwise',
      labelNames: ['result', 'kind'] as const,
      registers: [registry],
    }),
    cost: new Counter({
      name: 'sluice_cost_usd_total',
      help: 'USD: kind="actual" what finished jobs cost (0 for a cache hit), kind="counterfactual" what they would have cost on the large tier with no cache and no pruning, kind="summary" background conversation summaries',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    tokens: new Counter({
      name: 'sluice_tokens_total',
      help: 'Tokens billed by upstream calls, by direction (input, output) and tier',
      labelNames: ['direction', 'tier'] as const,
      registers: [registry],
    }),
  };
}

/** Upstream calls and the global limiter, seen from an executor. */
export function defineUpstreamMetrics(
  registry: Registry,
  collect: {
    circuit(this: Gauge<'deployment' | 'state'>): Promise<void>;
    inFlight(this: Gauge<'deployment'>): Promise<void>;
    permitLine(this: Gauge<'tier'>): void;
  },
) {
  return {
    permitLine: new Gauge({
      name: 'sluice_permit_line_jobs',
      help: 'Jobs this executor holds waiting for an upstream permit, per tier (its permit line; past SLUICE_PERMIT_HOLD_MS a job goes back to the queue)',
      labelNames: ['tier'] as const,
      registers: [registry],
      collect: collect.permitLine,
    }),
    calls: new Counter({
      name: 'sluice_upstream_requests_total',
      help: 'Upstream calls per deployment and outcome (success, throttled, failure, rejected)',
      labelNames: ['deployment', 'outcome'] as const,
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'sluice_upstream_duration_seconds',
      help: 'Upstream call time from permit grant to answer (a stream: to its last chunk), per deployment',
      labelNames: ['deployment'] as const,
      buckets: CALL_BUCKETS,
      registers: [registry],
    }),
    throttled: new Counter({
      name: 'sluice_upstream_429_total',
      help: '429 answers received from an upstream deployment (its configured id)',
      labelNames: ['deployment'] as const,
      registers: [registry],
    }),
    heldBack: new Counter({
      name: 'sluice_upstream_held_back_total',
      help: "Upstream calls held back by the global limiter: no deployment of the tier granted a permit, so the job waited (in its executor's permit line, or in its queue) instead of drawing a 429; reason of the soonest denial",
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    denials: new Counter({
      name: 'sluice_permit_denials_total',
      help: 'Permits refused per deployment and limit (concurrency: a semaphore wait; rpm, tpm, cooldown, circuit_open)',
      labelNames: ['deployment', 'reason'] as const,
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: 'sluice_upstream_in_flight',
      help: 'Permits held right now per deployment across every executor (the global concurrency semaphore)',
      labelNames: ['deployment'] as const,
      registers: [registry],
      collect: collect.inFlight,
    }),
    circuit: new Gauge({
      name: 'sluice_circuit_state',
      help: 'Circuit breaker state per deployment: 1 on the current state (closed, open, half_open), 0 on the others',
      labelNames: ['deployment', 'state'] as const,
      registers: [registry],
      collect: collect.circuit,
    }),
  };
}
