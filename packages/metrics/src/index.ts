/**
 * `@sluice/metrics`: every Prometheus metric Sluice exports, defined once; per-process
 * wiring (`createApiMetrics`, `createClassifierMetrics`, `createExecutorMetrics`) whose hooks
 * the apps call; the workers' `/metrics`, `/healthz`, `/readyz` server; and the Sluice-wide
 * operations counters in Redis that the savings dashboard reads.
 *
 * Wiring: `createMetricsRegistry({ role })` once per process, then the role's
 * `createXxxMetrics({ registry, … })`; workers also `startMetricsServer({ registry, port:
 * config.metrics.port, ready })`.
 */
export { createMetricsRegistry } from './registry.ts';
export type { MetricsRegistryOptions, ProcessRole } from './registry.ts';
export { createApiMetrics } from './api.ts';
export type { ApiMetrics, ApiMetricsOptions } from './api.ts';
export { createClassifierMetrics } from './classifier.ts';
export type { ClassifierMetrics } from './classifier.ts';
export { createExecutorMetrics } from './executor.ts';
export type { ExecutorMetrics, ExecutorMetricsOptions } from './executor.ts';
export { observeWorker } from './worker.ts';
export type { WorkerMetrics, OnJobCompleted } from './worker.ts';
export { recordJobResult, recordCacheLookup } from './jobs.ts';
export type { JobMetrics } from './jobs.ts';
export { priorityLabel, NAMED_PRIORITIES } from './labels.ts';
export type { PriorityLabel, CacheLookupResult, CacheLookupKind } from './labels.ts';
export { startMetricsServer, workerReadiness } from './server.ts';
export type { MetricsServer, MetricsServerOptions, MetricsServerLogger, Readiness } from './server.ts';
export { createOpsStats, jobIncrements } from './ops-stats.ts';
export type { OpsStats, OpsStatsOptions, OpsFigures, OpsSnapshot } from './ops-stats.ts';
export { histogramQuantile, summarizeHistogram } from './quantile.ts';
export type { Bucket, HistogramSummary, HistogramValues } from './quantile.ts';
