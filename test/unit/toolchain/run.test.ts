import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { elfInterpreter } from '../../../harness/src/image/elf.js';
import { ENTER_ROOT_SCRIPT, enterFailure, enterRootArgs, orderBinds, rootToolchain } from '../../../harness/src/toolchain/run.js';
import { ToolchainError } from '../../../harness/src/toolchain/select.js';

const KERNEL = '/root/.cache/kmod-harness/kernels/7.2_7.2.13-1';
const HEADERS = `${KERNEL}/root/usr/src/linux-headers-7.2.13+deb14-cloud-amd64`;

describe('enterRootArgs', () => {
  const base = { root: '/c/toolchains/sid-gcc-16/root', stage: '/tmp/kmod-harness-root-x', command: ['make', '-C', HEADERS, 'M=/tmp/w/module', 'modules'] };

  it('as root: mount and pid namespaces, the script, its arguments, then the command', () => {
    const args = enterRootArgs({
      ...base,
      binds: [
        { path: '/tmp/w/module', readOnly: false },
        { path: KERNEL, readOnly: true },
      ],
      unprivileged: false,
    });
    expect(args).toEqual([
      '--mount',
      '--propagation',
      'private',
      '--pid',
      '--fork',
      '--kill-child',
      '--',
      'sh',
      '-c',
      ENTER_ROOT_SCRIPT,
      'sh',
      '/c/toolchains/sid-gcc-16/root',
      '/tmp/kmod-harness-root-x',
      'rw',
      '/tmp/w/module',
      'ro',
      KERNEL,
      '--',
      'make',
      '-C',
      HEADERS,
      'M=/tmp/w/module',
      'modules',
    ]);
  });

  it('unprivileged: a user namespace mapping the caller to root first', () => {
    expect(enterRootArgs({ ...base, binds: [], unprivileged: true }).slice(0, 3)).toEqual(['--user', '--map-root-user', '--mount']);
  });

  it('refuses paths the overlay options cannot carry', () => {
    expect(() => enterRootArgs({ ...base, root: '/c/a,b/root', binds: [], unprivileged: false })).toThrow(/','/);
  });

  it('passes paths as arguments, never inside the script', () => {
    const args = enterRootArgs({ ...base, binds: [{ path: "/tmp/it's here", readOnly: false }], unprivileged: false });
    expect(ENTER_ROOT_SCRIPT).not.toContain('/tmp');
    expect(args).toContain("/tmp/it's here");
  });
});

describe('ENTER_ROOT_SCRIPT', () => {
  it('is valid sh', () => {
    execFileSync('sh', ['-n', '-c', ENTER_ROOT_SCRIPT]);
  });

  it('keeps the cached root read-only: an overlay with a tmpfs upper, binds and /proc inside it, then chroot', () => {
    expect(ENTER_ROOT_SCRIPT).toMatch(/mount -t tmpfs .*"\$stage"/);
    expect(ENTER_ROOT_SCRIPT).toMatch(/mount -t overlay overlay -o "lowerdir=\$root,upperdir=\$stage\/upper,workdir=\$stage\/work" "\$new"/);
    expect(ENTER_ROOT_SCRIPT).toContain('mount --bind "$dir" "$new$dir"');
    expect(ENTER_ROOT_SCRIPT).toContain('if [ "$mode" = ro ]; then mount -o remount,bind,ro "$new$dir"');
    expect(ENTER_ROOT_SCRIPT).toContain('mount -t proc proc "$new/proc"');
    expect(ENTER_ROOT_SCRIPT.trim().split('\n').at(-1)).toBe('exec chroot "$new" "$@"');
  });
});

describe('orderBinds', () => {
  const rw = (p: string) => ({ path: p, readOnly: false });
  const ro = (p: string) => ({ path: p, readOnly: true });

  it('mounts parents before children, once each', () => {
    expect(orderBinds([rw('/a/b/c'), ro('/a'), rw('/a/b/c/'), rw('/z')])).toEqual([ro('/a'), rw('/z'), rw('/a/b/c')]);
  });

  it('binds a directory asked for both ways writable, whatever the order', () => {
    expect(orderBinds([ro('/k'), rw('/k/')])).toEqual([rw('/k')]);
    expect(orderBinds([rw('/k'), ro('/k')])).toEqual([rw('/k')]);
  });

  it('refuses /', () => {
    expect(() => orderBinds([ro('/')])).toThrow();
  });
});

