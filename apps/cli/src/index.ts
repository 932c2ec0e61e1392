/**
 * `pnpm sluice <command>`:
 *   start                         run the whole stack (what `pnpm start` does)
 *   keys create --tenant NAME     create an API key for a tenant (printed on the last line);
 *                                 --api URL|PORT or --redis URL picks the stack (default: the one on SLUICE_API_PORT)
 *   keys list [--tenant NAME]     every API key: id, tenant, label, created, revoked (never the key)
 *   keys revoke ID                revoke the key whose id starts with ID (8+ hex characters)
 *   tenants set NAME [--rpm N] [--tokens-per-day N] [--priority N] [--cache-share-group G]
 *                                 create or update a tenant's quotas (0 = the configured default)
 *   config print                  the effective configuration, secrets masked
 *   config docs                   the settings table (Markdown) for the README
 *   routing calibrate --sample FILE --large-share S
 *                                 the SLUICE_ROUTING_QUALITY that sends share S of your prompts large
 */
import { existsSync, readFileSync } from 'node:fs';
import { describeSettings, loadConfig, redactConfig } from '@sluice/config';
import { calibrateQuality, learnedStrategy, parsePromptSample } from '@sluice/routing';
import { createTenantStore } from '@sluice/tenants';
import { stackTarget } from './run-state.ts';
import { startStack } from './stack.ts';

const [command, sub, ...rest] = process.argv.slice(2);
const flag = (name: string) => {
  const args = [sub, ...rest];
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};

function fail(message: string, code = 2): never {
  console.error(message);
  process.exit(code);
}

function config() {
  try {
    return loadConfig({ env: process.env });
  } catch (error) {
    fail((error as Error).message);
  }
}

/** The stack a command acts on: `--redis URL`, REDIS_URL, or the stack `pnpm start` runs on `--api URL|PORT` (default: the configured API port). */
function targetForTools() {
  const c = config();
  return stackTarget({
    redisFlag: flag('redis'),
    apiFlag: flag('api'),
    configuredUrl: c.redis.url,
    apiPort: c.api.port,
    redisPort: c.redis.port,
  });
}

/** The tenant store of the Redis a tool command talks to. */
async function toolStore() {
  const c = config();
  const target = targetForTools();
  return createTenantStore({ redisUrl: target.redisUrl, prefix: target.prefix ?? c.redis.prefix }).catch(
    (error: Error) =>
      fail(`Cannot reach Redis (${error.message}). Start Sluice with \`pnpm start\` or set REDIS_URL.`, 1),
  );
}

