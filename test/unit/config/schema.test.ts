import { describe, expect, it } from 'vitest';
import { ConfigError, validateConfig } from '../../../harness/src/config/schema.js';

const F = '/p/kmod-harness.config.ts';

function errorOf(value: unknown): ConfigError {
  try {
    validateConfig(value, F);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('validateConfig', () => {
  it('accepts every field', () => {
    const config = {
      module: 'src',
      test: 'tests/t.c',
      testArgs: ['-v'],
      kernels: ['6.1', 'buildroot:out'],
      expect: { kernelLog: ['mymod: loaded'] },
      timeouts: { boot: 90, load: 10, test: 30, unload: 10 },
      vm: { memory: 1024, cpus: 2, parallel: 1, bootParams: ['nokaslr'], strict: false, accel: 'tcg' },
      reports: { json: 'r.json', junit: 'j.xml', artifacts: 'art' },
    };
    expect(validateConfig(config, F)).toEqual(config);
    expect(validateConfig({}, F)).toEqual({});
    expect(validateConfig({ kernels: 'all' }, F)).toEqual({ kernels: 'all' });
  });

  it('names an unknown field with its path, and lists the fields', () => {
    const e = errorOf({ vm: { memroy: 512 } });
    expect(e.message).toBe(`${F}: vm.memroy: is not a config field`);
    expect(e.fix).toContain('vm.{memory,');
    expect(errorOf({ kernel: '6.1' }).message).toBe(`${F}: kernel: is not a config field`);
  });

  it('names a field of the wrong type or range', () => {
    expect(errorOf({ vm: { memory: 'big' } }).message).toMatch(/: vm\.memory: expected number/);
    expect(errorOf({ vm: { memory: 64 } }).message).toMatch(/: vm\.memory: .*128/);
    expect(errorOf({ timeouts: { test: -1 } }).message).toMatch(/: timeouts\.test: /);
    expect(errorOf({ vm: { accel: 'hvf' } }).message).toMatch(/: vm\.accel: .*"kvm"/);
    expect(errorOf({ expect: { kernelLog: ['ok', 3] } }).message).toMatch(/: expect\.kernelLog\[1\]: expected string/);
    expect(errorOf({ kernels: [] }).message).toMatch(/: kernels: /);
  });

  it('refuses a timeout longer than a timer can wait, and takes the longest one it can', () => {
    expect(errorOf({ timeouts: { test: 2_147_484 } }).message).toBe(`${F}: timeouts.test: at most 2147483 seconds (~24.8 days: the longest a timer can wait)`);
    expect(errorOf({ timeouts: { boot: 1e12 } }).message).toMatch(/: timeouts\.boot: at most 2147483 seconds/);
    expect(validateConfig({ timeouts: { unload: 2_147_483 } }, F)).toEqual({ timeouts: { unload: 2_147_483 } });
  });

  it('rejects a default export that is not an object', () => {
    expect(errorOf(undefined).message).toMatch(/\(the default export\)/);
    expect(errorOf(() => ({})).message).toMatch(/\(the default export\)/);
  });
});

describe('validateConfig: limits', () => {
  it('takes limits.outputMiB as a positive number of MiB up to 256, and lists it among the fields', () => {
    expect(validateConfig({ limits: { outputMiB: 1.5 } }, F)).toEqual({ limits: { outputMiB: 1.5 } });
    expect(validateConfig({ limits: {} }, F)).toEqual({ limits: {} });
    expect(errorOf({ limits: { outputMiB: 0 } }).message).toMatch(/: limits\.outputMiB: /);
    expect(errorOf({ limits: { outputMiB: 257 } }).message).toMatch(/: limits\.outputMiB: .*256/);
    expect(errorOf({ limits: { output: 1 } }).message).toBe(`${F}: limits.output: is not a config field`);
    expect(errorOf({ limits: { output: 1 } }).fix).toContain('limits.outputMiB');
  });
});
