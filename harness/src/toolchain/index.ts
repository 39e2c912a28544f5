// The compiler for one kernel: the host's gcc when it is the kernel's (or known to do), else
// the kernel's own gcc-N from a cached root of its Debian suite. Start it early: cold, a root
// takes ~20-40 s to make.
import { access } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { cacheRoot as defaultCacheRoot } from '../cache/store.js';
import { silent, type Emit } from '../events.js';
import { findOnPath, findTool } from '../host/tools.js';
import { findSeriesSpec, loadCatalogue, type Catalogue } from '../kernel/catalogue.js';
import { METADATA_FILE } from '../kernel/entry.js';
import type { KernelArtifacts } from '../kernel/index.js';
import { archiveUri, findMirrors } from '../debian/mirror.js';
import { ensureRoot } from './root.js';
import { hostToolchain, rootToolchain, type Toolchain } from './run.js';
import {
  crossCommand,
  kernelSuite,
  parseCcVersionText,
  parseDumpVersion,
  planToolchain,
  ToolchainError,
  type CompilerId,
  type CrossTarget,
  type HostGcc,
} from './select.js';
import { ARCH_FACTS, archOf, isForeign, type Arch } from '../arch.js';

export type { Toolchain, ToolResult, RunToolOptions } from './run.js';
export { hostToolchain } from './run.js';
export { ToolchainError } from './select.js';

export interface PrepareToolchainOptions {
  cacheRoot?: string;
  emit?: Emit;
  signal?: AbortSignal;
}

/** The major version of the gcc at `gcc` (its `-dumpversion`), or undefined when it does not say. */
export async function gccMajor(gcc: string): Promise<number | undefined> {
  const out = await execa(gcc, ['-dumpversion'], { reject: false, timeout: 10_000, stdin: 'ignore' });
  return out.exitCode === 0 ? parseDumpVersion(out.stdout) : undefined;
}

/** The host's gcc major (its `gcc`, or a cross gcc such as `aarch64-linux-gnu-gcc`), and whether the command the kernel's headers call is on PATH too. */
export async function hostGcc(kernelCommand: string, gccName: 'gcc' | 'aarch64-linux-gnu-gcc' = 'gcc'): Promise<HostGcc> {
  const gcc = await findTool(gccName);
  if (!gcc) return { major: undefined, hasKernelCommand: false };
  const [major, command] = await Promise.all([gccMajor(gcc), findOnPath(kernelCommand)]);
  return { major, hasKernelCommand: command !== undefined };
}

/** The kernel's cache entry (the directory holding kernel.json): bound into a root whole. */
export async function kernelEntryDir(kernel: Pick<KernelArtifacts, 'headersDir'>): Promise<string> {
  for (let dir = kernel.headersDir; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    try {
      await access(path.join(dir, METADATA_FILE));
      return dir;
    } catch {
      // keep walking up
    }
  }
  throw new ToolchainError(`no ${METADATA_FILE} above the kernel headers ${kernel.headersDir}: not a kernel from the harness cache`);
}

/** Whether apt should check `suite`'s Release date: the catalogue's word if it lists the suite. */
export function checkValidUntil(catalogue: Catalogue, suite: string): boolean {
  for (const spec of Object.values(catalogue.series)) {
    const ref = spec.suites.find((s) => s.suite === suite);
    if (ref) return ref.checkValidUntil;
  }
  return true;
}

