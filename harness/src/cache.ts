// The on-disk cache. Entries are directories published by one atomic rename, so a run that
// is interrupted leaves at most a `.tmp-*` directory that no later run trusts (and that
// `sweepStale` removes), never a half-written entry.
import { mkdir, mkdtemp, rename, rm, stat, readdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { HarnessError } from './errors.js';

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

/**
 * Return the directory for `key` under `area`, filling it with `fill` first if it is not
 * there. `fill` writes into a private temporary directory; only a complete entry is renamed
 * into place. Concurrent fillers race harmlessly: the first rename wins, the loser's copy
 * is dropped.
 */
export async function cachedDir(
  area: string,
  key: string,
  fill: (dir: string) => Promise<void>,
  root: string = cacheRoot(),
): Promise<{ dir: string; hit: boolean }> {
  const areaDir = path.join(root, area);
  const dir = path.join(areaDir, key);
  if (await exists(dir)) return { dir, hit: true };
  await mkdir(areaDir, { recursive: true });
  // Only on a miss, so the hit path stays one stat: clear what killed runs left an hour ago or more.
  await sweepStale(area, undefined, root);
  const tmp = await mkdtemp(path.join(areaDir, `${TEMP_PREFIX}${key}-`));
  try {
    await fill(tmp);
    try {
      await rename(tmp, dir);
    } catch (error) {
      // Lost a race against another run that published the same key: theirs is as good.
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
}

/** Names of a cache area's entries being filled (or removed): never trusted as entries. */
export const TEMP_PREFIX = '.tmp-';

/** A temporary dir written to this recently may belong to a fill that is still running. */
export const STALE_TEMP_MS = 3_600_000;

/** Remove temporary directories left by runs that were killed mid-fill (older than maxAgeMs). */
export async function sweepStale(area: string, maxAgeMs = STALE_TEMP_MS, root: string = cacheRoot()): Promise<void> {
  const areaDir = path.join(root, area);
  let names: string[];
  try {
    names = await readdir(areaDir);
  } catch {
    return;
  }
  const now = Date.now();
  for (const name of names) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    const p = path.join(areaDir, name);
    const info = await stat(p).catch(() => undefined);
    if (info && now - info.mtimeMs > maxAgeMs) await rm(p, { recursive: true, force: true });
  }
}
