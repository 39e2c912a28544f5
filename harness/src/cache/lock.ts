// Cross-process locks on files in the cache: concurrent runs wait for each other's apt update,
// download or fill of one entry instead of failing (apt's own lock does not wait) or doing the
// same 300 MB twice, and a waiter says whom it waits for.
//
// Why flock(1) and not proper-lockfile or a mkdir/pid protocol: a kernel flock() lock belongs to
// an open file description and is dropped by the kernel when its last descriptor closes, so a
// holder that is SIGKILLed never leaves it stuck: no staleness guess, no mtime heartbeat that a
// busy event loop or a suspended laptop can miss. Node has no flock() binding and native addons
// are avoided, so util-linux's flock(1) (always on Debian) locks a descriptor this process opened
// and hands it as fd 3: the short-lived child exits, the lock stays with our descriptor until we
// close it or die. Each acquisition opens the file anew, so two holders in one process exclude
// each other exactly as two processes do: one mechanism serialises both.
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { mkdir, open, readFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { HarnessError, TimeoutError } from '../errors.js';
import type { Emit } from '../events.js';
import { requireTool } from '../host/tools.js';
import { onTeardown } from '../util/lifecycle.js';

/** How long a waiter waits by default: longer than any fill but a kernel build (which passes its own). */
export const DEFAULT_LOCK_WAIT_MS = 3_600_000;
/** A wait longer than this is announced, so a user sees why nothing moves. */
export const LOCK_NOTICE_MS = 2_000;
// flock's exit status when -w runs out or -n finds the lock taken (EX_TEMPFAIL), told apart from its errors.
const CONFLICT_EXIT = 75;

export interface LockOptions {
  /** What the lock guards, for people: 'the bookworm package index', 'the 6.1 kernel 6.1.170-1'. */
  what: string;
  /** Give up after this long (default DEFAULT_LOCK_WAIT_MS): at least as long as a holder may take. */
  waitMs?: number;
  /** Shared (readers) instead of exclusive. */
  shared?: boolean;
  /** Hears the 'waiting for ...' notice. */
  emit?: Emit;
  signal?: AbortSignal;
  /** After how long a wait is announced (default LOCK_NOTICE_MS). */
  noticeMs?: number;
}

export interface HeldLock {
  file: string;
  /** Drop the lock (closes our descriptor); safe to call twice. */
  release(): Promise<void>;
}

/** Waiting for a lock ran out of time: names the lock file, its holder when known, and the fix. */
export class LockTimeoutError extends TimeoutError {
  readonly lockFile: string;
  readonly holderPid: number | undefined;
  constructor(what: string, lockFile: string, seconds: number, holderPid: number | undefined) {
    const holder = holderPid === undefined ? '' : `, held by pid ${holderPid}${holderPid === process.pid ? ' (this process)' : ''}`;
    super(`waiting for ${what} (lock ${lockFile}${holder})`, seconds, {
      fix:
        (holderPid === undefined
          ? `\`lslocks | grep ${path.basename(lockFile)}\` shows which process holds it`
          : `pid ${holderPid} is another kmod-harness run using the same cache entry`) +
        ': let it finish or stop it, then retry; a run that must not wait can use its own cache (KMOD_HARNESS_CACHE=<dir>)',
    });
    this.lockFile = lockFile;
    this.holderPid = holderPid;
  }
}

let flockPath: Promise<string> | undefined;
function flock(): Promise<string> {
  flockPath ??= requireTool('flock').catch((error: unknown) => {
    flockPath = undefined;
    throw error;
  });
  return flockPath;
}

/** The pid a holder wrote into `file`, if that process is alive (it may be stale between holders). */
export async function lockHolder(file: string): Promise<number | undefined> {
  const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined;
  }
}

