// `kmod-harness cache list|prune`: what the cache holds, and removing what no run will use.
// Entries are removed by renaming them to a `.tmp-` name first, so an interrupted prune leaves
// what cachedDir already treats as garbage, never an entry that looks complete and is not.
// Fills and apt hold the entry's lock file (cache/lock.ts): prune asks it, so it never removes
// a fill in progress or an apt state in use, and knows a temp dir whose lock is free is garbage.
import { randomBytes } from 'node:crypto';
import { chmod, lstat, readFile, readdir, readlink, realpath, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { entryLockFile, fillKeyOf, LOCK_PREFIX, PRUNE_PREFIX, STALE_TEMP_MS, TEMP_PREFIX } from '../cache/store.js';
import { lockHolder, tryLock } from '../cache/lock.js';
import { UsageError } from '../errors.js';
import type { Emit } from '../events.js';
import { isTempSibling, readJsonOr } from '../util/files.js';
import { alignColumns, formatBytes, utcTime } from '../util/format.js';
import { IMAGE_FILE, IMAGES_AREA, MEMO_DIR } from '../image/initramfs.js';
import { GUEST_USERLAND_AREA } from '../image/guest-userland.js';
import { META_FILE, missingInput, readSnapshotMeta, SNAPSHOTS_AREA, snapshotInputs } from '../guest/snapshot.js';
import { BUILDS_AREA, readCachedBuild } from '../build/module-cache.js';
import { CONTENT_KEY_LENGTH } from '../image/parts.js';
import { APT_AREA } from '../debian/apt.js';
import { STAGED_AREA, STAGED_HASH_LENGTH } from '../user-kernel/build-tree.js';
import { compareVersions } from '../debian/debversion.js';
import { KERNELS_AREA, readMetadata } from '../kernel/entry.js';
import { PROBE_FILE } from '../qemu/accel.js';
import { readRootMetadata, TOOLCHAIN_METADATA_FILE, TOOLCHAINS_AREA } from '../toolchain/root.js';
import { SOURCES_AREA } from '../kernel-build/source.js';
import { kernelSuite } from '../toolchain/select.js';

const DAY_MS = 86_400_000;

export type CacheKind =
  | 'kernel'
  | 'image'
  | 'image-memo'
  | 'toolchain'
  | 'staged-modules'
  | 'apt'
  | 'source'
  | 'guest-userland'
  | 'snapshot'
  | 'module-build'
  | 'peer-tool'
  | 'accel-probe'
  | 'temp'
  | 'other';

export interface CacheEntry {
  /** 'kernels', 'images', ...; '' for files directly in the cache root. */
  area: string;
  name: string;
  path: string;
  kind: CacheKind;
  /** Disk usage like du: allocated blocks, symlinks not followed, hard links counted once. */
  bytes: number;
  /**
   * Newest mtime of anything in the entry (for an image, also of the memos naming it). Runs
   * do not touch an entry they merely use, so this is when it was last written, not last used.
   */
  lastWriteMs: number;
  /** What it is, for people. */
  what: string;
  /** Kernels: their series and Debian version. */
  series?: string;
  version?: string;
  /** Kernels, images and staged modules: the kernel release (uname -r) they belong to. */
  release?: string;
  /** Its metadata is unreadable, so no run can use it. */
  broken?: boolean;
  /** Snapshots: the files it was made from (kernel, initramfs, QEMU); it is of no use without any of them. */
  needs?: string[];
  /** Snapshots: which of `needs` is gone. */
  missing?: string;
  /** A process holding a file, directory or mount in it: 'pid 123 (make)'; or its lock: 'a running fill (pid 123)'. */
  inUse?: string;
  /** A fill's temp dir whose entry lock is free: the run that made it has ended, so it is garbage whatever its age. */
  fillEnded?: boolean;
}

/** Disk usage and newest mtime of a tree, without following symlinks. */
async function usage(top: string): Promise<{ bytes: number; lastWriteMs: number }> {
  const seen = new Set<string>();
  let bytes = 0;
  let lastWriteMs = 0;
  const visit = async (p: string): Promise<void> => {
    const info = await lstat(p).catch(() => undefined);
    if (!info) return;
    lastWriteMs = Math.max(lastWriteMs, info.mtimeMs);
    if (!info.isDirectory() && info.nlink > 1) {
      const id = `${info.dev}:${info.ino}`;
      if (seen.has(id)) return;
      seen.add(id);
    }
    bytes += info.blocks * 512;
    if (info.isDirectory()) await Promise.all((await readdir(p).catch(() => [] as string[])).map((n) => visit(path.join(p, n))));
  };
  await visit(top);
  return { bytes, lastWriteMs };
}

type Described = Pick<CacheEntry, 'kind' | 'what'> & Partial<Pick<CacheEntry, 'series' | 'version' | 'release' | 'broken' | 'needs' | 'missing'>>;

const releaseOf = (name: string, hashLength: number): string | undefined => new RegExp(`^(.+)-[0-9a-f]{${hashLength}}$`).exec(name)?.[1];

/** What the entry `name` of `area` is, from its name and metadata. */
async function describe(area: string, name: string, p: string, isDir: boolean): Promise<Described> {
  if (name.startsWith(PRUNE_PREFIX)) return { kind: 'temp', what: 'an entry being removed (or left by an interrupted prune)' };
  if (name.startsWith(TEMP_PREFIX) || (area === '' && isTempSibling(name)))
    return { kind: 'temp', what: 'temporary dir of a fill (running, or left by an interrupted run)' };
  if (area === '') {
    if (name === PROBE_FILE && !isDir) return { kind: 'accel-probe', what: 'KVM probe result' };
    return { kind: 'other', what: 'not made by the harness' };
  }
  if (!isDir) return { kind: 'other', what: 'not made by the harness' };
  switch (area) {
    case KERNELS_AREA: {
      const m = await readMetadata(p).catch(() => undefined);
      if (!m) return { kind: 'kernel', what: 'kernel without a readable kernel.json (unusable)', broken: true };
      const { series, release, packages } = m.artifacts;
      return { kind: 'kernel', what: `kernel ${release} (${series}, ${m.version}, ${kernelSuite(packages) ?? '?'})`, series, version: m.version, release };
    }
    case TOOLCHAINS_AREA: {
      const m = await readRootMetadata(p);
      if (!m?.gccPackage) return { kind: 'toolchain', what: `compiler root without a readable ${TOOLCHAIN_METADATA_FILE} (unusable)`, broken: true };
      return { kind: 'toolchain', what: `compiler root: ${m.gccPackage} ${m.gccVersion ?? '?'} of ${m.suite ?? '?'}` };
    }
    case IMAGES_AREA: {
      if (name === MEMO_DIR) return { kind: 'image-memo', what: 'image memos (input stamps -> image)' };
      const release = releaseOf(name, CONTENT_KEY_LENGTH);
      return release ? { kind: 'image', what: `guest initramfs for ${release}`, release } : { kind: 'other', what: 'not made by the harness' };
    }
    case STAGED_AREA: {
      const release = releaseOf(name, STAGED_HASH_LENGTH);
      return release
        ? { kind: 'staged-modules', what: `staged modules of a kernel you built, ${release}`, release }
        : { kind: 'other', what: 'not made by the harness' };
    }
    case APT_AREA:
      return { kind: 'apt', what: `package index of ${name}` };
    case GUEST_USERLAND_AREA:
      return { kind: 'guest-userland', what: `guest programs of ${name.replace('.', ' ')} (busybox, dropbear, sftp-server and their libraries)` };
    case SNAPSHOTS_AREA: {
      const m = await readSnapshotMeta(p);
      if (!m) return { kind: 'snapshot', what: `snapshot without a readable ${META_FILE} (unusable)`, broken: true };
      const needs = snapshotInputs(m);
      const gone = await missingInput(m);
      const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
      return {
        kind: 'snapshot',
        what: `snapshot of a booted ${m.label} (RAM ${mb(m.ramBytes)} on disk, device state ${mb(m.stateBytes)}, cold boot ${(m.bootMs / 1000).toFixed(1)} s)`,
        release: m.label,
        needs,
        ...(gone ? { missing: gone } : {}),
      };
    }
    case BUILDS_AREA: {
      const b = await readCachedBuild(p);
      if (!b) return { kind: 'module-build', what: 'module build without a readable build.json (unusable)', broken: true };
      const gone = !(await stat(b.headersDir).then(
        () => true,
        () => false,
      ));
      return {
        kind: 'module-build',
        what: `built module ${b.names.join(', ')} (for ${b.headersDir})`,
        needs: [b.headersDir],
        ...(gone ? { missing: b.headersDir } : {}),
      };
    }
    case PEERS_AREA:
      return { kind: 'peer-tool', what: `${name.replace('_', ' ')} unpacked for scripts/peer-virtme-ng.ts (a peer comparison)` };
    case SOURCES_AREA:
      return { kind: 'source', what: `unpacked Debian kernel source ${name.replace('_', ' ')} (kernels built from it link to it)` };
    default:
      return { kind: 'other', what: 'not made by the harness' };
  }
}

/** Where scripts/peer-virtme-ng.ts unpacks the tools it compares the harness with: not the package's, but in its cache. */
const PEERS_AREA = 'peers';

const AREAS = [KERNELS_AREA, SOURCES_AREA, TOOLCHAINS_AREA, IMAGES_AREA, SNAPSHOTS_AREA, BUILDS_AREA, PEERS_AREA, STAGED_AREA, APT_AREA, GUEST_USERLAND_AREA];

const decodeMountPath = (s: string): string => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));

