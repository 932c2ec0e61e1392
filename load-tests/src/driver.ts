import { Agent, request } from 'node:http';
import hdr from 'hdr-histogram-js';

/** What one request ended with. */
export interface SendOutcome {
  /** HTTP status, or `deadline`, `connection_error`, `stream_error`, an SDK error name… */
  status: string;
  ok: boolean;
  /** Response headers, lower-case names (when captured). */
  headers?: Record<string, string>;
  /** Response body text (when captured). */
  body?: string;
  /** Answer text of a chat completion (clients that parse it). */
  content?: string;
  /** Token usage of a chat completion (clients that parse it). */
  usage?: { prompt_tokens: number; completion_tokens: number };
}

/** Sends request i; must settle (reject counts as `client_error`) and should honour `signal`. */
export type Sender = (i: number, ctx: { signal: AbortSignal }) => Promise<SendOutcome>;

/** One finished request, handed to {@link OpenLoopOptions.onResponse}. Times are ms from the run's start. */
export interface ResponseRecord extends SendOutcome {
  index: number;
  /** When it was due (intended send time). */
  dueMs: number;
  /** When it finished. */
  finishedMs: number;
  /** From the due time to the end, so client-side lateness counts too. */
  latencyMs: number;
}

/** Progress of a run, once a second. */
export interface Progress {
  label: string;
  elapsedS: number;
  sent: number;
  done: number;
  ok: number;
  errors: number;
  inFlight: number;
  /** Completions (ok or not) in the last second. */
  ratePerSecond: number;
  /** Target arrivals per second (open loop). */
  targetRate?: number;
}

/** Options for {@link runOpenLoop}. */
export interface OpenLoopOptions {
  /** Requests per second (mean arrival rate). */
  rate: number;
  /** How long to send (s). */
  durationSeconds: number;
  /** `constant` spaces arrivals evenly; `poisson` draws exponential gaps. @defaultValue constant */
  arrivals?: 'constant' | 'poisson';
  /** A request not finished this long after its due time is aborted and counts as an error. @defaultValue 30_000 */
  deadlineMs?: number;
  /** Send request i. Either this or {@link OpenLoopOptions.makeRequest}. */
  send?: Sender;
  /** Build request i as an HTTP POST with a JSON body (sent with {@link httpSender}). */
  makeRequest?(i: number): HttpRequestSpec;
  /** Keep response headers and body for {@link OpenLoopOptions.onResponse}. @defaultValue false */
  capture?: boolean;
  /** Called for every finished request. */
  onResponse?: (record: ResponseRecord) => void;
  /**
   * Called once a second. `true` prints a live progress line to stderr (`label` names the run).
   * @defaultValue none
   */
  onProgress?: ((p: Progress) => void) | true;
  /** Names the run in the progress line. @defaultValue `load` */
  label?: string;
  /** Seeded random for Poisson gaps. @defaultValue Math.random */
  random?: () => number;
}

/** What one open-loop run measured. Latencies are from each request's *intended* send time. */
export interface OpenLoopResult {
  sent: number;
  ok: number;
  errors: number;
  statuses: Record<string, number>;
  /** Successful responses per second over the send window plus drain. */
  throughput: number;
  /** Wall time from the first due time to the last completion (s). */
  elapsedS: number;
  /** ms */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  /** Latency of every request, ok or not, in µs. */
  histogram: hdr.Histogram;
  /** Latency of successful requests only, in µs. */
  okHistogram: hdr.Histogram;
}

/** An HTTP POST with a JSON body. */
export interface HttpRequestSpec {
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

const newHistogram = () =>
  hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });

/** ms with two decimals from µs. */
export const usToMs = (us: number) => Math.round(us / 10) / 100;

/** A {@link Sender} that POSTs JSON with node's http client over a keep-alive agent. */
export function httpSender(options: {
  agent: Agent;
  makeRequest(i: number): HttpRequestSpec;
  capture?: boolean;
}): Sender {
  return (i, { signal }) => {
    const { url, headers, body } = options.makeRequest(i);
    const payload = JSON.stringify(body);
    return new Promise<SendOutcome>((resolve) => {
      let settled = false;
      const finish = (o: SendOutcome) => {
        if (!settled) {
          settled = true;
          resolve(o);
        }
      };
      const req = request(
        url,
        {
          method: 'POST',
          agent: options.agent,
          signal,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          if (options.capture) res.on('data', (c: Buffer) => chunks.push(c));
          else res.resume();
          res.on('end', () => {
            const status = String(res.statusCode);
            if (!options.capture) return finish({ status, ok: res.statusCode === 200 });
            const h: Record<string, string> = {};
            for (const [k, v] of Object.entries(res.headers))
              if (v !== undefined) h[k] = Array.isArray(v) ? v.join(', ') : v;
            finish({ status, ok: res.statusCode === 200, headers: h, body: Buffer.concat(chunks).toString('utf8') });
          });
          res.on('error', () => finish({ status: signal.aborted ? 'deadline' : 'stream_error', ok: false }));
        },
      );
      req.on('error', () => finish({ status: signal.aborted ? 'deadline' : 'connection_error', ok: false }));
      req.end(payload);
    });
  };
}

