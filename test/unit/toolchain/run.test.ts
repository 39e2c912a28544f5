import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ENTER_ROOT_SCRIPT, enterFailure, enterRootArgs, orderBinds } from '../../../harness/src/toolchain/run.js';
import { ToolchainError } from '../../../harness/src/toolchain/select.js';

const KERNEL = '/root/.cache/kmod-harness/kernels/7.2_7.2.13-1';
const HEADERS = `${KERNEL}/root/usr/src/linux-headers-7.2.13+deb14-cloud-amd64`;

describe('enterRootArgs', () => {
  const base = { root: '/c/toolchains/sid-gcc-16/root', stage: '/tmp/kmod-harness-root-x', command: ['make', '-C', HEADERS, 'M=/tmp/w/module', 'modules'] };

  it('as root: mount and pid namespaces, the script, its arguments, then the command', () => {
    const args = enterRootArgs({ ...base, binds: ['/tmp/w/module', KERNEL], unprivileged: false });
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
      '/tmp/w/module',
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
    const args = enterRootArgs({ ...base, binds: ["/tmp/it's here"], unprivileged: false });
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
    expect(ENTER_ROOT_SCRIPT).toContain('mount --bind "$1" "$new$1"');
    expect(ENTER_ROOT_SCRIPT).toContain('mount -t proc proc "$new/proc"');
    expect(ENTER_ROOT_SCRIPT.trim().split('\n').at(-1)).toBe('exec chroot "$new" "$@"');
  });
});

describe('orderBinds', () => {
  it('mounts parents before children, once each', () => {
    expect(orderBinds(['/a/b/c', '/a', '/a/b/c/', '/z'])).toEqual(['/a', '/z', '/a/b/c']);
  });

  it('refuses /', () => {
    expect(() => orderBinds(['/'])).toThrow();
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
    expect(enterFailure({ exitCode: 127, all: 'chroot: failed to run command ‘strip’: No such file or directory' }, 'strip')?.message).toMatch(/chroot: failed to run command/);
  });

  it('says what is needed when namespaces are refused', () => {
    expect(enterFailure({ exitCode: 1, all: 'unshare: unshare failed: Operation not permitted' }, 'make')?.fix).toMatch(/user namespaces/);
  });

  it("leaves make's own failures (exit 2) and successes alone", () => {
    expect(enterFailure({ exitCode: 2, all: 'make: *** [Makefile:236: __sub-make] Error 2' }, 'make')).toBeUndefined();
    expect(enterFailure({ exitCode: 0, all: 'GNU Make 4.4.1' }, 'make')).toBeUndefined();
  });
});
