// A minimal root of one Debian suite holding that suite's gcc-N, made once with mmdebstrap and
// cached as a directory tree: <cacheRoot>/toolchains/<suite>-gcc-<N>/{root/,toolchain.json}.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { cachedDir, entryLockFile, sweepStale, TEMP_PREFIX } from '../cache/store.js';
import { withLock, type LockOptions } from '../cache/lock.js';
import type { Emit } from '../events.js';
import { field, parseDeb822 } from '../debian/deb822.js';
import type { ArchiveSource } from '../debian/mirror.js';
import { requireTool } from '../host/tools.js';
import { readJsonOr } from '../util/files.js';
import { killOnTeardown } from '../util/lifecycle.js';
import { ToolchainError } from './select.js';

export const TOOLCHAINS_AREA = 'toolchains';
const ROOT_DIR = 'root';
/** What a root's entry says of it, beside root/: suite, gcc, the packages in it. */
export const TOOLCHAIN_METADATA_FILE = 'toolchain.json';

/**
 * What goes into every root besides gcc-N: kbuild needs make and libc headers, objtool libelf,
 * BTF pahole; building a whole kernel there (kernel-build/) also flex, bison, bc and libssl.
 */
export const ROOT_PACKAGES = ['make', 'libc6-dev', 'libelf-dev', 'dwarves', 'flex', 'bison', 'bc', 'libssl-dev'];

export interface RootSpec {
  suite: string;
  gccPackage: string;
  /** Packages besides gcc-N and ROOT_PACKAGES: a cross root's native gcc-N, whose HOSTCC builds a whole kernel's host tools. */
  extraPackages?: string[];
  /** Cache key, <suite>-gcc-<N>. */
  key: string;
  /** false for suites whose Release file the mirror lets expire (sid). */
  checkValidUntil: boolean;
}

export interface ToolchainRoot {
  /** The root file system. */
  dir: string;
  suite: string;
  gccPackage: string;
  /** Debian version of gcc-N installed in it, e.g. 14.2.0-19. */
  gccVersion: string;
  hit: boolean;
}

/**
 * mmdebstrap's argv. `--mode=unshare` runs it in its own mount namespace even as root, so a
 * killed run leaves no mounts behind inside the temporary directory it was filling.
 */
export function mmdebstrapArgs(spec: RootSpec, mirror: ArchiveSource, target: string): string[] {
  return [
    '--mode=unshare',
    '--variant=minbase',
    `--include=${rootPackages(spec).join(',')}`,
    ...(spec.checkValidUntil ? [] : ['--aptopt=Acquire::Check-Valid-Until "false"']),
    // Documentation and translations are a fifth of the root and never read by a build.
    '--dpkgopt=path-exclude=/usr/share/doc/*',
    '--dpkgopt=path-include=/usr/share/doc/*/copyright',
    '--dpkgopt=path-exclude=/usr/share/man/*',
    '--dpkgopt=path-exclude=/usr/share/locale/*',
    spec.suite,
    target,
    mirror.uri,
  ];
}

const errorLines = (output: string): string =>
  output
    .split('\n')
    .filter((l) => /^(E:|W:|Err:)|error|failed|denied|not permitted|No space/i.test(l))
    .slice(0, 12)
    .join('\n');

/** Why mmdebstrap failed, as an error that says what to do. */
export function mmdebstrapError(spec: RootSpec, mirror: ArchiveSource, output: string, exitCode: number | undefined, cause?: unknown): ToolchainError {
  const what = `cannot make the ${spec.suite} root with ${spec.gccPackage}`;
  const detail = errorLines(output) || output.slice(-3000);
  const options = { detail, cause };
  if (/No space left on device|ENOSPC/i.test(output)) {
    return new ToolchainError(`${what}: the disk is full`, {
      ...options,
      fix: 'free space in the cache dir (a root takes ~300 MB), or point KMOD_HARNESS_CACHE at a disk with room',
    });
  }
  if (/Unable to locate package|has no installation candidate|unable to locate/i.test(output)) {
    return new ToolchainError(`${what}: ${spec.suite} on ${mirror.uri} has no ${spec.gccPackage} (or not all of ${ROOT_PACKAGES.join(', ')})`, {
      ...options,
      fix: `check that ${spec.suite} still ships ${spec.gccPackage}; the kernel's series may need a newer suite in images/kernels.json`,
    });
  }
  if (/is (no longer|not yet) valid|expired/i.test(output)) {
    return new ToolchainError(`${what}: the Release file of ${spec.suite} on ${mirror.uri} has expired`, {
      ...options,
      fix: `set "checkValidUntil": false for ${spec.suite} in images/kernels.json, or use another mirror (KMOD_HARNESS_MIRROR)`,
    });
  }
  if (
    /Failed to fetch|Could not resolve|Could not connect|Temporary failure|404\s+Not Found|does not have a Release file|Connection|timed out|release file|NO_PUBKEY|signature/i.test(
      output,
    )
  ) {
    return new ToolchainError(`${what}: the mirror ${mirror.uri} (from ${mirror.from}) did not serve ${spec.suite}`, {
      ...options,
      fix: `check that the mirror is reachable and serves ${spec.suite}, or point KMOD_HARNESS_MIRROR at one that does`,
    });
  }
  if (/newuidmap|newgidmap|\/etc\/sub[ug]id|Operation not permitted|Permission denied|user namespace/i.test(output)) {
    return new ToolchainError(`${what}: not permitted (mmdebstrap needs root, or unprivileged user namespaces with newuidmap and a /etc/subuid range)`, {
      ...options,
      fix: 'run as root (or with sudo); unprivileged: sudo apt-get install -y uidmap, and give your user a range in /etc/subuid and /etc/subgid',
    });
  }
  return new ToolchainError(`${what}: mmdebstrap exited ${exitCode ?? 'on a signal'}`, {
    ...options,
    fix: 'read the detail (mmdebstrap output) for the cause',
  });
}

