import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../harness/src/errors.js';
import {
  abiCapture,
  expand,
  expandPattern,
  findSeriesSpec,
  loadCatalogue,
  parseCatalogue,
  seriesNames,
  seriesSpec,
  variantNames,
} from '../../../harness/src/kernel/catalogue.js';
import { knownSeries } from '../../../harness/src/kernel/index.js';

describe('images/kernels.json', () => {
  const catalogue = loadCatalogue();

  it('has the supported series, oldest first, defaulting to 6.1', () => {
    expect(knownSeries()).toEqual(['5.10', '6.1', '6.12', '7.2']);
    expect(catalogue.default).toBe('6.1');
  });

  it('marks the suites whose Release files expire', () => {
    expect(seriesSpec(catalogue, '7.2').suites.map((s) => [s.suite, s.checkValidUntil])).toEqual([
      ['sid', false],
      ['forky', false],
    ]);
    expect(seriesSpec(catalogue, '6.1').suites.every((s) => s.checkValidUntil)).toBe(true);
  });

  it("lets 5.10 build with the host's gcc 12, and no other series with another gcc", () => {
    expect(seriesSpec(catalogue, '5.10').compiler).toEqual({ gccAccepted: [12] });
    for (const s of ['6.1', '6.12', '7.2']) expect(seriesSpec(catalogue, s).compiler).toEqual({ gccAccepted: [] });
  });

  it('rejects an unknown series with a UsageError listing the known ones', () => {
    expect(() => seriesSpec(catalogue, '4.19')).toThrow(UsageError);
    try {
      seriesSpec(catalogue, 'toString');
    } catch (error) {
      expect((error as UsageError).fix).toContain('5.10, 6.1, 6.12, 7.2');
    }
  });
});

describe('templates', () => {
  const vars = { abi: '6.12.117+deb13', flavour: 'cloud-amd64' };

  it('expands names', () => {
    expect(expand('linux-image-{abi}-{flavour}-unsigned', vars)).toBe('linux-image-6.12.117+deb13-cloud-amd64-unsigned');
    expect(expand('usr/lib/modules/{release}/vmlinuz', vars)).toBe('usr/lib/modules/6.12.117+deb13-cloud-amd64/vmlinuz');
  });

  it('expands patterns with the values escaped', () => {
    const re = expandPattern('^linux-headers-{abi}-common$', vars);
    expect(re.test('linux-headers-6.12.117+deb13-common')).toBe(true);
    expect(re.test('linux-headers-6.12.117deb13-common')).toBe(false);
  });

  it('captures the ABI from a package name', () => {
    const re = abiCapture('linux-image-{abi}-{flavour}', { abi: '6\\.12\\.[0-9]+\\+deb13(\\.[0-9]+)?', flavour: 'cloud-amd64' });
    expect(re.exec('linux-image-6.12.115+deb13.1-cloud-amd64')?.[1]).toBe('6.12.115+deb13.1');
    expect(re.exec('linux-image-6.12.115+deb13-cloud-amd64-dbg')).toBeNull();
    expect(re.exec('linux-image-6.12.115+deb12-cloud-amd64')).toBeNull();
  });
});

describe('parseCatalogue', () => {
  const good = {
    default: '1.0',
    series: {
      '1.0': {
        flavour: 'f',
        suites: [{ suite: 's', archive: 'debian' }],
        abi: 'x',
        roots: ['a-{abi}'],
        follow: '^a',
        require: [],
        layout: { vmlinuz: 'v', modules: 'm' },
      },
    },
  };

  it('fills defaults', () => {
    const c = parseCatalogue(good);
    expect(c.series['1.0']!.suites[0]).toEqual({ suite: 's', archive: 'debian', checkValidUntil: true });
    expect(c.series['1.0']!.alternatives).toEqual({});
    expect(c.series['1.0']!.compiler).toEqual({ gccAccepted: [] });
    expect(seriesNames(c)).toEqual(['1.0']);
  });

  it('names the bad field', () => {
    const bad = structuredClone(good) as { series: Record<string, Record<string, unknown>> };
    bad.series['1.0']!.suites = [{ suite: 's', archive: 'ubuntu' }];
    expect(() => parseCatalogue(bad, 'k.json')).toThrow(/k.json: series "1.0": suites\[0\].archive/);
  });

  it('reads the compiler hint', () => {
    const withHint = structuredClone(good) as { series: Record<string, Record<string, unknown>> };
    withHint.series['1.0']!.compiler = { gccAccepted: [12, 14] };
    expect(parseCatalogue(withHint).series['1.0']!.compiler).toEqual({ gccAccepted: [12, 14] });
    withHint.series['1.0']!.compiler = { gccAccepted: ['12'] };
    expect(() => parseCatalogue(withHint, 'k.json')).toThrow(/k.json: series "1.0": "compiler.gccAccepted"/);
    withHint.series['1.0']!.compiler = true;
    expect(() => parseCatalogue(withHint, 'k.json')).toThrow(/"compiler" must be an object/);
  });

  it('sorts series numerically', () => {
    const c = parseCatalogue({ default: '6.1', series: { '6.12': good.series['1.0'], '5.10': good.series['1.0'], '6.1': good.series['1.0'] } });
    expect(seriesNames(c)).toEqual(['5.10', '6.1', '6.12']);
  });
});

