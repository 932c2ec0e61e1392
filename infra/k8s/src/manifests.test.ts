/**
 * Parses every deployment file (infra/k8s, infra/compose, infra/docker) and checks it against
 * the code it deploys: entry files, routes the probes ask for, settings the config schema
 * knows, queue names, metric names, drain timeouts. No Docker engine or cluster is needed;
 * `kubectl kustomize` is used when kubectl is on PATH.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeSettings, loadConfig } from '@sluice/config';
import { ROUTE_QUEUE, TIER_QUEUES } from '@sluice/queues';
import {
  appContainers,
  baseMetricName,
  checkCollectorConfig,
  checkDashboard,
  checkGracePeriods,
  checkOneImage,
  checkProbePaths,
  checkRedisDurability,
  checkRequiredFields,
  checkScaledObjects,
  checkServices,
  composeCommand,
  composeDurationMs,
  composeEnv,
  composeMount,
  interpolateDefaults,
  listFiles,
  parseYamlDocuments,
  promqlMetricNames,
  redisArgOverrides,
  redisDirectives,
  rel,
  type GraceRule,
  type Manifest,
  type Obj,
  type ScalerRule,
} from './checks.ts';
import {
  EXPECTED_METRICS,
  PLANNED_ENV,
  WORKER_ENDPOINTS,
  WORKER_METRICS_PORT,
  WORKER_METRICS_PORT_ENV,
} from './contracts.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const K8S = join(ROOT, 'infra/k8s');
const COMPOSE_DIR = join(ROOT, 'infra/compose');
const read = (path: string) => readFileSync(path, 'utf8');

/** The one image every Sluice process runs from, in compose and Kubernetes alike. */
const IMAGE = 'sluice:dev';
/** Time an executor needs after the drain timeout to hand jobs back and exit (ms). */
const HAND_BACK_MARGIN_MS = 5_000;

const METRIC_NAMES = new Set(EXPECTED_METRICS.map((m) => m.name));
const HISTOGRAMS = new Set(EXPECTED_METRICS.filter((m) => m.type === 'histogram').map((m) => m.name));

// ---- source of truth from the code ----------------------------------------------------------

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return listFilesIncludingSrc(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
}

function listFilesIncludingSrc(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listFilesIncludingSrc(path));
    else out.push(path);
  }
  return out;
}

