/**
 * Checks over the deployment files, each a pure function that returns the problems it found
 * (an empty list when the input is fine), so a test can run it on the real files and on a
 * broken copy alike.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';

/** A parsed YAML/JSON object whose shape is checked at run time. */

export type Obj = Record<string, any>;

/** One Kubernetes object and the file it came from. */
export interface Manifest {
  file: string;
  doc: Obj;
}

/** A container that runs a Sluice app from the shared image. */
export interface AppContainer {
  workload: string;
  kind: string;
  /** `api`, `classifier`, `executor`, `sim`: the folder under apps/. */
  app: string;
  /** The entry file, e.g. `apps/api/src/index.ts`. */
  entry: string;
  container: Obj;
  pod: Obj;
}

/** Kinds whose `spec.template` is a pod template. */
const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job']);

/**
 * Every YAML document in `text`. Merge keys (`<<:`) are resolved, as Docker Compose does.
 * @throws Error naming the file when a document does not parse.
 */
export function parseYamlDocuments(text: string, file: string): unknown[] {
  const docs = parseAllDocuments(text, { merge: true, prettyErrors: true });
  const list = Array.isArray(docs) ? docs : [docs];
  const out: unknown[] = [];
  for (const doc of list) {
    if (doc.errors.length) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS({ maxAliasCount: 100 });
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

/** Files under `dir` (recursively) whose names end with one of `extensions`; skips node_modules and src. */
export function listFiles(dir: string, extensions: readonly string[]): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name === 'node_modules' || name === 'src') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listFiles(path, extensions));
    else if (extensions.some((ext) => name.endsWith(ext))) out.push(path);
  }
  return out;
}

/** Path relative to `root`, for messages. */
export function rel(root: string, path: string): string {
  return relative(root, path) || path;
}

const isObj = (value: unknown): value is Obj => typeof value === 'object' && value !== null && !Array.isArray(value);
const label = (m: Manifest) => `${m.file}: ${m.doc.kind ?? '?'}/${m.doc.metadata?.name ?? '?'}`;

/** Containers of a workload's pod template (init containers included). */
export function podContainers(doc: Obj): Obj[] {
  const pod = doc.spec?.template?.spec;
  if (!isObj(pod)) return [];
  return [...(pod.initContainers ?? []), ...(pod.containers ?? [])].filter(isObj);
}

/**
 * Required fields of every Kubernetes object, and of every workload: selector matching the
 * template's labels, the `app.kubernetes.io/part-of: sluice` label the NetworkPolicy selects
 * on, and per container an image, CPU and memory requests, a memory limit, liveness and
 * readiness probes whose named ports exist.
 */
export function checkRequiredFields(manifests: readonly Manifest[]): string[] {
  const problems: string[] = [];
  for (const m of manifests) {
    const { doc } = m;
    if (typeof doc.apiVersion !== 'string' || !doc.apiVersion) problems.push(`${label(m)}: no apiVersion`);
    if (typeof doc.kind !== 'string' || !doc.kind) problems.push(`${label(m)}: no kind`);
    if (typeof doc.metadata?.name !== 'string' || !doc.metadata.name) problems.push(`${label(m)}: no metadata.name`);
    if (!WORKLOAD_KINDS.has(doc.kind)) continue;
    const template = doc.spec?.template;
    const labels: Obj = template?.metadata?.labels ?? {};
    const selector: Obj = doc.spec?.selector?.matchLabels ?? {};
    if (!Object.keys(selector).length) problems.push(`${label(m)}: no spec.selector.matchLabels`);
    for (const [key, value] of Object.entries(selector)) {
      if (labels[key] !== value)
        problems.push(`${label(m)}: selector ${key}=${value} does not match the pod template's labels`);
    }
    if (labels['app.kubernetes.io/part-of'] !== 'sluice')
      problems.push(`${label(m)}: pod template lacks label app.kubernetes.io/part-of: sluice`);
    const containers = podContainers(doc);
    if (!containers.length) problems.push(`${label(m)}: no containers`);
    for (const c of containers) {
      const at = `${label(m)} container ${c.name ?? '?'}`;
      if (typeof c.name !== 'string') problems.push(`${at}: no name`);
      if (typeof c.image !== 'string' || !c.image) problems.push(`${at}: no image`);
      const res = c.resources;
      if (!isObj(res)) {
        problems.push(`${at}: no resources`);
      } else {
        if (!res.requests?.cpu) problems.push(`${at}: no resources.requests.cpu`);
        if (!res.requests?.memory) problems.push(`${at}: no resources.requests.memory`);
        if (!res.limits?.memory) problems.push(`${at}: no resources.limits.memory`);
      }
      if (!isObj(c.livenessProbe)) problems.push(`${at}: no livenessProbe`);
      if (!isObj(c.readinessProbe)) problems.push(`${at}: no readinessProbe`);
      const portNames = new Set((c.ports ?? []).map((p: Obj) => p.name));
      const portNumbers = new Set((c.ports ?? []).map((p: Obj) => p.containerPort));
      for (const probeName of ['startupProbe', 'livenessProbe', 'readinessProbe'] as const) {
        const probe = c[probeName];
        const port = probe?.httpGet?.port ?? probe?.tcpSocket?.port;
        if (port === undefined) continue;
        if (typeof port === 'string' ? !portNames.has(port) : !portNumbers.has(port)) {
          problems.push(`${at}: ${probeName} uses port ${port}, which the container does not declare`);
        }
      }
    }
  }
  return problems;
}