/** Paths a mountinfo text keeps busy: bind sources, mount points, overlay layers (a toolchain root under a build). */
export function mountinfoPaths(text: string): string[] {
  const paths: string[] = [];
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    const fields = (left ?? '').split(' ');
    if (fields.length < 5) continue;
    paths.push(decodeMountPath(fields[3]!), decodeMountPath(fields[4]!));
    for (const option of (right ?? '').split(' ')[2]?.split(',') ?? []) {
      const m = /^(?:lowerdir|upperdir|workdir)=(.*)$/.exec(option);
      if (m) paths.push(...m[1]!.split(':').map(decodeMountPath));
    }
  }
  return paths;
}

/**
 * Paths under `root` that other processes hold: cwd, root, executable, open files, and what
 * their mount namespaces mount. Best effort: without privileges other users' processes are
 * unreadable, and a run between two stages holds nothing.
 */
export async function pathsInUse(root: string, proc = '/proc'): Promise<Map<string, string>> {
  const held = new Map<string, string>();
  // /proc shows real paths: match those under the real root, report them under `root`.
  const real = await realpath(root).catch(() => root);
  const under = (p: string, top: string): boolean => p === top || p.startsWith(`${top}/`);
  const namespaces = new Set<string>();
  const pids = (await readdir(proc).catch(() => [] as string[])).filter((n) => /^\d+$/.test(n) && Number(n) !== process.pid);
  await Promise.all(
    pids.map(async (pid) => {
      const dir = path.join(proc, pid);
      const who = `pid ${pid} (${(await readFile(path.join(dir, 'comm'), 'utf8').catch(() => '?')).trim()})`;
      const fds = (await readdir(path.join(dir, 'fd')).catch(() => [] as string[])).map((fd) => path.join('fd', fd));
      const links = await Promise.all(['cwd', 'root', 'exe', ...fds].map((l) => readlink(path.join(dir, l)).catch(() => '')));
      const found = links.map((l) => l.replace(/ \(deleted\)$/, ''));
      const ns = await readlink(path.join(dir, 'ns', 'mnt')).catch(() => undefined);
      if (ns && !namespaces.has(ns)) {
        namespaces.add(ns);
        found.push(...mountinfoPaths(await readFile(path.join(dir, 'mountinfo'), 'utf8').catch(() => '')));
      }
      for (const p of found) {
        const mine = under(p, root) ? p : under(p, real) ? root + p.slice(real.length) : undefined;
        if (mine && !held.has(mine)) held.set(mine, who);
      }
    }),
  );
  return held;
}