switch (`${command ?? ''} ${sub ?? ''}`.trim()) {
  case 'start': {
    const c = config();
    const log = (line: string) => console.log(line);
    let stack: Awaited<ReturnType<typeof startStack>> | undefined;
    let stopping = false;
    const shutdown = async (code = 0) => {
      if (stopping) return;
      stopping = true;
      console.log('\nStopping Sluice (in-flight jobs finish or are handed back)…');
      await stack?.stop();
      process.exit(code);
    };
    process.on('SIGINT', () => void shutdown());
    process.on('SIGTERM', () => void shutdown());
    try {
      stack = await startStack({ config: c, env: process.env, log });
    } catch (error) {
      fail(`Sluice could not start: ${(error as Error).message}`, 1);
    }
    // Workers and the simulator are restarted by the stack; only the API or Redis dying stops it.
    void stack.fatal.then((message) => {
      if (stopping) return;
      console.log(message);
      void shutdown(1);
    });
    console.log(
      [
        '',
        'Sluice is ready.',
        `  API (OpenAI-compatible):  ${stack.apiUrl}/v1`,
        `  Bull Board:               ${stack.apiUrl}/admin/queues   (user admin, password ${c.admin.password ? 'from SLUICE_ADMIN_PASSWORD' : stack.adminPassword})`,
        `  Savings dashboard:        ${stack.apiUrl}/admin/dashboard   (same login)`,
        `  Metrics:                  ${stack.apiUrl}/metrics`,
        '  Create an API key:        pnpm sluice keys create --tenant my-team',
        '',
      ].join('\n'),
    );
    break;
  }
  case 'keys create': {
    const tenant = flag('tenant');
    if (!tenant) fail('Usage: pnpm sluice keys create --tenant NAME');
    const c = config();
    const target = targetForTools();
    const store = await createTenantStore({ redisUrl: target.redisUrl, prefix: target.prefix ?? c.redis.prefix }).catch(
      (error: Error) =>
        fail(`Cannot reach Redis (${error.message}). Start Sluice with \`pnpm start\` or set REDIS_URL.`, 1),
    );
    try {
      const key = await store.createKey(tenant, flag('label') ?? '');
      console.log(`Created an API key for tenant ${tenant}. Store it now: it is not shown again.`);
      console.log(key);
    } catch (error) {
      fail((error as Error).message);
    } finally {
      await store.close();
    }
    break;
  }
  case 'keys list': {
    const store = await toolStore();
    try {
      const keys = await store.listKeys(flag('tenant'));
      if (!keys.length) console.log(flag('tenant') ? `No API keys for tenant ${flag('tenant')}.` : 'No API keys yet.');
      else {
        console.log(['id', 'tenant', 'label', 'created', 'status'].join('\t'));
        for (const k of keys)
          console.log(
            [
              k.id.slice(0, 16),
              k.tenant,
              k.label || '-',
              new Date(k.createdAt).toISOString(),
              k.revoked ? 'revoked' : 'active',
            ].join('\t'),
          );
      }
    } finally {
      await store.close();
    }
    break;
  }
  case 'keys revoke': {
    const id = rest[0];
    if (!id) fail('Usage: pnpm sluice keys revoke ID   (the id from `pnpm sluice keys list`)');
    const store = await toolStore();
    try {
      const k = await store.revokeKeyById(id);
      console.log(
        `Revoked key ${k.id.slice(0, 16)} of tenant ${k.tenant}. API processes refuse it within their key cache time (10 s).`,
      );
    } catch (error) {
      fail((error as Error).message);
    } finally {
      await store.close();
    }
    break;
  }
  case 'tenants set': {
    const name = rest[0];
    const usage =
      'Usage: pnpm sluice tenants set NAME [--rpm N] [--tokens-per-day N] [--priority 1..1000] [--cache-share-group GROUP]';
    if (!name || name.startsWith('--')) fail(usage);
    const patch: { rpm?: number; tokensPerDay?: number; priority?: number; cacheShareGroup?: string } = {};
    const count = (flagName: string, min: number, max = Number.MAX_SAFE_INTEGER) => {
      const raw = flag(flagName);
      if (raw === undefined) return undefined;
      if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max)
        fail(`--${flagName} must be an integer ${min}..${max}, got \`${raw}\`.\n${usage}`);
      return Number(raw);
    };
    const rpm = count('rpm', 0);
    const tokensPerDay = count('tokens-per-day', 0);
    const priority = count('priority', 1, 1000);
    if (rpm !== undefined) patch.rpm = rpm;
    if (tokensPerDay !== undefined) patch.tokensPerDay = tokensPerDay;
    if (priority !== undefined) patch.priority = priority;
    if (flag('cache-share-group') !== undefined) patch.cacheShareGroup = flag('cache-share-group');
    if (!Object.keys(patch).length) fail(usage);
    const store = await toolStore();
    try {
      const t = await store.upsertTenant(name, patch);
      const c = config();
      const shown = (own: number, fallback: number) =>
        own ? String(own) : fallback ? `${fallback} (default)` : 'unlimited';
      console.log(
        `Tenant ${t.name}: rpm ${shown(t.rpm, c.tenants.defaultRpm)}, tokens per day ${shown(t.tokensPerDay, c.tenants.defaultTokensPerDay)}, priority ${t.priority}${t.cacheShareGroup ? `, cache share group ${t.cacheShareGroup}` : ''}.`,
      );
    } catch (error) {
      fail((error as Error).message);
    } finally {
      await store.close();
    }
    break;
  }
  case 'config print':
    console.log(JSON.stringify(redactConfig(config()), null, 2));
    break;
  case 'config docs': {
    console.log('| Variable | Setting | Default | What it does |\n| --- | --- | --- | --- |');
    for (const r of describeSettings())
      console.log(
        `| \`${r.env}\` | \`${r.path}\` | \`${r.default.replaceAll('|', '\\|')}\` | ${r.doc.replaceAll('|', '\\|')} |`,
      );
    break;
  }
  case 'routing calibrate': {
    const usage =
      'Usage: pnpm sluice routing calibrate --sample FILE --large-share S (FILE: JSON Lines or a JSON array of prompts, {"prompt"} or {"messages"}, or plain text one prompt per line; S in 0..1)';
    const sample = flag('sample');
    const share = flag('large-share');
    if (!sample || share === undefined) fail(usage);
    if (!existsSync(sample)) fail(`No such sample file: ${sample}`);
    if (!/^(0(\.\d+)?|1(\.0+)?)$/.test(share))
      fail(`Invalid --large-share \`${share}\`: use a number from 0 to 1. ${usage}`);
    try {
      const c = config();
      const r = calibrateQuality(
        parsePromptSample(readFileSync(sample, 'utf8')),
        Number(share),
        learnedStrategy({ quality: c.routing.quality }),
      );
      console.log(
        `${r.n} prompts; the rules decide ${(r.rulesSmallShare * 100).toFixed(1)}% confidently small (no setting moves them).`,
      );
      console.log(
        `At quality ${r.quality}, ${(r.largeShare * 100).toFixed(1)}% of them go to the large tier (currently configured: ${c.routing.quality}).`,
      );
      if (r.note) console.log(`Note: ${r.note}.`);
      console.log(`SLUICE_ROUTING_QUALITY=${r.quality}`);
    } catch (error) {
      fail((error as Error).message);
    }
    break;
  }
  default:
    fail(
      'Usage: pnpm sluice start | keys create --tenant NAME | keys list [--tenant NAME] | keys revoke ID | tenants set NAME --rpm N --tokens-per-day N | config print | config docs | routing calibrate --sample FILE --large-share S',
    );
}