/** Containers that run `apps/<app>/src/<entry>.ts` from the Sluice image. */
export function appContainers(manifests: readonly Manifest[]): AppContainer[] {
  const out: AppContainer[] = [];
  for (const { doc } of manifests) {
    if (!WORKLOAD_KINDS.has(doc.kind)) continue;
    for (const container of podContainers(doc)) {
      const entry = [...(container.command ?? []), ...(container.args ?? [])].find(
        (a: unknown) => typeof a === 'string' && /^apps\/[^/]+\/src\/.+\.ts$/.test(a),
      );
      if (!entry) continue;
      out.push({
        workload: doc.metadata.name,
        kind: doc.kind,
        app: entry.split('/')[1]!,
        entry,
        container,
        pod: doc.spec.template.spec,
      });
    }
  }
  return out;
}

/** Every Sluice container uses the same image (one image, the command picks the app). */
export function checkOneImage(containers: readonly AppContainer[], expected: string): string[] {
  return containers
    .filter((c) => c.container.image !== expected)
    .map((c) => `${c.kind}/${c.workload}: image ${c.container.image}, expected ${expected} like every Sluice process`);
}

/**
 * Every HTTP probe of a Sluice container asks for a path its app serves.
 * @param pathsByApp routes each app registers (`api` → `/healthz`, `/readyz`, …).
 */
export function checkProbePaths(
  containers: readonly AppContainer[],
  pathsByApp: Readonly<Record<string, ReadonlySet<string>>>,
): string[] {
  const problems: string[] = [];
  for (const c of containers) {
    const served = pathsByApp[c.app];
    for (const probeName of ['startupProbe', 'livenessProbe', 'readinessProbe'] as const) {
      const path = c.container[probeName]?.httpGet?.path;
      if (path === undefined) continue;
      if (!served)
        problems.push(`${c.kind}/${c.workload}: ${probeName} ${path}, but no routes are known for app ${c.app}`);
      else if (!served.has(path))
        problems.push(
          `${c.kind}/${c.workload}: ${probeName} asks for ${path}, which ${c.app} does not serve (it serves ${[...served].sort().join(', ')})`,
        );
    }
  }
  return problems;
}