/** Unpack a root tarball as the calling user; device nodes are left out (the build binds the host's). */
async function unpackAsUser(tarball: string, target: string, spec: RootSpec): Promise<void> {
  const tar = await requireTool('tar');
  await mkdir(target);
  const result = await execa(tar, ['-x', '-f', tarball, '-C', target, '--exclude=./dev/*'], {
    all: true,
    reject: false,
    stdin: 'ignore',
    env: { LC_ALL: 'C' },
  });
  await rm(tarball, { force: true });
  if (result.exitCode !== 0) {
    const output = result.all ?? '';
    throw /No space left/.test(output)
      ? new ToolchainError(`cannot unpack the ${spec.suite} root: the disk is full`, {
          fix: 'free space in the cache dir (a root takes ~300 MB), or point KMOD_HARNESS_CACHE at a disk with room',
          detail: output.slice(-2000),
        })
      : new ToolchainError(`cannot unpack the ${spec.suite} root (tar exit ${result.exitCode})`, { detail: output.slice(-2000) });
  }
}

/** The Debian version of `pkg` in a root's dpkg status file, or 'unknown'. */
export async function installedVersion(rootDir: string, pkg: string): Promise<string> {
  const status = await readFile(path.join(rootDir, 'var/lib/dpkg/status'), 'utf8').catch(() => '');
  const stanza = parseDeb822(status).find((s) => field(s, 'Package') === pkg);
  return (stanza && field(stanza, 'Version')) ?? 'unknown';
}

export interface RootMetadata {
  suite: string;
  gccPackage: string;
  gccVersion: string;
  mirror: string;
  packages: string[];
  created: string;
}

/** The metadata of the root entry `dir`, as far as it has it; undefined when it has none or it is unreadable. */
export function readRootMetadata(dir: string): Promise<Partial<RootMetadata> | undefined> {
  return readJsonOr<Partial<RootMetadata>>(path.join(dir, TOOLCHAIN_METADATA_FILE));
}

// One fill per cache entry in this process: two kernels of the same suite share the cold start.
const pending = new Map<string, Promise<ToolchainRoot>>();

export interface EnsureRootOptions {
  cacheRoot: string;
  emit: Emit;
  /** The archive to make it from; asked only when the root is not cached. */
  mirror: () => Promise<ArchiveSource>;
  signal?: AbortSignal;
}

/** The cached root for `spec`, made with mmdebstrap (~20 s, ~250-310 MB) when not there yet. */
export function ensureRoot(spec: RootSpec, options: EnsureRootOptions): Promise<ToolchainRoot> {
  const id = path.join(options.cacheRoot, TOOLCHAINS_AREA, spec.key);
  const running = pending.get(id);
  if (running) return running.then((r) => ({ ...r, hit: true }));
  const made = makeRoot(spec, options).finally(() => pending.delete(id));
  pending.set(id, made);
  return made;
}

/** Every package a root of `spec` is made with. */
export function rootPackages(spec: Pick<RootSpec, 'gccPackage' | 'extraPackages'>): string[] {
  return [spec.gccPackage, ...(spec.extraPackages ?? []), ...ROOT_PACKAGES];
}

/** What of rootPackages(spec) the cached root of `dir` lacks ([] if none, or if there is no root). */
async function lackingPackages(dir: string, spec: RootSpec): Promise<string[]> {
  const metadata = await readRootMetadata(dir);
  if (metadata === undefined) return [];
  const have = new Set(metadata.packages ?? []);
  return rootPackages(spec).filter((p) => !have.has(p));
}

