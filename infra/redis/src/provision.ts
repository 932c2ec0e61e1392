import { sluiceCacheDir } from '@sluice/config';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** How to launch a Redis 8 binary: the argv prefix before the server's own arguments. */
export interface RedisBinary {
  /** argv prefix to start `redis-server` (may go through the bundled dynamic loader). */
  server: string[];
  /** argv prefix to start `redis-cli`. */
  cli: string[];
  /** The version the binary reports, e.g. `8.0.2`. */
  version: string;
  /** Where it came from. */
  source: 'path' | 'provisioned';
}

/** Options for {@link findOrProvisionRedis}. */
export interface ProvisionOptions {
  /**
   * Folder outside the repository where a provisioned Redis is unpacked and reused.
   * @defaultValue `$XDG_CACHE_HOME/sluice/redis-8` or `~/.cache/sluice/redis-8`
   */
  cacheDir?: string;
  /** Progress messages (never secrets). @defaultValue no-op */
  log?: (message: string) => void;
}

/** Raised when no Redis ≥ 8 can be found or provisioned; the message says what to install. */
export class RedisUnavailableError extends Error {
  override name = 'RedisUnavailableError' as const;
  readonly code = 'SLUICE_ERR_REDIS_UNAVAILABLE';
}

/** Debian 13 packages that `redis-server` 8.0 and `redis-cli` load (ARCHITECTURE.md, Redis 8 provisioning). */
const PACKAGES = [
  'redis-server',
  'redis-tools',
  'libc6',
  'libssl3t64',
  'libjemalloc2',
  'liblzf1',
  'libstdc++6',
  'libatomic1',
  'libsystemd0',
  'libcap2',
  'libgcrypt20',
  'liblz4-1',
  'liblzma5',
  'libzstd1',
  'libgpg-error0',
  'libgcc-s1',
];

/** Default cache folder for a provisioned Redis (a provisioning entry point reads the environment). */
export function defaultCacheDir(): string {
  return join(sluiceCacheDir(process.env), 'redis-8');
}

function majorOf(version: string): number {
  return Number.parseInt(version.split('.')[0] ?? '0', 10);
}

async function versionOf(argv: string[]): Promise<string | undefined> {
  try {
    const [cmd, ...args] = argv;
    const { stdout } = await run(cmd!, [...args, '--version'], { timeout: 10_000 });
    return /v=(\d+\.\d+\.\d+)/.exec(stdout)?.[1];
  } catch {
    return undefined;
  }
}

function loaderArgv(root: string, binary: string): string[] {
  const lib = join(root, 'usr/lib/x86_64-linux-gnu');
  return [join(lib, 'ld-linux-x86-64.so.2'), '--library-path', lib, join(root, 'usr/bin', binary)];
}

/** The Debian mirror the system's own apt sources use, so provisioning works behind a mirror. */
function systemDebianMirror(): string {
  const candidates: string[] = [];
  const read = (file: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      return '';
    }
  };
  const dir = '/etc/apt/sources.list.d';
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.sources') || f.endsWith('.list')) : [];
  for (const text of [read('/etc/apt/sources.list'), ...files.map((f) => read(join(dir, f)))]) {
    for (const match of text.matchAll(/^(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s+)?)(\S+)/gm)) {
      const uri = match[1]!;
      if (/debian\/?$/.test(uri) && !uri.includes('security')) candidates.push(uri);
    }
  }
  return candidates[0] ?? 'http://deb.debian.org/debian';
}

/**
 * Download Redis 8 and its libraries from Debian 13 into `root` with a private apt
 * configuration (nothing on the system changes), then unpack them with `dpkg -x`.
 */
async function provision(root: string, log: (m: string) => void): Promise<void> {
  const staging = `${root}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  const aptDir = join(staging, 'apt');
  const debs = join(staging, 'debs');
  const unpacked = join(staging, 'root');
  for (const d of [join(aptDir, 'lists/partial'), join(aptDir, 'cache/archives/partial'), debs, unpacked]) {
    mkdirSync(d, { recursive: true });
  }
  const mirror = systemDebianMirror();
  const sources = join(aptDir, 'sources.list');
  writeFileSync(sources, `deb ${mirror} trixie main\n`);
  const aptOpts = [
    '-o',
    `Dir::Etc::SourceList=${sources}`,
    '-o',
    'Dir::Etc::SourceParts=/dev/null',
    '-o',
    `Dir::State::Lists=${join(aptDir, 'lists')}`,
    '-o',
    `Dir::Cache=${join(aptDir, 'cache')}`,
    // apt drops privileges to `_apt`, which cannot write into a root-owned temp folder.
    '-o',
    'APT::Sandbox::User=root',
  ];
  log(`provisioning Redis 8 from Debian 13 (${mirror}) into ${root}`);
  try {
    await run('apt-get', [...aptOpts, 'update'], { timeout: 180_000 });
    await run('apt-get', [...aptOpts, 'download', ...PACKAGES], { cwd: debs, timeout: 300_000 });
    for (const deb of readdirSync(debs).filter((f) => f.endsWith('.deb'))) {
      await run('dpkg', ['-x', join(debs, deb), unpacked], { timeout: 60_000 });
    }
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw new RedisUnavailableError(
      'No Redis >= 8 found and provisioning it from Debian 13 packages failed. Install Redis 8 ' +
        '(redis-server with vector sets) on PATH, or set REDIS_URL to a Redis 8 server. ' +
        `Cause: ${(error as Error).message.split('\n')[0]}`,
      { cause: error },
    );
  }
  rmSync(root, { recursive: true, force: true });
  // Atomic swap so a concurrent provisioning run never sees a half-unpacked tree.
  renameSync(unpacked, root);
  rmSync(staging, { recursive: true, force: true });
}

/**
 * Find a Redis ≥ 8 binary: `redis-server` on PATH if it is 8 or newer, else the copy
 * provisioned earlier into the cache folder, else provision one now (ARCHITECTURE.md, Redis 8 provisioning).
 *
 * @throws {@link RedisUnavailableError} with what to install when none can be had.
 */
export async function findOrProvisionRedis(options: ProvisionOptions = {}): Promise<RedisBinary> {
  const log = options.log ?? (() => {});
  const onPath = await versionOf(['redis-server']);
  if (onPath && majorOf(onPath) >= 8) {
    return { server: ['redis-server'], cli: ['redis-cli'], version: onPath, source: 'path' };
  }
  if (onPath) log(`redis-server ${onPath} on PATH is older than 8 (no vector sets); using a provisioned Redis 8`);
  const root = join(options.cacheDir ?? defaultCacheDir(), 'root');
  let version = existsSync(root) ? await versionOf(loaderArgv(root, 'redis-server')) : undefined;
  if (!version || majorOf(version) < 8) {
    if (process.platform !== 'linux' || process.arch !== 'x64') {
      throw new RedisUnavailableError(
        `No Redis >= 8 on PATH and automatic provisioning only supports Linux x86_64 (this is ${process.platform}/${process.arch}). ` +
          'Install Redis 8 (e.g. `brew install redis` or the redis:8 container) or set REDIS_URL.',
      );
    }
    await provision(root, log);
    version = await versionOf(loaderArgv(root, 'redis-server'));
    if (!version)
      throw new RedisUnavailableError(
        `Provisioned Redis in ${root} does not start; delete the folder and retry, or set REDIS_URL.`,
      );
  }
  return {
    server: loaderArgv(root, 'redis-server'),
    cli: loaderArgv(root, 'redis-cli'),
    version,
    source: 'provisioned',
  };
}