describe('variants: <series>/<variant> is another Debian flavour of the series', () => {
  const catalogue = loadCatalogue();

  it('every series offers the generic and the rt kernel of amd64 and the cloud kernel of arm64, beside its cloud one', () => {
    for (const series of seriesNames(catalogue)) {
      expect(catalogue.series[series]!.flavour).toBe('cloud-amd64');
      expect(catalogue.series[series]!.arch).toBe('amd64');
      expect(catalogue.series[series]!.variants).toEqual({
        generic: { flavour: 'amd64', arch: 'amd64' },
        rt: { flavour: 'rt-amd64', arch: 'amd64' },
        arm64: { flavour: 'cloud-arm64', arch: 'arm64' },
      });
    }
    expect(variantNames(catalogue).slice(0, 3)).toEqual(['5.10/generic', '5.10/rt', '5.10/arm64']);
    expect(variantNames(catalogue)).toHaveLength(3 * seriesNames(catalogue).length);
  });

  it("an arm64 variant is the series' cloud-arm64 kernel: its packages' names and its architecture", () => {
    const arm = seriesSpec(catalogue, '6.12/arm64');
    expect(arm).toMatchObject({ series: '6.12/arm64', base: '6.12', flavour: 'cloud-arm64', arch: 'arm64' });
    expect(expand(arm.roots[0]!, { abi: '6.12.57+deb13', flavour: arm.flavour })).toBe('linux-image-6.12.57+deb13-cloud-arm64');
  });

  it("gives the variant its own name and flavour and the series' suites and packages", () => {
    const base = seriesSpec(catalogue, '6.1');
    const rt = seriesSpec(catalogue, '6.1/rt');
    expect(rt).toEqual({ ...base, series: '6.1/rt', flavour: 'rt-amd64', arch: 'amd64' });
    expect(rt.base).toBe('6.1');
    expect(expand(rt.roots[0]!, { abi: '6.1.0-57', flavour: rt.flavour })).toBe('linux-image-6.1.0-57-rt-amd64');
    expect(abiCapture(rt.roots[1]!, rt).exec('linux-headers-6.1.0-57-rt-amd64')?.[1]).toBe('6.1.0-57');
    // The cloud headers are not the rt kernel's.
    expect(abiCapture(rt.roots[1]!, rt).exec('linux-headers-6.1.0-57-cloud-amd64')).toBeNull();
  });

  it('names the variants a series has when asked for one it has not, and knows no variant of a variant', () => {
    expect(() => seriesSpec(catalogue, '6.1/riscv64')).toThrow("series 6.1 has no variant 'riscv64'");
    try {
      seriesSpec(catalogue, '6.1/riscv64');
    } catch (error) {
      expect((error as UsageError).fix).toBe('use one of: 6.1, 6.1/generic, 6.1/rt, 6.1/arm64');
    }
    expect(findSeriesSpec(catalogue, '6.1/rt/x')).toBeUndefined();
    expect(findSeriesSpec(catalogue, '9.9/rt')).toBeUndefined();
    expect(() => seriesSpec(catalogue, '9.9/rt')).toThrow(/unknown kernel series '9.9\/rt'/);
  });

  it('rejects a variant that is not a name and a flavour', () => {
    const raw = JSON.parse(JSON.stringify({ default: '6.1', series: { '6.1': catalogue.series['6.1'] } })) as {
      series: Record<string, Record<string, unknown>>;
    };
    raw.series['6.1']!.variants = { 'Generic!': 'amd64' };
    expect(() => parseCatalogue(raw, 'k.json')).toThrow('k.json: series "6.1": variant "Generic!" must be a lower-case name and a Debian flavour');
    raw.series['6.1']!.variants = { generic: '' };
    expect(() => parseCatalogue(raw, 'k.json')).toThrow(/variant "generic"/);
    raw.series['6.1']!.variants = { arm: { flavour: 'cloud-arm64', arch: 'riscv64' } };
    expect(() => parseCatalogue(raw, 'k.json')).toThrow('k.json: series "6.1": variant "arm": "arch" must be one of amd64, arm64');
  });
});
