// Hand-made kernel trees and Buildroot output dirs for the kernel-source tests: just the files
// the harness reads, with made-up contents (a fake bzImage header, 'not elf' modules).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** A file that is a bzImage as far as the setup header goes, announcing `release`. */
export function fakeBzImage(release: string): Buffer {
  const image = Buffer.alloc(0x1000);
  image.write('HdrS', 0x202, 'latin1');
  image.writeUInt16LE(0x300, 0x20e);
  image.write(`${release} (builder@example) #1 SMP PREEMPT_DYNAMIC\0`, 0x500, 'latin1');
  return image;
}

export async function put(root: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), content);
  }
}

export const GCC_TEXT = 'gcc-12 (Debian 12.2.0-14) 12.2.0';

/** A built kernel tree (what `make` leaves) for `release`, with one module. */
export function treeFiles(release: string, cc = GCC_TEXT): Record<string, string | Buffer> {
  return {
    Makefile: 'VERSION = 6\nPATCHLEVEL = 1\n',
    '.config': `CONFIG_CC_VERSION_TEXT="${cc}"\nCONFIG_MODULES=y\n`,
    'include/generated/autoconf.h': '#define CONFIG_MODULES 1\n',
    'include/generated/utsrelease.h': `#define UTS_RELEASE "${release}"\n`,
    'include/config/kernel.release': `${release}\n`,
    'scripts/mod/modpost': 'binary',
    'Module.symvers': '0x12345678\tprintk\tvmlinux\tEXPORT_SYMBOL\t\n',
    'modules.order': 'drivers/net/virtio_net.ko\n',
    'modules.builtin': 'kernel/drivers/virtio/virtio.ko\n',
    'drivers/net/virtio_net.ko': 'not elf',
    'arch/x86/boot/bzImage': fakeBzImage(release),
  };
}

/** An output dir laid out as Buildroot lays it out, with `version`'s tree. */
export async function makeBuildrootDir(out: string, release: string, version = '6.1.44'): Promise<string> {
  const tree = `build/linux-${version}`;
  await put(out, {
    'images/bzImage': fakeBzImage(release),
    'images/rootfs.cpio.gz': Buffer.from([0x1f, 0x8b]),
    ...Object.fromEntries(Object.entries(treeFiles(release)).map(([rel, content]) => [`${tree}/${rel}`, content])),
    // The toolchain's kernel headers: a kernel source Makefile too, but never configured.
    [`build/linux-headers-${version}/Makefile`]: 'VERSION = 6\n',
    [`target/lib/modules/${release}/kernel/drivers/net/virtio_net.ko`]: 'not elf',
    [`target/lib/modules/${release}/modules.dep`]: 'kernel/drivers/net/virtio_net.ko:\n',
  });
  return path.join(out, tree);
}
