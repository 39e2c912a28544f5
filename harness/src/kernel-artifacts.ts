// What the kernel stage hands the rest of the pipeline, whatever the kernel's kind: a Debian
// package (kernel/), the user's own build (user-kernel/) or one built from Debian's source
// (kernel-build/).
import type { Arch } from './arch.js';

export interface KernelArtifacts {
  series: string;
  /** The kernel's architecture, and the guest's (absent: amd64; entries made before arm64 lack it). */
  arch?: Arch;
  /** uname -r, e.g. '6.1.0-50-cloud-amd64'. */
  release: string;
  /** Exactly the packages unpacked. */
  packages: { name: string; version: string; suite: string }[];
  /** Absolute path of the kernel image. */
  vmlinuz: string;
  /** Absolute .../lib/modules/<release>: kernel/**.ko*, modules.builtin, modules.order, modules.dep. */
  modulesDir: string;
  /** Absolute dir to pass as `make -C` for kbuild (arch headers, paths rewritten). */
  headersDir: string;
  /** Absolute path of the kernel's .config (from the headers). */
  config: string;
  /** CONFIG_CC_VERSION_TEXT from that config: the compiler the kernel was built with. */
  ccVersionText: string;
  /**
   * Where the kernel comes from: a Debian package (also when absent: cached entries predate
   * the field), a Buildroot output dir (`buildroot:<dir>`) or a local build (`local:<bzImage>,<dir>`).
   * For the last two, `series` is the spec as given, `packages` is empty, `headersDir` is the
   * user's kernel tree and `modulesDir` either Buildroot's target/lib/modules/<release> or a
   * depmod'ed copy of the tree's modules in the cache. `built`: made by the harness from
   * Debian's source (kernel-build/); `series` is the kernel's name (`6.1-debug`), `packages`
   * the linux-source package it was built from.
   */
  source?: 'debian' | 'buildroot' | 'local' | 'built';
  /**
   * A root filesystem archive (newc cpio, maybe gzip/xz/zstd-compressed) the guest image is
   * laid over instead of the harness's own busybox root: Buildroot's images/rootfs.cpio[.gz].
   */
  baseInitramfs?: string;
  /**
   * CROSS_COMPILE prefix of the toolchain that built the kernel, when it is there to use:
   * Buildroot's <output>/host/bin/<tuple>- when CONFIG_CC_VERSION_TEXT names it.
   */
  crossCompile?: string;
}
