// Private apt state per suite (<cacheRoot>/apt/<suite>/): read and download any suite without touching the system's apt.
import { access, constants, mkdir, readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { entryLockFile } from '../cache/store.js';
import { withLock } from '../cache/lock.js';
import { KernelFetchError, MissingToolError } from '../errors.js';
import type { Emit } from '../events.js';
import { writeFileAtomic } from '../util/files.js';
import { utcTime } from '../util/format.js';
import { requireTool } from '../host/tools.js';
import type { SuiteRef } from './mirror.js';
import type { ArchiveSource } from './mirror.js';
import { parsePackages, type IndexPackage } from './packages.js';
import type { Arch } from '../arch.js';

/** The cache area of the private apt states, one dir per suite. */
export const APT_AREA = 'apt';

export const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
const APT_HELPER = '/usr/lib/apt/apt-helper';
export const DEFAULT_LISTS_MAX_AGE_MS = 24 * 3_600_000;

export interface AptState {
  suite: SuiteRef;
  /** The architecture of the packages it lists. */
  arch: Arch;
  mirror: ArchiveSource;
  dir: string;
  sourcesFile: string;
  listsDir: string;
  cacheDir: string;
  /** Touched after each successful update; its mtime is the lists' age. */
  stampFile: string;
  /** Held while apt updates or downloads (exclusive) and while the lists are read (shared), across processes. */
  lockFile: string;
}

/** The state's name in the apt area: the suite for amd64 (as caches made before arm64 have it), `<suite>.<arch>` otherwise. */
export function aptStateKey(suite: string, arch: Arch): string {
  return arch === 'amd64' ? suite : `${suite}.${arch}`;
}

export function aptState(cacheRoot: string, suite: SuiteRef, mirror: ArchiveSource, arch: Arch = 'amd64'): AptState {
  const key = aptStateKey(suite.suite, arch);
  const dir = path.join(cacheRoot, APT_AREA, key);
  return {
    suite,
    arch,
    mirror,
    dir,
    sourcesFile: path.join(dir, 'sources.list'),
    listsDir: path.join(dir, 'lists'),
    cacheDir: path.join(dir, 'cache'),
    stampFile: path.join(dir, 'updated'),
    lockFile: entryLockFile(cacheRoot, APT_AREA, key),
  };
}

/** The one-line sources entry of a private state: one suite, component main, Debian's keyring. */
export function sourcesLine(uri: string, suite: string): string {
  return `deb [signed-by=${DEBIAN_KEYRING}] ${uri} ${suite} main\n`;
}

/**
 * `-o` options pointing apt at the private state. The system's apt.conf.d still applies (a
 * proxy set there is honoured); everything that could read or write system state is redirected.
 */
export function aptOptions(state: AptState, isRoot: boolean): string[] {
  const options: Record<string, string> = {
    'Dir::Etc::sourcelist': state.sourcesFile,
    'Dir::Etc::sourceparts': '/nonexistent',
    'Dir::Etc::preferences': '/nonexistent',
    'Dir::Etc::preferencesparts': '/nonexistent',
    'Dir::State::Lists': state.listsDir,
    'Dir::State::status': '/dev/null',
    'Dir::State::extended_states': path.join(state.dir, 'extended_states'),
    'Dir::Cache': state.cacheDir,
    // No binary caches: they are 2 x 35 MB per big suite and save only ~0.5 s per apt call.
    'Dir::Cache::pkgcache': '',
    'Dir::Cache::srcpkgcache': '',
    // Keep the lists compressed on disk (a big suite's index is ~50 MB as text).
    'Acquire::GzipIndexes': 'true',
    'Acquire::Languages': 'none',
    // One architecture per state: apt then names packages without an :arch suffix.
    'APT::Architectures': state.arch,
    'APT::Architecture': state.arch,
  };
  if (!state.suite.checkValidUntil) options['Acquire::Check-Valid-Until'] = 'false';
  // As root apt drops to _apt for downloads, which cannot enter a private cache under /root.
  if (isRoot) options['APT::Sandbox::User'] = 'root';
  return Object.entries(options).flatMap(([k, v]) => ['-o', `${k}=${v}`]);
}

const isRoot = (): boolean => process.getuid?.() === 0;
const aptEnv = { LC_ALL: 'C', LANGUAGE: '' };

export async function listFiles(state: AptState): Promise<string[]> {
  const names = await readdir(state.listsDir).catch(() => [] as string[]);
  return names.filter((n) => /_Packages(\.[a-z0-9]+)?$/.test(n)).map((n) => path.join(state.listsDir, n));
}

/**
 * Run `fn` holding the state's lock: one apt run per state at a time, in this process and
 * across processes, because apt's own lock fails at once instead of waiting. Waits as long as
 * a download may take (the default hour: a 140 MB linux-source on a slow mirror).
 */
function locked<T>(state: AptState, how: { shared?: boolean; emit?: Emit | undefined; signal?: AbortSignal | undefined }, fn: () => Promise<T>): Promise<T> {
  return withLock(
    state.lockFile,
    {
      what: `the ${state.suite.suite} ${state.arch} package index`,
      ...(how.shared ? { shared: true } : {}),
      ...(how.emit ? { emit: how.emit } : {}),
      ...(how.signal ? { signal: how.signal } : {}),
    },
    fn,
  );
}

/** The error for a failed `apt-get update`: names mirror and suite, keeps apt's own error lines. */
export function updateError(state: AptState, output: string, cause?: unknown): KernelFetchError {
  const lines = output
    .split('\n')
    .filter((l) => /^(E|W|Err):/.test(l.trim()) || /^\s+\S/.test(l))
    .slice(0, 8)
    .join('\n');
  return new KernelFetchError(`cannot read the package index of ${state.suite.suite} from ${state.mirror.uri} (mirror from ${state.mirror.from})`, {
    fix:
      `check that the mirror is reachable (apt-get update on this host), or point KMOD_HARNESS_${state.suite.archive === 'debian' ? '' : 'SECURITY_'}MIRROR ` +
      `at a mirror that serves ${state.suite.suite}` +
      (/expired|not valid yet/i.test(output)
        ? `; its Release file is expired: set "checkValidUntil": false for ${state.suite.suite} in images/kernels.json`
        : '') +
      (/NO_PUBKEY|signatures? (couldn't|were invalid)/i.test(output) ? '; the archive key is unknown: upgrade debian-archive-keyring' : ''),
    detail: lines || output.slice(-2000),
    cause,
  });
}

/**
 * Make the private lists current: update when they are missing, older than `maxAgeMs`, or
 * were made for another mirror. If an update fails but older lists exist, use those (warn).
 * Returns whether the lists were downloaded just now.
 */
export async function ensureLists(state: AptState, options: { maxAgeMs?: number; emit?: Emit; signal?: AbortSignal } = {}): Promise<boolean> {
  const maxAgeMs = options.maxAgeMs ?? DEFAULT_LISTS_MAX_AGE_MS;
  return locked(state, options, async () => {
    try {
      await access(DEBIAN_KEYRING, constants.R_OK);
    } catch (error) {
      throw new KernelFetchError(`Debian's archive keyring ${DEBIAN_KEYRING} is missing: apt cannot verify the mirror`, {
        fix: 'sudo apt-get install -y debian-archive-keyring',
        cause: error,
      });
    }
    await mkdir(path.join(state.listsDir, 'partial'), { recursive: true });
    await mkdir(path.join(state.cacheDir, 'archives', 'partial'), { recursive: true });
    const line = sourcesLine(state.mirror.uri, state.suite.suite);
    const previous = await readFile(state.sourcesFile, 'utf8').catch(() => undefined);
    if (previous !== line) await writeFileAtomic(state.sourcesFile, line);
    const stamp = await stat(state.stampFile).catch(() => undefined);
    const haveLists = (await listFiles(state)).length > 0;
    if (previous === line && haveLists && stamp && Date.now() - stamp.mtimeMs < maxAgeMs) return false;
    options.emit?.({ type: 'info', message: `apt: updating the ${state.suite.suite} index from ${state.mirror.uri}` });
    const aptGet = await requireTool('apt-get');
    const result = await execa(aptGet, [...aptOptions(state, isRoot()), '-q', 'update'], {
      reject: false,
      all: true,
      env: aptEnv,
      ...(options.signal ? { cancelSignal: options.signal } : {}),
    });
    options.signal?.throwIfAborted();
    const ok = result.exitCode === 0 && !/^(E:|Err:)/m.test(result.all ?? '') && (await listFiles(state)).length > 0;
    if (ok) {
      await writeFileAtomic(state.stampFile, `${new Date().toISOString()}\n`);
      return true;
    }
    const error = updateError(state, result.all ?? '', result);
    // Lists from the same mirror that are merely old still name real packages: better than nothing.
    if (previous === line && haveLists) {
      options.emit?.({ type: 'warn', message: `${error.message}; using the index from ${stamp ? `${utcTime(stamp.mtimeMs)} UTC` : 'an earlier run'}` });
      return false;
    }
    throw error;
  });
}

/** The `linux-*` stanzas of the state's Packages index (decompressed by apt's own helper). */
export async function readIndex(state: AptState, prefix = 'Package: linux-'): Promise<IndexPackage[]> {
  try {
    await access(APT_HELPER, constants.X_OK);
  } catch (error) {
    throw new MissingToolError(APT_HELPER, 'apt', { cause: error });
  }
  // Shared: readers together, but never while another run's update replaces the lists.
  return locked(state, { shared: true }, () => readLists(state, prefix));
}

async function readLists(state: AptState, prefix: string): Promise<IndexPackage[]> {
  const packages: IndexPackage[] = [];
  for (const file of await listFiles(state)) {
    const subprocess = execa(APT_HELPER, ['cat-file', file], { buffer: false, env: aptEnv, stderr: 'ignore' });
    // Stream: keep only the stanzas we need instead of holding a 50 MB index in memory.
    let rest = '';
    const kept: string[] = [];
    const keep = (chunk: string): void => {
      if (chunk.startsWith(prefix)) kept.push(chunk);
    };
    for await (const data of subprocess.stdout as AsyncIterable<Buffer>) {
      const parts = (rest + data.toString()).split('\n\n');
      rest = parts.pop()!;
      parts.forEach(keep);
    }
    keep(rest);
    await subprocess;
    packages.push(...parsePackages(kept.join('\n\n')));
  }
  return packages;
}

/**
 * The file name `apt-get download` gives a package: the pool's name, with the version's epoch
 * (if any) put back, URL-encoded: `busybox-static_1%3a1.35.0-4_arm64.deb` for pool/.../busybox-static_1.35.0-4_arm64.deb.
 */
export function downloadedName(p: Pick<IndexPackage, 'filename' | 'version'>): string {
  const pool = path.posix.basename(p.filename);
  const epoch = /^(\d+):(.*)$/.exec(p.version);
  if (!epoch) return pool;
  return pool.replace(`_${epoch[2]}_`, `_${epoch[1]}%3a${epoch[2]}_`);
}

export interface DownloadFailure {
  name: string;
  version: string;
  reason: string;
}

/** `E: Failed to fetch URL  REASON` lines -> .deb basename -> reason. */
export function parseFetchErrors(output: string): Map<string, string> {
  const failures = new Map<string, string>();
  for (const m of output.matchAll(/^E: Failed to fetch (\S+)\s+(.*)$/gm)) {
    failures.set(decodeURIComponent(path.posix.basename(m[1]!)), m[2]!.replace(/\s*\[IP:[^\]]*\]/, '').trim());
  }
  return failures;
}

/**
 * Report the bytes of the files in `dir` not named in `old`, every `intervalMs` while they
 * change, and once more on stop(). apt-get download (apt 2.6) writes each .deb under its final
 * name in its cwd as it arrives, no partial dir: the new files' sizes are the bytes so far.
 */
export function pollBytes(
  dir: string,
  old: ReadonlySet<string>,
  total: number,
  onProgress: (done: number, total: number) => void,
  intervalMs = 250,
): { stop(): Promise<void> } {
  let last = -1;
  const measure = async (): Promise<void> => {
    const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => !old.has(n));
    const sizes = await Promise.all(
      names.map((n) =>
        stat(path.join(dir, n)).then(
          (s) => (s.isFile() ? s.size : 0),
          () => 0,
        ),
      ),
    );
    const done = Math.min(
      total,
      sizes.reduce((a, b) => a + b, 0),
    );
    if (done !== last) onProgress(done, total);
    last = done;
  };
  let polling: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    polling = polling.then(measure); // never two readdirs at once on a slow disk
  }, intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await polling;
      await measure();
    },
  };
}

