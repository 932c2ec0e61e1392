import { defineError, SluiceError } from '@sluice/errors';
import { createHash } from 'node:crypto';
import { customAlphabet } from 'nanoid';
import { Repository, Schema, type Entity } from 'redis-om';
import { parseRedisUrl } from '@sluice/redis';
import { createClient, createCluster } from 'redis';

/** A tenant: who is billed and isolated. Stored as a Redis HASH through redis-om. */
export interface Tenant {
  name: string;
  /** Default BullMQ priority of its jobs (lower runs first). */
  priority: number;
  /** Requests per minute (0 = the configured default). */
  rpm: number;
  /** Tokens per day (0 = the configured default). */
  tokensPerDay: number;
  /** Cache-sharing group; tenants naming the same non-empty group share cache entries. */
  cacheShareGroup: string;
  createdAt: number;
}

/** Options for {@link createTenantStore}. */
export interface TenantStoreOptions {
  redisUrl: string;
  /** Key prefix (config `redis.prefix`). */
  prefix: string;
  /** How long a verified key stays in the in-process cache (ms). @defaultValue 10_000 */
  authCacheMs?: number;
}

/** Errors of the tenant store. */
export class TenantError extends SluiceError {
  override name = 'TenantError' as const;
  declare readonly code: 'SLUICE_ERR_TENANT_NAME' | 'SLUICE_ERR_TENANT_UNKNOWN' | 'SLUICE_ERR_KEY_ID';
  constructor(message: string, code: 'SLUICE_ERR_TENANT_NAME' | 'SLUICE_ERR_TENANT_UNKNOWN' | 'SLUICE_ERR_KEY_ID') {
    super(TENANT_ADMIN, message, { code });
  }
}

// Raised by operator commands (the CLI), never on a client's request.
const TENANT_ADMIN = defineError({
  code: 'tenant_admin',
  status: 500,
  openaiType: 'server_error',
  expose: false,
  sluiceCode: 'SLUICE_ERR_TENANT',
  subsystem: '@sluice/tenants',
  message: 'tenant administration failed',
});

