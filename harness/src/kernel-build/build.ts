// Build one kernel from Debian's source: configure it out of tree (allnoconfig + the merged
// fragments, so the result is the small guest kernel plus exactly what was asked for), check
// that Kconfig kept every option, build bzImage and modules with the series' own compiler on
// every core, and publish one cache entry: the bzImage, System.map, a pruned build dir kbuild
// takes for M= builds (with Module.symvers), depmod'ed modules and the build log.
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { copyFile, mkdir, readFile, readdir, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { BuildError, TimeoutError, UsageError } from '../errors.js';
import type { Emit } from '../events.js';
import { killOnTeardown } from '../util/lifecycle.js';
import { entryKey, KERNELS_AREA, writeMetadata, type KernelArtifacts } from '../kernel/entry.js';
import { ccVersionText, runDepmod } from '../kernel/unpack.js';
import { ARCH_FACTS, type Arch } from '../arch.js';
import type { Toolchain } from '../toolchain/index.js';
import { parseUtsRelease } from '../user-kernel/build-tree.js';
import { checkConfig, kconfigSymbols, parseDotConfig, type ConfigCheck, type Fragment } from './kconfig.js';
import type { KernelSource } from './source.js';

/** Bump when what a build does changes, so cached builds of the old recipe are not reused. */
export const BUILD_RECIPE = 1;
export const SRC_DIR = 'src';
export const OUT_DIR = 'build';
export const MODULES_ROOT = 'modules';
export const LOG_FILE = 'build.log';
/** What a build records beside kernel.json: for progress totals, the cache fallback and `kernels`. */
export const BUILD_INFO_FILE = 'build.json';

export interface BuildInfo {
  objects?: number;
  compiler?: string;
  toolchain?: string;
  /** The merged fragment it was configured from (renderFragment). */
  fragment?: string;
}

/** The cached builds of kernel `name`: each entry dir, its build.json and its last write. */
export async function cachedBuilds(root: string, name: string): Promise<Array<{ dir: string; info: BuildInfo; mtimeMs: number }>> {
  const area = path.join(root, KERNELS_AREA);
  const out = [];
  for (const entry of (await readdir(area).catch(() => [] as string[])).sort()) {
    // The key's spelling of the name: 6.1/arm64-debug is 6.1_arm64-debug_<version>_<digest>.
    if (!entry.startsWith(entryKey(name, ''))) continue;
    const dir = path.join(area, entry);
    const info = JSON.parse(await readFile(path.join(dir, BUILD_INFO_FILE), 'utf8').catch(() => '{}')) as BuildInfo;
    out.push({ dir, info, mtimeMs: (await stat(dir)).mtimeMs });
  }
  return out;
}

export interface BuildInputs {
  name: string;
  /** The architecture it is built for (ARCH= comes with the toolchain's make variables). */
  arch: Arch;
  source: KernelSource;
  merged: Fragment;
  rendered: string;
  toolchain: Toolchain;
  /** `$(CC) --version | head -1` through that toolchain: part of the cache key. */
  compiler: string;
}

/** The entry key: name, source version and a digest of configuration, compiler and recipe. */
export function buildKey(inputs: Pick<BuildInputs, 'name' | 'source' | 'rendered' | 'compiler'>): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([BUILD_RECIPE, inputs.source.package, inputs.source.version, inputs.rendered, inputs.compiler]))
    .digest('hex')
    .slice(0, 12);
  return entryKey(inputs.name, `${inputs.source.version}_${digest}`);
}

/** The kernel's own compiler as its Makefile would call it. */
export async function compilerIdentity(toolchain: Toolchain, scratch: string, signal?: AbortSignal): Promise<string> {
  const mk = path.join(scratch, 'cc-version.mk');
  await writeFile(mk, 'all:\n\t@$(CC) --version | head -n 1\n');
  const r = await toolchain.make(['-s', '-f', mk, ...toolchain.makeVars], { binds: [scratch], ...(signal ? { signal } : {}) });
  if (r.exitCode !== 0) throw new BuildError(`cannot run the compiler (${toolchain.description})`, [], r.all, { fix: 'run `kmod-harness doctor`' });
  return r.all.trim().split('\n').at(-1) ?? '';
}

/** The message for options Kconfig did not keep, or undefined when all are there. */
export function configProblems(name: string, check: ConfigCheck): UsageError | undefined {
  if (check.unknown.length === 0 && check.dropped.length === 0) return undefined;
  const parts: string[] = [];
  if (check.unknown.length > 0) parts.push(`unknown to this kernel: ${check.unknown.join(', ')}`);
  if (check.dropped.length > 0) parts.push(`not kept by Kconfig: ${check.dropped.map((d) => `${d.option}=${d.wanted} (got ${d.got ?? 'unset'})`).join(', ')}`);
  return new UsageError(`kernel '${name}': options of its fragments are not in the built .config: ${parts.join('; ')}`, {
    fix: 'an unknown name is a typo or an option of another kernel version; a dropped one lacks a dependency (set that too) or is a choice another option overrides: fix the fragment',
  });
}

