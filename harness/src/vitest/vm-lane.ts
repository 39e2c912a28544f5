// One kernel's VM as a test file uses it, when several jobs share one boot: one job at a time
// per VM across the vitest workers (a flock beside its console log), a clean check before each
// job, and a VM that a job spoilt (kernel error, timeout, new taint, lost guest) or that is not
// clean is marked spent (a file beside the lock, so every worker sees it) and never used again.
// The file then boots a replacement with the same boot settings and keeps it while it stays
// clean: the globalSetup's QEMU is that process's child, not the worker's to restart.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { acquireLock, LockTimeoutError, type HeldLock } from '../cache/lock.js';
import { HarnessError, TimeoutError } from '../errors.js';
import { cleanVerdict, guestStateCommand, parseGuestState } from '../guest/clean-check.js';
import type { BootKind } from '../guest/boot.js';
import type { GuestConnection } from '../guest/ssh.js';
import { connectSession, openSession, type JobOutcome, type Session, type SessionInfo } from '../session.js';

/** Where a VM's lock and spent marker live: its session's private work dir. */
export function vmFiles(info: Pick<SessionInfo, 'consoleLog'>): { lock: string; spent: string } {
  const dir = path.dirname(info.consoleLog);
  return { lock: path.join(dir, 'vm.lock'), spent: path.join(dir, 'spent') };
}

/**
 * How long a job waits for the VM: a holder is bounded by its own stage limits, so a wait past
 * them means a stuck holder. Several jobs may queue ahead, hence the generous floor.
 */
export const VM_LOCK_WAIT_MS = 30 * 60_000;

/** Why a job leaves its VM unfit for the next one; undefined when it does not. */
export function spentReason(
  job: Pick<JobOutcome, 'outcome' | 'reasons'> & { raw: Pick<JobOutcome['raw'], 'timedOutStage' | 'guestLost'> },
  modules: readonly string[] = [],
): string | undefined {
  const which = `the previous job on this VM${modules.length ? ` (${modules.join(', ')})` : ''}`;
  // The verdict's first reason names the report, or the new taint when no report was found.
  if (job.outcome === 'kernel-error') return `${which} ended in kernel-error: ${job.reasons[0] ?? 'a kernel error'}`;
  if (job.outcome === 'timeout' || job.raw.timedOutStage)
    return `${which} ended in timeout${job.raw.timedOutStage ? ` (during ${job.raw.timedOutStage})` : ''}`;
  if (job.raw.guestLost) return `the guest stopped answering during ${which}`;
  return undefined;
}

/** The VM a job ran on, as ModuleRun.vm says it. */
export interface VmUsed {
  /** Booted by this file because the VM before it was spent, or (isolated) restored for this job alone. */
  fresh: boolean;
  /** Why the VM before it was spent. */
  reason?: string;
  /** `isolate: 'snapshot'`: a guest restored from the kernel's snapshot for this job alone, powered off after it. */
  isolated?: boolean;
  /** How that guest came up (a snapshot that failed falls back to a cold boot). */
  bootKind?: BootKind;
  /** That guest's boot id (/run/kmod-harness/boot-id), distinct per restore. */
  bootId?: string;
}

interface Replacement {
  session: Session;
  /** Why the VM it replaced was spent. */
  reason: string;
  /** It ran a job (or an exec): a clean check failing on it is not a bug of the check. */
  used: boolean;
}

/** One kernel's VM for one test file: the shared (or the file's own) VM, then its replacements. */
export class VmLane {
  private replacement: Replacement | undefined;
  /** Replacements being booted, by the console log of the VM they replace. */
  private readonly booting = new Map<string, Promise<Session>>();
  /** Replacements that were spent in turn: powered off, closed in close(). */
  private readonly retired: Session[] = [];
  private closed = false;

  /** `original` throws the boot error when the kernel did not boot. */
  constructor(private readonly original: () => SessionInfo) {}

  /** The VM the next job runs on. */
  current(): SessionInfo {
    return this.replacement?.session.info ?? this.original();
  }

  /**
   * Start booting a replacement now if the current VM is already marked spent (read without
   * the lock: a hint, use() decides), so that it boots beside the job's build.
   */
  prepare(): void {
    let info: SessionInfo;
    try {
      info = this.current();
    } catch {
      return;
    }
    void readSpent(info)
      .then((spent) => {
        if (spent !== undefined && this.current() === info && !this.closed) void this.boot(info).catch(() => {});
      })
      .catch(() => {});
  }

