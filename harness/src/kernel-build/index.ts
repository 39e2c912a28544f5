// Every kernel name a run can take: catalogue series and buildroot:/local: kernels go to
// kernel/ (Debian's packages, the user's trees); `<series>-debug` and a config's kernelBuilds
// are built here from Debian's source with the series' own compiler, and cached.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cachedDir, cacheRoot as defaultCacheRoot } from '../cache/store.js';
import { KernelFetchError } from '../errors.js';
import { silent } from '../events.js';
import { withDeadline } from '../util/timers.js';
import { requireTool } from '../host/tools.js';
import { findSeriesSpec, loadCatalogue, seriesNames, seriesSpec, variantNames } from '../kernel/catalogue.js';
import { entryDir, KERNELS_AREA, readMetadata, type KernelArtifacts } from '../kernel/entry.js';
import { kernelArch as catalogueArch, prepareKernel, type PrepareKernelOptions } from '../kernel/index.js';
import { compilerVars, crossTarget, prepareToolchain } from '../toolchain/index.js';
import { parseCcVersionText } from '../toolchain/select.js';
import type { Arch } from '../arch.js';
import { buildKey, cachedBuilds, compilerIdentity, fillBuild, KERNEL_BUILD_TIMEOUT_MS, type BuildInputs } from './build.js';
import { builtinDefinitions, findDefinition, readFragments, type KernelBuildDef } from './definitions.js';
import { mergeFragments, renderFragment } from './kconfig.js';
import { prepareSource, type KernelSource } from './source.js';

export { builtinDefinitions, debugName, userDefinitions, type KernelBuildDef, type KernelBuildInput } from './definitions.js';

export interface AcquireOptions extends PrepareKernelOptions {
  /** Kernels a config file defines (userDefinitions), besides the built-in `<series>-debug`. */
  definitions?: readonly KernelBuildDef[];
}

/** The catalogue's arm64 variants (`6.1/arm64`, ...): each has a `<variant>-debug` built from source. */
export function arm64Variants(): string[] {
  const catalogue = loadCatalogue();
  return variantNames(catalogue).filter((v) => findSeriesSpec(catalogue, v)?.arch === 'arm64');
}

/** The built-in `<series>-debug` and `<series>/arm64-debug` definitions followed by `user`'s. */
export function allDefinitions(user: readonly KernelBuildDef[] = []): KernelBuildDef[] {
  return [...builtinDefinitions(seriesNames(loadCatalogue()), arm64Variants()), ...user];
}

/**
 * The guest architecture of a kernel name: a build's (`6.1/arm64-debug`), a catalogue variant's
 * (`6.1/arm64`), else amd64 (the bare series, `local:` and `buildroot:` kernels).
 */
export function kernelArch(name: string, user: readonly KernelBuildDef[] = []): Arch {
  return findDefinition(name, allDefinitions(user))?.arch ?? catalogueArch(name);
}

/** The names of kernels the harness builds, for --kernel's checks (`all` does not include them). */
export function buildableNames(user: readonly KernelBuildDef[] = []): string[] {
  return allDefinitions(user).map((d) => d.name);
}

/** The kernel `name` stands for, fetched, built or read from the user's tree, and cached. */
export async function acquireKernel(name: string, options: AcquireOptions = {}): Promise<KernelArtifacts> {
  const def = findDefinition(name, allDefinitions(options.definitions));
  return def ? prepareBuiltKernel(def, options) : prepareKernel(name, options);
}

/**
 * acquireKernel within the kernel stage's limit: `fetchS` to fetch, plus the build's own limit
 * (KERNEL_BUILD_TIMEOUT_MS) for a kernel built from source. Expiry is a TimeoutError of stage
 * `kernel`, and cancels what the stage runs.
 */
export function acquireKernelWithin(name: string, fetchS: number, options: Omit<AcquireOptions, 'signal'> = {}): Promise<KernelArtifacts> {
  const fromSource = findDefinition(name, allDefinitions(options.definitions)) !== undefined;
  return withDeadline('kernel', fetchS + (fromSource ? KERNEL_BUILD_TIMEOUT_MS / 1000 : 0), (signal) => acquireKernel(name, { ...options, signal }), {
    fix: `fetching${fromSource ? ' and building' : ''} the kernel ran longer than its limit: check the mirror's speed, or raise timeouts.fetch / --fetch-timeout`,
  });
}

