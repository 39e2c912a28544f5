import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { aptState, DEBIAN_KEYRING, sourcesLine } from '../../../../harness/src/debian/apt.js';
import { loadCatalogue, seriesNames, seriesSpec } from '../../../../harness/src/kernel/catalogue.js';
import { entryDir, entryKey, writeMetadata, type KernelArtifacts } from '../../../../harness/src/kernel/entry.js';
import { compilerInfo, formatKernels, gccFromDepends, listKernels, type KernelRow } from '../../../../harness/src/commands/kernels/catalogue.js';
import type { CompilerId } from '../../../../harness/src/toolchain/select.js';
import { needs } from '../../../support/host-tools.js';

const gcc = (major: number): CompilerId => ({
  family: 'gcc',
  major,
  version: `${major}.2.0`,
  command: `gcc-${major}`,
  text: `gcc-${major} (Debian ${major}.2.0-1) ${major}.2.0`,
});

describe('gccFromDepends', () => {
  it("reads the gcc major from the headers package's Depends, in each Debian spelling", () => {
    const headers = (depends: string) => [
      { name: 'linux-image-x', depends: 'kmod, gcc-99' },
      { name: 'linux-headers-x-cloud-amd64', depends },
    ];
    expect(gccFromDepends(headers('linux-headers-6.1.0-56-common (= 6.1.192-2), linux-kbuild-6.1 (>= 6.1.192-2), linux-compiler-gcc-12-x86'))).toBe(12);
    expect(gccFromDepends(headers('linux-headers-6.12.118+deb13-common (= 6.12.118-1), gcc-14'))).toBe(14);
    expect(gccFromDepends(headers('linux-kbuild-7.2.13+deb14 (= 7.2.13-1), gcc-16-for-host (>= 16.1)'))).toBe(16);
  });

  it('is undefined when no headers package names a gcc', () => {
    expect(gccFromDepends([{ name: 'linux-headers-x', depends: 'libgcc-s1, linux-kbuild-6.1' }])).toBeUndefined();
    expect(gccFromDepends([{ name: 'linux-image-x', depends: 'gcc-12' }])).toBeUndefined();
  });
});

describe('compilerInfo', () => {
  const base = { from: 'kernel-config' as const, hint: { gccAccepted: [12] }, suite: 'trixie-security', cachedToolchains: new Set(['trixie-gcc-14']) };

  it("is the host when its gcc is the kernel's or one the catalogue accepts", () => {
    expect(compilerInfo({ ...base, compiler: gcc(12), host: { major: 12, hasKernelCommand: true } })).toEqual({
      kind: 'host',
      kernelGcc: 12,
      hostGcc: 12,
      from: 'kernel-config',
    });
    expect(compilerInfo({ ...base, compiler: gcc(10), host: { major: 12, hasKernelCommand: false } })).toEqual({
      kind: 'host',
      kernelGcc: 10,
      hostGcc: 12,
      from: 'kernel-config',
    });
  });

  it('is a root of the base suite otherwise, saying whether it is cached', () => {
    expect(compilerInfo({ ...base, compiler: gcc(14), host: { major: 13, hasKernelCommand: false } })).toEqual({
      kind: 'root',
      kernelGcc: 14,
      key: 'trixie-gcc-14',
      cached: true,
      from: 'kernel-config',
    });
    expect(
      compilerInfo({ ...base, from: 'package-index', suite: 'sid', compiler: gcc(16), host: { major: undefined, hasKernelCommand: false } }),
    ).toMatchObject({ kind: 'root', key: 'sid-gcc-16', cached: false, from: 'package-index' });
  });

  it("is unknown, with planToolchain's reason, when no compiler can be provided", () => {
    const info = compilerInfo({ ...base, suite: undefined, compiler: gcc(14), host: { major: 13, hasKernelCommand: false } });
    expect(info).toMatchObject({ kind: 'unknown', why: expect.stringMatching(/gcc 14/) });
  });
});

const row = (over: Partial<KernelRow> & Pick<KernelRow, 'series'>): KernelRow => ({
  isDefault: false,
  suites: ['trixie'],
  problems: [],
  cached: [],
  compiler: { kind: 'unknown', why: 'unknown until fetched' },
  ...over,
});

