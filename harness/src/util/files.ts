// Small file helpers shared by every writer of reports, memos and cache metadata.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * A fresh name beside `file` for writing it before the rename: random, so two writers (in one
 * process or two with the same pid in different containers) never share one. Decimal digits,
 * so the cache listing's `.tmp-<digits>` rule still knows a leftover for what it is.
 */
export function tempSibling(file: string): string {
  return `${file}.tmp-${randomBytes(8).readBigUInt64BE()}`;
}

/** Whether `name` is a tempSibling() name: a write that never reached its rename, when its writer is gone. */
export const isTempSibling = (name: string): boolean => /\.tmp-\d+$/.test(name);

export interface WriteAtomicOptions {
  /** File mode of the result (default 0o644 less the umask); a secret's is 0o600. */
  mode?: number;
}

/** Write `data` whole to a temporary sibling, then rename it into place: no reader ever sees half a file. */
export async function writeFileAtomic(file: string, data: string | Uint8Array, options: WriteAtomicOptions = {}): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = tempSibling(file);
  try {
    // 'wx': a name that exists is someone else's file (or a link planted there), never ours to follow.
    await writeFile(tmp, data, { flag: 'wx', ...(options.mode !== undefined ? { mode: options.mode } : {}) });
    await rename(tmp, file);
  } catch (error) {
    // Not ours to remove when the exclusive create itself failed.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') await rm(tmp, { force: true });
    throw error;
  }
}

/**
 * `dir` (and its missing parents) with mode 0o700 even if it was there already with another:
 * for directories holding secrets (private keys, images with a host key in them).
 */
export async function privateDir(dir: string): Promise<void> {
  // Parents as usual (only `dir` is private), then `dir` itself; chmod for one that was there.
  await mkdir(path.dirname(path.resolve(dir)), { recursive: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

/** The parsed JSON in `file`, or undefined when it is missing or unreadable (a memo to recompute). */
export async function readJsonOr<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}
