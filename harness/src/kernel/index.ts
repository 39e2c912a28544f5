// Kernel acquisition: series name in, unpacked Debian kernel (vmlinuz, modules, kbuild headers) out, cached.
import { cachedDir, cacheRoot as defaultCacheRoot } from '../cache/store.js';
import { KernelFetchError } from '../errors.js';
import { silent, type Emit } from '../events.js';
import type { DownloadFailure } from '../debian/apt.js';
import { BUILDROOT_PREFIX, prepareBuildrootKernel } from '../user-kernel/buildroot.js';
import { findSeriesSpec, loadCatalogue, seriesNames, seriesSpec, variantNames, type SeriesSpec } from './catalogue.js';
import type { Arch } from '../arch.js';
import { cachedEntries, entryDir, entryKey, KERNELS_AREA, readMetadata, type KernelArtifacts } from './entry.js';
import { CandidatesUnavailable, fillEntry } from './fetch.js';
import { LOCAL_PREFIX, prepareLocalKernel } from '../user-kernel/local.js';
import { findMirrors, type Mirrors } from '../debian/mirror.js';
import { byVersion, resolveSeries, type Resolution } from './resolve.js';

export type { KernelArtifacts } from './entry.js';

export interface PrepareKernelOptions {
  /** Cache directory (default: cacheRoot(), i.e. KMOD_HARNESS_CACHE or ~/.cache/kmod-harness). */
  cacheRoot?: string;
  emit?: Emit;
  signal?: AbortSignal;
  /** Refresh a suite's package index when older than this (default one day). */
  listsMaxAgeMs?: number;
}

export { BUILDROOT_PREFIX } from '../user-kernel/buildroot.js';
export { LOCAL_PREFIX } from '../user-kernel/local.js';

/** Series in images/kernels.json, oldest first (the Debian kernels; see also buildroot: and local:). */
export function knownSeries(): string[] {
  return seriesNames(loadCatalogue());
}

/** The variants of the catalogue's series (`6.1/generic`, `6.1/rt`, ...): named, never part of 'all'. */
export function knownVariants(): string[] {
  return variantNames(loadCatalogue());
}

/**
 * The guest architecture of a kernel name: a catalogue variant's (`6.1/arm64`), else amd64 (the
 * bare series, kernels built from source, `local:` and `buildroot:` kernels).
 */
export function kernelArch(name: string): Arch {
  return findSeriesSpec(loadCatalogue(), name)?.arch ?? 'amd64';
}

/** The series used when the user names none. */
export function defaultSeries(): string {
  return loadCatalogue().default;
}

interface Context {
  spec: SeriesSpec;
  root: string;
  emit: Emit;
  signal: AbortSignal | undefined;
}

const withSignal = (signal: AbortSignal | undefined): { signal?: AbortSignal } => (signal ? { signal } : {});

/**
 * Try the candidates' versions newest first, one cache entry each. With `onlyNewest`, stop
 * after the newest version fails instead of falling back to older ones.
 */
async function fetchNewest(
  ctx: Context,
  resolution: Resolution,
  failed: Map<string, DownloadFailure>,
  onlyNewest: boolean,
): Promise<KernelArtifacts | undefined> {
  const { spec, root, emit, signal } = ctx;
  for (const group of byVersion(resolution.candidates)) {
    const key = entryKey(spec.series, group[0]!.version);
    try {
      const { dir, hit } = await cachedDir(
        KERNELS_AREA,
        key,
        async (tmp) => {
          const used = await fillEntry(tmp, entryDir(root, key), spec, group, resolution, failed, { emit, ...withSignal(signal) });
          emit({ type: 'info', kernel: spec.series, message: `unpacked ${used.release} (${used.version}, ${used.suite.suite})` });
        },
        root,
        // Another run downloading the same kernel: wait for it, then take its entry.
        { what: `the ${spec.series} kernel ${group[0]!.version}`, emit: (e) => emit({ ...e, kernel: spec.series }), ...withSignal(signal) },
      );
      const { artifacts } = await readMetadata(dir);
      emit({ type: 'info', kernel: spec.series, message: `${hit ? 'cached' : 'ready'}: ${artifacts.release} at ${dir}` });
      return artifacts;
    } catch (error) {
      if (!(error instanceof CandidatesUnavailable)) throw error;
      if (onlyNewest) return undefined;
    }
  }
  return undefined;
}

