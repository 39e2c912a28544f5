// What one guest job returned, as the verdict reads it: the commands' results, taint readings,
// the module's sections as loaded, registrations, the kernel log. The record between the
// guest layer that fills it (guest/job.ts) and the verdict that judges it (verdict/judge.ts),
// kept below both so that neither imports the other's implementation.

/** One command's result in the guest (guest/ssh.ts ExecResult is this). */
export interface CommandRun {
  exitCode: number | null;
  /** Name of the signal that killed the command ('SEGV'), when it was killed. */
  signal: string | null;
  /** What the command printed, decoded as UTF-8; past maxOutputBytes, head and tail (util/bounded-text.ts). */
  stdout: string;
  stderr: string;
  /** Bytes each stream printed beyond maxOutputBytes and left out; only when some were. */
  dropped?: { stdout: number; stderr: number };
}

/** Where a module's section (text, data, rodata, bss) was loaded, read after insmod. */
export interface ModuleSection {
  module: string;
  section: string;
  address: bigint;
}

/** The timed stages of a job, in order (guest/job.ts). */
export type JobStage = 'upload' | 'load' | 'test' | 'unload' | 'settle' | 'reload' | 'leak-scan';

/** The points of a job where /proc/sys/kernel/tainted is read. */
export type TaintPoint = 'before' | 'load' | 'test' | 'unload' | 'settle' | 'reload';

export interface JobRaw {
  /** /proc/sys/kernel/tainted before loading and after each stage that ran. */
  taint: Partial<Record<TaintPoint, number>>;
  load: CommandRun;
  test: CommandRun | undefined;
  unload: CommandRun | undefined;
  /** Names still listed in /proc/modules after rmmod. */
  stillLoaded: string[];
  /**
   * The text sections of each module as loaded, read right after insmod (and again on each
   * reload): leak reports and faults in freed module text come after rmmod, as bare addresses.
   */
  sections: ModuleSection[];
  /** The settle window after rmmod ran to its end. */
  settled: boolean;
  /** Registrations (verdict/leftovers.ts) before insmod and after the settle; undefined when not read. */
  entries: { before?: string[]; after?: string[] };
  /** Each reload cycle: insmod, and rmmod when insmod succeeded. */
  reloads: Array<{ load: CommandRun; unload: CommandRun | undefined; stillLoaded: string[] }>;
  /** /sys/kernel/debug/kmemleak after the post-unload scans; undefined when not scanned. */
  kmemleak: string | undefined;
  /** `dmesg -r` after the job; undefined when the guest could no longer answer. */
  dmesg: string | undefined;
  timedOutStage: string | undefined;
  /** The connection dropped (guest panicked or powered off) during the job. */
  guestLost: boolean;
  stageMs: Partial<Record<JobStage, number>>;
}
