// The on-disk cache. Entries are directories published by one atomic rename, so a run that
// is interrupted leaves at most a `.tmp-*` directory that no later run trusts (and that
// `sweepStale` removes), never a half-written entry. A fill holds the entry's lock file
// (`<area>/.lock-<key>`, cache/lock.ts), so concurrent runs fill an entry once: the others wait
// and then find it, and a `.tmp-*` dir whose lock is free is known to be a dead run's.
import { mkdir, mkdtemp, rename, rm, stat, readdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { tryLock, withLock } from './lock.js';
import { HarnessError } from '../errors.js';
import type { Emit } from '../events.js';

export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KMOD_HARNESS_CACHE) return path.resolve(env.KMOD_HARNESS_CACHE);
  const base = env.XDG_CACHE_HOME ? path.resolve(env.XDG_CACHE_HOME) : path.join(homedir(), '.cache');
  return path.join(base, 'kmod-harness');
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** Names of the lock files beside the entries they guard: dot-names, which no reader of an area takes for an entry. */
export const LOCK_PREFIX = '.lock-';

/** The lock file guarding entry `key` of `area` (for apt, the state dir of a suite). */
export function entryLockFile(root: string, area: string, key: string): string {
  return path.join(root, area, `${LOCK_PREFIX}${key}`);
}

export interface CachedDirOptions {
  /** What the entry is, for the notice while waiting for another run's fill (default `<area>/<key>`). */
  what?: string;
  /** How long to wait for another run filling the same entry: as long as a fill may take (default an hour). */
  waitMs?: number;
  emit?: Emit;
  signal?: AbortSignal;
}

/**
 * Return the directory for `key` under `area`, filling it with `fill` first if it is not
 * there. `fill` writes into a private temporary directory; only a complete entry is renamed
 * into place. The fill holds the entry's lock: a concurrent caller (this process or another)
 * waits for it and then gets the published entry as a hit instead of filling it again.
 */
export async function cachedDir(
  area: string,
  key: string,
  fill: (dir: string) => Promise<void>,
  root: string = cacheRoot(),
  options: CachedDirOptions = {},
): Promise<{ dir: string; hit: boolean }> {
  const areaDir = path.join(root, area);
  const dir = path.join(areaDir, key);
  if (await exists(dir)) return { dir, hit: true };
  await mkdir(areaDir, { recursive: true });
  // Only on a miss, so the hit path stays one stat: clear what killed runs left. Before taking
  // our own lock, which would make this key's leftovers look like a live fill's.
  await sweepStale(area, undefined, root);
  const lock = {
    what: options.what ?? `${area}/${key}`,
    ...(options.waitMs !== undefined ? { waitMs: options.waitMs } : {}),
    ...(options.emit ? { emit: options.emit } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
  return withLock(entryLockFile(root, area, key), lock, async () => {
    // Published by the run we waited for.
    if (await exists(dir)) return { dir, hit: true };
    const tmp = await mkdtemp(path.join(areaDir, `${TEMP_PREFIX}${key}-`));
    try {
      await fill(tmp);
      try {
        await rename(tmp, dir);
      } catch (error) {
        // Lost a race against a run that published the same key without the lock (an older harness): theirs is as good.
        if (!(await exists(dir))) throw error;
        await rm(tmp, { recursive: true, force: true });
      }
    } catch (error) {
      await rm(tmp, { recursive: true, force: true });
      if ((error as NodeJS.ErrnoException).code === 'ENOSPC') {
        throw new HarnessError('E_CACHE_FULL', 'infra-error', `no space left on the device of the cache dir ${root} while writing ${area}/${key}`, {
          cause: error,
          fix: `free space there, or point KMOD_HARNESS_CACHE at a disk with room (a kernel takes ~150 MB, a compiler root ~300 MB); 'du -sh ${root}/*' shows what is cached`,
        });
      }
      throw error;
    }
    return { dir, hit: false };
  });
}

/** Names of a cache area's entries being filled (or removed): never trusted as entries. */
export const TEMP_PREFIX = '.tmp-';

/** What `cache prune` renames an entry to before it deletes it: a temp dir, but no fill's. */
export const PRUNE_PREFIX = `${TEMP_PREFIX}prune-`;

/**
 * Remove a published entry that is no longer good (a snapshot that failed to restore, a build
 * whose dependencies changed). Renamed away first: a run using it keeps its open files, and no
 * run finds it half gone. Best effort: another run may have removed it already.
 */
export async function discardEntry(dir: string): Promise<void> {
  const away = path.join(path.dirname(dir), `${PRUNE_PREFIX}${path.basename(dir)}-${process.pid}`);
  if (
    await rename(dir, away).then(
      () => true,
      () => false,
    )
  )
    await rm(away, { recursive: true, force: true }).catch(() => {});
}

/** A temporary dir without a lock to ask, written to this recently, may belong to a fill that is still running. */
export const STALE_TEMP_MS = 3_600_000;

/** The entry key a fill's temporary dir `.tmp-<key>-XXXXXX` (mkdtemp's six characters) is for; undefined for other temp names. */
export function fillKeyOf(name: string): string | undefined {
  if (!name.startsWith(TEMP_PREFIX) || name.startsWith(PRUNE_PREFIX)) return undefined;
  return /^(.+)-[A-Za-z0-9]{6}$/.exec(name.slice(TEMP_PREFIX.length))?.[1];
}

async function removeQuietly(p: string): Promise<void> {
  // Best effort: garbage that cannot be removed now must not fail the run that found it.
  await rm(p, { recursive: true, force: true }).catch(() => {});
}

/**
 * Remove temporary directories left by runs that were killed mid-fill. A fill's dir whose
 * entry lock is free belongs to a run that has ended, whatever its age (the lock is held while
 * removing, so no new fill of that key starts meanwhile); one whose lock is held is a live
 * fill's and stays. Temp dirs with no lock to ask (older harnesses, entries being removed)
 * go once they are older than `maxAgeMs`.
 */
export async function sweepStale(area: string, maxAgeMs = STALE_TEMP_MS, root: string = cacheRoot()): Promise<void> {
  const areaDir = path.join(root, area);
  let names: string[];
  try {
    names = await readdir(areaDir);
  } catch {
    return;
  }
  const now = Date.now();
  const byAge = async (p: string): Promise<void> => {
    const info = await stat(p).catch(() => undefined);
    if (info && now - info.mtimeMs > maxAgeMs) await removeQuietly(p);
  };
  const fills = new Map<string, string[]>();
  for (const name of names) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    const p = path.join(areaDir, name);
    const key = fillKeyOf(name);
    if (key === undefined) await byAge(p);
    else fills.set(key, [...(fills.get(key) ?? []), p]);
  }
  for (const [key, dirs] of fills) {
    const lock = await tryLock(entryLockFile(root, area, key));
    if (lock === 'busy') continue;
    if (lock === 'absent') {
      for (const p of dirs) await byAge(p);
      continue;
    }
    try {
      for (const p of dirs) await removeQuietly(p);
    } finally {
      await lock.release();
    }
  }
}
