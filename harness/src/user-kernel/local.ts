// `--kernel local:<bzImage>,<build dir>`: a kernel the user built by hand. The guest gets the
// harness's own busybox root with the virtio modules of that build, staged with depmod.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { silent } from '../events.js';
import { readBuildTree, stageModules, treeArtifacts } from './build-tree.js';
import type { SourceOptions } from './buildroot.js';
import { bzImageRelease } from './bzimage.js';
import type { KernelArtifacts } from '../kernel-artifacts.js';

export const LOCAL_PREFIX = 'local:';

const SPEC_FIX = 'use local:<bzImage>,<kernel build dir>, e.g. local:linux/arch/x86/boot/bzImage,linux (paths without commas)';

/** The two paths of a `local:` spec, resolved against the working directory. */
export function parseLocalSpec(spec: string): { bzImage: string; buildDir: string } {
  const body = spec.slice(LOCAL_PREFIX.length);
  const comma = body.indexOf(',');
  const bzImage = comma < 0 ? body.trim() : body.slice(0, comma).trim();
  const buildDir = comma < 0 ? '' : body.slice(comma + 1).trim();
  if (!bzImage || !buildDir || buildDir.includes(',')) throw new UsageError(`'${spec}' is not local:<bzImage>,<build dir>`, { fix: SPEC_FIX });
  return { bzImage: path.resolve(bzImage), buildDir: path.resolve(buildDir) };
}

export async function prepareLocalKernel(spec: string, options: SourceOptions): Promise<KernelArtifacts> {
  const emit = options.emit ?? silent;
  const { bzImage, buildDir } = parseLocalSpec(spec);
  if (!(await stat(bzImage).catch(() => undefined))?.isFile()) {
    throw new UsageError(`the kernel image ${bzImage} does not exist`, { fix: '`make bzImage` (or `make`) in the kernel tree writes arch/x86/boot/bzImage' });
  }
  const release = await bzImageRelease(bzImage);
  if (!release)
    throw new UsageError(`${bzImage} is not an x86 bzImage (no boot setup header with a version string)`, { fix: 'pass arch/x86/boot/bzImage, not vmlinux' });
  if (!(await stat(buildDir).catch(() => undefined))?.isDirectory()) throw new UsageError(`the kernel build dir ${buildDir} does not exist`, { fix: SPEC_FIX });
  const tree = await readBuildTree(
    buildDir,
    'the kernel build dir',
    (n) => `${n.rel} comes from ${n.madeBy}, run in ${buildDir} (or in the source tree with O=${buildDir})`,
  );
  if (tree.release !== release) {
    throw new UsageError(`${bzImage} is ${release}, but ${buildDir} is ${tree.release}: modules built there would not load`, {
      fix: 'pass the bzImage and the build dir of the same build',
    });
  }
  const modulesDir = await stageModules(tree, options.cacheRoot, options.signal);
  emit({ type: 'info', kernel: spec, message: `local kernel ${release}: ${bzImage}, kbuild ${buildDir}, modules staged at ${modulesDir}` });
  return treeArtifacts(spec, tree, bzImage, modulesDir, 'local');
}