describe('formatKernels', () => {
  it('aligns one row per series, marks the default, and explains below', () => {
    const rows = [
      row({
        series: '6.1',
        isDefault: true,
        suites: ['bookworm', 'bookworm-security'],
        resolved: { release: '6.1.0-56-cloud-amd64', version: '6.1.192-2', suite: 'bookworm-security', cached: true },
        indexUpdatedMs: Date.UTC(2026, 10, 25, 3, 12),
        cached: [
          { release: '6.1.0-56-cloud-amd64', version: '6.1.192-2', suite: 'bookworm-security', dir: '/c/kernels/6.1_6.1.192-2' },
          { release: '6.1.0-50-cloud-amd64', version: '6.1.176-1', suite: 'bookworm', dir: '/c/kernels/6.1_6.1.176-1' },
        ],
        compiler: { kind: 'host', kernelGcc: 12, hostGcc: 12, from: 'kernel-config' },
        variants: [
          { name: '6.1/generic', flavour: 'amd64' },
          { name: '6.1/rt', flavour: 'rt-amd64' },
        ],
      }),
      row({
        series: '6.12',
        suites: ['trixie', 'trixie-security'],
        resolved: { release: '6.12.118+deb13-cloud-amd64', version: '6.12.118-1', suite: 'trixie-security', cached: false },
        indexUpdatedMs: Date.UTC(2026, 10, 25, 2, 43),
        compiler: { kind: 'root', kernelGcc: 14, key: 'trixie-gcc-14', cached: false, from: 'package-index' },
      }),
      row({
        series: '7.2',
        suites: ['sid'],
        problems: ['cannot read the package index of sid from file:///m (mirror from KMOD_HARNESS_MIRROR)'],
        cached: [{ release: '7.2.13+deb14-cloud-amd64', version: '7.2.13-1', suite: 'sid', dir: '/c/kernels/7.2_7.2.13-1' }],
        fallback: { release: '7.2.13+deb14-cloud-amd64', version: '7.2.13-1', suite: 'sid' },
        compiler: { kind: 'root', kernelGcc: 16, key: 'sid-gcc-16', cached: true, from: 'kernel-config' },
      }),
    ];
    expect(formatKernels(rows, { userKernels: ['local:/k/bzImage,/k'] }).split('\n')).toEqual([
      'SERIES  SUITES                       RESOLVES TO                                                          CACHED BUILDS                   COMPILER',
      '6.1 *   bookworm, bookworm-security  6.1.0-56-cloud-amd64 6.1.192-2 (bookworm-security)                   6.1.192-2 (current), 6.1.176-1  host gcc-12',
      '6.12    trixie, trixie-security      6.12.118+deb13-cloud-amd64 6.12.118-1 (trixie-security), not cached  -                               trixie-gcc-14 root, not cached (per index)',
      '7.2     sid                          unresolved (see below): runs use the cached 7.2.13-1                 7.2.13-1                        sid-gcc-16 root, cached',
      '',
      '* default series (used when --kernel names none)',
      "Other flavours, as <series>/<variant> (resolved when a run first asks for one; not part of 'all'): 6.1/generic (amd64), 6.1/rt (rt-amd64)",
      'Resolved from package indexes downloaded 2026-11-25 02:43 UTC or later; a run downloads the resolved build if it is not cached.',
      "(per index): gcc named by the headers package's Depends; the exact compiler is known once the kernel is fetched.",
      '7.2: cannot read the package index of sid from file:///m (mirror from KMOD_HARNESS_MIRROR)',
      'Kernels you build yourself (buildroot:<output dir>, local:<bzImage>,<build dir>) are not in the catalogue and not listed; name them with --kernel or KMOD_HARNESS_KERNELS.',
      'Selected now: local:/k/bzImage,/k',
      '',
    ]);
  });

  it('says when the host gcc stands in for the kernel’s, and shows an unknown compiler as such', () => {
    const text = formatKernels([
      row({ series: '5.10', compiler: { kind: 'host', kernelGcc: 10, hostGcc: 12, from: 'kernel-config' } }),
      row({ series: '6.12' }),
    ]);
    expect(text).toContain('host gcc-12 (kernel: gcc-10, accepted)');
    expect(text).toMatch(/^6\.12 .*unknown until fetched$/m);
    expect(text).not.toContain('Resolved from');
  });
});

// Offline, listKernels reads only what is in the cache: a kernel entry and a private apt
// state made of the captured index fixtures. apt's helper and Debian's keyring must be there.
const FIXTURES = path.join(import.meta.dirname, '../../../fixtures/apt');
const apt = await needs(['apt-get', 'apt-helper'], { [DEBIAN_KEYRING]: 'debian-archive-keyring' });