/** Choose and, if needed, make the toolchain that builds modules for `kernel`. */
export async function prepareToolchain(kernel: KernelArtifacts, options: PrepareToolchainOptions = {}): Promise<Toolchain> {
  const emit = options.emit ?? silent;
  if (kernel.crossCompile) {
    // A Buildroot kernel whose own toolchain is still there: use exactly that one.
    const description = `${kernel.crossCompile}gcc`;
    const reason = `the kernel was built with its own toolchain ('${kernel.ccVersionText}')`;
    emit({ type: 'info', kernel: kernel.release, message: `compiler: ${description}: ${reason}` });
    return hostToolchain({ description, reason, makeVars: [`CROSS_COMPILE=${kernel.crossCompile}`] });
  }
  const compiler = parseCcVersionText(kernel.ccVersionText);
  const catalogue = loadCatalogue();
  const arch = archOf(kernel);
  const cross = crossTarget(arch);
  const plan = planToolchain({
    compiler,
    host: cross ? await hostGcc(crossCommand(compiler.command, cross), 'aarch64-linux-gnu-gcc') : await hostGcc(compiler.command),
    cross,
    hint: findSeriesSpec(catalogue, kernel.series)?.compiler,
    // Only Debian kernels, and those built from Debian's source, have a suite to make a root of.
    suite: kernel.source === undefined || kernel.source === 'debian' || kernel.source === 'built' ? kernelSuite(kernel.packages) : undefined,
  });
  if (plan.kind === 'host') {
    const description = `host gcc${plan.makeVars.length ? ` (${plan.makeVars.join(' ')})` : `-${compiler.major}`}`;
    emit({ type: 'info', kernel: kernel.release, message: `compiler: ${description}: ${plan.reason}` });
    return hostToolchain({ description, reason: plan.reason, makeVars: plan.makeVars, ...(cross ? { crossCompile: `${cross.gnuType}-` } : {}) });
  }
  const root = await ensureRoot(
    {
      suite: plan.suite,
      gccPackage: plan.gccPackage,
      extraPackages: plan.extraPackages,
      key: plan.key,
      checkValidUntil: checkValidUntil(catalogue, plan.suite),
    },
    {
      cacheRoot: options.cacheRoot ?? defaultCacheRoot(),
      emit,
      // Base suites (trixie, sid) are all in the main archive, never the security one.
      mirror: async () => archiveUri(await findMirrors(), 'debian'),
      ...(options.signal ? { signal: options.signal } : {}),
    },
  );
  const description = `${root.gccPackage} ${root.gccVersion} in a ${root.suite} root`;
  emit({
    type: 'info',
    kernel: kernel.release,
    message: `compiler: ${description} (${root.hit ? 'cached' : 'made'} at ${root.dir}): ${plan.reason}; the kernel's: ${compiler.text}`,
  });
  // Debian's headers name their compiler (CC in .kernelvariables); a tree the harness built from
  // source does not, and a suite root has gcc-N under its own name only, no `gcc`.
  const makeVars = [...plan.makeVars, ...(kernel.source === 'built' ? compilerVars(compiler, cross) : [])];
  return rootToolchain({
    root: root.dir,
    kernelDir: await kernelEntryDir(kernel),
    description,
    reason: plan.reason,
    makeVars,
    ...(cross ? { crossCompile: `${cross.gnuType}-` } : {}),
  });
}

/** The cross build a kernel of `arch` needs on this host, or undefined for the host's own architecture. */
export function crossTarget(arch: Arch): CrossTarget | undefined {
  if (!isForeign(arch)) return undefined;
  if (arch !== 'arm64') throw new ToolchainError(`cross builds for ${arch} guests are not supported on this host`, { fix: 'use an amd64 or arm64 kernel' });
  return { kernelArch: ARCH_FACTS[arch].kernelArch, debArch: arch, gnuType: ARCH_FACTS[arch].gnuType };
}

/**
 * CC and HOSTCC for kbuild in a suite root, where gcc-N has only its own name: the kernel's
 * gcc-N for both, or for a cross build its cross gcc-N and the root's native gcc-N (host tools).
 */
export function compilerVars(compiler: Pick<CompilerId, 'command' | 'major'>, cross?: CrossTarget): string[] {
  if (!cross) return [`CC=${compiler.command}`, `HOSTCC=${compiler.command}`];
  return [`CC=${crossCommand(compiler.command, cross)}`, `HOSTCC=gcc-${compiler.major}`];
}