/**
 * A {@link httpSender} of `model: "auto"` chat completions to a Sluice API, one user message
 * each: `content(i)` makes the prompts (unique ones miss the cache, so the whole pipeline runs).
 */
export function autoChatSender(options: {
  agent: Agent;
  apiUrl: string;
  apiKey: string;
  content(i: number): string;
}): Sender {
  return httpSender({
    agent: options.agent,
    makeRequest: (i) => ({
      url: `${options.apiUrl}/v1/chat/completions`,
      headers: { authorization: `Bearer ${options.apiKey}` },
      body: { model: 'auto', messages: [{ role: 'user', content: options.content(i) }] },
    }),
  });
}

/** The default progress printer: one rewritten line on a terminal, a line every 5 s otherwise. */
export function printProgress(p: Progress): void {
  const target = p.targetRate !== undefined ? `/${p.targetRate}` : '';
  const line = `[${p.label}] ${String(p.elapsedS).padStart(4)}s  sent ${p.sent}  done ${p.done}  ok ${p.ok}  errors ${p.errors}  in flight ${p.inFlight}  ${p.ratePerSecond}${target} req/s`;
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${line}`);
  else if (p.elapsedS % 5 === 0) process.stderr.write(`${line}\n`);
}

function endProgress(): void {
  if (process.stderr.isTTY) process.stderr.write('\n');
}

/**
 * Open-loop load: request i is due at its arrival time whether or not earlier ones finished,
 * and its latency is measured from that due time, so queueing anywhere (client, gateway,
 * upstream) shows up in the numbers (no coordinated omission). Each request is aborted at its
 * deadline, counted from its due time.
 */
export async function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 4096 });
  const send =
    options.send ??
    (options.makeRequest
      ? httpSender({ agent, makeRequest: options.makeRequest, capture: options.capture })
      : undefined);
  if (!send) throw new TypeError('runOpenLoop needs `send` or `makeRequest`');
  if (!(options.rate > 0)) throw new RangeError(`Expected \`rate\` to be > 0, got \`${options.rate}\``);
  const histogram = newHistogram();
  const okHistogram = newHistogram();
  const total = Math.round(options.rate * options.durationSeconds);
  const random = options.random ?? Math.random;
  const deadline = options.deadlineMs ?? 30_000;
  const label = options.label ?? 'load';
  const statuses: Record<string, number> = {};
  let ok = 0;
  let errors = 0;
  let done = 0;
  let sent = 0;
  let lastEnd = 0;
  const dueTimes: number[] = [];
  let t = 0;
  for (let i = 0; i < total; i++) {
    dueTimes.push(t);
    t += options.arrivals === 'poisson' ? -Math.log(1 - random()) * (1000 / options.rate) : 1000 / options.rate;
  }
  const start = performance.now();
  const onProgress = options.onProgress === true ? printProgress : options.onProgress;
  let doneAtLastTick = 0;
  const progress = onProgress
    ? setInterval(() => {
        onProgress({
          label,
          elapsedS: Math.round((performance.now() - start) / 1000),
          sent,
          done,
          ok,
          errors,
          inFlight: sent - done,
          ratePerSecond: done - doneAtLastTick,
          targetRate: options.rate,
        });
        doneAtLastTick = done;
      }, 1000)
    : undefined;
  const fire = async (i: number, due: number) => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), Math.max(1, start + due + deadline - performance.now()));
    let outcome: SendOutcome;
    try {
      outcome = await send(i, { signal: controller.signal });
    } catch (error) {
      outcome = {
        status: controller.signal.aborted ? 'deadline' : `client_error:${(error as Error)?.name ?? 'unknown'}`,
        ok: false,
      };
    } finally {
      clearTimeout(timer);
    }
    if (controller.signal.aborted && outcome.ok === false) outcome = { ...outcome, status: 'deadline' };
    const now = performance.now();
    const latencyUs = Math.max(1, Math.round((now - (start + due)) * 1000));
    histogram.recordValue(latencyUs);
    if (outcome.ok) okHistogram.recordValue(latencyUs);
    statuses[outcome.status] = (statuses[outcome.status] ?? 0) + 1;
    if (outcome.ok) ok++;
    else errors++;
    done++;
    lastEnd = Math.max(lastEnd, now - start);
    options.onResponse?.({ ...outcome, index: i, dueMs: due, finishedMs: now - start, latencyMs: latencyUs / 1000 });
  };
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = dueTimes[i]!;
    const wait = start + due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inflight.push(fire(i, due));
    sent++;
  }
  await Promise.all(inflight);
  if (progress) {
    clearInterval(progress);
    endProgress();
  }
  agent.destroy();
  const elapsed = Math.max(lastEnd, 1) / 1000;
  return {
    sent,
    ok,
    errors,
    statuses,
    throughput: Math.round((ok / elapsed) * 10) / 10,
    elapsedS: Math.round(elapsed * 10) / 10,
    p50: usToMs(histogram.getValueAtPercentile(50)),
    p90: usToMs(histogram.getValueAtPercentile(90)),
    p99: usToMs(histogram.getValueAtPercentile(99)),
    max: usToMs(histogram.maxValue),
    mean: usToMs(histogram.mean),
    histogram,
    okHistogram,
  };
}

