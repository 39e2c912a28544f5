// Which compiler builds a kernel's modules: the kernel's own CONFIG_CC_VERSION_TEXT, the
// host's gcc and the catalogue's hint decide between the host and a root of the kernel's suite.
import { HarnessError, type HarnessErrorOptions } from '../errors.js';

/** The harness cannot provide the compiler a kernel needs (clang, an unreadable text, no root). */
export class ToolchainError extends HarnessError {
  constructor(message: string, options: HarnessErrorOptions = {}) {
    super('E_TOOLCHAIN', 'infra-error', message, options);
  }
}

export interface CompilerId {
  family: 'gcc';
  major: number;
  /** e.g. '14.2.0'. */
  version: string;
  /** The compiler command the text names, e.g. 'x86_64-linux-gnu-gcc-14' (Debian headers call exactly that). */
  command: string;
  /** CONFIG_CC_VERSION_TEXT as the kernel has it. */
  text: string;
}

// `gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0`, `x86_64-linux-gnu-gcc-14 (Debian 14.2.0-19) 14.2.0`,
// `gcc-10 (Debian 10.2.1-6) 10.2.1 20210110`, `gcc (GCC) 13.2.1 20230801`,
// `x86_64-buildroot-linux-gnu-gcc.br_real (Buildroot 2024.02.6) 13.3.0`: the version is the
// first dotted number after the parenthesised package version.
const GCC_TEXT = /^((?:\S+-)?gcc(?:-\d+)?(?:\.\w+)?)\s+\([^)]*\)\s+(\d+)\.(\d+)(?:\.(\d+))?/;
// `Debian clang version 16.0.6 (15)`, `clang version 17.0.6`, `Ubuntu clang version 14.0.0-1ubuntu1`.
const CLANG_TEXT = /\bclang version (\d+)(?:\.\d+)*/;

/** The compiler family and version a kernel was built with, from CONFIG_CC_VERSION_TEXT. */
export function parseCcVersionText(text: string): CompilerId {
  const trimmed = text.trim();
  const clang = CLANG_TEXT.exec(trimmed);
  if (clang) {
    throw new ToolchainError(`this kernel was built with clang ${clang[1]} ('${trimmed}'); kernels built with clang are not supported yet`, {
      fix: 'use a kernel series built with gcc (every Debian kernel in images/kernels.json is)',
    });
  }
  const gcc = GCC_TEXT.exec(trimmed);
  if (!gcc) {
    throw new ToolchainError(`cannot tell which compiler built this kernel from CONFIG_CC_VERSION_TEXT '${trimmed}'`, {
      fix: "expected a gcc version text such as 'gcc-12 (Debian 12.2.0-14) 12.2.0'",
    });
  }
  return { family: 'gcc', major: Number(gcc[2]), version: [gcc[2], gcc[3], gcc[4]].filter((p) => p !== undefined).join('.'), command: gcc[1]!, text: trimmed };
}

/** The major version in `gcc -dumpversion` output ('12', '12.2.0'), or undefined. */
export function parseDumpVersion(output: string): number | undefined {
  const m = /^(\d+)/.exec(output.trim());
  return m ? Number(m[1]) : undefined;
}

/** Per-series catalogue hint (images/kernels.json "compiler"). */
export interface CompilerHint {
  /** gcc majors, besides the kernel's own, known to build its modules cleanly with CC=gcc HOSTCC=gcc. */
  gccAccepted: number[];
}

export interface HostGcc {
  /** Major version of the host's `gcc`, undefined when there is none. */
  major: number | undefined;
  /** Whether the compiler command the kernel names (CompilerId.command, what Debian headers call) is on the host's PATH. */
  hasKernelCommand: boolean;
}

export type ToolchainPlan =
  | {
      kind: 'host';
      /** Make variables to pass: CC=gcc HOSTCC=gcc when the headers' gcc-N is not the host's; a cross build's. */
      makeVars: string[];
      reason: string;
    }
  | {
      kind: 'root';
      /** The suite whose gcc-N goes into the root (security and update pockets stripped). */
      suite: string;
      gccPackage: string;
      /** Cache key: <suite>-gcc-<N>, <suite>-gcc-<N>-<triplet> for a cross compiler. */
      key: string;
      /** A cross build's make variables, else empty. */
      makeVars: string[];
      /** A cross root's native gcc-N too: the host tools of a whole-kernel build. */
      extraPackages: string[];
      reason: string;
    };

/** A kernel of another architecture than the host's: what its cross build needs. */
export interface CrossTarget {
  /** kbuild's ARCH (arm64). */
  kernelArch: string;
  /** Debian's architecture name (arm64). */
  debArch: string;
  /** GNU triplet, the cross tools' prefix (aarch64-linux-gnu). */
  gnuType: string;
}

