// A kernel tree the user built themselves (Buildroot's build/linux-<version>, or any `make`
// output): checked to be usable for M= builds, and its modules staged with depmod like a
// Debian kernel's, so the image and the build stage cannot tell the difference. The facts and
// tools of any kernel tree (its compiler, depmod) are here too: Debian's unpacked kernels use them.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { cachedDir } from '../cache/store.js';
import { KernelFetchError, UsageError } from '../errors.js';
import { requireTool } from '../host/tools.js';
import type { KernelArtifacts } from '../kernel-artifacts.js';

export interface BuildTree {
  dir: string;
  /** The release modules built against this tree get (include/generated/utsrelease.h). */
  release: string;
  config: string;
  /** CONFIG_CC_VERSION_TEXT; '' for kernels older than 5.8, whose .config does not name it. */
  ccVersionText: string;
}

/**
 * What the pipeline gets for a kernel the user built: the tree is the kbuild dir, its .config
 * and compiler; no Debian packages. The caller adds what only its kind has.
 */
export function treeArtifacts(spec: string, tree: BuildTree, vmlinuz: string, modulesDir: string, source: 'local' | 'buildroot'): KernelArtifacts {
  return {
    series: spec,
    release: tree.release,
    packages: [],
    vmlinuz,
    modulesDir,
    headersDir: tree.dir,
    config: tree.config,
    ccVersionText: tree.ccVersionText,
    source,
  };
}

/** A file kbuild needs in the tree, and the step of the kernel build that makes it. */
interface Needed {
  rel: string;
  madeBy: string;
}

// What `make M=dir modules` reads from the tree, in the order a half-done build gets them.
export const KBUILD_NEEDS: Needed[] = [
  { rel: 'Makefile', madeBy: 'the kernel source itself: is this the top of a kernel tree?' },
  { rel: '.config', madeBy: '`make <something>_defconfig` or `make menuconfig`' },
  { rel: 'include/generated/autoconf.h', madeBy: '`make modules_prepare` (or a full `make`)' },
  { rel: 'include/generated/utsrelease.h', madeBy: '`make modules_prepare` (or a full `make`)' },
  { rel: 'scripts/mod/modpost', madeBy: '`make modules_prepare` (or a full `make`)' },
  { rel: 'Module.symvers', madeBy: 'a full `make` (vmlinux and modules): without it modules get no symbol versions and will not load' },
];

const exists = (p: string): Promise<boolean> =>
  stat(p).then(
    () => true,
    () => false,
  );

/** The release in utsrelease.h ('#define UTS_RELEASE "6.1.0-56-cloud-amd64"'). */
export function parseUtsRelease(text: string): string | undefined {
  return /^#define\s+UTS_RELEASE\s+"([^"]+)"/m.exec(text)?.[1];
}

/**
 * Check that `dir` is a kernel tree kbuild can build external modules against; `where` says
 * how to name it in errors (e.g. 'the Buildroot kernel build dir'), `fix` what to run.
 */
export async function readBuildTree(dir: string, where: string, fix: (needed: Needed) => string): Promise<BuildTree> {
  for (const needed of KBUILD_NEEDS) {
    if (await exists(path.join(dir, needed.rel))) continue;
    throw new UsageError(`${where} ${dir} has no ${needed.rel}`, { fix: fix(needed) });
  }
  const configPath = path.join(dir, '.config');
  const config = await readFile(configPath, 'utf8');
  if (/^# CONFIG_MODULES is not set$/m.test(config)) {
    throw new UsageError(`the kernel in ${dir} is built without loadable module support (CONFIG_MODULES is not set)`, {
      fix: 'enable CONFIG_MODULES in the kernel configuration and rebuild the kernel',
    });
  }
  const release = parseUtsRelease(await readFile(path.join(dir, 'include/generated/utsrelease.h'), 'utf8'));
  if (!release) throw new UsageError(`${dir}/include/generated/utsrelease.h defines no UTS_RELEASE`, { fix: fix(KBUILD_NEEDS[3]!) });
  return { dir, release, config: configPath, ccVersionText: ccVersionText(config) ?? '' };
}