/**
 * Download `packages` (exact versions) into `dir`; apt checks each against the index's hashes.
 * Packages already there (from an earlier attempt) are not fetched again. Returns the ones
 * that could not be fetched, with apt's reason (404s happen: FIELD-NOTES). `onProgress` hears
 * the bytes fetched of the index sizes of the packages to fetch, a few times a second; `emit`
 * hears that the download waits for another run's apt.
 */
export async function download(
  state: AptState,
  packages: IndexPackage[],
  dir: string,
  signal?: AbortSignal,
  onProgress?: (done: number, total: number) => void,
  emit?: Emit,
): Promise<DownloadFailure[]> {
  const present = new Set(await readdir(dir).catch(() => [] as string[]));
  const wanted = packages.filter((p) => !present.has(downloadedName(p)));
  if (wanted.length === 0) return [];
  const aptGet = await requireTool('apt-get');
  const poller = onProgress
    ? pollBytes(
        dir,
        present,
        wanted.reduce((sum, p) => sum + p.size, 0),
        onProgress,
      )
    : undefined;
  const result = await locked(state, { emit, signal }, () =>
    execa(aptGet, [...aptOptions(state, isRoot()), '-q', 'download', ...wanted.map((p) => `${p.name}=${p.version}`)], {
      cwd: dir,
      reject: false,
      all: true,
      env: aptEnv,
      ...(signal ? { cancelSignal: signal } : {}),
    }),
  ).finally(() => poller?.stop());
  signal?.throwIfAborted();
  const errors = parseFetchErrors(result.all ?? '');
  const after = new Set(await readdir(dir));
  const failures = wanted
    .filter((p) => !after.has(downloadedName(p)))
    .map((p) => ({
      name: p.name,
      version: p.version,
      reason:
        errors.get(decodeURIComponent(downloadedName(p))) ||
        errors.get(path.posix.basename(p.filename)) ||
        (result.all ?? '')
          .split('\n')
          .filter((l) => l.startsWith('E:'))
          .join('; ') ||
        `apt-get download exited ${result.exitCode}`,
    }));
  return failures;
}
