// Debian's kernel source for a series: the newest `linux-source-<series>` of the series' suites
// (the same source and patches as its stock images), downloaded through the private apt
// states and unpacked once per version into <cacheRoot>/sources/<package>_<version>/linux/.
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { cachedDir } from '../cache/store.js';
import { KernelFetchError, UsageError } from '../errors.js';
import type { Emit } from '../events.js';
import { requireTool } from '../host/tools.js';
import { formatDecimal } from '../util/format.js';
import { killOnTeardown } from '../util/lifecycle.js';
import { aptState, download, ensureLists, readIndex, type AptState } from '../debian/apt.js';
import type { SeriesSpec } from '../kernel/catalogue.js';
import { compareVersions } from '../debian/debversion.js';
import { entryKey } from '../kernel/entry.js';
import { archiveUri, findMirrors } from '../debian/mirror.js';
import type { IndexPackage } from '../kernel/packages-index.js';

export const SOURCES_AREA = 'sources';
/** The unpacked tree inside a sources entry. */
export const TREE_DIR = 'linux';

export interface KernelSource {
  /** The unpacked source tree (top-level Makefile here). */
  dir: string;
  package: string;
  version: string;
  suite: string;
}

/** The sources entry of a package version: named like a kernel entry. */
export function sourceKey(pkg: Pick<IndexPackage, 'name' | 'version'>): string {
  return entryKey(pkg.name, pkg.version);
}

export function sourcePackage(series: string): string {
  return `linux-source-${series}`;
}

/** The newest of `found` (package, suite) pairs, earlier suites winning ties. */
export function newestSource(found: ReadonlyArray<{ pkg: IndexPackage; suite: string }>): { pkg: IndexPackage; suite: string } | undefined {
  let best: { pkg: IndexPackage; suite: string } | undefined;
  for (const f of found) if (!best || compareVersions(f.pkg.version, best.pkg.version) > 0) best = f;
  return best;
}

async function unpack(deb: string, into: string, signal: AbortSignal | undefined): Promise<void> {
  const dpkgDeb = await requireTool('dpkg-deb');
  const tar = await requireTool('tar');
  const debRoot = path.join(into, 'deb');
  const opts = { all: true, reject: false, ...(signal ? { cancelSignal: signal } : {}) } as const;
  const x = await killOnTeardown(execa(dpkgDeb, ['-x', deb, debRoot], opts));
  if (x.exitCode !== 0)
    throw new KernelFetchError(`dpkg-deb could not unpack ${path.basename(deb)}`, {
      detail: String(x.all).slice(-2000),
      fix: 'check free disk space in the cache directory',
    });
  const usrSrc = path.join(debRoot, 'usr/src');
  const tarball = (await readdir(usrSrc)).find((n) => /^linux-source-.*\.tar\.(xz|bz2|gz|zst)$/.test(n));
  if (!tarball) throw new KernelFetchError(`${path.basename(deb)} holds no linux-source-*.tar.* in /usr/src`, { fix: 'the package layout changed: report it' });
  const y = await killOnTeardown(execa(tar, ['-x', '-f', path.join(usrSrc, tarball), '-C', into], { ...opts, env: { LC_ALL: 'C' } }));
  if (y.exitCode !== 0)
    throw new KernelFetchError(`cannot unpack ${tarball} (tar exit ${y.exitCode})`, {
      detail: String(y.all).slice(-2000),
      fix: 'check free disk space in the cache directory (an unpacked source takes ~1.5 GB)',
    });
  const top = tarball.replace(/\.tar\.\w+$/, '');
  await rename(path.join(into, top), path.join(into, TREE_DIR));
  await rm(debRoot, { recursive: true, force: true });
}

export interface SourceResolution {
  best: { pkg: IndexPackage; suite: string; state: AptState } | undefined;
  /** Suites whose index could not be read. */
  errors: KernelFetchError[];
}