/** Paths registered with `app.get('/path', …)` (or post, put, …) in an app's sources. */
function registeredRoutes(dir: string): Set<string> {
  const routes = new Set<string>();
  for (const file of sourceFiles(dir)) {
    for (const m of read(file).matchAll(/\.(?:get|post|put|patch|delete|head|all)\(\s*['"`](\/[^'"`]*)['"`]/g))
      routes.add(m[1]!);
  }
  return routes;
}

/** The literal `'/path'` strings in a set of sources (how a plain node:http server names its routes). */
function quotedPaths(files: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const file of files) for (const m of read(file).matchAll(/['"`](\/[a-z][\w/-]*)['"`]/g)) out.add(m[1]!);
  return out;
}

const API_ROUTES = registeredRoutes(join(ROOT, 'apps/api/src'));
const SIM_ROUTES = registeredRoutes(join(ROOT, 'apps/sim/src'));
const SETTINGS = describeSettings();
const KNOWN_ENV = new Set(SETTINGS.map((s) => s.env).filter(Boolean));
const WORKER_SOURCES = [
  ...sourceFiles(join(ROOT, 'apps/classifier/src')),
  ...sourceFiles(join(ROOT, 'apps/executor/src')),
  ...readdirSync(join(ROOT, 'packages')).flatMap((p) => sourceFiles(join(ROOT, 'packages', p, 'src'))),
];

/** The longest graceful shutdown runProcess allows a process before exiting anyway (ms). */
function shutdownCapMs(app: string): number {
  const override = /shutdownTimeoutMs:\s*([\d_]+)/.exec(read(join(ROOT, `apps/${app}/src/index.ts`)))?.[1];
  const fallback = /shutdownTimeoutMs\s*\?\?\s*([\d_]+)/.exec(read(join(ROOT, 'packages/runtime/src/index.ts')))?.[1];
  const value = Number((override ?? fallback ?? '').replaceAll('_', ''));
  if (!(value > 0))
    throw new Error('Could not read the shutdown timeout from packages/runtime/src/index.ts; update this test');
  return value;
}

/** A variable must be a @sluice/config setting, a planned one, or a standard OTEL_/NODE_ one. */
function unknownEnv(keys: Iterable<string>): string[] {
  return [...keys].filter((k) => !KNOWN_ENV.has(k) && !PLANNED_ENV.includes(k) && !/^(OTEL_|NODE_OPTIONS$)/.test(k));
}

// ---- Kubernetes -----------------------------------------------------------------------------

function loadManifests(file: string): Manifest[] {
  return parseYamlDocuments(read(file), rel(ROOT, file)).map((doc) => ({ file: rel(ROOT, file), doc: doc as Obj }));
}

/** What a kustomization folder lists (resources recursively), with remove patches applied. */
function kustomize(dir: string): {
  manifests: Manifest[];
  files: string[];
  removed: Array<{ kind: string; name: string; path: string }>;
} {
  const k = loadManifests(join(dir, 'kustomization.yaml'))[0]!.doc;
  const manifests: Manifest[] = [];
  const files = [join(dir, 'kustomization.yaml')];
  for (const resource of k.resources ?? []) {
    const path = join(dir, resource);
    if (statSync(path).isDirectory()) {
      const sub = kustomize(path);
      manifests.push(...sub.manifests);
      files.push(...sub.files);
    } else {
      manifests.push(...loadManifests(path));
      files.push(path);
    }
  }
  const removed: Array<{ kind: string; name: string; path: string }> = [];
  for (const p of k.patches ?? []) {
    const ops = parseYamlDocuments(p.patch, 'patch')[0] as Obj[];
    for (const op of ops) {
      expect(op.op, 'only remove patches are modelled here').toBe('remove');
      const target = manifests.find((m) => m.doc.kind === p.target.kind && m.doc.metadata?.name === p.target.name);
      expect(target, `patch target ${p.target.kind}/${p.target.name}`).toBeDefined();
      const segments = String(op.path).split('/').slice(1);
      const parent = segments.slice(0, -1).reduce((o: Obj | undefined, s) => o?.[s], target!.doc);
      expect(
        parent && segments.at(-1)! in parent,
        `${op.path} exists in ${p.target.name} (kustomize fails otherwise)`,
      ).toBe(true);
      const copy = structuredClone(target!.doc);
      delete segments.slice(0, -1).reduce((o: Obj, s) => o[s], copy)[segments.at(-1)!];
      target!.doc = copy;
      removed.push({ kind: p.target.kind, name: p.target.name, path: op.path });
    }
  }
  for (const m of manifests)
    if (k.namespace && m.doc.kind !== 'Namespace')
      m.doc = { ...m.doc, metadata: { ...m.doc.metadata, namespace: k.namespace } };
  return { manifests, files, removed };
}

const ALL_K8S_FILES = listFiles(K8S, ['.yaml', '.yml']);
const BASE = kustomize(join(K8S, 'base'));
const FULL = kustomize(K8S);
const SECRET_TEMPLATE = loadManifests(join(K8S, 'secret.template.yaml'));
const find = (manifests: readonly Manifest[], kind: string, name: string) =>
  manifests.find((m) => m.doc.kind === kind && m.doc.metadata?.name === name)?.doc;
const CONFIG_MAP: Record<string, string> = find(BASE.manifests, 'ConfigMap', 'sluice-config')?.data ?? {};
const SECRET_DATA: Record<string, string> = SECRET_TEMPLATE[0]?.doc.stringData ?? {};
const K8S_CONFIG = loadConfig({ env: { ...CONFIG_MAP, ...SECRET_DATA } });

function appPaths(): Record<string, ReadonlySet<string>> {
  const workers = quotedPaths(WORKER_SOURCES);
  return { api: API_ROUTES, sim: SIM_ROUTES, classifier: workers, executor: workers };
}

function graceRules(drainMs: number): GraceRule[] {
  const api = find(BASE.manifests, 'Deployment', 'api');
  const preStop = api?.spec.template.spec.containers[0].lifecycle?.preStop;
  const preStopMs =
    1000 * Number(preStop?.sleep?.seconds ?? (preStop?.exec?.command?.[0] === 'sleep' ? preStop.exec.command[1] : 0));
  return [
    ...(['classifier', 'executor'] as const).map((w) => ({
      workload: w,
      minimumMs: Math.max(drainMs + HAND_BACK_MARGIN_MS, shutdownCapMs(w)),
      because: `drain ${drainMs} ms + hand-back ${HAND_BACK_MARGIN_MS} ms, and the process's own ${shutdownCapMs(w)} ms shutdown cap`,
    })),
    {
      workload: 'api',
      minimumMs: preStopMs + shutdownCapMs('api'),
      because: `preStop ${preStopMs} ms + the ${shutdownCapMs('api')} ms shutdown cap`,
    },
  ];
}

const SCALER_RULES: ScalerRule[] = [
  { target: 'classifier', queues: [ROUTE_QUEUE], maxThreshold: K8S_CONFIG.classifier.concurrency },
  { target: 'executor', queues: Object.values(TIER_QUEUES), maxThreshold: K8S_CONFIG.executor.concurrency },
];

describe('infra/k8s', () => {
  it('parses; every object has apiVersion, kind, metadata.name; workloads have images, resources and probes', () => {
    const every = ALL_K8S_FILES.filter((f) => !f.endsWith('kustomization.yaml')).flatMap(loadManifests);
    expect(every.length).toBeGreaterThan(10);
    expect(checkRequiredFields(every)).toEqual([]);
    expect(checkRequiredFields(FULL.manifests)).toEqual([]);
  });

  it('lists every manifest file in a kustomization (the Secret template aside)', () => {
    const listed = new Set(FULL.files.map((f) => resolve(f)));
    const orphans = ALL_K8S_FILES.map((f) => resolve(f)).filter(
      (f) => !listed.has(f) && !f.endsWith('secret.template.yaml'),
    );
    expect(orphans.map((f) => rel(ROOT, f))).toEqual([]);
    const kinds = FULL.manifests.map((m) => `${m.doc.kind}/${m.doc.metadata.name}`);
    for (const needed of [
      'Deployment/api',
      'Service/api',
      'Deployment/classifier',
      'Deployment/executor',
      'Deployment/sim',
      'Service/sim',
      'StatefulSet/redis',
      'ConfigMap/sluice-config',
      'ScaledObject/classifier',
      'ScaledObject/executor',
    ]) {
      expect(kinds).toContain(needed);
    }
    expect(
      kinds.some((k) => k.startsWith('Secret/')),
      'no Secret with values is applied by the kustomization',
    ).toBe(false);
  });

  it('runs every Sluice process from one image and an entry file that exists', () => {
    const containers = appContainers(FULL.manifests);
    expect(containers.map((c) => c.app).sort()).toEqual(['api', 'classifier', 'executor', 'sim']);
    expect(checkOneImage(containers, IMAGE)).toEqual([]);
    for (const c of containers) expect(existsSync(join(ROOT, c.entry)), c.entry).toBe(true);
  });

  it('probes only paths the apps register', () => {
    expect(API_ROUTES).toContain('/healthz');
    expect(API_ROUTES).toContain('/readyz');
    expect(SIM_ROUTES).toContain('/health');
    const containers = appContainers(FULL.manifests);
    expect(checkProbePaths(containers, appPaths())).toEqual([]);
    const api = containers.find((c) => c.app === 'api')!.container;
    expect(api.livenessProbe.httpGet.path).toBe('/healthz');
    expect(api.readinessProbe.httpGet.path).toBe('/readyz');
    expect(api.ports.find((p: Obj) => p.name === api.readinessProbe.httpGet.port).containerPort).toBe(
      K8S_CONFIG.api.port,
    );
  });

  it('gives workers the metrics port SLUICE_METRICS_PORT names, and probes it', () => {
    for (const c of appContainers(FULL.manifests).filter((x) => x.app === 'classifier' || x.app === 'executor')) {
      const env = Object.fromEntries((c.container.env ?? []).map((e: Obj) => [e.name, e.value]));
      expect(Number(env[WORKER_METRICS_PORT_ENV]), c.workload).toBe(WORKER_METRICS_PORT);
      expect(c.container.ports.find((p: Obj) => p.name === 'metrics')?.containerPort, c.workload).toBe(
        WORKER_METRICS_PORT,
      );
      for (const probe of ['livenessProbe', 'readinessProbe'] as const)
        expect(c.container[probe].httpGet.port, `${c.workload} ${probe}`).toBe('metrics');
    }
  });

  it('workers serve /metrics, /healthz and /readyz on SLUICE_METRICS_PORT', () => {
    const served = quotedPaths(WORKER_SOURCES);
    expect(WORKER_ENDPOINTS.filter((p) => !served.has(p))).toEqual([]);
  });

  it('has Services that select pods and target ports they declare', () => {
    expect(checkServices(FULL.manifests)).toEqual([]);
  });

  it('sets only known settings, which load, and keeps the Secret template free of secrets', () => {
    expect(unknownEnv(Object.keys(CONFIG_MAP))).toEqual([]);
    expect(unknownEnv(Object.keys(SECRET_DATA))).toEqual([]);
    for (const c of appContainers(FULL.manifests))
      expect(unknownEnv((c.container.env ?? []).map((e: Obj) => e.name)), c.workload).toEqual([]);
    expect(K8S_CONFIG.redis.url).toBe('redis://redis:6379');
    expect(K8S_CONFIG.sim.url).toBe('http://sim:4010/v1');
    expect(
      Object.values(SECRET_TEMPLATE[0]!.doc.stringData).filter((v) => v !== '' && v !== 'redis://redis:6379'),
    ).toEqual([]);
    // Every app reads the same ConfigMap and Secret the template defines.
    for (const c of appContainers(FULL.manifests).filter((x) => x.app !== 'sim')) {
      const refs = (c.container.envFrom ?? []).map((e: Obj) => e.configMapRef?.name ?? e.secretRef?.name);
      expect(refs, c.workload).toEqual(['sluice-config', SECRET_TEMPLATE[0]!.doc.metadata.name]);
    }
  });

  it('lets executors and classifiers drain before the kubelet kills them', () => {
    const drainMs = K8S_CONFIG.executor.drainTimeoutMs;
    expect(drainMs).toBe(20_000);
    expect(checkGracePeriods(FULL.manifests, graceRules(drainMs))).toEqual([]);
    const api = find(FULL.manifests, 'Deployment', 'api')!.spec.template.spec.containers[0];
    expect(api.lifecycle.preStop.exec.command[0]).toBe('sleep');
  });

  it('runs Redis 8 with infra/redis/redis.conf (AOF, noeviction) on a PersistentVolume, maxmemory under the limit', () => {
    const sts = find(FULL.manifests, 'StatefulSet', 'redis')!;
    const container = sts.spec.template.spec.containers[0];
    expect(container.image).toMatch(/^redis:8(\.|$)/);
    const conf = find(FULL.manifests, 'ConfigMap', 'redis-config')!.data['redis.conf'];
    expect([...redisDirectives(conf)]).toEqual([...redisDirectives(read(join(ROOT, 'infra/redis/redis.conf')))]);
    const args: string[] = container.args;
    expect(args[0]).toBe('redis-server');
    const confMount = container.volumeMounts.find((v: Obj) => args[1]!.startsWith(`${v.mountPath}/`));
    expect(sts.spec.template.spec.volumes.find((v: Obj) => v.name === confMount.name).configMap.name).toBe(
      'redis-config',
    );
    const overrides = redisArgOverrides(args);
    expect(checkRedisDurability(redisDirectives(conf), overrides, 'k8s redis')).toEqual([]);
    const dataDir = overrides.get('dir') ?? '/data';
    const dataMount = container.volumeMounts.find((v: Obj) => v.mountPath === dataDir);
    expect(sts.spec.volumeClaimTemplates.map((t: Obj) => t.metadata.name)).toContain(dataMount.name);
    const toBytes = (v: string) =>
      Number(/^\d+/.exec(v)![0]) *
      ({ mb: 2 ** 20, gb: 2 ** 30, Mi: 2 ** 20, Gi: 2 ** 30 } as Record<string, number>)[/[a-zA-Z]+$/.exec(v)![0]]!;
    expect(toBytes(overrides.get('maxmemory')!)).toBeLessThan(toBytes(container.resources.limits.memory));
  });

  it('scales classifiers on {route} and executors on every tier queue through KEDA, prioritized jobs included', () => {
    expect(checkScaledObjects(FULL.manifests, SCALER_RULES, METRIC_NAMES)).toEqual([]);
    // KEDA's HPA owns these replica counts: the full kustomization drops them, base keeps them.
    for (const rule of SCALER_RULES) {
      expect(find(FULL.manifests, 'Deployment', rule.target)!.spec.replicas, rule.target).toBeUndefined();
      expect(FULL.removed).toContainEqual({ kind: 'Deployment', name: rule.target, path: '/spec/replicas' });
    }
    expect(find(BASE.manifests, 'Deployment', 'executor')!.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(find(BASE.manifests, 'Deployment', 'classifier')!.spec.replicas).toBeGreaterThanOrEqual(1);
    expect(BASE.manifests.some((m) => m.doc.kind === 'ScaledObject')).toBe(false);
  });

  it('points the PodMonitor at ports the API and workers declare', () => {
    const pm = find(FULL.manifests, 'PodMonitor', 'sluice')!;
    const ports = pm.spec.podMetricsEndpoints.map((e: Obj) => e.port);
    const selected = appContainers(FULL.manifests).filter((c) =>
      pm.spec.selector.matchExpressions[0].values.includes(c.app),
    );
    expect(selected.map((c) => c.app).sort()).toEqual(['api', 'classifier', 'executor']);
    for (const c of selected)
      expect(
        c.container.ports.some((p: Obj) => ports.includes(p.name)),
        c.app,
      ).toBe(true);
  });

  const kubectl = (() => {
    try {
      execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  it.skipIf(!kubectl)('renders with kubectl kustomize to what this test models', () => {
    for (const [dir, modelled] of [
      [K8S, FULL],
      [join(K8S, 'base'), BASE],
    ] as const) {
      const rendered = parseYamlDocuments(execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' }), dir).map(
        (doc) => ({ file: rel(ROOT, dir), doc: doc as Obj }),
      );
      const ids = (ms: readonly Manifest[]) => ms.map((m) => `${m.doc.kind}/${m.doc.metadata.name}`).sort();
      expect(ids(rendered)).toEqual(ids(modelled.manifests));
      expect(checkRequiredFields(rendered)).toEqual([]);
      for (const m of rendered)
        if (m.doc.kind !== 'Namespace') expect(m.doc.metadata.namespace, ids([m])[0]).toBe('sluice');
      if (dir === K8S)
        for (const rule of SCALER_RULES)
          expect(find(rendered, 'Deployment', rule.target)!.spec.replicas).toBeUndefined();
    }
  });
});

// ---- Docker image ---------------------------------------------------------------------------

describe('infra/docker', () => {
  const dockerfile = read(join(ROOT, 'infra/docker/Dockerfile'));
  it('builds one non-root image on node:20-bookworm-slim with the locked dependencies', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    expect(dockerfile).toMatch(/npm i -g pnpm@10\b/);
    expect(dockerfile).toMatch(/pnpm install --frozen-lockfile/);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "--import", "tsx"\]$/m);
    const user = /^USER (\d+)(?::(\d+))?$/m.exec(dockerfile);
    expect(Number(user?.[1])).toBeGreaterThan(0);
    for (const c of appContainers(FULL.manifests))
      expect(c.pod.securityContext.runAsUser, c.workload).toBe(Number(user![1]));
    const ignore = read(join(ROOT, '.dockerignore'));
    expect(ignore).toMatch(/^\*\*\/node_modules$/m);
    expect(ignore).toMatch(/^infra\/k8s\/secret\.yaml$/m);
  });
});

// ---- Docker Compose -------------------------------------------------------------------------

const COMPOSE: Obj = interpolateDefaults(
  parseYamlDocuments(read(join(COMPOSE_DIR, 'compose.yaml')), 'compose.yaml')[0] as Obj,
);
const SERVICES: Obj = COMPOSE.services;
const APP_SERVICES = Object.entries(SERVICES).filter(([, s]) => composeCommand(s).some((a) => a.startsWith('apps/')));
const appOf = (service: Obj) =>
  composeCommand(service)
    .find((a) => a.startsWith('apps/'))!
    .split('/')[1]!;
const composeConfig = (name: string) => loadConfig({ env: composeEnv(SERVICES[name]) });
const fromCompose = (path: string) => resolve(COMPOSE_DIR, path);

describe('infra/compose', () => {
  it('has Redis, API, classifier, executor, simulator, collector, Prometheus and Grafana', () => {
    for (const name of ['redis', 'api', 'classifier', 'executor', 'sim', 'otel-collector', 'prometheus', 'grafana'])
      expect(Object.keys(SERVICES)).toContain(name);
    expect(APP_SERVICES.map(([, s]) => appOf(s)).sort()).toEqual(['api', 'classifier', 'executor', 'sim']);
  });

  it('builds every Sluice service from infra/docker/Dockerfile as one image, the same one Kubernetes runs', () => {
    for (const [name, s] of APP_SERVICES) {
      expect(s.image, name).toBe(IMAGE);
      expect(resolve(COMPOSE_DIR, s.build.context), name).toBe(resolve(ROOT));
      expect(existsSync(join(resolve(COMPOSE_DIR, s.build.context), s.build.dockerfile)), name).toBe(true);
      expect(
        existsSync(
          join(
            ROOT,
            composeCommand(s).find((a) => a.startsWith('apps/'))!,
          ),
        ),
        name,
      ).toBe(true);
    }
  });

  it('runs at least two executors and gives workers time to drain on stop', () => {
    expect(SERVICES.executor.deploy.replicas).toBeGreaterThanOrEqual(2);
    const drainMs = composeConfig('executor').executor.drainTimeoutMs;
    for (const name of ['executor', 'classifier']) {
      const grace = composeDurationMs(SERVICES[name].stop_grace_period);
      expect(grace, `${name} stop_grace_period`).toBeGreaterThan(
        Math.max(drainMs + HAND_BACK_MARGIN_MS, shutdownCapMs(name)),
      );
    }
    expect(composeDurationMs(SERVICES.api.stop_grace_period)).toBeGreaterThan(shutdownCapMs('api'));
  });

  it('runs Redis 8 with infra/redis/redis.conf (AOF, noeviction) and its data on a volume', () => {
    const redis = SERVICES.redis;
    expect(redis.image).toMatch(/^redis:8(\.|$)/);
    const command = composeCommand(redis);
    expect(command[0]).toBe('redis-server');
    const mounts = (redis.volumes ?? []).map(composeMount);
    const conf = mounts.find((m: Obj) => m.target === command[1]);
    expect(fromCompose(conf.source)).toBe(join(ROOT, 'infra/redis/redis.conf'));
    expect(
      checkRedisDurability(
        redisDirectives(read(fromCompose(conf.source))),
        redisArgOverrides(command),
        'compose redis',
      ),
    ).toEqual([]);
    const data = mounts.find((m: Obj) => m.target === '/data');
    expect(Object.keys(COMPOSE.volumes)).toContain(data.source);
    expect(redis.healthcheck.test.join(' ')).toContain('redis-cli ping');
  });

  it('health-checks paths the apps register, and waits for Redis before starting apps', () => {
    const paths = appPaths();
    for (const [name, s] of APP_SERVICES) {
      const check = (s.healthcheck?.test ?? []).join(' ');
      for (const m of check.matchAll(/http:\/\/[^/'"]+(\/[\w/-]*)/g))
        expect(paths[appOf(s)], `${name} healthcheck ${m[1]}`).toContain(m[1]);
    }
    expect(SERVICES.api.healthcheck.test.join(' ')).toContain(`:${composeConfig('api').api.port}/readyz`);
    for (const name of ['api', 'classifier', 'executor'])
      expect(SERVICES[name].depends_on.redis.condition, name).toBe('service_healthy');
  });

  it('sets only known settings, which load', () => {
    for (const [name, s] of APP_SERVICES) {
      expect(unknownEnv(Object.keys(composeEnv(s))), name).toEqual([]);
      const config = composeConfig(name);
      expect(config.redis.url, name).toBe('redis://redis:6379');
      expect(config.sim.url, name).toBe(
        `http://sim:${composeCommand(SERVICES.sim)[composeCommand(SERVICES.sim).indexOf('--port') + 1]}/v1`,
      );
    }
  });

  it('bind-mounts files that exist', () => {
    for (const [name, s] of Object.entries(SERVICES)) {
      for (const m of (s.volumes ?? []).map(composeMount)) {
        if (m && /^\.{1,2}\//.test(m.source))
          expect(existsSync(fromCompose(m.source)), `${name}: ${m.source}`).toBe(true);
      }
    }
  });

  it('scrapes the API on SLUICE_API_PORT and the workers on SLUICE_METRICS_PORT', () => {
    const prom = parseYamlDocuments(read(fromCompose('prometheus.yaml')), 'prometheus.yaml')[0] as Obj;
    const target = (service: string) => {
      const job = prom.scrape_configs.find((j: Obj) => j.dns_sd_configs?.some((d: Obj) => d.names.includes(service)));
      expect(job, `scrape job for ${service}`).toBeDefined();
      expect(job.metrics_path ?? '/metrics').toBe('/metrics');
      return job.dns_sd_configs[0].port;
    };
    expect(API_ROUTES).toContain('/metrics');
    expect(target('api')).toBe(composeConfig('api').api.port);
    for (const name of ['classifier', 'executor']) {
      expect(Number(composeEnv(SERVICES[name])[WORKER_METRICS_PORT_ENV]), name).toBe(WORKER_METRICS_PORT);
      expect(target(name), name).toBe(WORKER_METRICS_PORT);
    }
    const collectorExporter = (parseYamlDocuments(read(fromCompose('otel-collector.yaml')), 'otel')[0] as Obj).exporters
      .prometheus.endpoint;
    const collectorJob = prom.scrape_configs.find((j: Obj) => j.job_name === 'otel-collector');
    expect(collectorJob.static_configs[0].targets[0]).toBe(`otel-collector:${collectorExporter.split(':').at(-1)}`);
  });

  it('wires a collector with well-formed pipelines to Prometheus and debug, on the port the apps send to', () => {
    const collector = parseYamlDocuments(read(fromCompose('otel-collector.yaml')), 'otel-collector.yaml')[0] as Obj;
    expect(checkCollectorConfig(collector)).toEqual([]);
    const exporters = Object.values(collector.service.pipelines).flatMap((p) => (p as Obj).exporters);
    expect(exporters).toEqual(expect.arrayContaining(['prometheus', 'debug']));
    const mount = SERVICES['otel-collector'].volumes
      .map(composeMount)
      .find((m: Obj) => m.source === './otel-collector.yaml');
    expect(SERVICES['otel-collector'].command.join(' ')).toContain(`--config=${mount.target}`);
    for (const [name, s] of APP_SERVICES.filter(([n]) => n !== 'sim')) {
      const env = composeEnv(s);
      expect(env.OTEL_EXPORTER_OTLP_PROTOCOL, name).toBe('http/protobuf');
      expect(String(env.OTEL_EXPORTER_OTLP_ENDPOINT).split(':').at(-1), name).toBe(
        collector.receivers.otlp.protocols.http.endpoint.split(':').at(-1),
      );
    }
  });

  it('provisions Grafana with the Prometheus datasource and a dashboard that reads only EXPECTED_METRICS', () => {
    const grafana = SERVICES.grafana;
    const mounts = grafana.volumes.map(composeMount);
    const provisioning = mounts.find((m: Obj) => m.target === '/etc/grafana/provisioning');
    expect(provisioning).toBeDefined();
    const provDir = fromCompose(provisioning.source);
    const datasource = (parseYamlDocuments(read(join(provDir, 'datasources/prometheus.yaml')), 'datasource')[0] as Obj)
      .datasources[0];
    expect(datasource.type).toBe('prometheus');
    expect(datasource.url).toBe(`http://prometheus:${/:(\d+)$/.exec(SERVICES.prometheus.ports[0])![1]}`);
    const provider = (parseYamlDocuments(read(join(provDir, 'dashboards/sluice.yaml')), 'provider')[0] as Obj)
      .providers[0];
    const dashMount = mounts.find((m: Obj) => m.target === provider.options.path);
    expect(dashMount, `a mount at the provider path ${provider.options.path}`).toBeDefined();
    const dashFiles = listFiles(fromCompose(dashMount.source), ['.json']);
    expect(dashFiles.length).toBeGreaterThan(0);
    const home = grafana.environment.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH;
    expect(existsSync(join(fromCompose(dashMount.source), home.slice(dashMount.target.length)))).toBe(true);
    for (const file of dashFiles) {
      const dashboard = JSON.parse(read(file)) as Obj;
      expect(checkDashboard(dashboard, METRIC_NAMES, HISTOGRAMS, datasource.uid)).toEqual([]);
      const exprs = JSON.stringify(dashboard);
      // cost saved, cache hit ratio, tier mix, latency percentiles, queue depth, 429s
      for (const needed of [
        'sluice_cost_usd_total{kind=\\"counterfactual\\"}',
        'sluice_cache_lookups_total{result=\\"hit\\"}',
        'sluice_routing_decisions_total',
        'histogram_quantile(0.99, sum by (le) (rate(sluice_http_request_duration_seconds_bucket',
        'sluice_queue_jobs',
        'sluice_upstream_429_total',
        'status=\\"429\\"',
      ]) {
        expect(exprs, needed).toContain(needed);
      }
    }
  });
});

// ---- contracts with the code and the docs ---------------------------------------------------

describe('metric and endpoint contracts', () => {
  const sources = [
    ...sourceFiles(join(ROOT, 'apps')),
    ...readdirSync(join(ROOT, 'packages')).flatMap((p) => sourceFiles(join(ROOT, 'packages', p, 'src'))),
  ];
  const code = sources.map(read).join('\n');

  it('finds every metric marked emitted registered in the code, with the labels the dashboard uses', () => {
    for (const metric of EXPECTED_METRICS.filter((m) => m.status === 'emitted')) {
      const at = code.indexOf(`name: '${metric.name}'`);
      expect(at, `${metric.name} registered`).toBeGreaterThanOrEqual(0);
      const labels = /labelNames:\s*\[([^\]]*)\]/.exec(code.slice(at, at + 600))?.[1] ?? '';
      for (const label of metric.labels) expect(labels, `${metric.name} label ${label}`).toContain(`'${label}'`);
    }
  });

  it('names every expected metric, label and worker endpoint in infra/README.md', () => {
    const readme = read(join(ROOT, 'infra/README.md'));
    for (const metric of EXPECTED_METRICS) {
      expect(readme, metric.name).toContain(`\`${metric.name}\``);
      for (const label of metric.labels)
        expect(readme, `${metric.name} ${label}`).toMatch(new RegExp(`${metric.name}.*\\b${label}\\b`));
    }
    for (const path of WORKER_ENDPOINTS) expect(readme).toContain(`\`${path}\``);
    expect(readme).toContain(WORKER_METRICS_PORT_ENV);
  });
});

// ---- the checks themselves fail on broken input ---------------------------------------------

describe('the checks catch broken files', () => {
  const api = () => structuredClone(find(FULL.manifests, 'Deployment', 'api')!);
  const one = (doc: Obj): Manifest[] => [{ file: 'x.yaml', doc }];

  it('missing fields, resources, probes, labels, undeclared probe ports', () => {
    const broken = api();
    delete broken.metadata.name;
    const container = broken.spec.template.spec.containers[0];
    delete container.image;
    delete container.resources.requests.cpu;
    delete container.readinessProbe;
    container.livenessProbe.httpGet.port = 'admin';
    broken.spec.template.metadata.labels['app.kubernetes.io/part-of'] = 'other';
    const problems = checkRequiredFields(one(broken)).join('\n');
    for (const part of [
      'no metadata.name',
      'no image',
      'no resources.requests.cpu',
      'no readinessProbe',
      'uses port admin',
      'part-of',
    ])
      expect(problems).toContain(part);
  });

  it('a second image, a probe path the app does not serve', () => {
    const broken = api();
    broken.spec.template.spec.containers[0].image = 'sluice-api:dev';
    broken.spec.template.spec.containers[0].readinessProbe.httpGet.path = '/ready';
    const containers = appContainers(one(broken));
    expect(checkOneImage(containers, IMAGE)).toHaveLength(1);
    expect(checkProbePaths(containers, appPaths()).join()).toContain('/ready, which api does not serve');
  });

  it('a Service selecting nothing', () => {
    const service = structuredClone(find(FULL.manifests, 'Service', 'api')!);
    service.spec.selector = { 'app.kubernetes.io/name': 'apx' };
    expect(checkServices([...FULL.manifests.filter((m) => m.doc.kind !== 'Service'), ...one(service)])).toHaveLength(1);
  });

  it('a grace period shorter than the drain', () => {
    const broken = FULL.manifests.map((m) =>
      m.doc.metadata?.name === 'executor' && m.doc.kind === 'Deployment' ? { ...m, doc: structuredClone(m.doc) } : m,
    );
    find(broken, 'Deployment', 'executor')!.spec.template.spec.terminationGracePeriodSeconds = 20;
    expect(checkGracePeriods(broken, graceRules(20_000)).join()).toContain(
      'Deployment/executor: terminationGracePeriodSeconds 20 s',
    );
  });

  it('ScaledObjects that target a missing Deployment, scale to zero, use the Redis list scaler, or miss a tier queue', () => {
    const manifests = structuredClone(FULL.manifests);
    const executor = find(manifests, 'ScaledObject', 'executor')!;
    executor.spec.triggers.pop();
    executor.spec.triggers[0].metadata.query = executor.spec.triggers[0].metadata.query.replace(
      'waiting|active',
      'active',
    );
    const classifier = find(manifests, 'ScaledObject', 'classifier')!;
    classifier.spec.minReplicaCount = 0;
    classifier.spec.scaleTargetRef.name = 'classifiers';
    classifier.spec.triggers = [{ type: 'redis', metadata: { listName: 'sluice:q:{route}:wait', listLength: '10' } }];
    const problems = checkScaledObjects(manifests, SCALER_RULES, METRIC_NAMES).join('\n');
    for (const part of [
      'scaleTargetRef classifiers names no Deployment',
      'minReplicaCount 0',
      'type redis',
      'does not count state="waiting"',
      `expected ${Object.values(TIER_QUEUES).sort().join(', ')}`,
      'Deployment/classifier: 0 ScaledObjects',
    ]) {
      expect(problems).toContain(part);
    }
  });

  it('reads metric names out of PromQL, and refuses a dashboard reading an unlisted one', () => {
    expect(
      promqlMetricNames(
        'histogram_quantile(0.99, sum by (le, route) (rate(sluice_http_request_duration_seconds_bucket{route="/x"}[5m])))',
      ),
    ).toEqual(['sluice_http_request_duration_seconds_bucket']);
    expect(
      promqlMetricNames(
        '1 - sum(increase(a_total{kind="actual"}[$__range])) / sum without (x) (b_total) * on (y) group_left c',
      ),
    ).toEqual(['a_total', 'b_total', 'c']);
    expect(promqlMetricNames('max by (queue, state) (sluice_queue_jobs{state=~"waiting|active"}) offset 5m')).toEqual([
      'sluice_queue_jobs',
    ]);
    expect(baseMetricName('sluice_http_request_duration_seconds_bucket', HISTOGRAMS)).toBe(
      'sluice_http_request_duration_seconds',
    );
    expect(baseMetricName('sluice_queue_jobs_count', HISTOGRAMS)).toBe('sluice_queue_jobs_count');
    const dashboard = {
      uid: 'x',
      title: 'x',
      panels: [
        {
          id: 1,
          title: 'p',
          type: 'timeseries',
          gridPos: {},
          datasource: { uid: 'other' },
          targets: [{ expr: 'rate(http_requests_total[5m])' }],
        },
      ],
    };
    const problems = checkDashboard(dashboard, METRIC_NAMES, HISTOGRAMS, 'sluice-prometheus').join('\n');
    expect(problems).toContain('reads http_requests_total, which is not in EXPECTED_METRICS');
    expect(problems).toContain('is not uid sluice-prometheus');
  });

  it('Redis without AOF, or with an evicting policy', () => {
    const conf = redisDirectives(read(join(ROOT, 'infra/redis/redis.conf')));
    expect(
      checkRedisDurability(conf, redisArgOverrides(['redis-server', 'x.conf', '--appendonly', 'no']), 'r'),
    ).toEqual(['r: appendonly is no, expected yes']);
    expect(
      checkRedisDurability(
        new Map([
          ['appendonly', 'yes'],
          ['maxmemory-policy', 'allkeys-lru'],
        ]),
        new Map(),
        'r',
      ),
    ).toEqual(['r: maxmemory-policy is allkeys-lru, expected noeviction']);
  });

  it('a collector pipeline naming an undefined exporter, compose durations and defaults', () => {
    const collector = parseYamlDocuments(read(fromCompose('otel-collector.yaml')), 'otel')[0] as Obj;
    collector.service.pipelines.traces.exporters.push('jaeger');
    expect(checkCollectorConfig(collector)).toEqual(['collector pipeline traces: exporter jaeger is not defined']);
    expect(composeDurationMs('1m30s')).toBe(90_000);
    expect(composeDurationMs('45')).toBeUndefined();
    expect(interpolateDefaults({ a: ['${X:-sluice:dev}', '${Y}', 'v${Z-1}'] })).toEqual({
      a: ['sluice:dev', '', 'v1'],
    });
  });
});
