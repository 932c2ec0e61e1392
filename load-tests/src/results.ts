/**
 * What a load-test run measured, as written to `results.json` and rendered by the report.
 * Every figure here comes from a measurement of the run it belongs to.
 */
import type { WorkloadSummary } from './workload.ts';

/** Names of the storm scenarios. */
export type ScenarioName = 'direct' | 'gateway' | 'cache' | 'routing' | 'all';

/** Token spend of one model (simulator counters). */
export interface ModelSpend {
  model: string;
  promptTokens: number;
  completionTokens: number;
  usd: number;
  requests: number;
  accepted: number;
  /** 429s the provider (simulator) answered. */
  rateLimited: number;
  /** Most requests accepted in any 60 s window (exact, from the simulator). */
  maxAcceptedIn60s: number;
  maxInFlight: number;
}

/** Correctness of the answers of one scenario, read from the simulator fingerprints. */
export interface AnswerQuality {
  /** Successful answers whose fingerprint was read. */
  checked: number;
  /** Answers produced for the exact prompt sent. */
  own: number;
  /** Answers produced for another wording of the same intent, same tenant (a correct semantic hit). */
  sameIntent: number;
  /** Cache hits whose answer belongs to another intent group: wrong answers served. */
  falseHits: number;
  /** Answers of another intent that were not marked as hits (should never happen). */
  wrongNotHit: number;
  /** Answers produced for another tenant's prompt. */
  crossTenant: number;
  /** Time-sensitive prompts answered from the cache. */
  timeSensitiveHits: number;
  /** Fingerprint not in the workload (upstream saw different messages, e.g. pruned context). */
  unattributed: number;
  /** Answers with no readable fingerprint. */
  unreadable: number;
}

/** Routing correctness of one scenario (successful answers with a tier). */
export interface RoutingQuality {
  complex: number;
  /** Complex prompts answered on the small tier. */
  complexOnSmall: number;
  simple: number;
  /** Simple prompts answered on the large tier (savings missed). */
  simpleOnLarge: number;
}

/** Context-pruning effect on conversation turns that reached the upstream. */
export interface PruningEffect {
  /** Conversation turns answered by the upstream (cache misses) with usage reported. */
  turns: number;
  /** Prompt tokens of those turns as the client sent them (o200k, chat framing). */
  clientPromptTokens: number;
  /** Prompt tokens the upstream billed for them. */
  upstreamPromptTokens: number;
  /** client − upstream, corrected by the per-request counting offset measured on direct calls. */
  savedTokens: number;
  /** Turns whose upstream prompt was smaller than the client's. */
  prunedTurns: number;
}

/** One point of a time series. */
export interface SeriesPoint {
  /** Seconds since the scenario started (middle of the bucket). */
  t: number;
  value: number;
  /** Samples in the bucket. */
  n: number;
}

/** One storm scenario. */
export interface ScenarioResult {
  name: ScenarioName;
  title: string;
  /** How the scenario was switched: env of the Sluice processes, model field of requests. */
  switches: Record<string, string>;
  sent: number;
  ok: number;
  errors: number;
  statuses: Record<string, number>;
  successRate: number;
  /** Latency (ms) of successful requests, from the intended send time. */
  okLatency: { p50: number; p90: number; p99: number; max: number };
  /** Latency (ms) of all requests, errors at the time they failed. */
  allLatency: { p50: number; p90: number; p99: number; max: number };
  throughput: number;
  elapsedS: number;
  /** [latency ms, fraction ≤] of successful requests. */
  latencyCdf: Array<[number, number]>;
  spend: ModelSpend[];
  /** Sum of the simulator-counted spend (USD). */
  costUsd: number;
  /** USD per 1000 successful answers. */
  costPerThousandOk: number;
  /** Sum of `x-sluice-cost-usd` of successful answers (absent for direct). */
  headerCostUsd?: number;
  /** Calls the provider accepted on the small and large models whose answer no client received (it had given up). */
  unusedUpstreamCalls: number;
  /** Successful answers by how they were served: `hit`, `small`, `large`, `router`, `unknown`. */
  servedBy: Record<string, number>;
  /** Cache outcomes of successful answers; `hitRatio` is hits ÷ requests sent. */
  cache: { hits: number; exact: number; semantic: number; misses: number; bypass: number; hitRatio: number };
  /** Cache hits ÷ requests sent, by intended send time. */
  hitRatioSeries: SeriesPoint[];
  quality: AnswerQuality;
  routing: RoutingQuality;
  pruning: PruningEffect;
  /** Provider limits configured on the large model. */
  providerLimit: { model: string; rpm: number; tpm: number };
}

/** Gateway overhead: same simulator, fixed latency, direct vs through Sluice. */
export interface OverheadResult {
  rate: number;
  durationSeconds: number;
  rounds: number;
  simLatencyMs: number;
  direct: { p50: number; p99: number; throughput: number; errors: number };
  sluice: { p50: number; p99: number; throughput: number; errors: number };
  /** Sluice minus direct, medians of rounds (ms). */
  addedP50: number;
  addedP99: number;
}

/** One step of the scaling phase. */
export interface ScalingStep {
  executors: number;
  /** Executor concurrency per process. */
  concurrency: number;
  /** Provider limits of the deployment in this step. */
  limit: { rpm: number; maxConcurrency: number };
  /** Upstream-bound ideal: in-flight slots (executors × concurrency, or the provider limit) ÷ latency. */
  ideal: number;
  /** Warm-up this step took before the window (s). */
  warmedSeconds: number;
  /** Measured window (s). */
  windowSeconds: number;
  throughput: number;
  p50: number;
  p99: number;
  errors: number;
  /** What the provider (simulator) saw. */
  provider: { accepted: number; rateLimited: number; maxAcceptedIn60s: number; maxInFlight: number };
}

/** Throughput against executor processes, upstream-latency-bound. */
export interface ScalingResult {
  simLatencyMs: number;
  clientConcurrency: number;
  windowSeconds: number;
  steps: ScalingStep[];
  /** A step with a provider concurrency limit below what the executors could send. */
  limited?: ScalingStep;
}

/** Cache-miss-path ceiling vs a bare BullMQ two-hop pipeline. */
export interface CeilingResult {
  clientConcurrency: number;
  windowSeconds: number;
  rounds: number;
  sluice: number[];
  bare: number[];
  sluiceMedian: number;
  bareMedian: number;
  /** sluice ÷ bare, medians. */
  ratio: number;
  sluiceErrors: number;
  bareErrors: number;
  /**
   * CPU time per completed request (ms) by process over the rounds, warm-up and drain
   * included (Linux /proc; empty elsewhere). Shows where the miss path spends its CPU.
   */
  cpuMsPerRequest?: { sluice: Record<string, number>; bare: Record<string, number> };
}

/** The machine a run ran on. */
export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGb: number;
  node: string;
  os: string;
  loadAverageStart: number[];
  loadAverageEnd: number[];
}

/** A whole run. */
export interface RunResults {
  mode: string;
  seed: number;
  command: string;
  startedAt: string;
  finishedAt: string;
  git: { commit: string; dirty: boolean };
  machine: MachineInfo;
  settings: Record<string, unknown>;
  workload?: WorkloadSummary;
  scenarios: ScenarioResult[];
  overhead?: OverheadResult;
  scaling?: ScalingResult;
  ceiling?: CeilingResult;
  /** Wall time of each phase (s). */
  phaseSeconds: Record<string, number>;
  /** Things the run could not switch or measure, and why. */
  notes: string[];
}