const keyBody = customAlphabet('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 40);
const TENANT_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** sha256 of an API key: keys are stored hashed, never in clear. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** An API key as operators see it: its id (the sha256 of the key, hex) and record, never the key. */
export interface ApiKeyInfo {
  id: string;
  tenant: string;
  label: string;
  createdAt: number;
  revoked: boolean;
}

/** What the store exposes. */
export interface TenantStore {
  /** Create (or reuse) the tenant and a new API key for it; returns the key in clear, once. */
  createKey(tenant: string, label?: string): Promise<string>;
  /** The tenant an API key belongs to, or undefined for an unknown or revoked key. */
  authenticate(apiKey: string): Promise<Tenant | undefined>;
  getTenant(name: string): Promise<Tenant | undefined>;
  upsertTenant(name: string, patch: Partial<Omit<Tenant, 'name' | 'createdAt'>>): Promise<Tenant>;
  revokeKey(apiKey: string): Promise<boolean>;
  /** Every API key (a tenant's only, if named), newest first; never the key itself, only its id. */
  listKeys(tenant?: string): Promise<ApiKeyInfo[]>;
  /**
   * Revoke the key whose id (as {@link TenantStore.listKeys} shows it) starts with `idPrefix`
   * (at least 8 hex characters). Returns the revoked key's info; throws a {@link TenantError}
   * when no key or more than one matches. Other processes notice within their auth cache time.
   */
  revokeKeyById(idPrefix: string): Promise<ApiKeyInfo>;
  close(): Promise<void>;
}

/**
 * Tenants and API keys as redis-om entities on HASH storage (no Query Engine or RedisJSON
 * needed: only fetch-by-id and save are used, and an API key's id is its hash).
 */
export async function createTenantStore(options: TenantStoreOptions): Promise<TenantStore> {
  const client = connectNodeRedis(options.redisUrl);
  client.on('error', () => {
    // node-redis reconnects on its own; errors surface on the calls that fail.
  });
  await client.connect();
  const tenantSchema = new Schema(
    `${options.prefix}:tenant`,
    {
      name: { type: 'string' },
      priority: { type: 'number' },
      rpm: { type: 'number' },
      tokensPerDay: { type: 'number' },
      cacheShareGroup: { type: 'string' },
      createdAt: { type: 'number' },
    },
    { dataStructure: 'HASH' },
  );
  const keySchema = new Schema(
    `${options.prefix}:apikey`,
    {
      tenant: { type: 'string' },
      label: { type: 'string' },
      createdAt: { type: 'number' },
      revoked: { type: 'boolean' },
    },
    { dataStructure: 'HASH' },
  );
  const tenants = new Repository(tenantSchema, client);
  const keys = new Repository(keySchema, client);
  const authCacheMs = options.authCacheMs ?? 10_000;
  const authCache = new Map<string, { tenant: Tenant | undefined; until: number }>();

  const toTenant = (e: Entity): Tenant | undefined =>
    e.name === undefined
      ? undefined
      : {
          name: String(e.name),
          priority: Number(e.priority ?? 5),
          rpm: Number(e.rpm ?? 0),
          tokensPerDay: Number(e.tokensPerDay ?? 0),
          cacheShareGroup: String(e.cacheShareGroup ?? ''),
          createdAt: Number(e.createdAt ?? 0),
        };

  const getTenant = async (name: string) => toTenant(await tenants.fetch(name));

  const upsertTenant = async (name: string, patch: Partial<Omit<Tenant, 'name' | 'createdAt'>>) => {
    if (!TENANT_NAME.test(name))
      throw new TenantError(`Tenant name must match ${TENANT_NAME}, got \`${name}\``, 'SLUICE_ERR_TENANT_NAME');
    const current = await getTenant(name);
    const next: Tenant = {
      name,
      priority: 5,
      rpm: 0,
      tokensPerDay: 0,
      cacheShareGroup: '',
      createdAt: Date.now(),
      ...current,
      ...patch,
    };
    await tenants.save(name, { ...next });
    authCache.clear();
    return next;
  };

  const store: TenantStore = {
    async createKey(tenant, label = '') {
      await upsertTenant(tenant, {});
      const key = `sk-sluice-${keyBody()}`;
      await keys.save(hashApiKey(key), { tenant, label, createdAt: Date.now(), revoked: false });
      return key;
    },
    async authenticate(apiKey) {
      const id = hashApiKey(apiKey);
      const cached = authCache.get(id);
      if (cached && cached.until > Date.now()) return cached.tenant;
      const record = await keys.fetch(id);
      const tenant = record.tenant && !record.revoked ? await getTenant(String(record.tenant)) : undefined;
      if (authCache.size > 10_000) authCache.clear();
      authCache.set(id, { tenant, until: Date.now() + authCacheMs });
      return tenant;
    },
    getTenant,
    upsertTenant,
    async revokeKey(apiKey) {
      const id = hashApiKey(apiKey);
      const record = await keys.fetch(id);
      if (!record.tenant) return false;
      record.revoked = true;
      await keys.save(record);
      authCache.delete(id);
      return true;
    },
    async listKeys(tenant) {
      const found: ApiKeyInfo[] = [];
      // No Query Engine: the keys are scanned (an operator command, not a request path).
      const prefix = `${options.prefix}:apikey:`;
      type Scanner = { scanIterator(options: { MATCH: string; COUNT: number }): AsyncIterable<string | string[]> };
      const cluster = client as unknown as {
        masters?: unknown[];
        nodeClient?(node: unknown): Scanner | Promise<Scanner>;
      };
      // On a cluster every master holds some of the keys.
      const scanners: Scanner[] =
        cluster.masters && cluster.nodeClient
          ? await Promise.all(cluster.masters.map((m) => cluster.nodeClient!(m)))
          : [client as unknown as Scanner];
      for (const scanner of scanners) {
        for await (const batch of scanner.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
          for (const redisKey of Array.isArray(batch) ? batch : [batch]) {
            const id = String(redisKey).slice(prefix.length);
            const record = await keys.fetch(id);
            if (!record.tenant || (tenant !== undefined && record.tenant !== tenant)) continue;
            found.push({
              id,
              tenant: String(record.tenant),
              label: String(record.label ?? ''),
              createdAt: Number(record.createdAt ?? 0),
              revoked: record.revoked === true,
            });
          }
        }
      }
      return found.sort((a, b) => b.createdAt - a.createdAt);
    },
    async revokeKeyById(idPrefix) {
      if (!/^[0-9a-f]{8,64}$/.test(idPrefix))
        throw new TenantError(
          `A key id is 8 to 64 hex characters (as \`keys list\` shows), got \`${idPrefix}\``,
          'SLUICE_ERR_KEY_ID',
        );
      const matches = (await store.listKeys()).filter((k) => k.id.startsWith(idPrefix));
      if (matches.length !== 1)
        throw new TenantError(
          matches.length
            ? `Key id \`${idPrefix}\` matches ${matches.length} keys; give more characters`
            : `No API key has an id starting with \`${idPrefix}\``,
          'SLUICE_ERR_KEY_ID',
        );
      const record = await keys.fetch(matches[0]!.id);
      record.revoked = true;
      await keys.save(record);
      authCache.delete(matches[0]!.id);
      return { ...matches[0]!, revoked: true };
    },
    async close() {
      if (client.isOpen) await client.quit().catch(() => client.disconnect());
    },
  };
  return store;
}

/**
 * A node-redis connection (redis-om's client) to the `REDIS_URL` target: one server, or a
 * Redis Cluster (`redis+cluster://`), where each tenant and key record is one HASH and so
 * lives on one shard.
 */
function connectNodeRedis(url: string) {
  // Fail fast while Redis is away, like the API's other request-path connection: a queued
  // command would hold the request until Redis returns, instead of a 503 with retry-after.
  // Reconnect forever, capped at 2 s like the ioredis connections, so the API recovers from a
  // Redis restart without a restart of its own.
  const socket = {
    connectTimeout: 2_000,
    reconnectStrategy: (retries: number) => Math.min(100 * (retries + 1), 2_000),
  };
  const target = parseRedisUrl(url);
  if (target.kind === 'standalone') return createClient({ url, disableOfflineQueue: true, socket });
  return createCluster({
    rootNodes: target.nodes.map((node) => ({ socket: { host: node.host, port: node.port } })),
    defaults: {
      disableOfflineQueue: true,
      ...(target.username ? { username: target.username } : {}),
      ...(target.password ? { password: target.password } : {}),
      socket: { ...socket, ...(target.tls ? { tls: true as const } : {}) },
    },
  });
}
