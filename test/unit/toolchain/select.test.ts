import { describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../../harness/src/kernel/catalogue.js';
import {
  baseSuite,
  crossCommand,
  crossMakeVars,
  kernelSuite,
  parseCcVersionText,
  parseDumpVersion,
  planToolchain,
  ToolchainError,
  type CompilerId,
} from '../../../harness/src/toolchain/select.js';

// CONFIG_CC_VERSION_TEXT of the Debian kernels in images/kernels.json, as their headers have it.
const TEXTS = {
  '5.10': 'gcc-10 (Debian 10.2.1-6) 10.2.1 20210110',
  '6.1': 'gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0',
  '6.12': 'x86_64-linux-gnu-gcc-14 (Debian 14.2.0-19) 14.2.0',
  '7.2': 'x86_64-linux-gnu-gcc-16 (Debian 16.2.0-4) 16.2.0',
};

describe('parseCcVersionText', () => {
  it('reads family, major and version from the real Debian texts', () => {
    expect(parseCcVersionText(TEXTS['5.10'])).toEqual({ family: 'gcc', major: 10, version: '10.2.1', command: 'gcc-10', text: TEXTS['5.10'] });
    expect(parseCcVersionText(TEXTS['6.1'])).toMatchObject({ family: 'gcc', major: 12, version: '12.2.0' });
    expect(parseCcVersionText(TEXTS['6.12'])).toMatchObject({ family: 'gcc', major: 14, version: '14.2.0', command: 'x86_64-linux-gnu-gcc-14' });
    expect(parseCcVersionText(TEXTS['7.2'])).toMatchObject({ family: 'gcc', major: 16, version: '16.2.0' });
    expect(parseCcVersionText('gcc-16 (Debian 16.2.0-4) 16.2.0')).toMatchObject({ major: 16 });
  });

  it('reads other distributions’ gcc texts', () => {
    expect(parseCcVersionText('gcc (GCC) 13.2.1 20230801')).toMatchObject({ major: 13, version: '13.2.1' });
    expect(parseCcVersionText('gcc (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0')).toMatchObject({ major: 11, command: 'gcc' });
    expect(parseCcVersionText('x86_64-buildroot-linux-gnu-gcc.br_real (Buildroot 2024.02.6) 13.3.0')).toMatchObject({
      major: 13,
      version: '13.3.0',
      command: 'x86_64-buildroot-linux-gnu-gcc.br_real',
    });
  });

  it('rejects clang kernels with a clear error', () => {
    for (const text of ['Debian clang version 16.0.6 (15)', 'clang version 17.0.6 (Fedora 17.0.6-1.fc39)', 'Ubuntu clang version 14.0.0-1ubuntu1']) {
      expect(() => parseCcVersionText(text)).toThrow(ToolchainError);
      expect(() => parseCcVersionText(text)).toThrow(/built with clang \d+.*not supported yet/);
    }
  });

  it('rejects a text it cannot read, quoting it', () => {
    expect(() => parseCcVersionText('')).toThrow(/cannot tell which compiler/);
    expect(() => parseCcVersionText('icc 2021')).toThrow(/'icc 2021'/);
  });
});

describe('parseDumpVersion', () => {
  it('takes the major of gcc -dumpversion', () => {
    expect(parseDumpVersion('12\n')).toBe(12);
    expect(parseDumpVersion('13.2.1')).toBe(13);
    expect(parseDumpVersion('')).toBeUndefined();
  });
});

describe('baseSuite and kernelSuite', () => {
  it('strips pockets', () => {
    expect(baseSuite('trixie-security')).toBe('trixie');
    expect(baseSuite('bullseye-security')).toBe('bullseye');
    expect(baseSuite('bookworm-updates')).toBe('bookworm');
    expect(baseSuite('buster/updates')).toBe('buster');
    expect(baseSuite('sid')).toBe('sid');
  });

  it("takes the headers' suite", () => {
    expect(
      kernelSuite([
        { name: 'linux-image-6.12.118+deb13-cloud-amd64', suite: 'trixie' },
        { name: 'linux-headers-6.12.118+deb13-cloud-amd64', suite: 'trixie-security' },
      ]),
    ).toBe('trixie-security');
    expect(kernelSuite([{ name: 'linux-image-x', suite: 'sid' }])).toBe('sid');
    expect(kernelSuite([])).toBeUndefined();
  });
});

describe('planToolchain', () => {
  const catalogue = loadCatalogue();
  const hint = (series: string) => catalogue.series[series]!.compiler;
  const cc = (series: keyof typeof TEXTS): CompilerId => parseCcVersionText(TEXTS[series]);
  const bookworm = { major: 12, hasKernelCommand: true };

  it('6.1 on a bookworm host: the host gcc-12 as the headers call it', () => {
    expect(planToolchain({ compiler: cc('6.1'), host: bookworm, hint: hint('6.1'), suite: 'bookworm-security' })).toMatchObject({ kind: 'host', makeVars: [] });
  });

  it('5.10 on a bookworm host: the host gcc with CC=gcc HOSTCC=gcc (the catalogue accepts gcc 12)', () => {
    expect(hint('5.10').gccAccepted).toEqual([12]);
    const plan = planToolchain({ compiler: cc('5.10'), host: { major: 12, hasKernelCommand: false }, hint: hint('5.10'), suite: 'bullseye-security' });
    expect(plan).toMatchObject({ kind: 'host', makeVars: ['CC=gcc', 'HOSTCC=gcc'] });
    expect(plan.reason).toMatch(/gcc-10.*gcc 12.*kernels\.json/);
  });

  it("5.10 on a host whose gcc the catalogue does not vouch for: bullseye's gcc-10", () => {
    expect(planToolchain({ compiler: cc('5.10'), host: { major: 14, hasKernelCommand: false }, hint: hint('5.10'), suite: 'bullseye-security' })).toEqual({
      kind: 'root',
      suite: 'bullseye',
      gccPackage: 'gcc-10',
      key: 'bullseye-gcc-10',
      makeVars: [],
      extraPackages: [],
      reason: expect.stringContaining('gcc 14'),
    });
  });

  describe('arm64 kernels on an amd64 host: cross builds', () => {
    const cross = { kernelArch: 'arm64', debArch: 'arm64', gnuType: 'aarch64-linux-gnu' };
    const crossVars = ['ARCH=arm64', 'CROSS_COMPILE=aarch64-linux-gnu-', 'DEB_HOST_ARCH=arm64', 'DEB_HOST_GNU_TYPE=aarch64-linux-gnu'];

    it("calls the kernel's gcc by its cross name, whatever triplet the native build's text carries", () => {
      expect(crossCommand('gcc-12', cross)).toBe('aarch64-linux-gnu-gcc-12');
      expect(crossCommand('aarch64-linux-gnu-gcc-14', cross)).toBe('aarch64-linux-gnu-gcc-14');
      expect(crossCommand('x86_64-linux-gnu-gcc-14', cross)).toBe('aarch64-linux-gnu-gcc-14');
      expect(crossMakeVars(cross)).toEqual(crossVars);
    });

    it("6.1/arm64 on a bookworm host with gcc-12-aarch64-linux-gnu: the host's cross gcc, by DEB_HOST_* (the headers override CROSS_COMPILE)", () => {
      const plan = planToolchain({ compiler: cc('6.1'), host: { major: 12, hasKernelCommand: true }, hint: hint('6.1'), suite: 'bookworm', cross });
      expect(plan).toMatchObject({ kind: 'host', makeVars: crossVars });
      expect(plan.reason).toMatch(/arm64 cross gcc/);
    });

    it("the cross gcc of the kernel's major without its -N name: CC=aarch64-linux-gnu-gcc", () => {
      expect(planToolchain({ compiler: cc('6.1'), host: { major: 12, hasKernelCommand: false }, suite: 'bookworm', cross })).toMatchObject({
        kind: 'host',
        makeVars: [...crossVars, 'CC=aarch64-linux-gnu-gcc', 'HOSTCC=gcc'],
      });
    });

    it("6.12/arm64 (gcc-14) with bookworm's cross gcc 12: gcc-14-aarch64-linux-gnu in a trixie root", () => {
      expect(
        planToolchain({ compiler: cc('6.12'), host: { major: 12, hasKernelCommand: false }, hint: hint('6.12'), suite: 'trixie-security', cross }),
      ).toEqual({
        kind: 'root',
        suite: 'trixie',
        gccPackage: 'gcc-14-aarch64-linux-gnu',
        key: 'trixie-gcc-14-aarch64-linux-gnu',
        makeVars: crossVars,
        extraPackages: ['gcc-14'],
        reason: 'the kernel was built with gcc-14 and the host has arm64 cross gcc 12: using gcc-14-aarch64-linux-gnu from a trixie root',
      });
    });

    it('no cross gcc on the host at all: a root of the suite, never the native gcc', () => {
      expect(planToolchain({ compiler: cc('6.1'), host: { major: undefined, hasKernelCommand: false }, suite: 'bookworm', cross })).toMatchObject({
        kind: 'root',
        gccPackage: 'gcc-12-aarch64-linux-gnu',
        reason: expect.stringContaining('no arm64 cross gcc'),
      });
    });
  });

  it('6.12 (trixie, gcc-14) and 7.2 (sid, gcc-16): a root of the base suite', () => {
    expect(planToolchain({ compiler: cc('6.12'), host: bookworm, hint: hint('6.12'), suite: 'trixie-security' })).toMatchObject({
      kind: 'root',
      suite: 'trixie',
      gccPackage: 'gcc-14',
      key: 'trixie-gcc-14',
    });
    expect(planToolchain({ compiler: cc('7.2'), host: bookworm, hint: hint('7.2'), suite: 'sid' })).toMatchObject({
      kind: 'root',
      suite: 'sid',
      gccPackage: 'gcc-16',
      key: 'sid-gcc-16',
    });
  });

  it('the same major on a host without the gcc-N name: CC=gcc', () => {
    expect(planToolchain({ compiler: cc('6.12'), host: { major: 14, hasKernelCommand: false }, suite: 'trixie' })).toMatchObject({
      kind: 'host',
      makeVars: ['CC=gcc', 'HOSTCC=gcc'],
    });
    expect(planToolchain({ compiler: cc('6.12'), host: { major: 14, hasKernelCommand: true }, suite: 'trixie' })).toMatchObject({ kind: 'host', makeVars: [] });
  });

  it('no host gcc at all: a root', () => {
    expect(planToolchain({ compiler: cc('6.1'), host: { major: undefined, hasKernelCommand: false }, hint: hint('6.1'), suite: 'bookworm' })).toMatchObject({
      kind: 'root',
      key: 'bookworm-gcc-12',
    });
  });

  it('another gcc and no Debian suite (a kernel built elsewhere) is an error naming both compilers', () => {
    expect(() => planToolchain({ compiler: parseCcVersionText('gcc (GCC) 13.2.1 20230801'), host: bookworm, suite: undefined })).toThrow(
      /built with gcc 13 .* host has gcc 12.*only for Debian kernels/,
    );
    expect(
      planToolchain({ compiler: parseCcVersionText('gcc (Debian 12.2.0-14) 12.2.0'), host: { major: 12, hasKernelCommand: true }, suite: undefined }),
    ).toMatchObject({ kind: 'host', makeVars: [] });
  });
});