/** Every Service selects the pods of some workload and targets a port they declare. */
export function checkServices(manifests: readonly Manifest[]): string[] {
  const problems: string[] = [];
  const workloads = manifests.filter((m) => WORKLOAD_KINDS.has(m.doc.kind));
  for (const m of manifests.filter((x) => x.doc.kind === 'Service')) {
    const selector: Obj = m.doc.spec?.selector ?? {};
    const matches = workloads.filter((w) => {
      const labels: Obj = w.doc.spec?.template?.metadata?.labels ?? {};
      return Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
    });
    if (!matches.length) {
      problems.push(`${label(m)}: selector ${JSON.stringify(selector)} matches no workload`);
      continue;
    }
    for (const port of m.doc.spec?.ports ?? []) {
      const target = port.targetPort ?? port.port;
      const declared = matches.some((w) =>
        podContainers(w.doc).some((c) =>
          (c.ports ?? []).some((p: Obj) =>
            typeof target === 'string' ? p.name === target : p.containerPort === target,
          ),
        ),
      );
      if (!declared) problems.push(`${label(m)}: targetPort ${target} is declared by no container it selects`);
    }
  }
  return problems;
}

/** Graceful-termination budget a workload's terminationGracePeriodSeconds must exceed. */
export interface GraceRule {
  /** Workload (Deployment) name. */
  workload: string;
  /** The grace period must be strictly above this (ms). */
  minimumMs: number;
  /** Why, for the message. */
  because: string;
}

/** terminationGracePeriodSeconds of each named Deployment is above its minimum. */
export function checkGracePeriods(manifests: readonly Manifest[], rules: readonly GraceRule[]): string[] {
  const problems: string[] = [];
  for (const rule of rules) {
    const m = manifests.find((x) => x.doc.kind === 'Deployment' && x.doc.metadata?.name === rule.workload);
    if (!m) {
      problems.push(`Deployment/${rule.workload}: not found`);
      continue;
    }
    const seconds = m.doc.spec?.template?.spec?.terminationGracePeriodSeconds;
    if (typeof seconds !== 'number') problems.push(`${label(m)}: no terminationGracePeriodSeconds (default 30 s)`);
    else if (seconds * 1000 <= rule.minimumMs)
      problems.push(
        `${label(m)}: terminationGracePeriodSeconds ${seconds} s is not above ${rule.minimumMs / 1000} s (${rule.because})`,
      );
  }
  return problems;
}

/** What a ScaledObject must scale on. */
export interface ScalerRule {
  /** Deployment the ScaledObject targets. */
  target: string;
  /** Queue names (label values of sluice_queue_jobs) its triggers must cover, exactly. */
  queues: readonly string[];
  /** Largest sensible per-pod threshold: the process's concurrency per queue. */
  maxThreshold: number;
}

/**
 * KEDA ScaledObjects: each targets an existing Deployment, keeps at least one replica (the
 * API's /readyz needs a worker per queue), scales with Prometheus triggers on
 * sluice_queue_jobs over waiting (which includes prioritized) jobs of exactly the queues its
 * rule lists, with a threshold no larger than one pod's concurrency, and has a fallback for
 * when the query fails. Each rule needs exactly one ScaledObject.
 */