describe('enterFailure', () => {
  // Captured: an overlay over a missing root; a tool the root lacks.
  const overlay = `mount: /tmp/kmod-harness-root-4QiaSe/merged: special device overlay does not exist.
       dmesg(1) may have more information after failed mount system call.
kmod-harness: cannot enter the toolchain root: overlay over /nonexistent/root`;

  it('turns a failure to enter the root into an infra-error, not a build failure', () => {
    const e = enterFailure({ exitCode: 125, all: overlay }, 'make');
    expect(e).toBeInstanceOf(ToolchainError);
    expect(e?.outcome).toBe('infra-error');
    expect(e?.message).toBe('cannot run make in the toolchain root: kmod-harness: cannot enter the toolchain root: overlay over /nonexistent/root');
    expect(enterFailure({ exitCode: 127, all: 'chroot: failed to run command ‘strip’: No such file or directory' }, 'strip')?.message).toMatch(
      /chroot: failed to run command/,
    );
  });

  it('says what is needed when namespaces are refused', () => {
    expect(enterFailure({ exitCode: 1, all: 'unshare: unshare failed: Operation not permitted' }, 'make')?.fix).toMatch(/user namespaces/);
  });

  it("leaves make's own failures (exit 2) and successes alone", () => {
    expect(enterFailure({ exitCode: 2, all: 'make: *** [Makefile:236: __sub-make] Error 2' }, 'make')).toBeUndefined();
    expect(enterFailure({ exitCode: 0, all: 'GNU Make 4.4.1' }, 'make')).toBeUndefined();
  });
});

// For real, in a root of the host's static busybox with a `make` that writes where it is told:
// the kernel's cache entry is read-only inside, the build dir writable.
const busybox = '/usr/bin/busybox';
const canEnter = (() => {
  try {
    execFileSync('unshare', ['--user', '--map-root-user', '--mount', 'true'], { stdio: 'ignore' });
    // Static (Debian's busybox is): nothing else needs to be in the root.
    return elfInterpreter(readFileSync(busybox)) === undefined;
  } catch {
    return false;
  }
})();

describe.skipIf(!canEnter)('rootToolchain binds (a busybox root)', () => {
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'kmod-harness-run-test-'));
    const root = path.join(work, 'root');
    for (const d of ['bin', 'usr/bin', 'dev', 'proc']) await mkdir(path.join(root, d), { recursive: true });
    await copyFile(busybox, path.join(root, 'bin/busybox'));
    await chmod(path.join(root, 'bin/busybox'), 0o755);
    await symlink('busybox', path.join(root, 'bin/sh'));
    await writeFile(
      path.join(root, 'usr/bin/make'),
      '#!/bin/sh\necho built > "$2/out" && echo wrote-build\necho x > "$1/stray" || echo kernel-dir-read-only\n',
      { mode: 0o755 },
    );
    await mkdir(path.join(work, 'kernel/headers'), { recursive: true });
    await mkdir(path.join(work, 'build'));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  // A container runtime masks parts of /proc (/proc/keys, /proc/timer_list, ...) with mounts of
  // its own, and the kernel then refuses a fresh proc to a user namespace: there (GitHub's job
  // container) the unprivileged way in must fail with the harness's own error, not a crash.
  const procMasked = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .some((mountPoint) => mountPoint.startsWith('/proc/') && mountPoint !== '/proc/sys/fs/binfmt_misc');

  for (const [how, unprivileged] of [
    ['as root', false],
    ['in a user namespace (unprivileged)', true],
  ] as const) {
    it.skipIf(!unprivileged && process.getuid?.() !== 0)(`${how}: the build dir is writable, the kernel entry is not`, async () => {
      const toolchain = rootToolchain({
        root: path.join(work, 'root'),
        kernelDir: path.join(work, 'kernel'),
        description: 'busybox root',
        reason: 'test',
        unprivileged,
      });
      if (unprivileged && procMasked) {
        const e = await toolchain.make([path.join(work, 'kernel/headers')], { binds: [path.join(work, 'build')] }).catch((error: unknown) => error);
        expect(e).toBeInstanceOf(ToolchainError);
        expect((e as ToolchainError).message).toBe('cannot run make in the toolchain root: kmod-harness: cannot enter the toolchain root: proc');
        return;
      }
      const r = await toolchain.make([path.join(work, 'kernel/headers'), path.join(work, 'build')], { binds: [path.join(work, 'build')] });
      expect(r.all).toContain('wrote-build');
      expect(r.all).toMatch(/Read-only file system/);
      expect(r.all).toContain('kernel-dir-read-only');
      expect(await readFile(path.join(work, 'build/out'), 'utf8')).toBe('built\n');
      await expect(readFile(path.join(work, 'kernel/headers/stray'))).rejects.toThrow(/ENOENT/);
    });
  }
});
