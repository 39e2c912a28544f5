import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { installedVersion, mmdebstrapArgs, mmdebstrapError, readRootMetadata, TOOLCHAIN_METADATA_FILE } from '../../../harness/src/toolchain/root.js';
import { ToolchainError } from '../../../harness/src/toolchain/select.js';

const mirror = { uri: 'http://mirror.example/debian', from: '/etc/apt/sources.list.d/debian.sources' };
const trixie = { suite: 'trixie', gccPackage: 'gcc-14', key: 'trixie-gcc-14', checkValidUntil: true };
const sid = { suite: 'sid', gccPackage: 'gcc-16', key: 'sid-gcc-16', checkValidUntil: false };

describe('mmdebstrapArgs', () => {
  it('makes a minbase directory root with gcc-N and what kbuild needs, from the given mirror', () => {
    const args = mmdebstrapArgs(trixie, mirror, '/c/toolchains/.tmp-x/root');
    expect(args).toContain('--mode=unshare');
    expect(args).toContain('--variant=minbase');
    expect(args).toContain('--include=gcc-14,make,libc6-dev,libelf-dev,dwarves,flex,bison,bc,libssl-dev');
    expect(args.slice(-3)).toEqual(['trixie', '/c/toolchains/.tmp-x/root', 'http://mirror.example/debian']);
    expect(args.some((a) => a.includes('Check-Valid-Until'))).toBe(false);
  });

  it("puts a cross root's native gcc-N in too (the host tools of a whole-kernel build)", () => {
    const cross = { ...trixie, gccPackage: 'gcc-14-aarch64-linux-gnu', extraPackages: ['gcc-14'], key: 'trixie-gcc-14-aarch64-linux-gnu' };
    expect(mmdebstrapArgs(cross, mirror, '/t')).toContain(
      '--include=gcc-14-aarch64-linux-gnu,gcc-14,make,libc6-dev,libelf-dev,dwarves,flex,bison,bc,libssl-dev',
    );
  });

  it("ignores sid's expired Release date", () => {
    expect(mmdebstrapArgs(sid, mirror, '/t')).toContain('--aptopt=Acquire::Check-Valid-Until "false"');
  });
});

// mmdebstrap 1.3.5 output captured on this project's machines (LC_ALL=C), mirror host replaced.
const OUTPUT = {
  enospc: `Get:2 http://mirror.example/debian trixie/main amd64 Packages [9679 kB]
Err:2 http://mirror.example/debian trixie/main amd64 Packages
  Write error - write (28: No space left on device)
E: Failed to fetch http://mirror.example/debian/dists/trixie/main/binary-amd64/Packages  Write error - write (28: No space left on device)
E: Some index files failed to download. They have been ignored, or old ones used instead.
E: mmdebstrap failed to run`,
  nopkg: `Building dependency tree...
E: Unable to locate package gcc-99
E: mmdebstrap failed to run`,
  expired: `Get:1 http://mirror.example/debian sid InRelease [193 kB]
E: Release file for http://mirror.example/debian/dists/sid/InRelease is expired (invalid since 18d 19h 7min 7s). Updates for this repository will not be applied.
E: mmdebstrap failed to run`,
  mirror: `Err:1 http://127.0.0.1:9/debian trixie InRelease
  Could not connect to 127.0.0.1:9 (127.0.0.1). - connect (111: Connection refused)
E: Failed to fetch http://127.0.0.1:9/debian/dists/trixie/InRelease  Could not connect to 127.0.0.1:9 (127.0.0.1). - connect (111: Connection refused)
E: mmdebstrap failed to run`,
  // Unprivileged, with no /etc/subuid range for the user.
  permission: `W: /etc/subuid is empty
E: failed to parse /etc/subuid and /etc/subgid
E: mmdebstrap failed to run`,
};

describe('mmdebstrapError', () => {
  const error = (out: string) => mmdebstrapError(trixie, mirror, out, 25);

  it('says why, as an infra-error', () => {
    const e = error(OUTPUT.enospc);
    expect(e).toBeInstanceOf(ToolchainError);
    expect(e.outcome).toBe('infra-error');
    expect(e.message).toMatch(/disk is full/);
    expect(e.fix).toMatch(/KMOD_HARNESS_CACHE/);
    expect(error(OUTPUT.nopkg).message).toMatch(/trixie on http:\/\/mirror.example\/debian has no gcc-14/);
    expect(error(OUTPUT.expired).fix).toMatch(/checkValidUntil/);
    expect(error(OUTPUT.mirror).message).toMatch(
      /mirror http:\/\/mirror.example\/debian \(from \/etc\/apt\/sources.list.d\/debian.sources\) did not serve trixie/,
    );
    expect(error(OUTPUT.permission).message).toMatch(/not permitted/);
    expect(error(OUTPUT.permission).fix).toMatch(/uidmap/);
    expect(error('something else').message).toMatch(/mmdebstrap exited 25/);
  });

  it("keeps apt's error lines as detail", () => {
    expect(error(OUTPUT.mirror).detail).toContain('Could not connect to 127.0.0.1:9');
    expect(error(OUTPUT.mirror).detail).not.toContain('Err:1 http://127.0.0.1:9/debian trixie InRelease\n  Could');
  });
});

describe('installedVersion', () => {
  it("reads a package's version from the root's dpkg status", async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'kmh-root-test-'));
    try {
      await mkdir(path.join(root, 'var/lib/dpkg'), { recursive: true });
      await writeFile(
        path.join(root, 'var/lib/dpkg/status'),
        'Package: make\nVersion: 4.4.1-2\n\nPackage: gcc-14\nStatus: install ok installed\nVersion: 14.2.0-19\n\n',
      );
      expect(await installedVersion(root, 'gcc-14')).toBe('14.2.0-19');
      expect(await installedVersion(root, 'gcc-16')).toBe('unknown');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('readRootMetadata', () => {
  it("reads a root entry's toolchain.json, and is undefined for none or an unreadable one", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'kmod-harness-root-meta-'));
    try {
      expect(await readRootMetadata(dir)).toBeUndefined();
      await writeFile(path.join(dir, TOOLCHAIN_METADATA_FILE), '{"suite": "trixie"');
      expect(await readRootMetadata(dir)).toBeUndefined();
      await writeFile(
        path.join(dir, 'toolchain.json'),
        JSON.stringify({ suite: 'trixie', gccPackage: 'gcc-14', gccVersion: '14.2.0-19', packages: ['gcc-14', 'make'] }),
      );
      expect(await readRootMetadata(dir)).toEqual({ suite: 'trixie', gccPackage: 'gcc-14', gccVersion: '14.2.0-19', packages: ['gcc-14', 'make'] });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