/** Options for {@link runClosedLoop}. */
export interface ClosedLoopOptions {
  /** Requests kept in flight at all times. */
  concurrency: number;
  /** Measured window (s), after the warm-up. */
  durationSeconds: number;
  /** Sent but not measured first (s). @defaultValue 0 */
  warmupSeconds?: number;
  send: Sender;
  /** Per-request deadline (ms). @defaultValue 30_000 */
  deadlineMs?: number;
  /** @defaultValue none; `true` prints a live line */
  onProgress?: ((p: Progress) => void) | true;
  label?: string;
}

/** What a closed-loop run measured inside its window. */
export interface ClosedLoopResult {
  /** Completions that finished inside the window. */
  ok: number;
  errors: number;
  statuses: Record<string, number>;
  /** Successful completions per second inside the measured window. */
  throughput: number;
  /** Successful completions over the whole run, warm-up and drain included. */
  completed: number;
  /** Service latency (ms): a closed loop hides queueing before the send, so use it for throughput only. */
  p50: number;
  p99: number;
}

/**
 * Closed-loop load for throughput ceilings: `concurrency` workers each send, wait, send again.
 * Throughput counts successes that finished inside the window after the warm-up.
 */
export async function runClosedLoop(options: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const histogram = newHistogram();
  const statuses: Record<string, number> = {};
  const warmupMs = (options.warmupSeconds ?? 0) * 1000;
  const endMs = warmupMs + options.durationSeconds * 1000;
  const deadline = options.deadlineMs ?? 30_000;
  const label = options.label ?? 'closed';
  const start = performance.now();
  let ok = 0;
  let errors = 0;
  let sent = 0;
  let done = 0;
  let next = 0;
  let completed = 0;
  const onProgress = options.onProgress === true ? printProgress : options.onProgress;
  let doneAtLastTick = 0;
  const progress = onProgress
    ? setInterval(() => {
        onProgress({
          label,
          elapsedS: Math.round((performance.now() - start) / 1000),
          sent,
          done,
          ok,
          errors,
          inFlight: sent - done,
          ratePerSecond: done - doneAtLastTick,
        });
        doneAtLastTick = done;
      }, 1000)
    : undefined;
  const worker = async () => {
    while (performance.now() - start < endMs) {
      const i = next++;
      const began = performance.now();
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), deadline);
      sent++;
      let outcome: SendOutcome;
      try {
        outcome = await options.send(i, { signal: controller.signal });
      } catch (error) {
        outcome = {
          status: controller.signal.aborted ? 'deadline' : `client_error:${(error as Error)?.name ?? 'unknown'}`,
          ok: false,
        };
      } finally {
        clearTimeout(timer);
      }
      done++;
      if (outcome.ok) completed++;
      const ended = performance.now();
      if (ended - start >= warmupMs && ended - start <= endMs) {
        statuses[outcome.status] = (statuses[outcome.status] ?? 0) + 1;
        if (outcome.ok) {
          ok++;
          histogram.recordValue(Math.max(1, Math.round((ended - began) * 1000)));
        } else errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  if (progress) {
    clearInterval(progress);
    endProgress();
  }
  return {
    ok,
    errors,
    statuses,
    throughput: Math.round((ok / options.durationSeconds) * 10) / 10,
    completed,
    p50: usToMs(histogram.getValueAtPercentile(50)),
    p99: usToMs(histogram.getValueAtPercentile(99)),
  };
}
