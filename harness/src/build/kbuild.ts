// Builds an out-of-tree module with the kernel's own kbuild, in a copy of the module dir so
// the user's tree never gets build products.
import { copyFile, cp, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { BuildError, UsageError } from '../errors.js';
import { configHas } from '../kernel/traits.js';
import type { Toolchain } from '../toolchain/run.js';
import type { BuiltModule } from './built-module.js';
import { formatDiagnostic, parseDiagnostics } from './diagnostics.js';
import { cachedModule, compilerIdentities, isBuildOutput, moduleCacheKey, storeModule } from './module-cache.js';

export type { BuiltModule } from './built-module.js';

export async function checkModuleDir(dir: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new UsageError(`module directory '${dir}' does not exist`, { fix: 'pass --module DIR, a directory with a Kbuild or Makefile declaring obj-m' });
  }
  const names = await readdir(dir);
  if (!names.includes('Kbuild') && !names.includes('Makefile')) {
    throw new UsageError(`module directory '${dir}' has neither a Kbuild nor a Makefile`, { fix: "add a Kbuild file with 'obj-m := <name>.o'" });
  }
}

async function findKos(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.filter((e) => e.endsWith('.ko')).map((e) => path.join(dir, e));
}

/** Order .ko files as kbuild's modules.order lists them (it lists .o or .ko, by kernel version). */
function loadOrder(kos: string[], modulesOrder: string): string[] {
  const order = modulesOrder.split('\n').map((l) => path.basename(l.trim()).replace(/\.(o|ko)$/, ''));
  const rank = (ko: string) => {
    const i = order.indexOf(path.basename(ko, '.ko'));
    return i < 0 ? order.length : i;
  };
  return [...kos].sort((a, b) => rank(a) - rank(b));
}

// Lines that say why a build stopped when the compiler printed no file:line diagnostic.
const CAUSE = /not found|No such file|error:|ERROR:|[Ee]rror \d|cannot |unrecognized|undefined!|Permission denied|No rule to make target/;
const MAKE_STOP = /^(\S*make(\[\d+\])?|gmake): \*\*\*/;

/**
 * The first line of a failed build's log that says what went wrong, when gcc printed no
 * diagnostic: e.g. `/bin/sh: 1: gcc-10: not found`, `gcc-12: error: unrecognized
 * command-line option ...`, `ERROR: modpost: ...`; failing those, make's first `***` line.
 */
export function firstErrorLine(log: string): string | undefined {
  const lines = log
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.find((l) => !MAKE_STOP.test(l) && CAUSE.test(l)) ?? lines.find((l) => MAKE_STOP.test(l));
}

/**
 * The fix for a module with KUnit suites built for a kernel without KUnit: modpost finds
 * KUnit's functions (kunit_log_append, __kunit_test_suites_init, ...) nowhere.
 */
export function noKunitFix(cause: string | undefined, config: string | undefined): string | undefined {
  if (cause === undefined || !/modpost: "_*kunit_\w*" .*undefined!/.test(cause)) return undefined;
  if (config === undefined || configHas(config, 'CONFIG_KUNIT')) return undefined;
  return "this kernel has no KUnit (CONFIG_KUNIT is not set), which the module's KUnit suites need: run them on a kernel built with it (a debug kernel, e.g. --kernel 6.1-debug), or build them only where IS_ENABLED(CONFIG_KUNIT)";
}

export interface BuildModuleOptions {
  sourceDir: string;
  buildDir: string;
  headersDir: string;
  /** The compiler for this kernel (prepareToolchain(kernel), or hostToolchain()). */
  toolchain: Toolchain;
  makeArgs?: string[];
  /** The cache root whose `builds/` keeps built modules (build/module-cache.ts); none: always build. */
  cacheRoot?: string;
  signal?: AbortSignal;
}