export function checkScaledObjects(
  manifests: readonly Manifest[],
  rules: readonly ScalerRule[],
  metricNames: ReadonlySet<string>,
): string[] {
  const problems: string[] = [];
  const deployments = new Set(manifests.filter((m) => m.doc.kind === 'Deployment').map((m) => m.doc.metadata?.name));
  const scaled = manifests.filter((m) => m.doc.kind === 'ScaledObject');
  for (const m of scaled) {
    const spec: Obj = m.doc.spec ?? {};
    const target = spec.scaleTargetRef?.name;
    if (m.doc.apiVersion !== 'keda.sh/v1alpha1')
      problems.push(`${label(m)}: apiVersion ${m.doc.apiVersion}, expected keda.sh/v1alpha1`);
    if ((spec.scaleTargetRef?.kind ?? 'Deployment') !== 'Deployment' || !deployments.has(target))
      problems.push(`${label(m)}: scaleTargetRef ${target} names no Deployment`);
    const min = spec.minReplicaCount ?? 0;
    if (min < 1)
      problems.push(
        `${label(m)}: minReplicaCount ${min}; with no worker on a queue the API's /readyz fails and nothing scales back up`,
      );
    if (!(spec.maxReplicaCount >= Math.max(min, 1)))
      problems.push(`${label(m)}: maxReplicaCount ${spec.maxReplicaCount} below minReplicaCount ${min}`);
    if (!isObj(spec.fallback) || !(spec.fallback.replicas >= 1))
      problems.push(`${label(m)}: no fallback replica count for when the query fails`);
    const rule = rules.find((r) => r.target === target);
    const covered = new Set<string>();
    const triggers: Obj[] = spec.triggers ?? [];
    if (!triggers.length) problems.push(`${label(m)}: no triggers`);
    for (const t of triggers) {
      const at = `${label(m)} trigger ${t.name ?? t.type}`;
      if (t.type !== 'prometheus') {
        problems.push(
          `${at}: type ${t.type}; Sluice scales on sluice_queue_jobs through Prometheus (a Redis list scaler misses prioritized jobs)`,
        );
        continue;
      }
      const query = String(t.metadata?.query ?? '');
      const names = promqlMetricNames(query);
      if (!names.includes('sluice_queue_jobs')) problems.push(`${at}: query does not read sluice_queue_jobs`);
      for (const name of names)
        if (!metricNames.has(name)) problems.push(`${at}: query reads ${name}, which is not in EXPECTED_METRICS`);
      if (!/state\s*(=|=~)\s*"[^"]*\bwaiting\b/.test(query))
        problems.push(`${at}: query does not count state="waiting" (waiting + prioritized)`);
      for (const match of query.matchAll(/queue\s*=\s*"([^"]+)"/g)) covered.add(match[1]!);
      if (!/queue\s*=\s*"/.test(query)) problems.push(`${at}: query selects no single queue`);
      if (t.metadata?.ignoreNullValues !== 'false')
        problems.push(
          `${at}: ignoreNullValues must be "false" so a missing series triggers the fallback instead of scaling to the minimum`,
        );
      const threshold = Number(t.metadata?.threshold);
      if (!(threshold > 0)) problems.push(`${at}: threshold ${t.metadata?.threshold} is not a positive number`);
      else if (rule && threshold > rule.maxThreshold)
        problems.push(`${at}: threshold ${threshold} is above one pod's concurrency ${rule.maxThreshold}`);
      if (!String(t.metadata?.serverAddress ?? '').startsWith('http')) problems.push(`${at}: no serverAddress`);
    }
    if (rule) {
      const expected = [...rule.queues].sort();
      const got = [...covered].sort();
      if (JSON.stringify(expected) !== JSON.stringify(got))
        problems.push(
          `${label(m)}: triggers cover queues ${got.join(', ') || 'none'}, expected ${expected.join(', ')}`,
        );
    }
  }
  for (const rule of rules) {
    const count = scaled.filter((m) => m.doc.spec?.scaleTargetRef?.name === rule.target).length;
    if (count !== 1) problems.push(`Deployment/${rule.target}: ${count} ScaledObjects target it, expected 1`);
  }
  return problems;
}

const PROMQL_KEYWORDS = new Set([
  // binary operators and modifiers
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'offset',
  'bool',
  'atan2',
  'inf',
  'nan',
  // aggregation operators, which may be followed by `by (…)` before their parenthesis
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
]);

/**
 * Metric names a PromQL expression reads. Strings, label matchers, range selectors, grouping
 * lists and function names are skipped, so `sum by (le) (rate(x_bucket{a="b"}[5m]))` gives
 * `['x_bucket']`. Grafana variables (`$__range`) count as durations.
 */