/** Every Kconfig symbol of the source tree. */
async function knownSymbols(srcDir: string): Promise<Set<string>> {
  const known = new Set<string>();
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!entry.name.startsWith('.')) await walk(p);
      } else if (entry.name.startsWith('Kconfig')) {
        for (const s of kconfigSymbols(await readFile(p, 'utf8'))) known.add(s);
      }
    }
  };
  await walk(srcDir);
  return known;
}

/** The last compiler or linker error of a failed build, for its one-line message. */
export function lastBuildError(log: string): string | undefined {
  const lines = log.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i]!.trim();
    if (/\berror\b|undefined reference|No rule to make target|Error \d+$/i.test(l) && !/^make(\[\d+\])?: \*\*\*/.test(l)) return l;
  }
  return lines.filter((l) => /^make(\[\d+\])?: \*\*\*/.test(l.trim()))[0]?.trim();
}

/** Objects a kbuild log line announces (`  CC      mm/slub.o`): the unit of build progress. */
export function countObjects(chunk: string): number {
  return (chunk.match(/^\s+(?:CC|AS|CC \[M\]|AS \[M\])\s+\S+\.o$/gm) ?? []).length;
}

// What M= builds never read: object files and their dependency records outside the host tools
// kbuild runs (scripts/, tools/), and the linked vmlinux. Keeps an entry at ~100 MB, not GBs.
async function pruneBuildDir(dir: string, kernelArch: string, top = dir): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    const rel = path.relative(top, p);
    if (entry.isDirectory()) {
      if (['scripts', 'tools', 'include', `arch/${kernelArch}/include`, `arch/${kernelArch}/boot`].includes(rel)) continue;
      await pruneBuildDir(p, kernelArch, top);
    } else if (/\.(o|a|mod\.c|o\.cmd)$/.test(entry.name) || /^\..*\.cmd$/.test(entry.name) || rel === 'vmlinux' || rel === 'vmlinux.o' || rel === 'vmlinux.a') {
      await rm(p, { force: true });
    }
  }
}

/** O= writes Makefile and a `source` link naming the source tree by its absolute path. */
async function relocate(outDir: string, from: { src: string; out: string }, to: { src: string; out: string }): Promise<void> {
  const makefile = path.join(outDir, 'Makefile');
  const text = await readFile(makefile, 'utf8');
  await writeFile(makefile, text.split(from.src).join(to.src).split(from.out).join(to.out));
  const link = path.join(outDir, 'source');
  const target = await readlink(link).catch(() => undefined);
  if (target !== undefined) {
    await rm(link);
    await symlink(target === from.src ? to.src : target, link);
  }
}

/** A kernel build that has not ended by then is stuck, not slow (6.1-debug: ~12 min on 2 cores). */
export const KERNEL_BUILD_TIMEOUT_MS = 3 * 3_600_000;

export interface FillOptions {
  emit: Emit;
  signal?: AbortSignal;
  /** Default KERNEL_BUILD_TIMEOUT_MS, for configure, build and install together. */
  timeoutMs?: number;
  /** Objects the last build of this kernel made: the progress total, when known. */
  expectedObjects?: number;
}

/**
 * Fill `tmp` (published later as `finalDir`) with the built kernel. Throws UsageError for
 * options Kconfig dropped (nothing is built then) and BuildError naming the kernel when make fails.
 */
