import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCatalogue, seriesSpec, type SuiteRef } from '../../../harness/src/kernel/catalogue.js';
import {
  findAbis,
  orderCandidates,
  PackageIndex,
  parseDepends,
  parsePackages,
  resolveSuite,
  withHostTools,
} from '../../../harness/src/kernel/packages-index.js';
import { byVersion } from '../../../harness/src/kernel/resolve.js';

// Real stanzas captured from the suites' Packages indexes (see test/fixtures/apt/README.md).
const fixture = (suite: string): PackageIndex =>
  new PackageIndex(parsePackages(readFileSync(path.join(import.meta.dirname, '../../fixtures/apt', `${suite}.Packages`), 'utf8')));

const catalogue = loadCatalogue();
const suiteOf = (series: string, suite: string): SuiteRef => seriesSpec(catalogue, series).suites.find((s) => s.suite === suite)!;
const names = (packages: { name: string; version: string }[]): string[] => packages.map((p) => `${p.name}=${p.version}`);

describe('parsePackages', () => {
  it('reads the fields the resolver uses', () => {
    const [p] = parsePackages(readFileSync(path.join(import.meta.dirname, '../../fixtures/apt/bookworm.Packages'), 'utf8')).filter(
      (x) => x.name === 'linux-headers-6.1.0-50-cloud-amd64',
    );
    expect(p).toMatchObject({
      version: '6.1.176-1',
      depends: 'linux-headers-6.1.0-50-common (= 6.1.176-1), linux-kbuild-6.1 (>= 6.1.176-1), linux-compiler-gcc-12-x86',
      filename: 'pool/main/l/linux/linux-headers-6.1.0-50-cloud-amd64_6.1.176-1_amd64.deb',
      size: 1440280,
    });
    expect(p!.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('skips stanzas without a Filename', () => {
    expect(parsePackages('Package: a\nVersion: 1\n')).toEqual([]);
  });
});

describe('parseDepends', () => {
  it('splits groups, alternatives, relations and arch qualifiers', () => {
    expect(parseDepends('dracut | initramfs-tools (>= 0.120+deb8u2) | linux-initramfs-tool, python3:any, a (> 1), b (<< 2)')).toEqual([
      [{ name: 'dracut' }, { name: 'initramfs-tools', relation: '>=', version: '0.120+deb8u2' }, { name: 'linux-initramfs-tool' }],
      [{ name: 'python3' }],
      [{ name: 'a', relation: '>=', version: '1' }],
      [{ name: 'b', relation: '<<', version: '2' }],
    ]);
    expect(parseDepends('')).toEqual([]);
  });
});

describe('resolveSuite', () => {
  it('6.1 in bookworm: newest ABI, signed image first, unsigned as fallback', () => {
    const spec = seriesSpec(catalogue, '6.1');
    const { candidates, rejected } = resolveSuite(spec, suiteOf('6.1', 'bookworm'), fixture('bookworm'));
    expect(candidates.map((c) => [c.release, c.version])).toEqual([
      ['6.1.0-50-cloud-amd64', '6.1.176-1'],
      ['6.1.0-50-cloud-amd64', '6.1.176-1'],
    ]);
    expect(names(candidates[0]!.packages)).toEqual([
      'linux-image-6.1.0-50-cloud-amd64=6.1.176-1',
      'linux-headers-6.1.0-50-cloud-amd64=6.1.176-1',
      'linux-headers-6.1.0-50-common=6.1.176-1',
      'linux-kbuild-6.1=6.1.176-1',
    ]);
    expect(candidates[1]!.packages[0]!.name).toBe('linux-image-6.1.0-50-cloud-amd64-unsigned');
    // 6.1.0-47's headers were trimmed from this fixture: the ABI is reported, not offered.
    expect(rejected).toEqual(['6.1.0-47 in bookworm: no linux-headers-6.1.0-47-cloud-amd64 (= 6.1.170-3)']);
  });

  it('6.1 in bookworm-security: skips images whose headers the suite lacks', () => {
    const { candidates, rejected } = resolveSuite(seriesSpec(catalogue, '6.1'), suiteOf('6.1', 'bookworm-security'), fixture('bookworm-security'));
    expect(new Set(candidates.map((c) => c.release))).toEqual(new Set(['6.1.0-56-cloud-amd64']));
    expect(rejected[0]).toMatch(/^6\.1\.0-52 in bookworm-security: no linux-headers-6\.1\.0-52-cloud-amd64/);
  });

  it('6.1 across suites: the newest version wins, each version one group', () => {
    const spec = seriesSpec(catalogue, '6.1');
    const ordered = orderCandidates([
      resolveSuite(spec, suiteOf('6.1', 'bookworm'), fixture('bookworm')).candidates,
      resolveSuite(spec, suiteOf('6.1', 'bookworm-security'), fixture('bookworm-security')).candidates,
    ]);
    expect(ordered.map((c) => `${c.suite.suite}:${c.packages[0]!.name}`)).toEqual([
      'bookworm-security:linux-image-6.1.0-56-cloud-amd64',
      'bookworm-security:linux-image-6.1.0-56-cloud-amd64-unsigned',
      'bookworm:linux-image-6.1.0-50-cloud-amd64',
      'bookworm:linux-image-6.1.0-50-cloud-amd64-unsigned',
    ]);
    expect(byVersion(ordered).map((g) => g[0]!.version)).toEqual(['6.1.192-2', '6.1.176-1']);
  });

  it('5.10 in bullseye-security: ignores the 6.1 backport ABIs in the same suite', () => {
    const spec = seriesSpec(catalogue, '5.10');
    expect([...findAbis(spec, fixture('bullseye-security')).keys()]).toEqual(['5.10.0-46']);
    const { candidates } = resolveSuite(spec, suiteOf('5.10', 'bullseye-security'), fixture('bullseye-security'));
    expect(names(candidates[0]!.packages)).toEqual([
      'linux-image-5.10.0-46-cloud-amd64=5.10.262-1',
      'linux-headers-5.10.0-46-cloud-amd64=5.10.262-1',
      'linux-headers-5.10.0-46-common=5.10.262-1',
      'linux-kbuild-5.10=5.10.262-1',
    ]);
  });

  it('6.12 in trixie-security: ABIs with a .1 suffix sort by version, kbuild matches exactly', () => {
    const spec = seriesSpec(catalogue, '6.12');
    const { candidates } = resolveSuite(spec, suiteOf('6.12', 'trixie-security'), fixture('trixie-security'));
    expect([...new Set(candidates.map((c) => c.abi))]).toEqual(['6.12.118+deb13', '6.12.115+deb13.1']);
    expect(names(candidates.find((c) => c.abi === '6.12.115+deb13.1')!.packages)).toContain('linux-kbuild-6.12.115+deb13.1=6.12.115-2');
  });

  it('6.12 in trixie: follows the real Depends names', () => {
    const { candidates } = resolveSuite(seriesSpec(catalogue, '6.12'), suiteOf('6.12', 'trixie'), fixture('trixie'));
    expect(names(candidates[0]!.packages)).toEqual([
      'linux-image-6.12.117+deb13-cloud-amd64=6.12.117-1',
      'linux-headers-6.12.117+deb13-cloud-amd64=6.12.117-1',
      'linux-headers-6.12.117+deb13-common=6.12.117-1',
      'linux-kbuild-6.12.117+deb13=6.12.117-1',
    ]);
  });

  it('7.2 in sid: the meta image pulls in binary, modules and base; unsigned binary as fallback', () => {
    const { candidates } = resolveSuite(seriesSpec(catalogue, '7.2'), suiteOf('7.2', 'sid'), fixture('sid'));
    expect(candidates).toHaveLength(2);
    expect(candidates[0]!.release).toBe('7.2.13+deb14-cloud-amd64');
    expect(names(candidates[0]!.packages).sort()).toEqual([
      'linux-base-7.2.13+deb14-cloud-amd64=7.2.13-1',
      'linux-binary-7.2.13+deb14-cloud-amd64=7.2.13-1',
      'linux-headers-7.2.13+deb14-cloud-amd64=7.2.13-1',
      'linux-headers-7.2.13+deb14-common=7.2.13-1',
      'linux-image-7.2.13+deb14-cloud-amd64=7.2.13-1',
      'linux-kbuild-7.2.13+deb14=7.2.13-1',
      'linux-modules-7.2.13+deb14-cloud-amd64=7.2.13-1',
    ]);
    expect(names(candidates[1]!.packages)).toContain('linux-binary-unsigned-7.2.13+deb14-cloud-amd64=7.2.13-1');
    expect(names(candidates[1]!.packages)).not.toContain('linux-binary-7.2.13+deb14-cloud-amd64=7.2.13-1');
  });

  it('reports an ABI whose kbuild is missing', () => {
    const text = readFileSync(path.join(import.meta.dirname, '../../fixtures/apt/bookworm.Packages'), 'utf8');
    const index = new PackageIndex(parsePackages(text).filter((p) => p.name !== 'linux-kbuild-6.1'));
    const { candidates, rejected } = resolveSuite(seriesSpec(catalogue, '6.1'), suiteOf('6.1', 'bookworm'), index);
    expect(candidates).toEqual([]);
    expect(rejected).toContain('6.1.0-50 in bookworm: no linux-kbuild-6.1 (>= 6.1.176-1), needed by linux-headers-6.1.0-50-cloud-amd64');
  });
});

describe('PackageIndex.pick', () => {
  const index = new PackageIndex(
    ['1.0-1', '2.0-1', '1.5-1'].map((version) => ({ name: 'k', version, depends: '', filename: `k_${version}.deb`, size: 1, sha256: undefined })),
  );

  it('prefers the requested version, else the newest satisfying one', () => {
    expect(index.pick('k')?.version).toBe('2.0-1');
    expect(index.pick('k', { relation: '>=', version: '1.2' }, '1.5-1')?.version).toBe('1.5-1');
    expect(index.pick('k', { relation: '<<', version: '1.5' }, '2.0-1')?.version).toBe('1.0-1');
    expect(index.pick('k', { relation: '>>', version: '3' })).toBeUndefined();
    expect(index.pick('nope')).toBeUndefined();
  });
});

describe('withHostTools: an arm64 kernel built on an amd64 host', () => {
  const spec = seriesSpec(catalogue, '6.1/arm64');
  const suite = suiteOf('6.1', 'bookworm-security');
  const arm = resolveSuite(spec, suite, fixture('bookworm-security.arm64'));

  it('resolves the cloud-arm64 set from the arm64 index, kbuild included', () => {
    expect(arm.candidates.map((c) => c.release)).toEqual(['6.1.0-57-cloud-arm64']);
    expect(names(arm.candidates[0]!.packages)).toContain('linux-kbuild-6.1=6.1.192-3');
  });

  it("takes linux-kbuild from the host's index, same version: its fixdep and modpost run on the host", () => {
    const { candidates, rejected } = withHostTools(arm, fixture('bookworm-security.amd64-kbuild'), 'amd64');
    expect(rejected).toEqual(arm.rejected);
    const [c] = candidates;
    expect(names(c!.packages)).toEqual([
      'linux-image-6.1.0-57-cloud-arm64=6.1.192-3',
      'linux-headers-6.1.0-57-cloud-arm64=6.1.192-3',
      'linux-headers-6.1.0-57-common=6.1.192-3',
    ]);
    expect(c!.hostPackages?.map((p) => [p.name, p.version, p.filename])).toEqual([
      ['linux-kbuild-6.1', '6.1.192-3', 'pool/updates/main/l/linux/linux-kbuild-6.1_6.1.192-3_amd64.deb'],
    ]);
  });

  it("drops a candidate whose kbuild version the host's index lacks, and says so", () => {
    const { candidates, rejected } = withHostTools(arm, new PackageIndex([]), 'amd64');
    expect(candidates).toEqual([]);
    expect(rejected.at(-1)).toBe('6.1.0-57 in bookworm-security: no amd64 linux-kbuild-6.1 (= 6.1.192-3)');
  });
});
