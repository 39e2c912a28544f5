// Host tools the harness shells out to, each with the Debian package that provides it, so a
// missing one fails with the exact install line instead of an ENOENT from deep inside a stage.
import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import { MissingToolError } from '../errors.js';

export const HOST_TOOLS = {
  'qemu-system-x86_64': 'qemu-system-x86',
  busybox: 'busybox-static',
  dropbear: 'dropbear-bin',
  dropbearkey: 'dropbear-bin',
  'sftp-server': 'openssh-sftp-server',
  depmod: 'kmod',
  'dpkg-deb': 'dpkg',
  'apt-get': 'apt',
  gcc: 'gcc',
  make: 'make',
  xz: 'xz-utils',
  zstd: 'zstd',
  ldd: 'libc-bin',
  strip: 'binutils',
  readelf: 'binutils',
  addr2line: 'binutils',
  // Toolchain roots for kernels built with another gcc than the host's (harness/src/toolchain).
  mmdebstrap: 'mmdebstrap',
  // Kernels built from source (kernel-build/): Kconfig's parser and the kernel's own generators.
  flex: 'flex',
  bison: 'bison',
  bc: 'bc',
  unshare: 'util-linux',
  chroot: 'coreutils',
  tar: 'tar',
  // Concurrent runs sharing one cache wait for each other's fills (cache/lock.ts).
  flock: 'util-linux',
} as const;

/**
 * Tools only the project's own tests use (`kmod-harness setup --test` installs them): GNU cpio
 * reads back the harness's archives and builds the Buildroot-layout fixture, xmllint checks the
 * JUnit report, apt-helper serves the private apt state the inventory tests read.
 */
export const TEST_TOOLS = {
  cpio: 'cpio',
  xmllint: 'libxml2-utils',
  'apt-helper': 'apt',
} as const;

/**
 * Tools for arm64 guests on an amd64 host: QEMU's arm64 system emulator, and the cross binutils
 * and gcc that build the static test (with libc6-dev-arm64-cross's libc.a) and strip and
 * symbolise the module. Asked for only when a run has an arm64 kernel (and by `setup --test`).
 */
export const ARM64_TOOLS = {
  'qemu-system-aarch64': 'qemu-system-arm',
  'aarch64-linux-gnu-gcc': 'gcc-aarch64-linux-gnu',
  'aarch64-linux-gnu-strip': 'binutils-aarch64-linux-gnu',
  'aarch64-linux-gnu-addr2line': 'binutils-aarch64-linux-gnu',
} as const;

/**
 * The binutils program that does `tool` for objects built with cross prefix `crossCompile`
 * ('' for the host's architecture): the host's strip and addr2line handle only their own
 * architecture's relocations. undefined for a prefix the harness has no tools for.
 */
export function crossBinutil(tool: 'strip' | 'addr2line', crossCompile: string): HostTool | Arm64Tool | undefined {
  if (crossCompile === '') return tool;
  if (crossCompile === 'aarch64-linux-gnu-') return `aarch64-linux-gnu-${tool}`;
  return undefined;
}

export type HostTool = keyof typeof HOST_TOOLS;
export type TestTool = keyof typeof TEST_TOOLS;
export type Arm64Tool = keyof typeof ARM64_TOOLS;
export type AnyTool = HostTool | TestTool | Arm64Tool;

/** The Debian package that provides `tool`. */
export function debianPackageOf(tool: AnyTool): string {
  if (tool in HOST_TOOLS) return HOST_TOOLS[tool as HostTool];
  if (tool in ARM64_TOOLS) return ARM64_TOOLS[tool as Arm64Tool];
  return TEST_TOOLS[tool as TestTool];
}

// Tools that live outside PATH on Debian, or in sbin dirs a non-root PATH lacks.
const EXTRA_DIRS = ['/usr/sbin', '/sbin', '/usr/lib/openssh'];
const FIXED_PATHS: Partial<Record<AnyTool, string>> = {
  busybox: '/bin/busybox',
  'sftp-server': '/usr/lib/openssh/sftp-server',
  'apt-helper': '/usr/lib/apt/apt-helper',
};

async function isExecutable(p: string): Promise<boolean> {
  try {
    await access(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Absolute path of the executable `name` in the dirs of PATH, then in `extraDirs`; undefined when none has it. */
export async function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env, extraDirs: readonly string[] = []): Promise<string | undefined> {
  for (const dir of [...(env.PATH ?? '').split(path.delimiter).filter(Boolean), ...extraDirs]) {
    const candidate = path.join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** Absolute path of `tool`, or undefined when it is not installed. */
export async function findTool(tool: AnyTool, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const fixed = FIXED_PATHS[tool];
  if (fixed && (await isExecutable(fixed))) return fixed;
  return findOnPath(tool, env, EXTRA_DIRS);
}

/** Absolute path of `tool`; throws MissingToolError naming its Debian package. */
export async function requireTool(tool: HostTool | Arm64Tool): Promise<string> {
  const found = await findTool(tool);
  if (!found) throw new MissingToolError(tool, debianPackageOf(tool));
  return found;
}