/** Paths of the modules a build made, from its modules.order (it lists .o since 6.2, .ko before). */
export function parseModulesOrder(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => l.replace(/\.o$/, '.ko'));
}

export const STAGED_AREA = 'staged-modules';
/** Hex digits of the hash in a staged entry's name, `<release>-<hash>`. */
export const STAGED_HASH_LENGTH = 16;

/**
 * What `make modules_install INSTALL_MOD_PATH=stage` would install from `tree` (the .ko files
 * its modules.order lists, modules.builtin, modules.order), then `depmod -b`: a modules dir
 * like a Debian kernel's, cached by what it is made from (names, sizes and dates of the files).
 * A tree without modules.order (a kernel with no modules built) gives a dir with none.
 */
export async function stageModules(tree: BuildTree, cacheRoot: string, signal?: AbortSignal): Promise<string> {
  const orderText = await readFile(path.join(tree.dir, 'modules.order'), 'utf8').catch(() => '');
  const kos = parseModulesOrder(orderText);
  const hash = createHash('sha256').update(`${tree.release}\n${orderText}`);
  for (const ko of kos) {
    const info = await stat(path.join(tree.dir, ko)).catch(() => undefined);
    if (!info) {
      throw new UsageError(`${tree.dir}/modules.order lists ${ko}, which is not there`, {
        fix: 'run `make modules` (or a full `make`) in the kernel tree',
      });
    }
    hash.update(`${ko} ${info.size} ${info.mtimeMs}\n`);
  }
  const extras = ['modules.builtin', 'modules.builtin.modinfo'];
  for (const name of extras) hash.update(`${name} ${(await stat(path.join(tree.dir, name)).catch(() => undefined))?.mtimeMs}\n`);
  const key = `${tree.release}-${hash.digest('hex').slice(0, STAGED_HASH_LENGTH)}`.replace(/[^A-Za-z0-9.+~_-]/g, '_');
  const rel = path.join('lib/modules', tree.release);
  const { dir } = await cachedDir(
    STAGED_AREA,
    key,
    async (tmp) => {
      const modules = path.join(tmp, rel);
      await mkdir(modules, { recursive: true });
      for (const ko of kos) {
        await mkdir(path.dirname(path.join(modules, 'kernel', ko)), { recursive: true });
        await copyFile(path.join(tree.dir, ko), path.join(modules, 'kernel', ko));
      }
      await writeFile(path.join(modules, 'modules.order'), kos.map((ko) => `kernel/${ko}\n`).join(''));
      for (const name of extras) await copyFile(path.join(tree.dir, name), path.join(modules, name)).catch(() => undefined);
      // modules.builtin as modules_install writes it: kernel/-prefixed paths.
      const builtin = await readFile(path.join(modules, 'modules.builtin'), 'utf8').catch(() => '');
      await writeFile(
        path.join(modules, 'modules.builtin'),
        builtin
          .split('\n')
          .filter(Boolean)
          .map((l) => (l.startsWith('kernel/') ? l : `kernel/${l}`))
          .map((l) => `${l}\n`)
          .join(''),
      );
      await runDepmod(tmp, tree.release, signal);
    },
    cacheRoot,
  );
  return path.join(dir, rel);
}

/** The compiler a kernel was built with, from its .config (CONFIG_CC_VERSION_TEXT="..."). */
export function ccVersionText(config: string): string | undefined {
  return /^CONFIG_CC_VERSION_TEXT="((?:[^"\\]|\\.)*)"/m.exec(config)?.[1]?.replace(/\\(.)/g, '$1');
}

export async function runDepmod(root: string, release: string, signal?: AbortSignal): Promise<void> {
  const depmod = await requireTool('depmod');
  const result = await execa(depmod, ['-b', root, release], { reject: false, all: true, ...(signal ? { cancelSignal: signal } : {}) });
  signal?.throwIfAborted();
  if (result.failed)
    throw new KernelFetchError(`depmod failed for ${release}`, {
      detail: result.all,
      cause: result,
      fix: 'install a newer kmod (depmod must read .ko.xz/.ko.zst)',
    });
}