export async function fillBuild(tmp: string, finalDir: string, inputs: BuildInputs, options: FillOptions): Promise<KernelArtifacts & { objects: number }> {
  const { emit } = options;
  const { name, toolchain } = inputs;
  const timeoutMs = options.timeoutMs ?? KERNEL_BUILD_TIMEOUT_MS;
  const limit = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, limit]) : limit;
  const src = path.join(tmp, SRC_DIR);
  const out = path.join(tmp, OUT_DIR);
  const opts = { binds: [tmp], ...(signal ? { signal } : {}) };
  const logParts: string[] = [];
  const make = async (what: string, args: string[], onOutput?: (chunk: string) => void) => {
    const r = await toolchain.make(['-C', src, `O=${out}`, ...toolchain.makeVars, ...args], { ...opts, ...(onOutput ? { onOutput } : {}) });
    if (limit.aborted && !options.signal?.aborted) {
      throw new TimeoutError(`the build of kernel '${name}'`, Math.round(timeoutMs / 1000), {
        fix: 'a kernel build this long is stuck: read build.log in the artifacts, or check the machine (disk, memory)',
        detail: r.all.slice(-20_000),
      });
    }
    signal.throwIfAborted();
    logParts.push(`$ make ${args.join(' ')}\n${r.all}`);
    if (r.exitCode !== 0) {
      const log = logParts.join('\n');
      await writeFile(path.join(tmp, LOG_FILE), log).catch(() => {});
      const last = lastBuildError(r.all);
      throw new BuildError(
        `kernel '${name}' (${inputs.source.package} ${inputs.source.version}) failed to ${what}${last ? `: ${last}` : ''}`,
        [],
        log.slice(-200_000),
        {
          fix: `this is the kernel build, not your module: read the log (kept in the artifacts); check the fragments of '${name}'`,
        },
      );
    }
    return r;
  };

  // Hard links: the source costs no space per build and the build never writes into it.
  const cp = await killOnTeardown(execa('cp', ['-al', inputs.source.dir, src], { reject: false, all: true }));
  if (cp.exitCode !== 0) throw new BuildError(`cannot link the source tree of ${inputs.source.package}`, [], cp.all ?? '');
  await mkdir(out);
  const allconfig = path.join(tmp, 'kconfig.fragment');
  await writeFile(allconfig, inputs.rendered);
  emit({ type: 'info', kernel: name, message: `configuring ${inputs.source.package} ${inputs.source.version}: allnoconfig + ${inputs.merged.size} options` });
  await make('configure', [`KCONFIG_ALLCONFIG=${allconfig}`, 'allnoconfig']);
  const dotConfig = await readFile(path.join(out, '.config'), 'utf8');
  const problem = configProblems(name, checkConfig(inputs.merged, parseDotConfig(dotConfig), await knownSymbols(src)));
  if (problem) throw problem;

  const jobs = availableParallelism();
  const image = ARCH_FACTS[inputs.arch].kernelImage;
  emit({ type: 'info', kernel: name, message: `building ${image.target} and modules with ${toolchain.description}, -j${jobs} (once; ~5-15 min)` });
  let objects = 0;
  let pending = '';
  await make('build', [`-j${jobs}`, image.target, 'modules'], (chunk) => {
    const text = pending + chunk;
    const cut = text.lastIndexOf('\n');
    pending = text.slice(cut + 1);
    const n = countObjects(text.slice(0, cut + 1));
    if (n === 0) return;
    objects += n;
    emit({
      type: 'progress',
      stage: 'kernel',
      kernel: name,
      what: name,
      unit: 'objects',
      done: objects,
      ...(options.expectedObjects ? { total: Math.max(options.expectedObjects, objects) } : {}),
    });
  });

  const release = parseUtsRelease(await readFile(path.join(out, 'include/generated/utsrelease.h'), 'utf8'));
  if (!release) throw new BuildError(`kernel '${name}': the build wrote no UTS_RELEASE`, [], logParts.join('\n').slice(-20_000));
  const modulesRoot = path.join(tmp, MODULES_ROOT);
  // depmod runs on the host afterwards (the root may have none): make's own is a no-op here.
  await make('install its modules', ['modules_install', `INSTALL_MOD_PATH=${modulesRoot}`, 'DEPMOD=true']);
  await mkdir(path.join(modulesRoot, 'lib/modules', release), { recursive: true });
  await runDepmod(modulesRoot, release, signal);
  for (const link of ['build', 'source']) await rm(path.join(modulesRoot, 'lib/modules', release, link), { force: true });
  const imageFile = path.basename(image.path);
  await copyFile(path.join(out, image.path), path.join(tmp, imageFile));
  await rm(path.join(out, image.path));
  await copyFile(path.join(out, 'System.map'), path.join(tmp, 'System.map'));
  await pruneBuildDir(out, ARCH_FACTS[inputs.arch].kernelArch);
  await relocate(out, { src, out }, { src: path.join(finalDir, SRC_DIR), out: path.join(finalDir, OUT_DIR) });
  await writeFile(path.join(tmp, LOG_FILE), logParts.join('\n'));

  const artifacts: KernelArtifacts = {
    series: name,
    release,
    arch: inputs.arch,
    packages: [{ name: inputs.source.package, version: inputs.source.version, suite: inputs.source.suite }],
    vmlinuz: path.join(finalDir, imageFile),
    modulesDir: path.join(finalDir, MODULES_ROOT, 'lib/modules', release),
    headersDir: path.join(finalDir, OUT_DIR),
    config: path.join(finalDir, OUT_DIR, '.config'),
    ccVersionText: ccVersionText(dotConfig) ?? '',
    source: 'built',
  };
  await writeMetadata(tmp, finalDir, artifacts, inputs.source.version);
  const info: BuildInfo = { objects, compiler: inputs.compiler, toolchain: toolchain.description, fragment: inputs.rendered };
  await writeFile(path.join(tmp, BUILD_INFO_FILE), `${JSON.stringify(info, null, 2)}\n`);
  return { ...artifacts, objects };
}