  /**
   * `fn` on a clean VM, holding its lock: a spent VM is replaced first and, for a job, the
   * clean check runs first (a VM that fails it is spent and replaced). When `spoilt` names a
   * reason for what fn returned, the VM is marked spent before the lock is dropped.
   */
  async use<T>(
    what: { job: boolean; waitMs: number },
    fn: (conn: GuestConnection, info: SessionInfo) => Promise<T>,
    spoilt: (value: T) => string | undefined = () => undefined,
  ): Promise<{ value: T; vm: VmUsed }> {
    for (;;) {
      const info = this.current();
      const replacement = this.replacement?.session.info === info ? this.replacement : undefined;
      let spent: string | undefined;
      const lock = await lockVm(info, what.waitMs);
      try {
        spent = await readSpent(info);
        if (spent === undefined) {
          const conn = await connectSession(info).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
          if (conn instanceof Error) {
            spent = `the VM did not answer over SSH: ${conn.message}`;
            await this.spend(info, spent);
          } else {
            try {
              if (what.job) {
                const check = await conn.exec(guestStateCommand(), { timeoutMs: 20_000, stage: 'clean-check' }).catch(() => undefined);
                const verdict = cleanVerdict(parseGuestState(check?.stdout ?? ''), info);
                if (!verdict.clean) spent = verdict.why;
              }
              if (spent === undefined) {
                if (replacement) replacement.used = true;
                const value = await fn(conn, info);
                const why = spoilt(value);
                if (why !== undefined) await this.spend(info, why, conn);
                return { value, vm: replacement ? { fresh: true, reason: replacement.reason } : { fresh: false } };
              }
              await this.spend(info, spent, conn);
            } finally {
              conn.close();
            }
          }
        }
      } finally {
        await lock.release();
      }
      // A VM booted for this file that is unfit before any job ran on it: replacing it again would not help.
      if (replacement && !replacement.used) {
        throw new HarnessError('E_VM_UNCLEAN', 'infra-error', `a VM just booted for ${info.release} is not fit for a job: ${spent}`, {
          fix: 'the clean check compares with what the guest had right after boot: something in the guest changes on its own (its console log shows what); report it',
        });
      }
      await this.replace(info, spent ?? 'spent');
    }
  }

  /** Power off and close the replacements this file booted. */
  async close(): Promise<void> {
    this.closed = true;
    const booting = await Promise.allSettled(this.booting.values());
    const sessions = new Set([
      ...this.retired,
      ...(this.replacement ? [this.replacement.session] : []),
      ...booting.flatMap((b) => (b.status === 'fulfilled' ? [b.value] : [])),
    ]);
    this.replacement = undefined;
    await Promise.all([...sessions].map((s) => s.close()));
  }

  /** Mark `info` spent, under its lock, and power it off: nothing runs on it again. */
  private async spend(info: SessionInfo, reason: string, conn?: GuestConnection): Promise<void> {
    await writeFile(vmFiles(info).spent, `${reason}\n`);
    const own = this.replacement?.session.info === info ? this.replacement.session : undefined;
    // Its CPU and memory go to the replacement (a spinning guest would take a host core); the
    // console log stays until its owner closes the session.
    if (own) void own.guest.shutdown().catch(() => {});
    // poweroff -f never answers: the channel ends with the guest, or the limit ends the wait.
    else if (conn) await conn.exec('poweroff -f', { timeoutMs: 5000, stage: 'poweroff' }).catch(() => {});
  }

  /** Make a replacement for the spent `info` the current VM (once, however many jobs ask). */
  private async replace(info: SessionInfo, reason: string): Promise<void> {
    if (this.current() !== info) return;
    const session = await this.boot(info);
    if (this.current() !== info) return;
    if (this.replacement) this.retired.push(this.replacement.session);
    this.replacement = { session, reason, used: false };
    this.booting.delete(info.consoleLog);
  }

  /** Boot a VM like `info` (same kernel, same boot settings); one boot per spent VM. */
  private boot(info: SessionInfo): Promise<Session> {
    let booting = this.booting.get(info.consoleLog);
    if (!booting) {
      if (this.closed) return Promise.reject(new Error(`the ${info.release} VM's file has ended: no replacement is booted`));
      booting = openSession(info.kernel, { ...info.boot });
      this.booting.set(info.consoleLog, booting);
      // A failed boot is the failing job's error; the next job tries again.
      booting.catch(() => this.booting.delete(info.consoleLog));
    }
    return booting;
  }
}

async function readSpent(info: SessionInfo): Promise<string | undefined> {
  try {
    return (await readFile(vmFiles(info).spent, 'utf8')).trim() || 'spent';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function lockVm(info: SessionInfo, waitMs: number): Promise<HeldLock> {
  try {
    return await acquireLock(vmFiles(info).lock, { what: `the ${info.release} VM`, waitMs });
  } catch (error) {
    if (!(error instanceof LockTimeoutError)) throw error;
    const by = error.holderPid === undefined ? '' : ` (held by pid ${error.holderPid}${error.holderPid === process.pid ? ', this worker' : ''})`;
    throw new TimeoutError(`waiting for the ${info.release} VM${by}`, Math.round(waitMs / 1000), {
      cause: error,
      fix: `one job holds a VM at a time and no job should take this long: the holder is stuck past its own stage limits (\`lslocks | grep ${path.basename(error.lockFile)}\` names it); stop it, or give long jobs their own file without a globalSetup`,
    });
  }
}