describe('listKernels (offline)', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'kmh-inventory-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function cacheKernel(series: string, release: string, version: string, suite: string, ccVersionText: string): Promise<void> {
    const dir = entryDir(root, entryKey(series, version));
    await mkdir(dir, { recursive: true });
    const artifacts: KernelArtifacts = {
      series,
      release,
      packages: [{ name: `linux-headers-${release}`, version, suite }],
      vmlinuz: `${dir}/root/boot/vmlinuz-${release}`,
      modulesDir: `${dir}/root/lib/modules/${release}`,
      headersDir: `${dir}/root/usr/src/linux-headers-${release}`,
      config: `${dir}/root/usr/src/linux-headers-${release}/.config`,
      ccVersionText,
    };
    await writeMetadata(dir, dir, artifacts, version);
  }

  async function cacheIndex(suite: string): Promise<void> {
    const state = aptState(
      root,
      { suite, archive: suite.endsWith('-security') ? 'debian-security' : 'debian', checkValidUntil: true },
      { uri: 'file:///nonexistent', from: 'test' },
    );
    await mkdir(state.listsDir, { recursive: true });
    await writeFile(state.sourcesFile, sourcesLine(`file:///nonexistent/${suite.endsWith('-security') ? 'debian-security' : 'debian'}`, suite));
    await copyFile(path.join(FIXTURES, `${suite}.Packages`), path.join(state.listsDir, `archive_dists_${suite}_main_binary-amd64_Packages`));
    await writeFile(state.stampFile, 'test\n');
  }

  it('lists every catalogue series, cached builds without an index, and the index answer where there is one', async () => {
    await cacheKernel('5.10', '5.10.0-46-cloud-amd64', '5.10.262-1', 'bullseye-security', 'gcc-10 (Debian 10.2.1-6) 10.2.1 20210110');
    const rows = await listKernels({ cacheRoot: root, offline: true });
    expect(rows.map((r) => r.series)).toEqual(seriesNames(loadCatalogue()));
    expect(rows.filter((r) => r.isDefault).map((r) => r.series)).toEqual([loadCatalogue().default]);
    const old = rows.find((r) => r.series === '5.10')!;
    expect(old.suites).toEqual(seriesSpec(loadCatalogue(), '5.10').suites.map((s) => s.suite));
    expect(old.resolved).toBeUndefined();
    expect(old.problems).toEqual(['offline: no complete package index of bullseye-security in the cache']);
    expect(old.cached).toEqual([
      { release: '5.10.0-46-cloud-amd64', version: '5.10.262-1', suite: 'bullseye-security', dir: entryDir(root, '5.10_5.10.262-1') },
    ]);
    // With nothing resolved, the compiler shown is the newest cached build's, read from its config.
    expect(old.compiler).toMatchObject({ from: 'kernel-config', kernelGcc: 10 });
    expect(rows.find((r) => r.series === '6.12')!.compiler).toEqual({ kind: 'unknown', why: 'unknown until fetched' });
  });

  it.skipIf(apt.skip)('resolves from cached indexes without updating them, the compiler from the Depends', async () => {
    apt.require();
    await cacheIndex('bookworm');
    await cacheIndex('bookworm-security');
    const rows = await listKernels({ cacheRoot: root, offline: true });
    const r61 = rows.find((r) => r.series === '6.1')!;
    expect(r61.problems).toEqual([]);
    expect(r61.resolved).toEqual({ release: '6.1.0-56-cloud-amd64', version: '6.1.192-2', suite: 'bookworm-security', cached: false });
    expect(r61.indexUpdatedMs).toBeGreaterThan(Date.now() - 60_000);
    expect(r61.compiler).toMatchObject({ from: 'package-index', kernelGcc: 12 });
    expect(r61.compiler.kind).not.toBe('unknown');
  });

  it.skipIf(apt.skip)('marks the resolved build cached when its entry is there, and takes the compiler from it', async () => {
    apt.require();
    await cacheIndex('bookworm');
    await cacheIndex('bookworm-security');
    await cacheKernel('6.1', '6.1.0-56-cloud-amd64', '6.1.192-2', 'bookworm-security', 'gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0');
    await cacheKernel('6.1', '6.1.0-50-cloud-amd64', '6.1.176-1', 'bookworm', 'gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0');
    const r61 = (await listKernels({ cacheRoot: root, offline: true })).find((r) => r.series === '6.1')!;
    expect(r61.resolved?.cached).toBe(true);
    expect(r61.cached.map((b) => b.version)).toEqual(['6.1.192-2', '6.1.176-1']);
    expect(r61.compiler).toMatchObject({ from: 'kernel-config', kernelGcc: 12 });
  });

  it.skipIf(apt.skip)('online with a mirror that serves nothing: says why, and that runs fall back to the cached build', async () => {
    apt.require();
    // A file: URI apt cannot read fails at once, without any network.
    vi.stubEnv('KMOD_HARNESS_MIRROR', `file://${root}/no-mirror/debian`);
    vi.stubEnv('KMOD_HARNESS_SECURITY_MIRROR', `file://${root}/no-mirror/debian-security`);
    try {
      await cacheKernel('5.10', '5.10.0-46-cloud-amd64', '5.10.262-1', 'bullseye-security', 'gcc-10 (Debian 10.2.1-6) 10.2.1 20210110');
      const rows = await listKernels({ cacheRoot: root });
      const old = rows.find((r) => r.series === '5.10')!;
      expect(old.resolved).toBeUndefined();
      expect(old.problems).toEqual([expect.stringMatching(/^cannot read the package index of bullseye-security from file:/)]);
      expect(old.fallback).toMatchObject({ version: '5.10.262-1' });
      expect(rows.find((r) => r.series === '6.1')!.fallback).toBeUndefined();
      expect(formatKernels(rows)).toMatch(/^5\.10 .*unresolved \(see below\): runs use the cached 5\.10\.262-1/m);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