export function promqlMetricNames(expr: string): string[] {
  let text = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\{[^}]*\}/g, '');
  text = text.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '$1');
  const names = new Set<string>();
  for (const match of text.matchAll(/(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const [, name, call] = match;
    if (call || PROMQL_KEYWORDS.has(name!.toLowerCase())) continue;
    names.add(name!);
  }
  return [...names];
}

/** A histogram's series name (`x_bucket`, `x_sum`, `x_count`) mapped to the histogram's name when it is one. */
export function baseMetricName(name: string, histograms: ReadonlySet<string>): string {
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return base !== name && histograms.has(base) ? base : name;
}

/** Every PromQL expression in a Grafana dashboard (panels, nested row panels, template queries). */
export function dashboardExpressions(dashboard: Obj): Array<{ panel: string; expr: string }> {
  const out: Array<{ panel: string; expr: string }> = [];
  const walk = (panels: unknown) => {
    for (const p of Array.isArray(panels) ? panels : []) {
      if (!isObj(p)) continue;
      for (const t of p.targets ?? [])
        if (typeof t?.expr === 'string') out.push({ panel: p.title ?? `#${p.id}`, expr: t.expr });
      walk(p.panels);
    }
  };
  walk(dashboard.panels);
  for (const v of dashboard.templating?.list ?? []) {
    const q = typeof v?.query === 'string' ? v.query : v?.query?.query;
    if (typeof q !== 'string' || v.type !== 'query') continue;
    // label_values(expr, label) and query_result(expr) wrap an expression; metrics() and
    // label_names() read no series.
    const labelValues = /^label_values\((.*?)(?:,\s*\w+)?\)$/s.exec(q.trim());
    const queryResult = /^query_result\((.*)\)$/s.exec(q.trim());
    const expr = labelValues?.[1] ?? queryResult?.[1];
    if (expr?.trim()) out.push({ panel: `variable ${v.name}`, expr });
  }
  return out;
}

/**
 * A Grafana dashboard: panels with unique ids, every query on the expected datasource, and
 * every metric it reads one of `allowed`.
 */
export function checkDashboard(
  dashboard: Obj,
  allowed: ReadonlySet<string>,
  histograms: ReadonlySet<string>,
  datasourceUid: string,
): string[] {
  const problems: string[] = [];
  if (typeof dashboard.uid !== 'string' || typeof dashboard.title !== 'string')
    problems.push('dashboard: no uid or title');
  const ids = new Set<number>();
  const walk = (panels: unknown) => {
    for (const p of Array.isArray(panels) ? panels : []) {
      if (!isObj(p)) continue;
      if (ids.has(p.id)) problems.push(`dashboard: panel id ${p.id} used twice`);
      ids.add(p.id);
      if (p.type !== 'row') {
        if (!isObj(p.gridPos)) problems.push(`dashboard panel ${p.title}: no gridPos`);
        if (!(p.targets ?? []).length) problems.push(`dashboard panel ${p.title}: no queries`);
      }
      for (const ds of [p.datasource, ...(p.targets ?? []).map((t: Obj) => t.datasource)]) {
        if (ds !== undefined && ds?.uid !== datasourceUid)
          problems.push(`dashboard panel ${p.title}: datasource ${JSON.stringify(ds)} is not uid ${datasourceUid}`);
      }
      walk(p.panels);
    }
  };
  walk(dashboard.panels);
  const expressions = dashboardExpressions(dashboard);
  if (!expressions.length) problems.push('dashboard: no queries at all');
  for (const { panel, expr } of expressions) {
    const names = promqlMetricNames(expr);
    if (!names.length) problems.push(`dashboard panel ${panel}: query reads no metric: ${expr}`);
    for (const name of names) {
      if (!allowed.has(baseMetricName(name, histograms)))
        problems.push(`dashboard panel ${panel}: reads ${name}, which is not in EXPECTED_METRICS`);
    }
  }
  return problems;
}

/** `redis.conf` directives as `name → value` (comments and blank lines dropped). */
export function redisDirectives(conf: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of conf.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [name, ...rest] = line.split(/\s+/);
    out.set(name!.toLowerCase(), rest.join(' '));
  }
  return out;
}

/**
 * Command-line overrides (`--name value`) in a redis-server argument list; they win over the
 * config file.
 */
export function redisArgOverrides(args: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith('--')) out.set(a.slice(2).toLowerCase(), args[i + 1] ?? '');
  }
  return out;
}

/** Problems with a Redis configuration that Sluice needs durable: AOF on, noeviction. */
export function checkRedisDurability(
  directives: ReadonlyMap<string, string>,
  overrides: ReadonlyMap<string, string>,
  where: string,
): string[] {
  const value = (name: string) => overrides.get(name) ?? directives.get(name);
  const problems: string[] = [];
  if (value('appendonly') !== 'yes')
    problems.push(`${where}: appendonly is ${value('appendonly') ?? 'unset (no)'}, expected yes`);
  if (value('maxmemory-policy') !== 'noeviction')
    problems.push(`${where}: maxmemory-policy is ${value('maxmemory-policy') ?? 'unset'}, expected noeviction`);
  return problems;
}

