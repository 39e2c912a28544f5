// `--kernel buildroot:<output dir>`: a kernel and root filesystem the user built with
// Buildroot, taken from where Buildroot puts them: images/bzImage, images/rootfs.cpio[.gz],
// build/linux-<version>/ (kbuild) and target/lib/modules/<release>/.
import { access, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { silent, type Emit } from '../events.js';
import { parseUtsRelease, readBuildTree, stageModules, treeArtifacts, type BuildTree } from './build-tree.js';
import { bzImageRelease } from './bzimage.js';
import type { KernelArtifacts } from '../kernel-artifacts.js';

export const BUILDROOT_PREFIX = 'buildroot:';

/** The cpio images the harness can unpack: none, or Buildroot's gzip, xz and zstd choices. */
export const ROOTFS_IMAGES = ['rootfs.cpio', 'rootfs.cpio.gz', 'rootfs.cpio.xz', 'rootfs.cpio.zst'];

export interface SourceOptions {
  cacheRoot: string;
  emit?: Emit;
  signal?: AbortSignal;
}

const statOf = (p: string) => stat(p).catch(() => undefined);

const KERNEL_FIX = 'select a Linux kernel (BR2_LINUX_KERNEL=y) with the bzImage format (BR2_LINUX_KERNEL_BZIMAGE) and run `make`';
const CPIO_FIX = 'enable "cpio the root filesystem" (BR2_TARGET_ROOTFS_CPIO) with no, gzip, xz or zstd compression and run `make`';
const TREE_FIX = 'the linux package builds there (BR2_LINUX_KERNEL=y): run `make`, or `make linux-rebuild` after `make linux-dirclean`';

/** The newest of the cpio images Buildroot left in images/ (a stale one may sit beside it). */
async function findRootfs(out: string): Promise<string> {
  const images = path.join(out, 'images');
  const names = await readdir(images).catch(() => [] as string[]);
  const usable = [];
  for (const name of ROOTFS_IMAGES.filter((n) => names.includes(n))) {
    const info = await statOf(path.join(images, name));
    if (info?.isFile()) usable.push({ file: path.join(images, name), mtime: info.mtimeMs });
  }
  if (usable.length > 0) return usable.sort((a, b) => b.mtime - a.mtime)[0]!.file;
  const other = names.find((n) => n.startsWith('rootfs.cpio.'));
  if (other)
    throw new UsageError(`${images}/${other} is compressed in a way the harness does not unpack`, {
      fix: `choose no, gzip, xz or zstd compression for the cpio image (BR2_TARGET_ROOTFS_CPIO_*), or decompress it to ${images}/rootfs.cpio`,
    });
  throw new UsageError(`the Buildroot output dir ${out} has no images/rootfs.cpio or images/rootfs.cpio.gz`, { fix: CPIO_FIX });
}

/** The release a kernel tree builds modules for, from as much of the build as is there. */
async function treeRelease(dir: string): Promise<string | undefined> {
  const uts = await readFile(path.join(dir, 'include/generated/utsrelease.h'), 'utf8').catch(() => '');
  const release = parseUtsRelease(uts) ?? (await readFile(path.join(dir, 'include/config/kernel.release'), 'utf8').catch(() => '')).trim();
  return release || undefined;
}

/**
 * build/linux-<version>/ (linux-custom for a custom source): of the build/linux-* dirs with a
 * .config (not linux-headers-*, linux-firmware-*, ...), the one whose release is the bzImage's,
 * then checked for everything kbuild needs.
 */
async function findKernelTree(out: string, release: string): Promise<BuildTree> {
  const build = path.join(out, 'build');
  const candidates: { dir: string; release: string | undefined }[] = [];
  for (const name of (await readdir(build).catch(() => [] as string[])).sort()) {
    if (!name.startsWith('linux-')) continue;
    const dir = path.join(build, name);
    if ((await statOf(path.join(dir, 'Makefile')))?.isFile() && (await statOf(path.join(dir, '.config')))?.isFile())
      candidates.push({ dir, release: await treeRelease(dir) });
  }
  if (candidates.length === 0)
    throw new UsageError(`the Buildroot output dir ${out} has no build/linux-<version>/ kernel tree (with a Makefile and .config)`, { fix: TREE_FIX });
  const chosen = candidates.find((c) => c.release === release) ?? (candidates.length === 1 ? candidates[0] : undefined);
  const tree =
    chosen && (await readBuildTree(chosen.dir, 'the Buildroot kernel tree', (n) => `${n.rel} comes from ${n.madeBy}; in Buildroot: \`make linux-rebuild\``));
  if (tree?.release === release) return tree;
  const found = tree ? [tree] : candidates;
  throw new UsageError(
    `images/bzImage is ${release}, but ${found.map((t) => `${path.relative(out, t.dir)} is ${t.release ?? 'of no known release'}`).join(', ')}: modules built there would not load`,
    {
      fix: 'rebuild so the image and the tree match: `make linux-rebuild all`',
    },
  );
}

/** CROSS_COMPILE of Buildroot's own toolchain, when CONFIG_CC_VERSION_TEXT names one in host/bin. */
export async function buildrootCrossCompile(out: string, ccVersionText: string): Promise<string | undefined> {
  // 'x86_64-buildroot-linux-gnu-gcc.br_real (Buildroot 2024.02) 12.3.0': the toolchain wrapper's real gcc.
  const m = /^(\S+-)gcc(?:\.br_real)?\s/.exec(ccVersionText);
  if (!m) return undefined;
  const prefix = path.join(out, 'host/bin', path.basename(m[1]!));
  return access(`${prefix}gcc`).then(
    () => prefix,
    () => undefined,
  );
}

export async function prepareBuildrootKernel(spec: string, options: SourceOptions): Promise<KernelArtifacts> {
  const emit = options.emit ?? silent;
  const given = spec.slice(BUILDROOT_PREFIX.length).trim();
  if (!given) throw new UsageError(`'${spec}' names no directory`, { fix: 'use buildroot:<output dir>, the dir holding images/, build/ and target/' });
  const out = path.resolve(given);
  if (!(await statOf(out))?.isDirectory()) {
    throw new UsageError(`the Buildroot output dir ${out} does not exist`, {
      fix: "pass Buildroot's output dir (output/ by default, or the O= dir): the one holding images/, build/ and target/",
    });
  }
  const bzImage = path.join(out, 'images/bzImage');
  if (!(await statOf(bzImage))?.isFile()) throw new UsageError(`the Buildroot output dir ${out} has no images/bzImage`, { fix: KERNEL_FIX });
  const release = await bzImageRelease(bzImage);
  if (!release) throw new UsageError(`${bzImage} is not an x86 bzImage (no boot setup header with a version string)`, { fix: KERNEL_FIX });
  const rootfs = await findRootfs(out);
  const tree = await findKernelTree(out, release);

  // Buildroot ran depmod on target/ when it installed the modules; a kernel without
  // modules has no such dir: stage whatever the tree has (modules.builtin at least).
  const installed = path.join(out, 'target/lib/modules', release);
  const modulesDir = (await statOf(path.join(installed, 'modules.dep')))?.isFile() ? installed : await stageModules(tree, options.cacheRoot, options.signal);
  const crossCompile = await buildrootCrossCompile(out, tree.ccVersionText);
  emit({
    type: 'info',
    kernel: spec,
    message: `Buildroot kernel ${release}: ${path.relative(out, bzImage)}, ${path.relative(out, rootfs)}, kbuild ${path.relative(out, tree.dir)}, modules ${modulesDir === installed ? path.relative(out, installed) : modulesDir}${crossCompile ? `, toolchain ${crossCompile}` : ''}`,
  });
  return { ...treeArtifacts(spec, tree, bzImage, modulesDir, 'buildroot'), baseInitramfs: rootfs, ...(crossCompile ? { crossCompile } : {}) };
}
