import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compilerVars, crossTarget, gccMajor } from '../../../harness/src/toolchain/index.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'kmod-harness-gcc-test-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A stand-in gcc whose -dumpversion prints `out` and exits `code`. */
async function fakeGcc(out: string, code = 0): Promise<string> {
  const file = path.join(dir, 'gcc');
  await writeFile(file, `#!/bin/sh\n[ "$1" = -dumpversion ] || exit 9\nprintf '%s\\n' '${out}'\nexit ${code}\n`);
  await chmod(file, 0o755);
  return file;
}

describe('gccMajor', () => {
  it("reads the major from gcc's -dumpversion, bare or dotted", async () => {
    expect(await gccMajor(await fakeGcc('12'))).toBe(12);
    expect(await gccMajor(await fakeGcc('4.9.2'))).toBe(4);
  });

  it('is undefined when gcc fails or is not there', async () => {
    expect(await gccMajor(await fakeGcc('12', 1))).toBeUndefined();
    expect(await gccMajor(path.join(dir, 'no-gcc'))).toBeUndefined();
  });
});

describe('compilerVars (kbuild in a suite root, where gcc-N has only its own name)', () => {
  it("names the kernel's gcc-N for the target and the host tools", () => {
    expect(compilerVars({ command: 'gcc-14', major: 14 })).toEqual(['CC=gcc-14', 'HOSTCC=gcc-14']);
  });

  it("for an arm64 kernel: its cross gcc-N for the target, the root's native gcc-N for the host tools", () => {
    expect(compilerVars({ command: 'aarch64-linux-gnu-gcc-14', major: 14 }, crossTarget('arm64'))).toEqual(['CC=aarch64-linux-gnu-gcc-14', 'HOSTCC=gcc-14']);
    expect(compilerVars({ command: 'gcc-12', major: 12 }, crossTarget('arm64'))).toEqual(['CC=aarch64-linux-gnu-gcc-12', 'HOSTCC=gcc-12']);
    expect(crossTarget('amd64')).toBeUndefined();
  });
});
