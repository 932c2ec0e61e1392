/**
 * Load-test building blocks (issue 6). The command is `src/run.ts`; these are for other
 * benchmarks and tests that want the same workload, drivers, processes or report.
 */
export { generateWorkload, createRandom, createZipfSampler, prose } from './workload.ts';
export type {
  Workload,
  WorkloadOptions,
  WorkloadRequest,
  WorkloadMessage,
  WorkloadSummary,
  FingerprintOrigin,
  ZipfSampler,
} from './workload.ts';
export { TENANTS, INTENT_TEMPLATES, CONVERSATION_TEMPLATES } from './catalog.ts';
export type { IntentTemplate, ConversationTemplate, ConversationTurn, TenantProfile, Complexity } from './catalog.ts';
export { runOpenLoop, runClosedLoop, httpSender, printProgress, usToMs } from './driver.ts';
export type {
  OpenLoopOptions,
  OpenLoopResult,
  ClosedLoopOptions,
  ClosedLoopResult,
  Sender,
  SendOutcome,
  ResponseRecord,
  Progress,
  HttpRequestSpec,
} from './driver.ts';
export { startBenchStack, startSluice, startSim, startRedis, spawnEntry, waitHttp } from './processes.ts';
export type {
  BenchStack,
  BenchStackOptions,
  SluiceStack,
  SluiceStackOptions,
  SimProcess,
  SimModelStats,
  BenchProcess,
} from './processes.ts';
export { startBarePipeline } from './bare-pipeline.ts';
export type { BarePipeline, BarePipelineOptions } from './bare-pipeline.ts';
export { analyzeScenario, priceTokens, spendFromStats, cdfPoints } from './analysis.ts';
export { renderReport, headlineTable, costReduction } from './report.ts';
export type { RenderedReport } from './report.ts';
export { lineChart, barChart, stackedBarChart } from './svg.ts';
export type * from './results.ts';