async function resolve(ctx: Context, mirrors: Mirrors, listsMaxAgeMs: number | undefined): Promise<Resolution> {
  return resolveSeries(ctx.spec, mirrors, ctx.root, { emit: ctx.emit, ...withSignal(ctx.signal), ...(listsMaxAgeMs !== undefined ? { listsMaxAgeMs } : {}) });
}

/**
 * The error for a series or variant of which the suites' indexes hold no complete package set.
 * For a variant that is most likely a flavour or architecture Debian does not build for that
 * series: the fix names the series' other kernels.
 */
export function noCompleteKernel(spec: SeriesSpec, rejected: readonly string[]): KernelFetchError {
  const suites = spec.suites.map((s) => s.suite).join(', ');
  const variant = spec.series === spec.base ? undefined : spec.series.slice(spec.base.length + 1);
  const others = [
    spec.base,
    ...Object.keys(spec.variants)
      .filter((v) => v !== variant)
      .map((v) => `${spec.base}/${v}`),
  ];
  return new KernelFetchError(`no complete ${spec.series} ${spec.flavour} (${spec.arch}) kernel in ${suites}`, {
    fix:
      variant === undefined
        ? 'the archive changed: check the suites and package patterns of this series in images/kernels.json'
        : `${suites} may not ship a ${spec.flavour} kernel of ${spec.base}: use ${others.join(', ')}, or remove "${variant}" from the variants of ${spec.base} in images/kernels.json`,
    detail: rejected.join('\n'),
  });
}

/**
 * The newest complete kernel of `series` the mirror actually serves, downloaded and unpacked
 * once into the cache. Without a reachable mirror, the newest cached entry of the series is used.
 * `buildroot:<output dir>` and `local:<bzImage>,<build dir>` name a kernel the user built instead.
 */
export async function prepareKernel(series: string, options: PrepareKernelOptions = {}): Promise<KernelArtifacts> {
  const userBuilt = { cacheRoot: options.cacheRoot ?? defaultCacheRoot(), ...(options.emit ? { emit: options.emit } : {}), ...withSignal(options.signal) };
  if (series.startsWith(BUILDROOT_PREFIX)) return prepareBuildrootKernel(series, userBuilt);
  if (series.startsWith(LOCAL_PREFIX)) return prepareLocalKernel(series, userBuilt);
  const ctx: Context = {
    spec: seriesSpec(loadCatalogue(), series),
    root: options.cacheRoot ?? defaultCacheRoot(),
    emit: options.emit ?? silent,
    signal: options.signal,
  };
  const { spec, root, emit } = ctx;
  const mirrors = await findMirrors();
  let resolution = await resolve(ctx, mirrors, options.listsMaxAgeMs);
  if (resolution.candidates.length === 0) {
    const cached = (await cachedEntries(root, series))[0];
    if (cached && resolution.errors.length > 0) {
      emit({ type: 'warn', kernel: series, message: `no package index could be read; using the cached ${cached.artifacts.release} (${cached.version})` });
      return cached.artifacts;
    }
    if (resolution.errors.length === spec.suites.length) throw resolution.errors[0]!;
    throw noCompleteKernel(spec, resolution.rejected);
  }

  const failed = new Map<string, DownloadFailure>();
  // A day-old index may list packages the archive has since dropped (the security archive
  // removes superseded kernels): before settling for an older version, refresh once.
  if (!resolution.fresh) {
    const artifacts = await fetchNewest(ctx, resolution, failed, true);
    if (artifacts) return artifacts;
    emit({ type: 'info', kernel: series, message: 'the newest listed kernel could not be downloaded; refreshing the package indexes' });
    resolution = await resolve(ctx, mirrors, 0);
    failed.clear();
  }
  const artifacts = await fetchNewest(ctx, resolution, failed, false);
  if (artifacts) return artifacts;
  throw new KernelFetchError(`no ${series} kernel could be downloaded (${failed.size} package(s) failed)`, {
    fix: 'the mirror may be out of step with its index: retry later, or set KMOD_HARNESS_MIRROR to another mirror',
    detail: [...failed.values()].map((f) => `${f.name}=${f.version}: ${f.reason}`).join('\n'),
  });
}