/**
 * The newest `linux-source-<series>` in the series' suites. `offline`: from the indexes already
 * in the cache, never updating them (kmod-harness kernels --offline).
 */
export async function resolveSource(
  spec: SeriesSpec,
  options: { cacheRoot: string; emit: Emit; signal?: AbortSignal; offline?: boolean },
): Promise<SourceResolution> {
  const { cacheRoot, emit, signal } = options;
  const name = sourcePackage(spec.series);
  const mirrors = await findMirrors();
  const found: Array<{ pkg: IndexPackage; suite: string; state: AptState }> = [];
  const errors: KernelFetchError[] = [];
  await Promise.all(
    spec.suites.map(async (suite) => {
      try {
        const state = aptState(cacheRoot, suite, archiveUri(mirrors, suite.archive));
        if (!options.offline) await ensureLists(state, { emit, ...(signal ? { signal } : {}) });
        for (const pkg of await readIndex(state, `Package: ${name}\n`)) if (pkg.name === name) found.push({ pkg, suite: suite.suite, state });
      } catch (error) {
        if (!(error instanceof KernelFetchError)) throw error;
        errors.push(error);
      }
    }),
  );
  // Earlier suites first, so a tie goes to the base suite.
  found.sort((a, b) => spec.suites.findIndex((s) => s.suite === a.suite) - spec.suites.findIndex((s) => s.suite === b.suite));
  const best = newestSource(found);
  return { best: best ? found.find((f) => f.pkg === best.pkg) : undefined, errors };
}

/** The series' newest source, unpacked into the cache (once per version: ~140 MB download, ~1.5 GB). */
export async function prepareSource(spec: SeriesSpec, options: { cacheRoot: string; emit: Emit; signal?: AbortSignal; label: string }): Promise<KernelSource> {
  const { cacheRoot, emit, signal, label } = options;
  const name = sourcePackage(spec.series);
  const { best, errors } = await resolveSource(spec, options);
  if (!best) {
    if (errors.length > 0) throw errors[0]!;
    throw new UsageError(`series ${spec.series} has no source package: no ${name} in ${spec.suites.map((s) => s.suite).join(', ')}`, {
      fix: `build another series, or check the suites of ${spec.series} in images/kernels.json`,
    });
  }
  const { pkg, suite, state } = best;
  const key = sourceKey(pkg);
  const { dir, hit } = await cachedDir(
    SOURCES_AREA,
    key,
    async (tmp) => {
      emit({ type: 'info', kernel: label, message: `downloading ${pkg.name} ${pkg.version} from ${suite} (${formatDecimal(pkg.size, 'MB')})` });
      const downloads = path.join(tmp, 'download');
      await mkdir(downloads, { recursive: true });
      const failed = await download(
        state,
        [pkg],
        downloads,
        signal,
        (done, total) => emit({ type: 'progress', stage: 'kernel', kernel: label, what: pkg.name, done, total }),
        emit,
      );
      if (failed.length > 0) {
        throw new KernelFetchError(`${pkg.name}=${pkg.version} could not be downloaded from ${suite}: ${failed[0]!.reason}`, {
          fix: 'the mirror may be out of step with its index: retry later, or set KMOD_HARNESS_MIRROR to another mirror',
        });
      }
      emit({ type: 'info', kernel: label, message: `unpacking ${pkg.name} ${pkg.version}` });
      await unpack(path.join(downloads, path.posix.basename(pkg.filename)), tmp, signal);
      await rm(downloads, { recursive: true, force: true });
    },
    cacheRoot,
    { what: `the source ${pkg.name} ${pkg.version}`, emit: (e) => emit({ ...e, kernel: label }), ...(signal ? { signal } : {}) },
  );
  if (hit) emit({ type: 'info', kernel: label, message: `source: ${pkg.name} ${pkg.version} (cached)` });
  return { dir: path.join(dir, TREE_DIR), package: pkg.name, version: pkg.version, suite };
}
