import { describe, expect, it } from 'vitest';
import { ConfigError, describeSettings, loadConfig, redactConfig, sluiceCacheDir } from './index.ts';

describe('loadConfig', () => {
  it('defaults to the simulator on every tier, port 8080, frozen', () => {
    const config = loadConfig({ env: {} });
    expect(config.api.port).toBe(8080);
    expect(config.deployments.map((d) => [d.tier, d.model])).toEqual([
      ['router', 'sim-router'],
      ['small', 'sim-small'],
      ['large', 'sim-large'],
    ]);
    expect(config.deployments[2]!.inputPricePerMTok).toBe(2.5);
    expect(Object.isFrozen(config.api)).toBe(true);
  });

  it('serves the tiers from OpenAI when OPENAI_API_KEY is set, and never prints the key', () => {
    const config = loadConfig({
      env: { OPENAI_API_KEY: 'sk-secret-123', SLUICE_ADMIN_PASSWORD: 'pw-456', REDIS_URL: 'redis://u:p4ss@h:1' },
    });
    expect(config.deployments.map((d) => d.model)).toEqual(['gpt-4.1-nano', 'gpt-4o-mini', 'gpt-4o']);
    expect(config.deployments[0]!.apiKey).toBe('sk-secret-123');
    const printed = JSON.stringify(redactConfig(config)) + JSON.stringify(config);
    expect(printed).not.toContain('sk-secret-123');
    expect(printed).not.toContain('pw-456');
    expect(printed).not.toContain('p4ss');
  });

  it('rejects bad values with a message naming the setting', () => {
    expect(() => loadConfig({ env: { SLUICE_API_PORT: 'abc' } })).toThrow(/api\.port/);
    // REDIS_URL goes through the parser that connects; its message never echoes a password.
    expect(() => loadConfig({ env: { REDIS_URL: 'redis+cluster://u:hunter2@h' } })).toThrow(
      /redis\.url.*host:port, got `h`/s,
    );
    expect(() => loadConfig({ env: { REDIS_URL: 'u:hunter2@h:6379' } })).toThrow(/got no scheme/);
    expect(() => loadConfig({ env: { REDIS_URL: 'u:hunter2@h:6379' } })).not.toThrow(/hunter2/);
    expect(() =>
      loadConfig({ env: { SLUICE_DEPLOYMENTS: '[{"tier":"huge","model":"x","baseUrl":"http://x"}]' } }),
    ).toThrow(ConfigError);
    expect(() => loadConfig({ env: { SLUICE_CACHE_TTL_SECONDS: '{"weather":5}' } })).toThrow(
      /unknown category `weather`/,
    );
  });

  it('resolves deployment key references and requires them to exist', () => {
    const deployments = JSON.stringify([
      { tier: 'router', model: 'm1', baseUrl: 'http://a/v1' },
      { tier: 'small', model: 'm2', baseUrl: 'http://a/v1', apiKeyRef: 'MY_KEY' },
      { tier: 'large', model: 'gpt-4o', baseUrl: 'http://a/v1' },
    ]);
    expect(loadConfig({ env: { SLUICE_DEPLOYMENTS: deployments, MY_KEY: 'k' } }).deployments[1]!.apiKey).toBe('k');
    expect(() => loadConfig({ env: { SLUICE_DEPLOYMENTS: deployments } })).toThrow(/MY_KEY/);
  });

  it('documents every setting with its env var', () => {
    const rows = describeSettings();
    expect(rows.find((r) => r.env === 'SLUICE_API_PORT')?.default).toBe('8080');
    expect(rows.every((r) => r.doc.length > 0)).toBe(true);
  });
});

describe('sluiceCacheDir', () => {
  it('is $XDG_CACHE_HOME/sluice, else ~/.cache/sluice, and the word vectors live under it', () => {
    expect(sluiceCacheDir({ XDG_CACHE_HOME: '/var/cache/u', HOME: '/home/u' })).toBe('/var/cache/u/sluice');
    expect(sluiceCacheDir({ HOME: '/home/u' })).toBe('/home/u/.cache/sluice');
    expect(loadConfig({ env: { HOME: '/home/u' } }).embeddings.modelDir).toBe('/home/u/.cache/sluice/embeddings');
    expect(loadConfig({ env: { HOME: '/home/u', SLUICE_EMBEDDINGS_MODEL_DIR: '/models' } }).embeddings.modelDir).toBe(
      '/models',
    );
  });
});