export interface ListCacheOptions {
  /** Look for processes using entries (default true). */
  scanProcesses?: boolean;
  /** The proc file system to scan (tests). */
  proc?: string;
}

/** Everything in the cache at `root`, one entry per cache entry, in area then name order. */
export async function listCache(cacheRoot: string, options: ListCacheOptions = {}): Promise<CacheEntry[]> {
  // Absolute, to compare with what /proc shows.
  const root = path.resolve(cacheRoot);
  const top = await readdir(root, { withFileTypes: true }).catch(() => []);
  const found: { area: string; name: string; path: string; isDir: boolean }[] = [];
  for (const d of top) {
    const p = path.join(root, d.name);
    if (d.isDirectory() && AREAS.includes(d.name)) {
      for (const e of await readdir(p, { withFileTypes: true }).catch(() => [])) {
        // A lock file is no entry: a few bytes, and removing one a run waits on would void its lock.
        if (!e.name.startsWith(LOCK_PREFIX)) found.push({ area: d.name, name: e.name, path: path.join(p, e.name), isDir: e.isDirectory() });
      }
    } else found.push({ area: '', name: d.name, path: p, isDir: d.isDirectory() });
  }
  const [memos, held] = await Promise.all([memoTimes(root), options.scanProcesses === false ? new Map<string, string>() : pathsInUse(root, options.proc)]);
  const entries = await Promise.all(
    found.map(async (f): Promise<CacheEntry> => {
      const [described, used] = await Promise.all([describe(f.area, f.name, f.path, f.isDir), usage(f.path)]);
      const lastWriteMs = Math.max(used.lastWriteMs, memos.get(f.path) ?? 0);
      const fill = described.kind === 'temp' ? await fillState(root, f.area, f.name) : undefined;
      const holder = [...held].find(([p]) => p === f.path || p.startsWith(`${f.path}/`))?.[1] ?? (fill?.state === 'running' ? fill.holder : undefined);
      return {
        area: f.area,
        name: f.name,
        path: f.path,
        ...described,
        bytes: used.bytes,
        lastWriteMs,
        ...(holder ? { inUse: holder } : {}),
        ...(fill?.state === 'ended' ? { fillEnded: true } : {}),
      };
    }),
  );
  const order = (e: CacheEntry): number => (e.area === '' ? AREAS.length : AREAS.indexOf(e.area));
  return entries.sort((a, b) => order(a) - order(b) || a.name.localeCompare(b.name));
}

