import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LoadedConfig } from '../../../harness/src/config/load.js';
import { ConfigError } from '../../../harness/src/config/schema.js';
import { resolveRunSettings } from '../../../harness/src/config/settings.js';
import { SEED_MODULE_DIR, SEED_TEST_DIR } from '../../../harness/src/util/paths.js';

const base = { cwd: '/work/here', knownSeries: ['5.10', '6.1', '6.12', '7.2'], defaultSeries: '6.1' };
const loaded = (config: LoadedConfig['config']): LoadedConfig => ({ file: '/repo/kmod-harness.config.ts', dir: '/repo', config });

describe('resolveRunSettings', () => {
  it('without config or flags: the seed on the default kernel, default timeouts, strict, auto accel', () => {
    const s = resolveRunSettings(base);
    expect(s).toMatchObject({
      moduleDir: SEED_MODULE_DIR,
      test: SEED_TEST_DIR,
      kernels: ['6.1'],
      strict: true,
      accel: 'auto',
      memoryMiB: 512,
      bootParams: [],
      expectKernelLog: [],
      testArgs: [],
    });
    expect(s.timeouts).toEqual({
      fetchS: 1800,
      toolchainS: 1800,
      buildS: 600,
      testBuildS: 300,
      uploadS: 60,
      bootS: 60,
      loadS: 30,
      testS: 120,
      unloadS: 30,
      settleS: 1,
    });
    expect(s.lifecycle).toEqual({ reloads: 1, leftovers: true });
    expect(s.configFile).toBeUndefined();
    expect(s.cpus).toBeUndefined();
  });

  it('config paths are relative to the config file, flag paths to the working directory', () => {
    const c = loaded({ module: 'src', test: 'tests', reports: { json: 'out/r.json' }, kernels: ['buildroot:../br/output', 'local:k/bzImage,k'] });
    const s = resolveRunSettings({ ...base, loaded: c });
    expect(s.moduleDir).toBe('/repo/src');
    expect(s.test).toBe('/repo/tests');
    expect(s.reports.json).toBe('/repo/out/r.json');
    expect(s.kernels).toEqual(['buildroot:/br/output', 'local:/repo/k/bzImage,/repo/k']);
    const f = resolveRunSettings({ ...base, loaded: c, flags: { module: 'm', json: 'r.json', kernel: 'buildroot:o' } });
    expect(f.moduleDir).toBe('/work/here/m');
    expect(f.reports.json).toBe('/work/here/r.json');
    expect(f.kernels).toEqual(['buildroot:/work/here/o']);
    expect(f.test).toBe('/repo/tests');
  });

  it('flags beat the environment, which beats the config', () => {
    const c = loaded({
      kernels: '5.10',
      vm: { accel: 'kvm', memory: 1024, strict: false, bootParams: ['a=1'] },
      timeouts: { test: 5, boot: 90, settle: 3, build: 50, testBuild: 40 },
      lifecycle: { reloads: 2, leftovers: false },
    });
    const env = { KMOD_HARNESS_KERNELS: '6.12', KMOD_HARNESS_ACCEL: 'tcg' };
    expect(resolveRunSettings({ ...base, loaded: c })).toMatchObject({ kernels: ['5.10'], accel: 'kvm', memoryMiB: 1024, strict: false, bootParams: ['a=1'] });
    expect(resolveRunSettings({ ...base, loaded: c, env })).toMatchObject({ kernels: ['6.12'], accel: 'tcg' });
    const s = resolveRunSettings({
      ...base,
      loaded: c,
      env,
      flags: { kernel: '7.2', accel: 'auto', memory: 256, strict: true, bootParam: ['b=2'], testTimeout: 7, testBuildTimeout: 4 },
    });
    expect(s).toMatchObject({ kernels: ['7.2'], accel: 'auto', memoryMiB: 256, strict: true, bootParams: ['a=1', 'b=2'] });
    expect(s.timeouts).toEqual({
      fetchS: 1800,
      toolchainS: 1800,
      buildS: 50,
      testBuildS: 4,
      uploadS: 60,
      bootS: 90,
      loadS: 30,
      testS: 7,
      unloadS: 30,
      settleS: 3,
    });
    expect(s.lifecycle).toEqual({ reloads: 2, leftovers: false });
    const f = resolveRunSettings({ ...base, loaded: c, flags: { settle: 0, reloads: 0, leftovers: true } });
    expect([f.timeouts.settleS, f.lifecycle]).toEqual([0, { reloads: 0, leftovers: true }]);
  });

  it("'all' and an empty KMOD_HARNESS_KERNELS", () => {
    expect(resolveRunSettings({ ...base, loaded: loaded({ kernels: 'all' }), env: { KMOD_HARNESS_KERNELS: '' } }).kernels).toEqual(base.knownSeries);
  });

  it('a bad kernel in the config is an error naming the file and the field', () => {
    expect(() => resolveRunSettings({ ...base, loaded: loaded({ kernels: ['6.1', '9.9'] }) })).toThrow(ConfigError);
    expect(() => resolveRunSettings({ ...base, loaded: loaded({ kernels: ['6.1', '9.9'] }) })).toThrow(
      "/repo/kmod-harness.config.ts: kernels: unknown kernel series '9.9'",
    );
  });

  it('expect.kernelLog and testArgs come through', () => {
    const s = resolveRunSettings({ ...base, loaded: loaded({ expect: { kernelLog: ['x: loaded'] }, testArgs: ['--fast'] }) });
    expect(s.expectKernelLog).toEqual(['x: loaded']);
    expect(s.testArgs).toEqual(['--fast']);
    expect(path.isAbsolute(s.moduleDir)).toBe(true);
  });
});

