import { describe, expect, it } from 'vitest';
import { parseSimArgs } from './cli-args.ts';
import { SimConfigError } from './errors.ts';
import { ModelRegistry } from './model-registry.ts';
import { DEFAULT_SIM_MODELS, buildModels, patchModel } from './models.ts';
import { createSimulator } from './simulator.ts';

describe('default models and profiles', () => {
  it('ships router, small, large and a 256-dim embedding model, large slowest', () => {
    const byId = new Map(DEFAULT_SIM_MODELS.map((model) => [model.id, model]));
    expect([...byId.keys()]).toEqual(['sim-router', 'sim-small', 'sim-large', 'sim-embed']);
    expect(byId.get('sim-embed')).toMatchObject({ kind: 'embedding', dimensions: 256 });
    const router = byId.get('sim-router')!;
    const small = byId.get('sim-small')!;
    const large = byId.get('sim-large')!;
    expect(router.ttftMs).toBeLessThan(small.ttftMs);
    expect(small.ttftMs).toBeLessThan(large.ttftMs);
    expect(large).toMatchObject({ ttftMs: 300, perTokenMs: 20 });
  });

  it('fixed gives chat models a constant total latency; fast makes everything near-instant', () => {
    const fixed = buildModels(undefined, 'fixed', 75);
    expect(fixed.find((model) => model.id === 'sim-large')).toMatchObject({ ttftMs: 75, perTokenMs: 0, jitter: 0 });
    expect(fixed.find((model) => model.id === 'sim-embed')).toMatchObject({ ttftMs: 30, jitter: 0 });
    for (const model of buildModels(undefined, 'fast', 0))
      expect(model).toMatchObject({ ttftMs: 1, perTokenMs: 0, jitter: 0 });
  });

  it('builds a custom list from defaults of the same id or kind', () => {
    const models = buildModels(
      [
        { id: 'sim-large', rpm: 7 },
        { id: 'vectors', kind: 'embedding', dimensions: 64 },
      ],
      'realistic',
      0,
    );
    expect(models[0]).toMatchObject({ id: 'sim-large', rpm: 7, ttftMs: 300 });
    expect(models[1]).toMatchObject({ id: 'vectors', kind: 'embedding', dimensions: 64, contextWindow: 8191 });
  });

  it('rejects bad configuration with messages that name the value', () => {
    expect(() => buildModels([{ id: 'a' }, { id: 'a' }], 'fast', 0)).toThrow(
      'Expected model ids to be unique, got `a` twice',
    );
    expect(() => buildModels([{ id: 'a@b' }], 'fast', 0)).toThrow(SimConfigError);
    expect(() => buildModels([{ id: 'a', rpm: -1 }], 'fast', 0)).toThrow(
      'Expected `models[0].rpm` to be an integer ≥ 0, got `-1`',
    );
    expect(() => buildModels([{ id: 'a', minReplyWords: 10, maxReplyWords: 5 }], 'fast', 0)).toThrow('minReplyWords');
    expect(() => buildModels([{ id: 'a', speed: 1 } as never], 'fast', 0)).toThrow(
      'Unknown model option `models[0].speed`',
    );
    expect(() => createSimulator({ profile: 'turbo' as never })).toThrow(
      'Expected `profile` to be one of realistic, fixed, fast, got `turbo`',
    );
  });

  it('patches merge faults and refuse id/kind changes', () => {
    const base = DEFAULT_SIM_MODELS[1]!;
    const patched = patchModel(base, { faults: { errorRate: 0.5 }, rpm: 10 });
    expect(patched).toMatchObject({ rpm: 10, faults: { errorRate: 0.5, timeoutRate: 0, dropStreamRate: 0 } });
    expect(patchModel(patched, { faults: { timeoutRate: 0.1 } }).faults).toEqual({
      errorRate: 0.5,
      timeoutRate: 0.1,
      dropStreamRate: 0,
    });
    expect(() => patchModel(base, { kind: 'embedding' } as never)).toThrow('cannot change `id` or `kind`');
    expect(() => patchModel(base, { faults: { errorRate: 1.5 } })).toThrow('`patch.faults.errorRate`');
  });
});

describe('ModelRegistry variants', () => {
  it('creates base@suffix on first use with a copy of the base, then keeps them apart', () => {
    const registry = new ModelRegistry(buildModels(undefined, 'fast', 0));
    const variant = registry.require('sim-large@b');
    expect(variant.options).toMatchObject({ id: 'sim-large@b', kind: 'chat' });
    registry.update('sim-large@b', { rpm: 1 });
    expect(registry.require('sim-large').options.rpm).toBe(1_000);
    expect(registry.require('sim-large@b').options.rpm).toBe(1);
    expect(registry.require('sim-large@b')).toBe(variant);
    expect(registry.find('sim-large@')).toBeUndefined();
    expect(registry.find('@b')).toBeUndefined();
    expect(registry.find('nope@b')).toBeUndefined();
  });
});

describe('parseSimArgs', () => {
  it('has the documented defaults', () => {
    expect(parseSimArgs([])).toEqual({
      port: 4010,
      host: '127.0.0.1',
      profile: 'realistic',
      latencyMs: undefined,
      batchMs: undefined,
      modelsFile: undefined,
      logLevel: 'info',
      help: false,
    });
  });

  it('implies the fixed profile from --latency-ms alone', () => {
    expect(parseSimArgs(['--latency-ms', '250', '--port', '0'])).toMatchObject({
      profile: 'fixed',
      latencyMs: 250,
      port: 0,
    });
    expect(parseSimArgs(['--latency-ms=250', '--profile', 'fast'])).toMatchObject({ profile: 'fast', latencyMs: 250 });
  });

  it('rejects bad flags with a message naming them', () => {
    expect(() => parseSimArgs(['--port', 'abc'])).toThrow('Expected --port to be an integer in [0, 65535], got `abc`');
    expect(() => parseSimArgs(['--profile', 'slow'])).toThrow('Expected --profile to be realistic, fixed or fast');
    expect(() => parseSimArgs(['--bogus'])).toThrow();
    expect(parseSimArgs(['--batch-ms', '500']).batchMs).toBe(500);
    expect(() => parseSimArgs(['--batch-ms', 'soon'])).toThrow('Expected --batch-ms to be an integer');
  });
});
