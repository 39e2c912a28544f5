import { describe, expect, it } from 'vitest';
import { aptInstallLine, toolsFor } from '../../../harness/src/host/setup.js';
import { ARM64_TOOLS, crossBinutil, debianPackageOf, HOST_TOOLS, TEST_TOOLS } from '../../../harness/src/host/tools.js';
import { underCI } from '../../../harness/src/console/mode.js';

describe('toolsFor', () => {
  it("covers the harness's tools, and with test the test suite's too (cpio, xmllint)", () => {
    expect(toolsFor()).toEqual(Object.keys(HOST_TOOLS));
    // The test suite boots arm64 guests too.
    expect(toolsFor({ test: true })).toEqual([...Object.keys(HOST_TOOLS), ...Object.keys(ARM64_TOOLS), ...Object.keys(TEST_TOOLS)]);
    expect(toolsFor({ test: true }).map(debianPackageOf)).toEqual(expect.arrayContaining(['cpio', 'libxml2-utils', 'kmod', 'qemu-system-arm']));
  });

  it('adds the arm64 tools for a run with an arm64 kernel only', () => {
    expect(toolsFor({ arches: ['amd64'] })).toEqual(Object.keys(HOST_TOOLS));
    expect(toolsFor({ arches: ['amd64', 'arm64'] })).toEqual([...Object.keys(HOST_TOOLS), ...Object.keys(ARM64_TOOLS)]);
    expect((Object.keys(ARM64_TOOLS) as Array<keyof typeof ARM64_TOOLS>).map(debianPackageOf)).toEqual([
      'qemu-system-arm',
      'gcc-aarch64-linux-gnu',
      'binutils-aarch64-linux-gnu',
      'binutils-aarch64-linux-gnu',
    ]);
  });

  it('names each tool by its Debian package', () => {
    expect(debianPackageOf('xmllint')).toBe('libxml2-utils');
    expect(debianPackageOf('depmod')).toBe('kmod');
    expect(aptInstallLine(['cpio', 'libxml2-utils'])).toBe('sudo apt-get install -y cpio libxml2-utils');
  });
});

describe('crossBinutil', () => {
  it("is the host's strip and addr2line for its own architecture, the aarch64 ones for an arm64 build, none for a prefix it has no tools for", () => {
    expect(crossBinutil('strip', '')).toBe('strip');
    expect(crossBinutil('addr2line', '')).toBe('addr2line');
    expect(crossBinutil('strip', 'aarch64-linux-gnu-')).toBe('aarch64-linux-gnu-strip');
    expect(crossBinutil('addr2line', 'aarch64-linux-gnu-')).toBe('aarch64-linux-gnu-addr2line');
    expect(crossBinutil('strip', 'riscv64-linux-gnu-')).toBeUndefined();
  });
});

describe('underCI', () => {
  it('is CI set and not empty, 0 or false', () => {
    expect(underCI({ CI: 'true' })).toBe(true);
    expect(underCI({ CI: '1' })).toBe(true);
    for (const CI of [undefined, '', '0', 'false', 'FALSE']) expect(underCI({ CI })).toBe(false);
  });
});