/**
 * Whether the fill a temp dir belongs to still runs, from its entry lock: ended when the lock
 * is free, running (with its holder) when it is taken, undefined when there is no lock to ask.
 */
async function fillState(root: string, area: string, name: string): Promise<{ state: 'ended' } | { state: 'running'; holder: string } | undefined> {
  const key = area ? fillKeyOf(name) : undefined;
  if (key === undefined) return undefined;
  const file = entryLockFile(root, area, key);
  const lock = await tryLock(file);
  if (lock === 'absent') return undefined;
  if (lock === 'busy') {
    const pid = await lockHolder(file);
    return { state: 'running', holder: `a running fill${pid ? ` (pid ${pid})` : ''}` };
  }
  await lock.release();
  return { state: 'ended' };
}

/** The image memos: image dir -> newest mtime of a memo naming it (a memo is written when a run finds the image by content). */
async function memoTimes(root: string): Promise<Map<string, number>> {
  const times = new Map<string, number>();
  for (const memo of await readMemos(root)) times.set(memo.dir, Math.max(times.get(memo.dir) ?? 0, memo.mtimeMs));
  return times;
}

async function readMemos(root: string): Promise<{ file: string; dir: string; mtimeMs: number; bytes: number }[]> {
  const dir = path.join(root, IMAGES_AREA, MEMO_DIR);
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.json'));
  const memos = await Promise.all(
    names.map(async (n) => {
      const file = path.join(dir, n);
      const [memo, info] = await Promise.all([readJsonOr<{ dir?: unknown }>(file), lstat(file).catch(() => undefined)]);
      return info ? { file, dir: typeof memo?.dir === 'string' ? memo.dir : '', mtimeMs: info.mtimeMs, bytes: info.blocks * 512 } : undefined;
    }),
  );
  return memos.filter((m) => m !== undefined);
}

export interface PrunePolicy {
  /** Kernel builds kept per series, newest first (default 1). */
  keepPerSeries?: number;
  /** Remove only what was last written more than this many days ago (garbage, stale temp dirs and broken entries, regardless). */
  olderThanDays?: number;
  /** Everything the harness made, not only what no run would use; entries in use and fills still running excepted. */
  all?: boolean;
  /** Plan and report, remove nothing. */
  dryRun?: boolean;
}

export interface PruneDecision {
  entry: CacheEntry;
  reason: string;
}

export interface PrunePlan {
  remove: PruneDecision[];
  keep: PruneDecision[];
  /** Sum of the bytes of `remove`. */
  bytes: number;
}