/**
 * The command a cross build calls for the kernel's compiler: Debian builds arm64 kernels
 * natively, so their text says `gcc-12` (or `aarch64-linux-gnu-gcc-14`); the host calls the
 * cross compiler `aarch64-linux-gnu-gcc-12`.
 */
export function crossCommand(command: string, cross: CrossTarget): string {
  return `${cross.gnuType}-${command.replace(/^\S+-linux-gnu-/, '')}`;
}

/**
 * Make variables of a cross build. Debian's headers override CROSS_COMPILE in .kernelvariables
 * (6.1: with $(DEB_HOST_GNU_TYPE)- when DEB_HOST_ARCH is not the build machine's), so the
 * DEB_HOST_* variables are what sets the prefix there; ARCH and CROSS_COMPILE serve other trees.
 */
export function crossMakeVars(cross: CrossTarget): string[] {
  return [`ARCH=${cross.kernelArch}`, `CROSS_COMPILE=${cross.gnuType}-`, `DEB_HOST_ARCH=${cross.debArch}`, `DEB_HOST_GNU_TYPE=${cross.gnuType}`];
}

/** trixie-security -> trixie, bookworm-updates -> bookworm, buster/updates -> buster. */
export function baseSuite(suite: string): string {
  return suite.replace(/(-security|\/updates|-updates|-proposed-updates|-backports(-sloppy)?)$/, '');
}

/** The suite a kernel came from: its headers package's, else its first package's. */
export function kernelSuite(packages: { name: string; suite: string }[]): string | undefined {
  return (packages.find((p) => p.name.startsWith('linux-headers-')) ?? packages[0])?.suite;
}

/**
 * Host when its gcc is the kernel's major or one the catalogue accepts; else a root of the
 * kernel's suite. A host that merely has the kernel's gcc-N besides another default gcc still
 * gets the root: the headers' prebuilt kbuild tools (modpost, objtool) need that suite's libc.
 */
export function planToolchain(input: {
  compiler: CompilerId;
  host: HostGcc;
  hint?: CompilerHint | undefined;
  suite: string | undefined;
  /** For a kernel of another architecture: `host` describes the host's cross gcc for it. */
  cross?: CrossTarget | undefined;
}): ToolchainPlan {
  const { compiler, host, hint, suite, cross } = input;
  const wanted = `gcc-${compiler.major}`;
  // What the host calls the compiler, and the variables every build for this kernel passes.
  const gcc = cross ? `${cross.gnuType}-gcc` : 'gcc';
  const command = cross ? crossCommand(compiler.command, cross) : compiler.command;
  const base = cross ? crossMakeVars(cross) : [];
  const what = cross ? `the host's ${cross.debArch} cross gcc` : "the host's gcc";
  if (host.major === compiler.major) {
    return host.hasKernelCommand
      ? { kind: 'host', makeVars: base, reason: `the kernel was built with ${wanted}, ${what}` }
      : {
          kind: 'host',
          makeVars: [...base, `CC=${gcc}`, 'HOSTCC=gcc'],
          reason: `the kernel was built with gcc ${compiler.major}, ${what} (as '${gcc}': no ${command} on PATH)`,
        };
  }
  if (host.major !== undefined && hint?.gccAccepted.includes(host.major)) {
    return {
      kind: 'host',
      makeVars: [...base, `CC=${gcc}`, 'HOSTCC=gcc'],
      reason: `the kernel was built with ${wanted}; its modules are known to build with ${what} ${host.major} (images/kernels.json)`,
    };
  }
  if (!suite) {
    throw new ToolchainError(
      `the kernel was built with gcc ${compiler.major} ('${compiler.text}') and the host has ${host.major === undefined ? 'no gcc' : `gcc ${host.major}`}; ` +
        'a root with the right gcc is made only for Debian kernels (from their suite)',
      { fix: `build where gcc ${compiler.major} is 'gcc' on PATH, or rebuild the kernel with the host's gcc` },
    );
  }
  const rootSuite = baseSuite(suite);
  // Debian's cross compiler of gcc-N for arm64 is the package gcc-N-aarch64-linux-gnu.
  const gccPackage = cross ? `${wanted}-${cross.gnuType}` : wanted;
  const hostHas = host.major === undefined ? `no ${cross ? `${cross.debArch} cross ` : ''}gcc` : `${cross ? `${cross.debArch} cross ` : ''}gcc ${host.major}`;
  return {
    kind: 'root',
    suite: rootSuite,
    gccPackage,
    key: `${rootSuite}-${gccPackage}`,
    makeVars: base,
    extraPackages: cross ? [wanted] : [],
    reason: `the kernel was built with ${wanted} and the host has ${hostHas}: using ${gccPackage} from a ${rootSuite} root`,
  };
}
