import { cp, mkdtemp, readFile, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../../harness/src/errors.js';
import { prepareBuildrootKernel } from '../../../harness/src/user-kernel/buildroot.js';
import { makeBuildrootDir, put } from './fake-tree.js';
import { needs } from '../../support/host-tools.js';

const release = '6.1.44';
const depmod = await needs(['depmod']);

describe('prepareBuildrootKernel', () => {
  let work: string;
  let out: string;
  let cacheRoot: string;
  beforeEach(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'kmod-harness-buildroot-'));
    out = path.join(work, 'output');
    cacheRoot = path.join(work, 'cache');
  });
  afterEach(async () => {
    await rm(work, { recursive: true, force: true });
  });

  const prepare = () => prepareBuildrootKernel(`buildroot:${out}`, { cacheRoot });

  /** The UsageError prepare() throws, for its message and fix. */
  async function usageError(): Promise<UsageError> {
    const error = await prepare().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UsageError);
    return error as UsageError;
  }

  it('takes images/bzImage, images/rootfs.cpio.gz, build/linux-<version>/ and target/lib/modules/<release>', async () => {
    const tree = await makeBuildrootDir(out, release);
    expect(await prepare()).toEqual({
      series: `buildroot:${out}`,
      release,
      packages: [],
      vmlinuz: path.join(out, 'images/bzImage'),
      modulesDir: path.join(out, 'target/lib/modules', release),
      headersDir: tree,
      config: path.join(tree, '.config'),
      ccVersionText: 'gcc-12 (Debian 12.2.0-14) 12.2.0',
      source: 'buildroot',
      baseInitramfs: path.join(out, 'images/rootfs.cpio.gz'),
    });
  });

  it('names the output dir when it does not exist', async () => {
    const e = await usageError();
    expect(e.message).toBe(`the Buildroot output dir ${out} does not exist`);
  });

  it('names images/bzImage when it is missing, and the Buildroot option that makes it', async () => {
    await makeBuildrootDir(out, release);
    await rm(path.join(out, 'images/bzImage'));
    const e = await usageError();
    expect(e.message).toBe(`the Buildroot output dir ${out} has no images/bzImage`);
    expect(e.fix).toMatch(/BR2_LINUX_KERNEL_BZIMAGE/);
  });

  it('rejects an images/bzImage that is not a bzImage', async () => {
    await makeBuildrootDir(out, release);
    await put(out, { 'images/bzImage': '\x7fELF vmlinux' });
    expect((await usageError()).message).toMatch(/images\/bzImage is not an x86 bzImage/);
  });

  it('names images/rootfs.cpio(.gz) when there is none, and BR2_TARGET_ROOTFS_CPIO', async () => {
    await makeBuildrootDir(out, release);
    await rm(path.join(out, 'images/rootfs.cpio.gz'));
    const e = await usageError();
    expect(e.message).toBe(`the Buildroot output dir ${out} has no images/rootfs.cpio or images/rootfs.cpio.gz`);
    expect(e.fix).toMatch(/BR2_TARGET_ROOTFS_CPIO/);
  });

  it('says so when the cpio image is compressed with something it cannot undo', async () => {
    await makeBuildrootDir(out, release);
    await rm(path.join(out, 'images/rootfs.cpio.gz'));
    await put(out, { 'images/rootfs.cpio.lz4': 'x' });
    expect((await usageError()).message).toMatch(/rootfs\.cpio\.lz4 is compressed in a way the harness does not unpack/);
  });

  it('takes the newer of rootfs.cpio and rootfs.cpio.gz', async () => {
    await makeBuildrootDir(out, release);
    await put(out, { 'images/rootfs.cpio': '070701' });
    await utimes(path.join(out, 'images/rootfs.cpio.gz'), new Date(1e12), new Date(1e12));
    await utimes(path.join(out, 'images/rootfs.cpio'), new Date(2e12), new Date(2e12));
    expect((await prepare()).baseInitramfs).toBe(path.join(out, 'images/rootfs.cpio'));
    await utimes(path.join(out, 'images/rootfs.cpio'), new Date(5e11), new Date(5e11));
    expect((await prepare()).baseInitramfs).toBe(path.join(out, 'images/rootfs.cpio.gz'));
  });

  it('names build/linux-<version>/ when no kernel tree is there (linux-headers-* is not one)', async () => {
    const tree = await makeBuildrootDir(out, release);
    await rm(tree, { recursive: true });
    const e = await usageError();
    expect(e.message).toBe(`the Buildroot output dir ${out} has no build/linux-<version>/ kernel tree (with a Makefile and .config)`);
    expect(e.fix).toMatch(/linux-rebuild/);
  });

  it.each([
    ['include/generated/autoconf.h', /modules_prepare/],
    ['scripts/mod/modpost', /modules_prepare/],
    ['Module.symvers', /full `make`/],
  ])('names %s when the tree lacks it, and what makes it', async (rel, fix) => {
    const tree = await makeBuildrootDir(out, release);
    await rm(path.join(tree, rel));
    const e = await usageError();
    expect(e.message).toBe(`the Buildroot kernel tree ${tree} has no ${rel}`);
    expect(e.fix).toMatch(fix);
  });

  it('refuses a tree for another release than the bzImage', async () => {
    const tree = await makeBuildrootDir(out, release);
    await put(tree, { 'include/generated/utsrelease.h': '#define UTS_RELEASE "6.1.43"\n' });
    const e = await usageError();
    expect(e.message).toBe('images/bzImage is 6.1.44, but build/linux-6.1.44 is 6.1.43: modules built there would not load');
  });

  // prepare() stages the tree's modules with depmod.
  it.skipIf(depmod.skip)("picks, of several trees, the one whose release is the bzImage's (linux-custom too)", async () => {
    depmod.require();
    await makeBuildrootDir(out, release);
    const custom = await makeBuildrootDir(path.join(work, 'other'), '6.6.1-custom');
    await put(out, { 'images/bzImage': await readFile(path.join(work, 'other/images/bzImage')) });
    await cp(custom, path.join(out, 'build/linux-custom'), { recursive: true });
    const k = await prepare();
    expect(k.headersDir).toBe(path.join(out, 'build/linux-custom'));
    expect(k.release).toBe('6.6.1-custom');
  });

  it('names the missing file of the tree that matches the bzImage, not another tree', async () => {
    const tree = await makeBuildrootDir(out, release);
    await cp(await makeBuildrootDir(path.join(work, 'other'), '6.6.1-custom'), path.join(out, 'build/linux-custom'), { recursive: true });
    await rm(path.join(tree, 'Module.symvers'));
    expect((await usageError()).message).toBe(`the Buildroot kernel tree ${tree} has no Module.symvers`);
  });

  it('refuses a kernel without loadable modules', async () => {
    const tree = await makeBuildrootDir(out, release);
    await put(tree, { '.config': '# CONFIG_MODULES is not set\n' });
    expect((await usageError()).message).toMatch(/without loadable module support/);
  });

  it("uses Buildroot's toolchain from host/bin when the config names it", async () => {
    const tree = await makeBuildrootDir(out, release);
    await put(tree, { '.config': 'CONFIG_CC_VERSION_TEXT="x86_64-buildroot-linux-gnu-gcc.br_real (Buildroot 2024.02.1) 12.3.0"\nCONFIG_MODULES=y\n' });
    expect((await prepare()).crossCompile).toBeUndefined();
    await put(out, { 'host/bin/x86_64-buildroot-linux-gnu-gcc': '#!/bin/sh\n' });
    expect((await prepare()).crossCompile).toBe(path.join(out, 'host/bin/x86_64-buildroot-linux-gnu-'));
  });

  it.skipIf(depmod.skip)("stages the tree's modules with depmod when target/ has none", async () => {
    depmod.require();
    await makeBuildrootDir(out, release);
    await rm(path.join(out, 'target'), { recursive: true });
    const k = await prepare();
    expect(k.modulesDir.startsWith(path.join(cacheRoot, 'staged-modules'))).toBe(true);
    expect(k.modulesDir.endsWith(`/lib/modules/${release}`)).toBe(true);
    expect(await readFile(path.join(k.modulesDir, 'modules.dep'), 'utf8')).toBe('kernel/drivers/net/virtio_net.ko:\n');
    expect(await readFile(path.join(k.modulesDir, 'modules.builtin'), 'utf8')).toBe('kernel/drivers/virtio/virtio.ko\n');
    // Cached: the same tree gives the same dir.
    expect((await prepare()).modulesDir).toBe(k.modulesDir);
  });

  it("rejects 'buildroot:' with no directory", async () => {
    await expect(prepareBuildrootKernel('buildroot:', { cacheRoot })).rejects.toThrow("'buildroot:' names no directory");
  });
});
