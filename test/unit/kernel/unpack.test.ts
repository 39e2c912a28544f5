import { mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ccVersionText, relativeTarget, rewriteMakefile, unpackKernel } from '../../../harness/src/kernel/unpack.js';
import { needs } from '../../support/host-tools.js';

describe('rewriteMakefile', () => {
  it('points the include of the common headers into the root (6.1 shape)', () => {
    expect(rewriteMakefile('include /usr/src/linux-headers-6.1.0-50-common/Makefile\n', '/cache/k/root')).toBe(
      'include /cache/k/root/usr/src/linux-headers-6.1.0-50-common/Makefile\n',
    );
  });

  it('also rewrites KBUILD_OUTPUT (7.2 shape) and leaves other text alone', () => {
    const text =
      'KBUILD_OUTPUT=/usr/src/linux-headers-7.2.13+deb14-cloud-amd64\ninclude /usr/src/linux-headers-7.2.13+deb14-common/Makefile\n# see /usr/share/doc\n';
    const out = rewriteMakefile(text, '/r');
    expect(out).toBe(
      'KBUILD_OUTPUT=/r/usr/src/linux-headers-7.2.13+deb14-cloud-amd64\ninclude /r/usr/src/linux-headers-7.2.13+deb14-common/Makefile\n# see /usr/share/doc\n',
    );
    expect(rewriteMakefile(out, '/r')).toBe(out);
  });
});

describe('ccVersionText', () => {
  it('reads CONFIG_CC_VERSION_TEXT', () => {
    expect(ccVersionText('CONFIG_CC_IS_GCC=y\nCONFIG_CC_VERSION_TEXT="gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0"\n')).toBe(
      'gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0',
    );
    expect(ccVersionText('CONFIG_CC_IS_GCC=y\n')).toBeUndefined();
  });
});

describe('relativeTarget', () => {
  it('turns lib/modules/KV/build -> /usr/src/... into a link inside the root', () => {
    expect(relativeTarget('/r', 'lib/modules/6.1.0-50-cloud-amd64', '/usr/src/linux-headers-6.1.0-50-cloud-amd64')).toBe(
      '../../../usr/src/linux-headers-6.1.0-50-cloud-amd64',
    );
  });
});

// Real dpkg-deb and depmod on tiny hand-made packages shaped like Debian's kernel packages.
const tools = await needs(['dpkg-deb', 'depmod']);