const ago = (age: number, ms = Math.max(0, age)): string =>
  ms < 2 * 3_600_000 ? `${Math.round(ms / 60_000)} min` : ms < 2 * DAY_MS ? `${Math.round(ms / 3_600_000)} h` : `${Math.round(ms / DAY_MS)} days`;

/**
 * Which entries a prune removes, and why each stays or goes. Pure. By default: kernel builds
 * beyond the newest `keepPerSeries` of their series, images of releases no remaining kernel or
 * staged modules have (a Buildroot kernel's image among them: it is remade on its next run),
 * broken entries and stale temp dirs. Indexes, compiler roots, staged modules, the memos and
 * the KVM probe go only with `all`. Entries in use, fills that may still be running and
 * anything the harness did not make are never removed.
 */
export function planPrune(entries: CacheEntry[], policy: PrunePolicy = {}, now: number = Date.now()): PrunePlan {
  const keepN = policy.keepPerSeries ?? 1;
  if (!Number.isInteger(keepN) || keepN < 0) throw new UsageError(`keep per series must be a whole number >= 0, not ${keepN}`);
  if (policy.olderThanDays !== undefined && !(policy.olderThanDays >= 0))
    throw new UsageError(`older-than must be a number of days >= 0, not ${policy.olderThanDays}`);
  const minAgeMs = (policy.olderThanDays ?? 0) * DAY_MS;
  const remove: PruneDecision[] = [];
  const keep: PruneDecision[] = [];
  const removed = new Set<CacheEntry>();
  const drop = (entry: CacheEntry, reason: string): void => {
    remove.push({ entry, reason });
    removed.add(entry);
  };
  // A removal by policy (not garbage) is held back by --older-than.
  const byPolicy = (entry: CacheEntry, reason: string): void => {
    const age = now - entry.lastWriteMs;
    if (age < minAgeMs) keep.push({ entry, reason: `${reason}, but written ${ago(age)} ago (--older-than ${policy.olderThanDays})` });
    else drop(entry, reason);
  };

  const pending: CacheEntry[] = [];
  for (const entry of entries) {
    if (entry.kind === 'other') keep.push({ entry, reason: 'not made by the harness: never removed' });
    else if (entry.inUse) keep.push({ entry, reason: `in use by ${entry.inUse}` });
    else if (entry.kind === 'temp' && entry.fillEnded) drop(entry, 'temporary dir of a fill whose run has ended (its lock is free)');
    else if (entry.kind === 'temp') {
      const age = now - entry.lastWriteMs;
      if (age < STALE_TEMP_MS) keep.push({ entry, reason: `written ${ago(age)} ago: a fill may still be running` });
      else drop(entry, 'temporary dir left by an interrupted run');
    } else if (entry.broken) drop(entry, 'metadata unreadable: no run can use it');
    else if (policy.all) byPolicy(entry, 'everything (--all)');
    else pending.push(entry);
  }

  // Ties (two builds of one source version, other configurations) go to the last written.
  const newest = (a: CacheEntry, b: CacheEntry): number => compareVersions(b.version ?? '', a.version ?? '') || b.lastWriteMs - a.lastWriteMs;
  const nth = keepN === 1 ? 'the newest build' : `among the ${keepN} newest builds`;
  // Ranks count every usable kernel, so one kept because it is in use still counts towards the N kept.
  const rank = new Map<CacheEntry, number>();
  const bySeries = new Map<string | undefined, CacheEntry[]>();
  for (const e of entries) if (e.kind === 'kernel' && !e.broken) bySeries.set(e.series, [...(bySeries.get(e.series) ?? []), e]);
  for (const group of bySeries.values()) group.sort(newest).forEach((e, i) => rank.set(e, i));
  for (const entry of pending.filter((e) => e.kind === 'kernel')) {
    if (rank.get(entry)! < keepN) keep.push({ entry, reason: `${nth} of ${entry.series}` });
    else byPolicy(entry, keepN === 0 ? 'no build of a series is kept (keep 0)' : `superseded by ${entry.series} ${bySeries.get(entry.series)![0]!.version}`);
  }
  // Images follow the kernels that stay (also those kept in use or by --older-than). Several
  // images of one release are all kept: another checkout or a kernel of the same release
  // built by the user may be using each.
  const kept = new Set(entries.filter((e) => (e.kind === 'kernel' || e.kind === 'staged-modules') && !removed.has(e)).map((e) => e.release));
  for (const entry of pending) {
    if (entry.kind === 'image' && !kept.has(entry.release)) byPolicy(entry, `no cached kernel or staged modules are ${entry.release}`);
    else if (entry.kind === 'image') keep.push({ entry, reason: `${entry.release} is cached` });
    else if (entry.kind === 'module-build') {
      const headers = entry.needs?.[0] ?? '';
      const going = [...removed].some((r) => headers === r.path || headers.startsWith(`${r.path}${path.sep}`));
      if (entry.missing) byPolicy(entry, `${entry.missing} is gone: no build can use it`);
      else if (going) byPolicy(entry, `its kernel headers ${headers} go with this prune`);
      else keep.push({ entry, reason: 'its kernel headers are there' });
    } else if (entry.kind === 'snapshot') {
      // A snapshot follows its kernel and image: one gone (or going now) leaves it of no use.
      const going = entry.needs?.find((f) => [...removed].some((r) => f === r.path || f.startsWith(`${r.path}${path.sep}`)));
      if (entry.missing) byPolicy(entry, `${entry.missing} is gone: no boot can use it`);
      else if (going) byPolicy(entry, `${going} goes with this prune`);
      else keep.push({ entry, reason: 'its kernel, image and QEMU are there' });
    } else if (entry.kind !== 'kernel') keep.push({ entry, reason: 'kept unless --all' });
  }
  const place = new Map(entries.map((e, i) => [e, i]));
  const inOrder = (list: PruneDecision[]): PruneDecision[] => list.sort((a, b) => place.get(a.entry)! - place.get(b.entry)!);
  return { remove: inOrder(remove), keep: inOrder(keep), bytes: remove.reduce((sum, d) => sum + d.entry.bytes, 0) };
}