/** Docker Compose duration (`45s`, `1m30s`, `500ms`) in milliseconds; undefined when absent or unreadable. */
export function composeDurationMs(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001 };
  let total = 0;
  let rest = value.trim();
  if (!rest) return undefined;
  while (rest) {
    const match = /^(\d+(?:\.\d+)?)(ms|us|h|m|s)/.exec(rest);
    if (!match) return undefined;
    total += Number(match[1]) * units[match[2]!]!;
    rest = rest.slice(match[0].length);
  }
  return total;
}

/**
 * Compose's `${NAME:-default}`, `${NAME-default}`, `${NAME:?err}` and `${NAME}` as they
 * resolve with an empty environment (defaults taken, others empty). Applied to every string
 * in a parsed compose file.
 */
export function interpolateDefaults<T>(value: T): T {
  if (typeof value === 'string') {
    return value
      .replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*)|(:?\?)[^}]*)?\}/g, (_m, _name, dash, def) =>
        dash ? def : '',
      )
      .replace(/\$\$/g, '$') as T;
  }
  if (Array.isArray(value)) return value.map((v) => interpolateDefaults(v)) as T;
  if (isObj(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateDefaults(v)])) as T;
  return value;
}

/** A compose service's environment as a map, whichever of the two forms it uses. */
export function composeEnv(service: Obj): Record<string, string> {
  const env = service.environment;
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((e: string) => {
        const i = e.indexOf('=');
        return i < 0 ? [e, ''] : [e.slice(0, i), e.slice(i + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env ?? {}).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/** A compose service's command as an argument list. */
export function composeCommand(service: Obj): string[] {
  const c = service.command;
  if (Array.isArray(c)) return c.map(String);
  if (typeof c === 'string') return c.split(/\s+/).filter(Boolean);
  return [];
}

/** A compose volume entry in short (`src:dst:ro`) or long form, as `{ source, target }`. */
export function composeMount(entry: unknown): { source: string; target: string } | undefined {
  if (typeof entry === 'string') {
    const [source, target] = entry.split(':');
    return source && target ? { source, target } : undefined;
  }
  if (isObj(entry) && typeof entry.target === 'string')
    return { source: String(entry.source ?? ''), target: entry.target };
  return undefined;
}

/**
 * OpenTelemetry collector config: every pipeline names receivers, processors and exporters
 * (or connectors) that are defined, and every connector is used on both sides.
 */
export function checkCollectorConfig(config: Obj): string[] {
  const problems: string[] = [];
  const defined = (section: string) => new Set(Object.keys(config[section] ?? {}));
  const receivers = defined('receivers');
  const processors = defined('processors');
  const exporters = defined('exporters');
  const connectors = defined('connectors');
  const pipelines: Obj = config.service?.pipelines ?? {};
  if (!Object.keys(pipelines).length) problems.push('collector: no pipelines');
  const usedAsExporter = new Set<string>();
  const usedAsReceiver = new Set<string>();
  for (const [name, p] of Object.entries(pipelines)) {
    if (!(p.receivers ?? []).length || !(p.exporters ?? []).length)
      problems.push(`collector pipeline ${name}: needs receivers and exporters`);
    for (const r of p.receivers ?? []) {
      if (!receivers.has(r) && !connectors.has(r))
        problems.push(`collector pipeline ${name}: receiver ${r} is not defined`);
      usedAsReceiver.add(r);
    }
    for (const x of p.processors ?? [])
      if (!processors.has(x)) problems.push(`collector pipeline ${name}: processor ${x} is not defined`);
    for (const e of p.exporters ?? []) {
      if (!exporters.has(e) && !connectors.has(e))
        problems.push(`collector pipeline ${name}: exporter ${e} is not defined`);
      usedAsExporter.add(e);
    }
  }
  for (const c of connectors) {
    if (!usedAsExporter.has(c) || !usedAsReceiver.has(c))
      problems.push(`collector: connector ${c} must be an exporter of one pipeline and a receiver of another`);
  }
  return problems;
}
