// The guest architectures: what each one means to Debian, kbuild, the compilers and QEMU.
// Data only; every stage that differs by architecture reads its row here.

/** A guest architecture, by its Debian name. */
export type Arch = 'amd64' | 'arm64';

export const ARCHES: readonly Arch[] = ['amd64', 'arm64'];

export interface ArchFacts {
  /** kbuild's ARCH. */
  kernelArch: string;
  /** The GNU triplet, the prefix of its cross tools (`aarch64-linux-gnu-gcc-12`). */
  gnuType: string;
  /** The QEMU system emulator for it. */
  qemu: 'qemu-system-x86_64' | 'qemu-system-aarch64';
  /** The serial console's device name in the guest. */
  console: string;
  /** `uname -m` in the guest. */
  machine: string;
  /** The make target of the bootable kernel image a source build makes, and where kbuild puts it. */
  kernelImage: { target: string; path: string };
}

export const ARCH_FACTS: Record<Arch, ArchFacts> = {
  amd64: {
    kernelArch: 'x86',
    gnuType: 'x86_64-linux-gnu',
    qemu: 'qemu-system-x86_64',
    console: 'ttyS0',
    machine: 'x86_64',
    kernelImage: { target: 'bzImage', path: 'arch/x86/boot/bzImage' },
  },
  arm64: {
    kernelArch: 'arm64',
    gnuType: 'aarch64-linux-gnu',
    qemu: 'qemu-system-aarch64',
    console: 'ttyAMA0',
    machine: 'aarch64',
    // QEMU boots the uncompressed Image directly (Debian's arm64 vmlinuz is one too).
    kernelImage: { target: 'Image', path: 'arch/arm64/boot/Image' },
  },
};

/** The host's architecture: the harness runs on x86-64 Debian, or on arm64. */
export function hostArch(): Arch {
  return process.arch === 'arm64' ? 'arm64' : 'amd64';
}

/** Whether `arch` needs cross tools on this host (its compilers carry the GNU triplet). */
export function isForeign(arch: Arch): boolean {
  return arch !== hostArch();
}

/** The architecture of a kernel: entries made before the field existed are amd64. */
export function archOf(kernel: { arch?: Arch | undefined }): Arch {
  return kernel.arch ?? 'amd64';
}