/** The newest cached build of `name` made from exactly `rendered` (its build.json says), if any. */
async function cachedBuildOf(root: string, name: string, rendered: string): Promise<string | undefined> {
  const matching = (await cachedBuilds(root, name)).filter((b) => b.info.fragment === rendered);
  return matching.sort((a, b) => b.mtimeMs - a.mtimeMs)[0]?.dir;
}

/** Objects made by the biggest earlier build of `name`: the progress bar's total. */
async function expectedObjects(root: string, name: string): Promise<number | undefined> {
  const counts = (await cachedBuilds(root, name)).flatMap((b) => (b.info.objects ? [b.info.objects] : []));
  return counts.length > 0 ? Math.max(...counts) : undefined;
}

/** What a build does after make, within its entry's lock: prune the build dir, copy, write metadata. */
const BUILD_PUBLISH_MS = 10 * 60_000;

/** Build `def` (once per source version, configuration and compiler), or take it from the cache. */
export async function prepareBuiltKernel(def: KernelBuildDef, options: PrepareKernelOptions = {}): Promise<KernelArtifacts> {
  const root = options.cacheRoot ?? defaultCacheRoot();
  const emit = options.emit ?? silent;
  const signal = options.signal;
  const withSignal = signal ? { signal } : {};
  // Bad fragments fail before anything is downloaded.
  const { fragments } = await readFragments(def);
  const merged = mergeFragments(fragments);
  const rendered = renderFragment(merged);
  await requireTool('depmod');
  // The series' compiler is its stock kernel's: the same choice (host gcc, or a suite root);
  // for an arm64 build, the arm64 kernel's (a cross gcc).
  const stock = await prepareKernel(def.stock, { cacheRoot: root, emit, ...withSignal });
  const stockToolchain = await prepareToolchain(stock, { cacheRoot: root, emit, ...withSignal });
  // In a suite root gcc-N has only its own name: the whole kernel is built with it, as Debian's is.
  const toolchain =
    stockToolchain.kind === 'root'
      ? { ...stockToolchain, makeVars: [...stockToolchain.makeVars, ...compilerVars(parseCcVersionText(stock.ccVersionText), crossTarget(def.arch))] }
      : stockToolchain;
  const scratch = await mkdtemp(path.join(tmpdir(), 'kmod-harness-cc-'));
  let compiler: string;
  try {
    compiler = await compilerIdentity(toolchain, scratch, signal);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  let source: KernelSource;
  try {
    source = await prepareSource(seriesSpec(loadCatalogue(), def.series), { cacheRoot: root, emit, label: def.name, ...withSignal });
  } catch (error) {
    // No package index readable (mirror down, offline): a cached build of this very configuration still serves.
    if (!(error instanceof KernelFetchError)) throw error;
    const cached = await cachedBuildOf(root, def.name, rendered);
    if (!cached) throw error;
    emit({ type: 'warn', kernel: def.name, message: `${error.message}; using the cached build ${path.basename(cached)}` });
    return (await readMetadata(cached)).artifacts;
  }
  const inputs: BuildInputs = { name: def.name, arch: def.arch, source, merged, rendered, toolchain, compiler };
  const key = buildKey(inputs);
  const expected = await expectedObjects(root, def.name);
  const start = performance.now();
  const { dir, hit } = await cachedDir(
    KERNELS_AREA,
    key,
    async (tmp) => {
      const built = await fillBuild(tmp, entryDir(root, key), inputs, { emit, ...withSignal, ...(expected ? { expectedObjects: expected } : {}) });
      emit({
        type: 'info',
        kernel: def.name,
        message: `built ${built.release} in ${((performance.now() - start) / 1000).toFixed(0)} s (${built.objects} objects)`,
      });
    },
    root,
    // Another run building the same kernel: wait as long as its build may take (plus its
    // pruning and copying), then take its entry instead of building it a second time.
    {
      what: `the build of kernel '${def.name}'`,
      waitMs: KERNEL_BUILD_TIMEOUT_MS + BUILD_PUBLISH_MS,
      emit: (e) => emit({ ...e, kernel: def.name }),
      ...withSignal,
    },
  );
  const { artifacts } = await readMetadata(dir);
  emit({ type: 'info', kernel: def.name, message: `${hit ? 'cached' : 'ready'}: ${artifacts.release} at ${dir}` });
  return artifacts;
}
