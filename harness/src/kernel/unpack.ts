// Turns kernel .debs into one root: vmlinuz, modules with a fresh modules.dep, kbuild headers with paths fixed.
import { lstat, mkdir, readFile, readdir, readlink, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { ARCH_FACTS, type Arch } from '../arch.js';
import { KernelFetchError } from '../errors.js';
import { requireTool } from '../host/tools.js';
import { ccVersionText, runDepmod } from '../user-kernel/build-tree.js';

export { ccVersionText, runDepmod } from '../user-kernel/build-tree.js';

export interface Layout {
  /** Path of vmlinuz relative to the root, {release} filled in. */
  vmlinuz: string;
  /** Path of the modules directory relative to the root, {release} filled in. */
  modules: string;
}

export interface UnpackedKernel {
  vmlinuz: string;
  modulesDir: string;
  headersDir: string;
  config: string;
  ccVersionText: string;
}

/**
 * Point the absolute /usr/src and /usr/lib paths of a headers Makefile (its `include` of the
 * common Makefile; 7.2 also sets KBUILD_OUTPUT) at `root`, where they were unpacked instead.
 */
export function rewriteMakefile(text: string, root: string): string {
  return text.replace(/(^|[\s=:'"])\/usr\/(src|lib)\//gm, (_m, lead: string, dir: string) => `${lead}${root}/usr/${dir}/`);
}

/** Relative target for an absolute symlink target inside `root`, as seen from `linkDir`. */
export function relativeTarget(root: string, linkDir: string, absoluteTarget: string): string {
  return path.relative(path.join(root, linkDir), path.join(root, absoluteTarget));
}

const exists = (p: string): Promise<boolean> =>
  lstat(p).then(
    () => true,
    () => false,
  );

/** dpkg-deb -x every .deb into `root`, a few at a time: the packages own disjoint files. */
export async function extractDebs(debs: string[], root: string, signal?: AbortSignal): Promise<void> {
  const dpkgDeb = await requireTool('dpkg-deb');
  await mkdir(root, { recursive: true });
  const queue = [...debs];
  let failed = false;
  const worker = async (): Promise<void> => {
    for (let deb = queue.shift(); deb !== undefined; deb = queue.shift()) {
      if (failed) return;
      const result = await execa(dpkgDeb, ['-x', deb, root], { reject: false, all: true, ...(signal ? { cancelSignal: signal } : {}) });
      signal?.throwIfAborted();
      if (result.failed) {
        failed = true;
        throw new KernelFetchError(`dpkg-deb could not unpack ${path.basename(deb)}`, {
          detail: result.all,
          cause: result,
          fix: 'check free disk space in the cache directory',
        });
      }
    }
  };
  // allSettled: on a failure, let the other extractions finish before the caller deletes the tree.
  const results = await Promise.allSettled(Array.from({ length: Math.min(debs.length, availableParallelism()) }, worker));
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
}

/**
 * depmod -b ROOT reads ROOT/lib/modules, but trixie and later ship usr/lib/modules (usr-merged):
 * give the root the same lib -> usr/lib link a usr-merged system has.
 */
export async function mergeUsrLib(root: string): Promise<void> {
  const usrModules = path.join(root, 'usr/lib/modules');
  const libModules = path.join(root, 'lib/modules');
  if (!(await exists(usrModules)) || (await exists(libModules))) return;
  if (!(await exists(path.join(root, 'lib')))) await symlink('usr/lib', path.join(root, 'lib'));
  else await symlink('../usr/lib/modules', libModules);
}

/** Turn absolute symlinks in `dir` (lib/modules/KV/build -> /usr/src/...) into links inside the root. */
export async function relativizeLinks(root: string, dir: string): Promise<void> {
  const full = path.join(root, dir);
  for (const name of await readdir(full).catch(() => [] as string[])) {
    const link = path.join(full, name);
    const info = await lstat(link);
    if (!info.isSymbolicLink()) continue;
    const target = await readlink(link);
    if (!path.isAbsolute(target)) continue;
    await unlink(link);
    await symlink(relativeTarget(root, dir, target), link);
  }
}

/** Rewrite the top-level Makefile of every usr/src/linux-headers-* dir for headers living under `finalRoot`. */
export async function rewriteHeaders(root: string, finalRoot: string): Promise<void> {
  const src = path.join(root, 'usr/src');
  for (const name of await readdir(src).catch(() => [] as string[])) {
    if (!name.startsWith('linux-headers-')) continue;
    const makefile = path.join(src, name, 'Makefile');
    const text = await readFile(makefile, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const rewritten = rewriteMakefile(text, finalRoot);
    if (rewritten !== text) await writeFile(makefile, rewritten);
  }
}

// Nothing a module build, an initramfs or a boot reads; dropping them keeps the cache small.
const DISPOSABLE = ['usr/share/doc', 'usr/share/bug', 'usr/share/lintian', 'usr/share/man'];

/**
 * The common headers carry every architecture's arch/ tree (~20 MB); kbuild reads only the
 * kernel's own (SRCARCH: arch/x86 for amd64, arch/arm64 for arm64).
 */
export async function pruneForeignArches(root: string, keep: string): Promise<void> {
  const src = path.join(root, 'usr/src');
  for (const name of await readdir(src).catch(() => [] as string[])) {
    const arch = path.join(src, name, 'arch');
    for (const entry of await readdir(arch, { withFileTypes: true }).catch(() => [])) {
      if (entry.isDirectory() && entry.name !== keep) await rm(path.join(arch, entry.name), { recursive: true, force: true });
    }
  }
}

/**
 * Unpack `debs` into `root` (a fill directory that will be renamed to `finalRoot`), fix paths,
 * run depmod and check that everything a caller relies on is there.
 */
export async function unpackKernel(
  debs: string[],
  root: string,
  finalRoot: string,
  release: string,
  layout: Layout,
  arch: Arch,
  signal?: AbortSignal,
): Promise<UnpackedKernel> {
  // The rewritten Makefiles name finalRoot; make cannot include a path with blanks in it.
  if (/\s/.test(finalRoot)) {
    throw new KernelFetchError(`the cache path '${finalRoot}' contains white space, which kbuild cannot handle`, {
      fix: 'set KMOD_HARNESS_CACHE to a path without spaces',
    });
  }
  await extractDebs(debs, root, signal);
  await mergeUsrLib(root);
  const modulesRel = layout.modules;
  const headersRel = `usr/src/linux-headers-${release}`;
  const configRel = `${headersRel}/.config`;
  // Check before depmod, so a changed package layout is reported as such, not as a depmod error.
  const mustExist = async (rels: string[]): Promise<void> => {
    for (const rel of rels) {
      if (await stat(path.join(root, rel)).catch(() => undefined)) continue;
      throw new KernelFetchError(`the unpacked ${release} kernel has no ${rel}`, {
        fix: 'the package layout changed: update "layout" or "require" for this series in images/kernels.json',
      });
    }
  };
  await mustExist([
    layout.vmlinuz,
    `${modulesRel}/kernel`,
    `${modulesRel}/modules.builtin`,
    `${modulesRel}/modules.order`,
    `${headersRel}/Makefile`,
    `${headersRel}/scripts/Makefile.build`,
    configRel,
  ]);
  await relativizeLinks(root, modulesRel);
  await rewriteHeaders(root, finalRoot);
  await runDepmod(root, release, signal);
  await mustExist([`${modulesRel}/modules.dep`]);
  for (const p of DISPOSABLE) await rm(path.join(root, p), { recursive: true, force: true });
  await pruneForeignArches(root, ARCH_FACTS[arch].kernelArch);
  const cc = ccVersionText(await readFile(path.join(root, configRel), 'utf8'));
  if (cc === undefined) throw new KernelFetchError(`${configRel} of ${release} has no CONFIG_CC_VERSION_TEXT`);
  return {
    vmlinuz: path.join(finalRoot, layout.vmlinuz),
    modulesDir: path.join(finalRoot, modulesRel),
    headersDir: path.join(finalRoot, headersRel),
    config: path.join(finalRoot, configRel),
    ccVersionText: cc,
  };
}