export async function buildModule(options: BuildModuleOptions): Promise<BuiltModule> {
  await checkModuleDir(options.sourceDir);
  const { toolchain } = options;
  const run = { binds: [options.buildDir], ...(options.signal ? { signal: options.signal } : {}) };
  // An unchanged module needs no copy and no kbuild: the cache hands over its .ko files.
  const cacheKey = options.cacheRoot
    ? await moduleCacheKey(options.cacheRoot, {
        sourceDir: options.sourceDir,
        headersDir: options.headersDir,
        makeArgs: options.makeArgs ?? [],
        compiler: [
          toolchain.description,
          ...toolchain.makeVars,
          toolchain.crossCompile,
          ...(await compilerIdentities(toolchain.makeVars, toolchain.crossCompile)),
        ],
      })
    : undefined;
  const hit = cacheKey ? await cachedModule(cacheKey, options.sourceDir, options.buildDir) : undefined;
  if (hit) return hit;
  await cp(options.sourceDir, options.buildDir, { recursive: true, filter: (src) => !isBuildOutput(src) });
  // __FILE__ (WARN_ON, BUG_ON) and debug info name the user's source, not the build copy. No
  // trailing slash: newer kbuild compiles external modules from inside M= with relative names,
  // and then only DW_AT_comp_dir (the bare build dir) carries the path.
  // A kernel without debug info (the harness's debug kernels: DEBUG_INFO_NONE keeps their
  // build short) gives modules none either; -g alone changes no code and lets reports name
  // the module's file:line.
  const config = await readFile(path.join(options.headersDir, '.config'), 'utf8').catch(() => undefined);
  const kernelHasDebugInfo = config === undefined || configHas(config, 'CONFIG_DEBUG_INFO');
  const prefixMap = `KCFLAGS=-ffile-prefix-map=${options.buildDir}=${path.resolve(options.sourceDir)}${kernelHasDebugInfo ? '' : ' -g'}`;
  const result = await toolchain.make(
    ['-C', options.headersDir, `M=${options.buildDir}`, ...toolchain.makeVars, prefixMap, '-j2', ...(options.makeArgs ?? []), 'modules'],
    run,
  );
  const log = result.all;
  const diagnostics = parseDiagnostics(log, [{ from: options.buildDir, to: path.resolve(options.sourceDir) }], options.buildDir);
  if (result.exitCode !== 0) {
    const errors = diagnostics.filter((d) => d.severity === 'error');
    const first = errors[0] ?? diagnostics[0];
    // A module that builds for the host's architecture may not for the guest's: say it was a cross build.
    const cross = toolchain.crossCompile
      ? ` (the module is cross-built here, for ${toolchain.crossCompile.replace(/-linux-gnu-$/, '')}: what only one architecture has, such as <asm/msr.h>, needs an #ifdef CONFIG_X86 or a Kbuild condition)`
      : '';
    if (first) throw new BuildError(`module build failed: ${formatDiagnostic(first)}`, diagnostics, log, { fix: `fix ${first.file}:${first.line}${cross}` });
    const cause = firstErrorLine(log);
    const status = result.exitCode === undefined ? 'make was killed' : `make exit ${result.exitCode}`;
    throw new BuildError(`module build failed with ${toolchain.description} (${status})${cause ? `: ${cause}` : ''}`, diagnostics, log, {
      fix:
        cause && /not found|No such file/.test(cause)
          ? `the kernel's build calls a tool ${toolchain.description} lacks (chosen because ${toolchain.reason}); see the build log`
          : (noKunitFix(cause, config) ?? 'see the build log'),
    });
  }
  const kos = await findKos(options.buildDir);
  if (kos.length === 0)
    throw new BuildError(`module build produced no .ko in ${options.sourceDir}`, diagnostics, log, {
      fix: "declare the module in Kbuild with 'obj-m := <name>.o'",
    });
  const ordered = loadOrder(kos, await readFile(path.join(options.buildDir, 'modules.order'), 'utf8').catch(() => ''));
  // Stripped copies, by the same binutils that linked them (one strip call for all).
  const strippedDir = path.join(options.buildDir, '.upload');
  await mkdir(strippedDir, { recursive: true });
  const strippedKos = ordered.map((ko) => path.join(strippedDir, path.basename(ko)));
  await Promise.all(ordered.map((ko, i) => copyFile(ko, strippedKos[i]!)));
  const stripped = await toolchain.run('strip', ['--strip-debug', ...strippedKos], run);
  if (stripped.exitCode !== 0)
    throw new BuildError(
      `stripping the module failed with ${toolchain.description}: ${firstErrorLine(stripped.all) ?? stripped.all.trim()}`,
      diagnostics,
      `${log}\n${stripped.all}`,
    );
  const built = {
    kos: ordered,
    strippedKos,
    names: ordered.map((k) => path.basename(k, '.ko').replace(/-/g, '_')),
    log,
    pathMap: { from: options.buildDir, to: path.resolve(options.sourceDir) },
    crossCompile: toolchain.crossCompile,
  };
  // Best effort: a cache that cannot be written costs the next run a build, not this run its result.
  if (cacheKey) await storeModule(cacheKey, built, options.buildDir, options.headersDir).catch(() => {});
  return built;
}
