// Kernels the user built, through the real pipeline: a directory laid out exactly as a
// Buildroot output dir, made from the cached Debian 6.1 kernel by
// test/fixtures/buildroot/make-output-dir.sh, run as buildroot:<dir>; the same pieces as
// local:<bzImage>,<build dir>. It boots its own VMs and uses none of globalSetup's sessions.
// What this does not prove: a kernel, rootfs and toolchain made by Buildroot itself.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareKernel, type KernelArtifacts } from '../../harness/src/kernel/index.js';
import { SEED_MODULE_DIR, SEED_TEST_DIR } from '../../harness/src/util/paths.js';
import { parseAccelChoice } from '../../harness/src/qemu/accel.js';
import { runOnKernel, type KernelResult } from '../../harness/src/run.js';
import { openSession } from '../../harness/src/session.js';
import { needs } from '../support/host-tools.js';

const SCRIPT = path.resolve(import.meta.dirname, '../fixtures/buildroot/make-output-dir.sh');
const accel = parseAccelChoice(process.env.KMOD_HARNESS_ACCEL);

let work: string;
let out: string;
let debian: KernelArtifacts;
let version: string;

function explain(result: KernelResult): string {
  return [...result.reasons, result.logs.build?.slice(-2000), result.logs.console?.slice(-3000)].filter(Boolean).join('\n');
}

beforeAll(async () => {
  // The script's own tools: without GNU cpio it would make a root with no /bin/sh.
  (await needs(['cpio', 'busybox', 'depmod'])).require();
  debian = await prepareKernel('6.1');
  work = await mkdtemp(path.join(tmpdir(), 'kmod-harness-kernel-sources-'));
  out = path.join(work, 'output');
  await execa('sh', [SCRIPT, debian.vmlinuz, debian.modulesDir, debian.headersDir, out]);
  version = (await execa('sh', ['-c', 'ls build | sed -n "s/^linux-//p"'], { cwd: out })).stdout.trim();
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('kernels from a Buildroot-shaped output dir (a Debian 6.1 kernel laid out as Buildroot lays it out)', () => {
  it('buildroot:<dir>: the seed passes, built against build/linux-<version>, booted on rootfs.cpio.gz + the overlay', async () => {
    const result = await runOnKernel(`buildroot:${out}`, { moduleDir: SEED_MODULE_DIR, test: SEED_TEST_DIR, accel });
    expect(result.outcome, explain(result)).toBe('pass');
    expect(result.kernel).toBe(debian.release);
    expect(result.logs.build).toContain(`build/linux-${version}`);
    expect(result.logs.test).toContain('ok 5 - both mappings map the same physical page');
  });

  it("local:<bzImage>,<build dir>: the seed passes on the harness image with the tree's own virtio modules", async () => {
    const tree = path.join(out, 'build', `linux-${version}`);
    const result = await runOnKernel(`local:${tree}/arch/x86/boot/bzImage,${tree}`, { moduleDir: SEED_MODULE_DIR, test: SEED_TEST_DIR, accel });
    expect(result.outcome, explain(result)).toBe('pass');
    expect(result.kernel).toBe(debian.release);
  });

  it("the overlay leaves the rootfs's /lib, links and accounts alone, and dropbear runs on its private glibc", async () => {
    const kernel = await prepareKernel(`buildroot:${out}`);
    const session = await openSession(kernel, { accel });
    try {
      const sh = async (command: string): Promise<string> => {
        const r = await session.guest.conn.exec(command, { timeoutMs: 10_000 });
        expect(r.exitCode, `${command}\n${r.stderr}`).toBe(0);
        return r.stdout.trim();
      };
      expect(await sh('cat /lib/FIXTURE-LIB-MARKER')).toMatch(/belongs to the Buildroot rootfs/);
      expect(await sh('readlink /lib64; readlink /usr/lib64; readlink /etc/dropbear; readlink /var/run')).toBe('lib\nlib\n/var/run/dropbear\n../run');
      expect(await sh('grep ^PRETTY_NAME /etc/os-release')).toContain('Buildroot layout');
      expect(await sh('cat /etc/passwd')).toContain('daemon:x:1:1:daemon:/usr/sbin:/bin/false');
      // No host library leaked into the root's own /lib.
      expect(await sh('ls /lib')).not.toMatch(/libc\.so|ld-linux/);
      // The process serving this session is the copy of dropbear it re-executed: it runs on
      // the private loader and libc, while the session's environment is clean.
      const maps = await sh('cat /proc/$PPID/maps');
      expect(maps).toContain('/kmod-harness/lib/ld.so');
      expect(maps).toContain('/kmod-harness/lib/libc.so.6');
      expect(await sh('readlink /proc/$PPID/exe')).toBe('/kmod-harness/bin/dropbear');
      expect(await sh('env | grep -c ^LD_ || true')).toBe('0');
      expect(await sh('uname -r')).toBe(debian.release);
      // The virtio modules were loaded from the rootfs's own /lib/modules.
      expect(await sh('cat /etc/kmod-harness/modules')).toContain(`/lib/modules/${debian.release}/kernel/drivers/net/virtio_net.ko`);
      expect(await sh('grep -c ^virtio_net /proc/modules')).toBe('1');
    } finally {
      await session.close();
    }
  });
});