/** Run flock(1) on our descriptor `handle`: true when locked, false on a conflict (-n) or time out (-w). */
function runFlock(handle: FileHandle, file: string, args: string[], signal: AbortSignal | undefined, bin: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [...args, '-E', String(CONFLICT_EXIT), '3'], { stdio: ['ignore', 'ignore', 'pipe', handle.fd] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // A waiter must not outlive a run that Ctrl-C tears down (it would take the lock for nothing).
    const stopOnTeardown = onTeardown(() => void child.kill('SIGKILL'));
    const onAbort = (): void => void child.kill('SIGKILL');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (error) => {
      signal?.removeEventListener('abort', onAbort);
      void stopOnTeardown();
      reject(
        new HarnessError('E_LOCK', 'infra-error', `cannot run flock for ${file}: ${error.message}`, {
          cause: error,
          fix: 'sudo apt-get install -y util-linux',
        }),
      );
    });
    child.on('close', (code, killedBy) => {
      signal?.removeEventListener('abort', onAbort);
      void stopOnTeardown();
      if (signal?.aborted) return reject(signal.reason);
      if (code === 0) return resolve(true);
      if (code === CONFLICT_EXIT) return resolve(false);
      reject(
        new HarnessError('E_LOCK', 'infra-error', `flock could not lock ${file} (${killedBy ?? `exit ${code}`}): ${stderr.trim()}`, {
          fix: 'check that the cache dir is on a local file system that supports flock',
        }),
      );
    });
  });
}

async function openLockFile(file: string, create: boolean): Promise<FileHandle> {
  if (create) await mkdir(path.dirname(file), { recursive: true });
  // Never truncated on open: the content is the holder's pid, which a waiter reads.
  return open(file, constants.O_RDWR | (create ? constants.O_CREAT : 0), 0o644);
}

function held(file: string, handle: FileHandle): HeldLock {
  let closed: Promise<void> | undefined;
  return {
    file,
    release: () => (closed ??= handle.close()),
  };
}

async function markHolder(handle: FileHandle): Promise<void> {
  await handle.truncate(0);
  await handle.write(`${process.pid}\n`, 0);
}

/** Take the lock on `file` (created if missing), waiting for its holder up to `waitMs`. */
export async function acquireLock(file: string, options: LockOptions): Promise<HeldLock> {
  const waitMs = options.waitMs ?? DEFAULT_LOCK_WAIT_MS;
  const mode = options.shared ? '-s' : '-x';
  const bin = await flock();
  options.signal?.throwIfAborted();
  const handle = await openLockFile(file, true);
  try {
    // Uncontended (the usual case): no wait, no notice.
    let locked = await runFlock(handle, file, [mode, '-n'], options.signal, bin);
    if (!locked) {
      const notice = setTimeout(() => {
        void lockHolder(file).then((pid) => {
          const by = pid === undefined ? '' : ` (held by pid ${pid}${pid === process.pid ? ', this process' : ''})`;
          options.emit?.({ type: 'info', message: `waiting for ${options.what}${by}` });
        });
      }, options.noticeMs ?? LOCK_NOTICE_MS);
      try {
        locked = await runFlock(handle, file, [mode, '-w', String(waitMs / 1000)], options.signal, bin);
      } finally {
        clearTimeout(notice);
      }
      if (!locked) throw new LockTimeoutError(options.what, file, Math.round(waitMs / 1000), await lockHolder(file));
    }
    await markHolder(handle);
    return held(file, handle);
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** Run `fn` holding the lock on `file`; the lock is dropped however `fn` ends. */
export async function withLock<T>(file: string, options: LockOptions, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireLock(file, options);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

/**
 * Take the exclusive lock on `file` only if nobody holds it: 'busy' if someone does, 'absent'
 * if there is no such lock file (nothing was ever filled under it; it is not created).
 */
export async function tryLock(file: string): Promise<HeldLock | 'busy' | 'absent'> {
  const bin = await flock();
  let handle: FileHandle;
  try {
    handle = await openLockFile(file, false);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw error;
  }
  try {
    if (!(await runFlock(handle, file, ['-x', '-n'], undefined, bin))) {
      await handle.close();
      return 'busy';
    }
    await markHolder(handle);
    return held(file, handle);
  } catch (error) {
    await handle.close();
    throw error;
  }
}
