// `kmod-harness shell` through the real CLI: the guest's shell reads the piped commands and the
// CLI exits with the shell's status; the VM is gone afterwards.
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../harness/src/util/paths.js';
import { childEnv, firstKernel, qemuCount } from './support.js';

const CLI = path.join(PACKAGE_ROOT, 'dist/cli.js');
const kernel = firstKernel();
const env = childEnv();

describe(`kmod-harness shell on ${kernel}`, () => {
  it('runs the commands typed into it with the module loaded, and exits with the shell', async () => {
    const before = await qemuCount();
    const r = await execa('node', [CLI, 'shell', '--kernel', kernel, '--no-strict'], {
      env,
      extendEnv: false,
      input: 'grep -c ^lkmc_mmap /proc/modules\nhead -c 5 /proc/lkmc_mmap; echo\nexit 3\n',
      reject: false,
      all: true,
    });
    expect(r.exitCode, r.all).toBe(3);
    expect(r.stderr).toMatch(/module lkmc_mmap: loaded; \/tmp\/kmod-harness\/shell\/lkmc_mmap\.ko/);
    expect(r.stdout).toMatch(/^1\r?$/m);
    // The seed fills its page with "asdf..." at load.
    expect(r.stdout).toMatch(/^asdf/m);
    expect(await qemuCount()).toBe(before);
  });

  it('--no-load leaves the module uploaded but not loaded; --command runs one command on a pty', async () => {
    const r = await execa(
      'node',
      [
        CLI,
        'shell',
        '--kernel',
        kernel,
        '--no-strict',
        '--no-load',
        '--command',
        'test -t 0 && ! grep -q ^lkmc_mmap /proc/modules && insmod /tmp/kmod-harness/shell/lkmc_mmap.ko && grep -c ^lkmc_mmap /proc/modules',
      ],
      { env, extendEnv: false, reject: false, all: true },
    );
    expect(r.exitCode, r.all).toBe(0);
    expect(r.stderr).toContain('module lkmc_mmap: not loaded (--no-load)');
    expect(r.stdout.trim()).toBe('1');
  });
});