/** Add owner write to every directory under `top`, so rm can empty read-only dirs of a root file system. */
async function makeWritable(top: string): Promise<void> {
  const info = await lstat(top).catch(() => undefined);
  if (!info?.isDirectory()) return;
  await chmod(top, info.mode | 0o700).catch(() => {});
  await Promise.all((await readdir(top).catch(() => [] as string[])).map((n) => makeWritable(path.join(top, n))));
}

async function removeTree(p: string): Promise<void> {
  try {
    await rm(p, { recursive: true, force: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') throw error;
    await makeWritable(p);
    await rm(p, { recursive: true, force: true });
  }
}

/**
 * Rename out of the way in one step, then delete: a half-deleted entry is only ever a `.tmp-` dir.
 * Holding the entry's lock, if it has one: returns the holder instead when a run holds it (apt
 * updating or reading an index, a compiler root being remade).
 */
async function removeEntry(root: string, entry: CacheEntry): Promise<string | undefined> {
  if (entry.kind === 'temp') return void (await removeTree(entry.path));
  const file = entry.area ? entryLockFile(root, entry.area, entry.name) : undefined;
  const lock = file ? await tryLock(file) : 'absent';
  if (lock === 'busy') {
    const pid = await lockHolder(file!);
    return `locked by a run${pid ? ` (pid ${pid})` : ''}: in use`;
  }
  try {
    const doomed = path.join(path.dirname(entry.path), `${PRUNE_PREFIX}${entry.name}-${randomBytes(4).toString('hex')}`);
    await rename(entry.path, doomed);
    await removeTree(doomed);
  } finally {
    if (lock !== 'absent') await lock.release();
  }
  return undefined;
}

export interface PruneResult {
  dryRun: boolean;
  /** Removed (or, dry, to be removed). */
  removed: PruneDecision[];
  kept: PruneDecision[];
  failed: { entry: CacheEntry; error: string }[];
  /** Image memos naming an image that is gone: dropped (a memo is only a shortcut). */
  memos: { files: number; bytes: number };
  bytesFreed: number;
}

/** Plan with planPrune over listCache(root), then remove (unless dryRun). */
export async function pruneCache(cacheRoot: string, policy: PrunePolicy = {}): Promise<PruneResult> {
  const root = path.resolve(cacheRoot);
  const plan = planPrune(await listCache(root), policy);
  const failed: PruneResult['failed'] = [];
  const removed: PruneDecision[] = [];
  for (const decision of plan.remove) {
    if (policy.dryRun) {
      removed.push(decision);
      continue;
    }
    try {
      const busy = await removeEntry(root, decision.entry);
      if (busy) plan.keep.push({ entry: decision.entry, reason: busy });
      else removed.push(decision);
    } catch (error) {
      failed.push({ entry: decision.entry, error: (error as Error).message });
    }
  }
  const memos = { files: 0, bytes: 0 };
  if (!removed.some((d) => d.entry.kind === 'image-memo')) {
    const gone = new Set(removed.filter((d) => d.entry.kind === 'image').map((d) => d.entry.path));
    for (const memo of await readMemos(root)) {
      const missing = !path.isAbsolute(memo.dir) || gone.has(memo.dir) || !(await lstat(path.join(memo.dir, IMAGE_FILE)).catch(() => undefined));
      if (!missing) continue;
      if (
        !policy.dryRun &&
        !(await rm(memo.file, { force: true }).then(
          () => true,
          () => false,
        ))
      )
        continue;
      memos.files++;
      memos.bytes += memo.bytes;
    }
  }
  const bytesFreed = removed.reduce((sum, d) => sum + d.entry.bytes, 0) + memos.bytes;
  return { dryRun: policy.dryRun === true, removed, kept: plan.keep, failed, memos, bytesFreed };
}

const label = (e: CacheEntry): string => (e.area ? `${e.area}/${e.name}` : e.name);

/** The tables' columns, SIZE (the second) right-aligned. */
const align = (rows: string[][]): string[] => alignColumns(rows, { right: [1] });

/** The entries as an aligned table with a total. */
export function formatCache(entries: CacheEntry[]): string {
  const rows = [
    ['ENTRY', 'SIZE', 'WRITTEN (UTC)', 'WHAT'],
    ...entries.map((e) => [label(e), formatBytes(e.bytes), utcTime(e.lastWriteMs), `${e.what}${e.inUse ? `; in use by ${e.inUse}` : ''}`]),
  ];
  const total = entries.reduce((sum, e) => sum + e.bytes, 0);
  return `${[...align(rows), '', `Total: ${formatBytes(total)} in ${entries.length} entries. WRITTEN is the last write: runs do not mark what they use.`].join('\n')}\n`;
}

/** What a prune removed (or would) and kept, with reasons. */
export function formatPrune(result: PruneResult): string {
  const lines: string[] = [];
  const verb = result.dryRun ? 'would remove' : 'removed';
  const table = (decisions: PruneDecision[], head: string): void => {
    if (decisions.length === 0) return;
    lines.push(`${head}:`, ...align([['  ENTRY', 'SIZE', 'WHY'], ...decisions.map((d) => [`  ${label(d.entry)}`, formatBytes(d.entry.bytes), d.reason])]), '');
  };
  table(result.removed, result.dryRun ? 'Would remove' : 'Removed');
  table(result.kept, 'Kept');
  for (const f of result.failed) lines.push(`failed to remove ${label(f.entry)}: ${f.error}`);
  if (result.memos.files) lines.push(`${result.dryRun ? 'would drop' : 'dropped'} ${result.memos.files} image memo(s) naming images that are gone`);
  lines.push(
    `${verb[0]!.toUpperCase()}${verb.slice(1)} ${result.removed.length} entries, ${formatBytes(result.bytesFreed)}${result.dryRun ? ' would be freed' : ' freed'}.`,
  );
  return `${lines.join('\n')}\n`;
}

/** `kmod-harness cache list`. */
export async function cacheListCommand(root: string, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  out.write(formatCache(await listCache(root, { scanProcesses: true })));
}

/** `kmod-harness cache prune`: the exit code (1 when something could not be removed). */
export async function cachePruneCommand(
  root: string,
  options: { keep: number; olderThan?: number; all?: boolean; dryRun?: boolean },
  emit: Emit,
  out: NodeJS.WritableStream = process.stdout,
): Promise<number> {
  if (options.all && !options.dryRun) emit({ type: 'warn', message: 'removing the whole cache; a run going on now may lose what it needs' });
  const result = await pruneCache(root, {
    keepPerSeries: options.keep,
    ...(options.olderThan !== undefined ? { olderThanDays: options.olderThan } : {}),
    ...(options.all ? { all: true } : {}),
    ...(options.dryRun ? { dryRun: true } : {}),
  });
  out.write(formatPrune(result));
  return result.failed.length > 0 ? 1 : 0;
}
