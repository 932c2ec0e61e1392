import { Agent, request } from 'node:http';
import hdr from 'hdr-histogram-js';

/** Options for {@link runOpenLoop}. */
export interface OpenLoopOptions {
  /** Requests per second (fixed arrival rate). */
  rate: number;
  /** How long to send (s). */
  durationSeconds: number;
  /** `constant` spaces arrivals evenly; `poisson` draws exponential gaps. @defaultValue constant */
  arrivals?: 'constant' | 'poisson';
  /** Give up on a request after this long (ms); it counts as an error. @defaultValue 30_000 */
  deadlineMs?: number;
  /** Build request i: URL, headers, JSON body. */
  makeRequest(i: number): { url: string; headers: Record<string, string>; body: unknown };
  /** Called once a second with progress. */
  onProgress?: (p: { elapsedS: number; sent: number; done: number; errors: number }) => void;
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
  /** ms */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  histogram: hdr.Histogram;
}

/**
 * Open-loop load: request i is due at `start + i/rate` whether or not earlier ones finished,
 * and its latency is measured from that due time, so queueing anywhere (client, gateway,
 * upstream) shows up in the numbers (no coordinated omission).
 */
export async function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 4096 });
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
  const total = Math.round(options.rate * options.durationSeconds);
  const random = options.random ?? Math.random;
  const deadline = options.deadlineMs ?? 30_000;
  const statuses: Record<string, number> = {};
  let ok = 0;
  let errors = 0;
  let done = 0;
  const start = performance.now();
  const dueTimes: number[] = [];
  let t = 0;
  for (let i = 0; i < total; i++) {
    dueTimes.push(t);
    t += options.arrivals === 'poisson' ? -Math.log(1 - random()) * (1000 / options.rate) : 1000 / options.rate;
  }
  let sent = 0;
  const progress = options.onProgress
    ? setInterval(() => options.onProgress!({ elapsedS: Math.round((performance.now() - start) / 1000), sent, done, errors }), 1000)
    : undefined;
  const inflight: Promise<void>[] = [];
  const fire = (i: number, due: number) => {
    const { url, headers, body } = options.makeRequest(i);
    const payload = JSON.stringify(body);
    return new Promise<void>((resolve) => {
      const finish = (status: string, success: boolean) => {
        const latencyUs = Math.max(1, Math.round((performance.now() - (start + due)) * 1000));
        histogram.recordValue(latencyUs);
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (success) ok++;
        else errors++;
        done++;
        resolve();
      };
      const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers }, timeout: deadline }, (res) => {
        res.resume();
        res.on('end', () => finish(String(res.statusCode), res.statusCode === 200));
        res.on('error', () => finish('stream_error', false));
      });
      req.on('timeout', () => req.destroy(new Error('deadline')));
      req.on('error', (e) => finish(e.message === 'deadline' ? 'deadline' : 'connection_error', false));
      req.end(payload);
    });
  };
  for (let i = 0; i < total; i++) {
    const due = dueTimes[i]!;
    const wait = start + due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inflight.push(fire(i, due));
    sent++;
  }
  await Promise.all(inflight);
  if (progress) clearInterval(progress);
  agent.destroy();
  const elapsed = (performance.now() - start) / 1000;
  const ms = (us: number) => Math.round(us / 10) / 100;
  return {
    sent,
    ok,
    errors,
    statuses,
    throughput: Math.round((ok / elapsed) * 10) / 10,
    p50: ms(histogram.getValueAtPercentile(50)),
    p90: ms(histogram.getValueAtPercentile(90)),
    p99: ms(histogram.getValueAtPercentile(99)),
    max: ms(histogram.maxValue),
    mean: ms(histogram.mean),
    histogram,
  };
}