describe('resolveRunSettings: kernels the harness builds', () => {
  it("takes <series>-debug and the config's kernelBuilds by name; 'all' stays the catalogue series", () => {
    const c = loaded({ kernels: ['6.1', '6.1-debug', 'mine'], kernelBuilds: [{ name: 'mine', series: '6.12', fragments: ['k/x.config'] }] });
    const s = resolveRunSettings({ ...base, loaded: c });
    expect(s.kernels).toEqual(['6.1', '6.1-debug', 'mine']);
    expect(s.kernelBuilds.map((d) => [d.name, d.series, d.fragmentFiles.at(-1), d.definedIn])).toEqual([
      ['mine', '6.12', '/repo/k/x.config', '/repo/kmod-harness.config.ts'],
    ]);
    expect(resolveRunSettings({ ...base, loaded: c, flags: { kernel: '7.2-debug,mine' } }).kernels).toEqual(['7.2-debug', 'mine']);
    expect(resolveRunSettings({ ...base, loaded: loaded({ kernels: 'all' }) }).kernels).toEqual(base.knownSeries);
  });

  it('a kernelBuilds entry with a taken name or an unknown series is a ConfigError naming the file and the entry', () => {
    const bad = loaded({
      kernelBuilds: [
        { name: 'ok', series: '6.1' },
        { name: 'x', series: '9.9' },
      ],
    });
    expect(() => resolveRunSettings({ ...base, loaded: bad })).toThrow(ConfigError);
    expect(() => resolveRunSettings({ ...base, loaded: bad })).toThrow("/repo/kmod-harness.config.ts: kernelBuilds[1].series: unknown kernel series '9.9'");
    expect(() => resolveRunSettings({ ...base, loaded: loaded({ kernels: ['mine'] }) })).toThrow(/kernels: unknown kernel series 'mine'/);
  });
});

describe('resolveRunSettings: output limit', () => {
  it('is 16 MiB unless the config (limits.outputMiB) or --output-limit says, the flag winning; in bytes', () => {
    expect(resolveRunSettings(base).outputLimitBytes).toBe(16 * 2 ** 20);
    const c = loaded({ limits: { outputMiB: 2 } });
    expect(resolveRunSettings({ ...base, loaded: c }).outputLimitBytes).toBe(2 * 2 ** 20);
    expect(resolveRunSettings({ ...base, loaded: c, flags: { outputLimit: 0.5 } }).outputLimitBytes).toBe(2 ** 19);
  });
});