describe.skipIf(tools.skip)('unpackKernel', () => {
  beforeAll(() => tools.require());
  let work: string;
  const release = '1.0.0-1-test';

  async function deb(name: string, files: Record<string, string>, links: Record<string, string> = {}): Promise<string> {
    const dir = path.join(work, 'src', name);
    await mkdir(path.join(dir, 'DEBIAN'), { recursive: true });
    await writeFile(
      path.join(dir, 'DEBIAN/control'),
      `Package: ${name}\nVersion: 1.0-1\nArchitecture: amd64\nMaintainer: Test <test@invalid>\nDescription: test\n`,
    );
    for (const [rel, text] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
      await writeFile(path.join(dir, rel), text);
    }
    for (const [rel, target] of Object.entries(links)) {
      await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
      await symlink(target, path.join(dir, rel));
    }
    const out = path.join(work, `${name}.deb`);
    await execa('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', dir, out]);
    return out;
  }

  const headers = (prefix: string, makefile: string) =>
    deb(
      `headers-${prefix.replace(/\W/g, '')}`,
      {
        [`usr/src/linux-headers-${release}/Makefile`]: makefile,
        [`usr/src/linux-headers-${release}/.config`]: 'CONFIG_CC_VERSION_TEXT="gcc-99 (Test) 99.1"\n',
        'usr/src/linux-headers-1.0.0-1-common/Makefile': '# common\n',
        'usr/src/linux-headers-1.0.0-1-common/arch/x86/Makefile': '# x86\n',
        'usr/src/linux-headers-1.0.0-1-common/arch/arm64/Makefile': '# arm64\n',
        'usr/src/linux-headers-1.0.0-1-common/arch/Kconfig': '# kept\n',
        'usr/lib/linux-kbuild-1.0/scripts/Makefile.build': '# kbuild\n',
        [`usr/share/doc/headers/copyright`]: 'x\n',
      },
      {
        [`usr/src/linux-headers-${release}/scripts`]: '../../lib/linux-kbuild-1.0/scripts',
        [`${prefix}/${release}/build`]: `/usr/src/linux-headers-${release}`,
      },
    );

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'kmod-harness-unpack-'));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('classic layout (5.10/6.1): /boot and /lib/modules', async () => {
    const image = await deb('image', {
      [`boot/vmlinuz-${release}`]: 'kernel',
      [`lib/modules/${release}/kernel/drivers/net/a.ko`]: 'not elf',
      [`lib/modules/${release}/modules.builtin`]: '',
      [`lib/modules/${release}/modules.order`]: `kernel/drivers/net/a.ko\n`,
    });
    const root = path.join(work, 'classic');
    const final = '/final/entry/root';
    const k = await unpackKernel(
      [image, await headers('lib/modules', `include /usr/src/linux-headers-1.0.0-1-common/Makefile\n`)],
      root,
      final,
      release,
      {
        vmlinuz: `boot/vmlinuz-${release}`,
        modules: `lib/modules/${release}`,
      },
      'amd64',
    );
    expect(k).toEqual({
      vmlinuz: `${final}/boot/vmlinuz-${release}`,
      modulesDir: `${final}/lib/modules/${release}`,
      headersDir: `${final}/usr/src/linux-headers-${release}`,
      config: `${final}/usr/src/linux-headers-${release}/.config`,
      ccVersionText: 'gcc-99 (Test) 99.1',
    });
    expect(await readFile(path.join(root, `usr/src/linux-headers-${release}/Makefile`), 'utf8')).toBe(
      `include ${final}/usr/src/linux-headers-1.0.0-1-common/Makefile\n`,
    );
    expect(await readFile(path.join(root, `lib/modules/${release}/modules.dep`), 'utf8')).toBe('kernel/drivers/net/a.ko:\n');
    expect(await readlink(path.join(root, `lib/modules/${release}/build`))).toBe(`../../../usr/src/linux-headers-${release}`);
    await expect(readFile(path.join(root, 'usr/share/doc/headers/copyright'))).rejects.toThrow();
    const common = path.join(root, 'usr/src/linux-headers-1.0.0-1-common/arch');
    expect((await readdir(common)).sort()).toEqual(['Kconfig', 'x86']);
  });

  it('usr-merged layout (6.12+/7.2): vmlinuz beside the modules, lib -> usr/lib for depmod', async () => {
    const binary = await deb('binary', { [`usr/lib/modules/${release}/vmlinuz`]: 'kernel' });
    const modules = await deb('modules', {
      [`usr/lib/modules/${release}/kernel/drivers/net/b.ko.xz`]: 'not xz',
      [`usr/lib/modules/${release}/modules.builtin`]: '',
      [`usr/lib/modules/${release}/modules.order`]: '',
    });
    const root = path.join(work, 'merged');
    const k = await unpackKernel(
      [
        binary,
        modules,
        await headers('usr/lib/modules', `KBUILD_OUTPUT=/usr/src/linux-headers-${release}\ninclude /usr/src/linux-headers-1.0.0-1-common/Makefile\n`),
      ],
      root,
      root,
      release,
      { vmlinuz: `usr/lib/modules/${release}/vmlinuz`, modules: `usr/lib/modules/${release}` },
      'amd64',
    );
    expect(k.modulesDir).toBe(`${root}/usr/lib/modules/${release}`);
    expect(await readlink(path.join(root, 'lib'))).toBe('usr/lib');
    expect(await readFile(path.join(k.modulesDir, 'modules.dep'), 'utf8')).toBe('kernel/drivers/net/b.ko.xz:\n');
    expect(await readFile(path.join(k.headersDir, 'Makefile'), 'utf8')).toBe(
      `KBUILD_OUTPUT=${root}/usr/src/linux-headers-${release}\ninclude ${root}/usr/src/linux-headers-1.0.0-1-common/Makefile\n`,
    );
  });

  it('fails naming the missing piece when the layout is wrong', async () => {
    const image = await deb('image-bare', { [`boot/vmlinuz-${release}`]: 'kernel' });
    await expect(
      unpackKernel([image], path.join(work, 'bare'), '/x', release, { vmlinuz: `boot/vmlinuz-${release}`, modules: `lib/modules/${release}` }, 'amd64'),
    ).rejects.toThrow(/has no lib\/modules\/1.0.0-1-test\/kernel/);
  });
});
