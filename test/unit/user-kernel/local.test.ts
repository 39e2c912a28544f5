import { mkdtemp, readFile, rm, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../../harness/src/errors.js';
import { parseModulesOrder, parseUtsRelease } from '../../../harness/src/user-kernel/build-tree.js';
import { parseLocalSpec, prepareLocalKernel } from '../../../harness/src/user-kernel/local.js';
import { put, treeFiles } from './fake-tree.js';
import { needs } from '../../support/host-tools.js';

const depmod = await needs(['depmod']);

describe('parseLocalSpec', () => {
  it('splits local:<bzImage>,<build dir> at the comma and resolves both', () => {
    expect(parseLocalSpec('local:/k/arch/x86/boot/bzImage,/k')).toEqual({ bzImage: '/k/arch/x86/boot/bzImage', buildDir: '/k' });
    expect(parseLocalSpec('local:bz, build')).toEqual({ bzImage: path.resolve('bz'), buildDir: path.resolve('build') });
  });

  it('rejects a spec without both paths', () => {
    for (const bad of ['local:', 'local:/k/bzImage', 'local:/k/bzImage,', 'local:,/k', 'local:a,b,c'])
      expect(() => parseLocalSpec(bad), bad).toThrow(UsageError);
  });
});

describe('parseUtsRelease and parseModulesOrder', () => {
  it('read the release modules get and the modules a build made (.o since 6.2)', () => {
    expect(parseUtsRelease('#define UTS_RELEASE "6.1.0-56-cloud-amd64"\n')).toBe('6.1.0-56-cloud-amd64');
    expect(parseUtsRelease('/* nothing */')).toBeUndefined();
    expect(parseModulesOrder('drivers/net/virtio_net.ko\n\nfs/fuse/fuse.o\n')).toEqual(['drivers/net/virtio_net.ko', 'fs/fuse/fuse.ko']);
  });
});

describe('prepareLocalKernel', () => {
  const release = '6.6.0-rc1+';
  let work: string;
  let tree: string;
  let cacheRoot: string;
  beforeEach(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'kmod-harness-local-'));
    tree = path.join(work, 'linux');
    cacheRoot = path.join(work, 'cache');
    await put(tree, treeFiles(release));
  });
  afterEach(async () => {
    await rm(work, { recursive: true, force: true });
  });

  const spec = () => `local:${tree}/arch/x86/boot/bzImage,${tree}`;

  it.skipIf(depmod.skip)('stages the modules of modules.order with depmod, and points kbuild at the tree', async () => {
    depmod.require();
    const k = await prepareLocalKernel(spec(), { cacheRoot });
    expect(k).toMatchObject({
      series: spec(),
      release,
      packages: [],
      vmlinuz: `${tree}/arch/x86/boot/bzImage`,
      headersDir: tree,
      config: `${tree}/.config`,
      source: 'local',
    });
    expect(k.baseInitramfs).toBeUndefined();
    expect(await readFile(path.join(k.modulesDir, 'modules.dep'), 'utf8')).toBe('kernel/drivers/net/virtio_net.ko:\n');
    expect(await readFile(path.join(k.modulesDir, 'modules.order'), 'utf8')).toBe('kernel/drivers/net/virtio_net.ko\n');
    expect(await readdir(path.join(k.modulesDir, 'kernel/drivers/net'))).toEqual(['virtio_net.ko']);
  });

  it('names a missing bzImage and what makes it', async () => {
    await rm(path.join(tree, 'arch/x86/boot/bzImage'));
    await expect(prepareLocalKernel(spec(), { cacheRoot })).rejects.toThrow(`the kernel image ${tree}/arch/x86/boot/bzImage does not exist`);
  });

  it('names a missing kbuild file and the make target that makes it', async () => {
    await rm(path.join(tree, 'scripts/mod/modpost'));
    const error = await prepareLocalKernel(spec(), { cacheRoot }).catch((e: unknown) => e as UsageError);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toBe(`the kernel build dir ${tree} has no scripts/mod/modpost`);
    expect((error as UsageError).fix).toMatch(/`make modules_prepare`/);
  });

  it('names a module modules.order lists that the tree does not have', async () => {
    await rm(path.join(tree, 'drivers/net/virtio_net.ko'));
    await expect(prepareLocalKernel(spec(), { cacheRoot })).rejects.toThrow(`${tree}/modules.order lists drivers/net/virtio_net.ko, which is not there`);
  });

  it('refuses a bzImage and a tree of different builds', async () => {
    await put(tree, { 'include/generated/utsrelease.h': '#define UTS_RELEASE "6.5.0"\n' });
    await expect(prepareLocalKernel(spec(), { cacheRoot })).rejects.toThrow(/is 6\.6\.0-rc1\+, but .* is 6\.5\.0: modules built there would not load/);
  });
});