/** A root made by an older harness, without every package of ROOT_PACKAGES: made again. */
async function dropIncomplete(spec: RootSpec, options: EnsureRootOptions, wait: LockOptions): Promise<void> {
  const dir = path.join(options.cacheRoot, TOOLCHAINS_AREA, spec.key);
  if ((await lackingPackages(dir, spec)).length === 0) return;
  // Under the entry's lock, like a fill, and checked again there: another run may have
  // removed and made it again meanwhile.
  await withLock(entryLockFile(options.cacheRoot, TOOLCHAINS_AREA, spec.key), wait, () => removeIncomplete(spec, options, dir));
}

async function removeIncomplete(spec: RootSpec, options: EnsureRootOptions, dir: string): Promise<void> {
  const lacking = await lackingPackages(dir, spec);
  if (lacking.length === 0) return;
  options.emit({ type: 'info', message: `toolchain: the ${spec.suite} root lacks ${lacking.join(', ')}; making it again` });
  // Renamed first, so that no run ever sees a half-removed root as an entry.
  const away = path.join(options.cacheRoot, TOOLCHAINS_AREA, `${TEMP_PREFIX}${spec.key}-old-${randomBytes(6).toString('hex')}`);
  await rename(dir, away);
  await rm(away, { recursive: true, force: true });
}

async function makeRoot(spec: RootSpec, options: EnsureRootOptions): Promise<ToolchainRoot> {
  await sweepStale(TOOLCHAINS_AREA, 3_600_000, options.cacheRoot);
  const what = `the ${spec.suite} root with ${spec.gccPackage}`;
  const wait = { emit: options.emit, ...(options.signal ? { signal: options.signal } : {}) };
  await dropIncomplete(spec, options, { what, ...wait });
  const { dir, hit } = await cachedDir(
    TOOLCHAINS_AREA,
    spec.key,
    async (tmp) => {
      const mmdebstrap = await requireTool('mmdebstrap');
      const mirror = await options.mirror();
      options.emit({ type: 'info', message: `toolchain: making a ${spec.suite} root with ${spec.gccPackage} from ${mirror.uri} (once, ~20 s)` });
      const start = performance.now();
      const target = path.join(tmp, ROOT_DIR);
      // Unprivileged, mmdebstrap's root user is a subordinate uid that can neither write into
      // our directory nor be mapped back by `unshare -r` later: take a tarball and unpack it as
      // ourselves instead, so every file is ours (root, inside the build's user namespace).
      const unprivileged = process.getuid?.() !== 0;
      const output = unprivileged ? path.join(tmp, `${ROOT_DIR}.tar`) : target;
      const result = await killOnTeardown(
        execa(mmdebstrap, mmdebstrapArgs(spec, mirror, output), {
          all: true,
          reject: false,
          detached: true,
          stdin: 'ignore',
          env: { LC_ALL: 'C', LANGUAGE: '' },
          ...(options.signal ? { cancelSignal: options.signal } : {}),
        }),
        options.signal,
      );
      options.signal?.throwIfAborted();
      if (result.exitCode !== 0) throw mmdebstrapError(spec, mirror, result.all ?? '', result.exitCode, result);
      if (unprivileged) await unpackAsUser(output, target, spec);
      const metadata: RootMetadata = {
        suite: spec.suite,
        gccPackage: spec.gccPackage,
        gccVersion: await installedVersion(target, spec.gccPackage),
        mirror: mirror.uri,
        packages: rootPackages(spec),
        created: new Date().toISOString(),
      };
      await writeFile(path.join(tmp, TOOLCHAIN_METADATA_FILE), `${JSON.stringify(metadata, null, 2)}\n`);
      options.emit({
        type: 'info',
        message: `toolchain: ${spec.suite} root with ${spec.gccPackage} ${metadata.gccVersion} ready in ${((performance.now() - start) / 1000).toFixed(1)} s`,
      });
    },
    options.cacheRoot,
    { what, ...wait },
  ).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException)?.code === 'ENOSPC') {
      throw new ToolchainError(`cannot make the ${spec.suite} root with ${spec.gccPackage}: the disk is full`, {
        fix: 'free space in the cache dir (a root takes ~300 MB), or point KMOD_HARNESS_CACHE at a disk with room',
        cause: error,
      });
    }
    if ((error as NodeJS.ErrnoException)?.code === 'EACCES') {
      throw new ToolchainError(`cannot write the toolchain cache under ${options.cacheRoot}: ${(error as Error).message}`, {
        fix: 'make the cache dir writable, or set KMOD_HARNESS_CACHE',
        cause: error,
      });
    }
    throw error;
  });
  const metadata = await readRootMetadata(dir);
  if (!metadata?.gccPackage) {
    throw new ToolchainError(`the cached ${spec.suite} root at ${dir} has no readable ${TOOLCHAIN_METADATA_FILE}`, {
      fix: 'kmod-harness cache prune (it removes broken entries), then run again',
    });
  }
  return {
    dir: path.join(dir, ROOT_DIR),
    suite: metadata.suite ?? spec.suite,
    gccPackage: metadata.gccPackage,
    gccVersion: metadata.gccVersion ?? 'unknown',
    hit,
  };
}
