// useKernels(): the kernels of the config (or the ones asked for) as VMs a test file runs its
// module on. The VMs are the globalSetup's when it booted them (one per kernel for the whole
// vitest run), else the file boots its own in beforeAll and powers them off in afterAll. Either
// way a VM runs one job at a time and is replaced once a job spoils it (vm-lane.ts).
import path from 'node:path';
import { afterAll, beforeAll, inject } from 'vitest';
import { runSettings } from '../config/settings.js';
import type { LifecycleConfig, TimeoutsConfig } from '../config/define.js';
import type { RunSettings } from '../config/settings.js';
import type { ExecResult } from '../guest/ssh.js';
import { defaultSeries, knownSeries, knownVariants } from '../kernel/index.js';
import type { Arch } from '../arch.js';
import { absoluteKernelSpec, parseKernels } from '../kernel/selection.js';
import type { Outcome } from '../outcome.js';
import {
  bootBesideBuild,
  buildJob,
  consoleReader,
  judgeAfterPoweroff,
  openSession,
  runBuilt,
  summarizeJob,
  type Built,
  type JobOutcome,
  type JobSummary,
  type Lifecycle,
  type Session,
  type SessionInfo,
  type Timeouts,
} from '../session.js';
import { parseStageMarker } from '../verdict/kmsg.js';
import { makeWorkDir } from '../util/workdir.js';
import { bootSlots, type KernelSlot } from './slots.js';
import { spentReason, VM_LOCK_WAIT_MS, VmLane, type VmUsed } from './vm-lane.js';
import { buildableNames, kernelArch } from '../kernel-build/index.js';

/** What the globalSetup hands to test files. */
export interface ProvidedKernels {
  settings: RunSettings;
  slots: KernelSlot[];
}

declare module 'vitest' {
  export interface ProvidedContext {
    kmodHarness: ProvidedKernels | undefined;
  }
}

export interface RunModuleOptions {
  /** Module directory (default: the config's `module`); relative to the working directory. */
  module?: string;
  /** Test (default: the config's `test`). */
  test?: string;
  testArgs?: string[];
  timeouts?: TimeoutsConfig;
  /** Reloads and the leftover check (default: the config's lifecycle). */
  lifecycle?: LifecycleConfig;
  /** Kernel-log lines the test stage must print, in order (default: the config's expect.kernelLog). */
  expectKernelLog?: string[];
}

/** One module + test cycle on a VM: upload, insmod, test, rmmod, judged. */
export interface ModuleRun {
  kernel: string;
  outcome: Outcome;
  /** Why it did not pass (empty when it did). */
  reasons: string[];
  exitCode: number | null;
  signal: string | null;
  /** The stage that decided the outcome; undefined on a pass. */
  failedStage?: JobSummary['failedStage'];
  taint?: JobSummary['taint'];
  /** The test's TAP/KTAP subtests (flattened, dotted ids); absent when it printed no TAP. */
  subtests?: JobSummary['subtests'];
  /** Why the TAP says the test failed, if it does. */
  tapFailure?: string;
  stdout: string;
  stderr: string;
  /** The kernel log of this cycle, one line per record, the harness's stage markers left out. */
  kernelLog: string[];
  kernelErrors: JobOutcome['kernelErrors'];
  /** Everything the verdict saw. */
  job: JobOutcome;
  /**
   * The VM it ran on. A job that ends in kernel-error or timeout, sets new taint or loses the
   * guest spends its VM, and so does a VM found unclean before a job (a module or a test
   * process of an earlier job left, taint set since boot); the next job then runs on a VM the
   * file boots with the same settings, kept for its later jobs while they leave it clean.
   * `fresh` is true for every job on such a replacement, `reason` says why the VM before it
   * was spent, e.g. 'the previous job on this VM (kmh_spin) ended in timeout (during test)'.
   * Under `isolate: 'snapshot'` (UseKernelsOptions) every job has a guest of its own:
   * `isolated`, `fresh`, with the guest's `bootId`.
   */
  vm: VmUsed;
}

export interface KernelVm {
  /** The kernel as named in the config or asked for. */
  readonly series: string;
  /** uname -r when already booted (a globalSetup's VM), else the series: for test titles. */
  readonly name: string;
  /** The guest's architecture (amd64, arm64): what its compiler and binaries are built for. */
  readonly arch: Arch;
  /** The session the next job runs on (a replacement once the first VM was spent); throws the boot error for a kernel that did not boot. */
  session(): SessionInfo;
  /** Build the module and test for this kernel and run one cycle on the VM, when no other job holds it. */
  run(options?: RunModuleOptions): Promise<ModuleRun>;
  /**
   * A shell command in the guest (as root), on the VM the next job runs on (a spent one is
   * replaced first). It waits for a job on that VM to end, as jobs wait for it: a command in
   * the middle of a job would be judged as the job's doing. No clean check: it is not judged.
   */
  exec(command: string, options?: { timeoutMs?: number }): Promise<ExecResult>;
}

export interface UseKernelsOptions {
  /** Kernels for this file: series, 'all', buildroot:<dir>, local:<bzImage>,<build> (default: the config's). */
  kernels?: string | string[];
  /** Config file (default: kmod-harness.config.ts found from the working directory). */
  config?: string;
  /** Time allowed for booting the file's own VMs (default 600 s). */
  bootTimeoutMs?: number;
  /**
   * 'snapshot': every run() and exec() gets a guest restored from the kernel's snapshot for it
   * alone (booted beside the build, powered off after it, a report after poweroff judged too);
   * 'vm': jobs share the kernel's VM while they leave it clean (vm-lane.ts). Default: 'snapshot'
   * when the kernel's VM came from a snapshot (snapshots on and working), else 'vm'.
   */
  isolate?: Isolation;
}

export type Isolation = 'snapshot' | 'vm';

/** The isolation a kernel's jobs get: snapshot restores only where the kernel's session shows they work. */
export function isolationFor(info: Pick<SessionInfo, 'bootKind' | 'boot'>, asked?: Isolation): Isolation {
  if (asked) return asked;
  return info.boot.snapshot && info.bootKind !== 'cold' ? 'snapshot' : 'vm';
}

let jobs = 0;

function kernelLogOf(job: JobOutcome): string[] {
  return job.records.filter((r) => parseStageMarker(r.text.trim()) === undefined).map((r) => r.text);
}

/** About the longest a job with these limits holds its VM: each stage it may run, to its limit. */
function jobLimitMs(t: Timeouts, reloads: number): number {
  const cycle = t.loadS + t.unloadS + t.settleS;
  return (t.uploadS + cycle + t.testS + reloads * cycle + 60) * 1000;
}

interface JobOptions {
  testArgs: string[];
  timeouts: Timeouts;
  lifecycle: Lifecycle;
  expectKernelLog: readonly string[];
  outputLimitBytes: number;
}

/** A job on a guest restored for it alone: booted beside the build, judged after its poweroff too. */
async function isolatedJob(
  info: SessionInfo,
  source: { moduleDir: string; test: string },
  buildDir: string,
  buildTimeouts: Timeouts,
  o: JobOptions,
): Promise<{ built: Built; job: JobOutcome; vm: VmUsed }> {
  let session: Session | undefined;
  try {
    const opened = await bootBesideBuild(
      buildJob(info.kernel, source, buildDir, { timeouts: buildTimeouts }),
      info.kernel,
      { ...info.boot },
      (s) => (session = s),
    );
    const s = opened.session;
    const id = `${process.pid}-${++jobs}`;
    const ran = await runBuilt(s.guest.conn, () => Promise.resolve(s.guest.vm.console()), opened.built, id, { ...o, kmemleak: s.info.traits.kmemleak });
    await s.close();
    const job = await judgeAfterPoweroff(ran, opened.built, id, s.guest.vm.console());
    return {
      built: opened.built,
      job,
      vm: { fresh: true, isolated: true, bootKind: s.info.bootKind, ...(s.info.nonce ? { bootId: s.info.nonce } : {}) },
    };
  } finally {
    await session?.close();
  }
}

function vmOn(slot: () => KernelSlot, lane: VmLane, series: string, settings: RunSettings, isolate?: Isolation): KernelVm {
  return {
    series,
    get name() {
      return slot().info?.release ?? series;
    },
    get arch() {
      return slot().info?.arch ?? kernelArch(series, settings.kernelBuilds);
    },
    session: () => lane.current(),
    async run(options = {}) {
      /** A job on the kernel's shared VM, under its lock, after its clean check. */
      const sharedJob = async (info: SessionInfo, source: { moduleDir: string; test: string }, buildDir: string, buildTimeouts: Timeouts, o: JobOptions) => {
        const built = await buildJob(info.kernel, source, buildDir, { timeouts: buildTimeouts });
        const { value: job, vm } = await lane.use(
          { job: true, waitMs: Math.max(VM_LOCK_WAIT_MS, 2 * jobLimitMs(o.timeouts, o.lifecycle.reloads)) },
          (conn, on) => runBuilt(conn, consoleReader(on), built, `${process.pid}-${++jobs}`, { ...o, kmemleak: on.traits.kmemleak }),
          (ran) => spentReason(ran, built.module.names),
        );
        return { built, job, vm };
      };
      const info = lane.current();
      const isolated = isolationFor(info, isolate) === 'snapshot';
      // A spent VM's replacement boots beside the build.
      if (!isolated) lane.prepare();
      const source = {
        moduleDir: options.module ? path.resolve(options.module) : settings.moduleDir,
        test: options.test ? path.resolve(options.test) : settings.test,
      };
      const t = options.timeouts ?? {};
      const timeouts = {
        ...settings.timeouts,
        loadS: t.load ?? settings.timeouts.loadS,
        testS: t.test ?? settings.timeouts.testS,
        unloadS: t.unload ?? settings.timeouts.unloadS,
        settleS: t.settle ?? settings.timeouts.settleS,
      };
      const lifecycle = { ...settings.lifecycle, ...options.lifecycle };
      const jobOptions: JobOptions = {
        testArgs: options.testArgs ?? settings.testArgs,
        timeouts,
        lifecycle,
        expectKernelLog: options.expectKernelLog ?? settings.expectKernelLog,
        outputLimitBytes: settings.outputLimitBytes,
      };
      const work = await makeWorkDir('kmod-harness-vitest-');
      try {
        const { job, vm } = isolated
          ? await isolatedJob(info, source, work.path, settings.timeouts, jobOptions)
          : await sharedJob(info, source, work.path, settings.timeouts, jobOptions);

        const { outcome, reasons, exitCode, signal, failedStage, taint, subtests, tapFailure } = summarizeJob(job);
        return {
          kernel: info.release,
          outcome,
          reasons,
          exitCode,
          signal,
          ...(failedStage ? { failedStage } : {}),
          ...(taint ? { taint } : {}),
          ...(subtests ? { subtests } : {}),
          ...(tapFailure ? { tapFailure } : {}),
          stdout: job.raw.test?.stdout ?? '',
          stderr: job.raw.test?.stderr ?? '',
          kernelLog: kernelLogOf(job),
          kernelErrors: job.kernelErrors,
          job,
          vm,
        };
      } finally {
        await work.remove();
      }
    },
    async exec(command, options = {}) {
      const info = lane.current();
      if (isolationFor(info, isolate) === 'snapshot') {
        const session = await openSession(info.kernel, { ...info.boot });
        try {
          return await session.guest.conn.exec(command, { timeoutMs: options.timeoutMs ?? 60_000, stage: 'exec' });
        } finally {
          await session.close();
        }
      }
      const { value } = await lane.use({ job: false, waitMs: VM_LOCK_WAIT_MS }, (conn) =>
        conn.exec(command, { timeoutMs: options.timeoutMs ?? 60_000, stage: 'exec' }),
      );
      return value;
    },
  };
}

/** A lane per slot, whose replacements the file powers off in afterAll. */
function lanesFor(slots: Array<() => KernelSlot>, series: readonly string[]): VmLane[] {
  const lanes = slots.map(
    (slot, i) =>
      new VmLane(() => {
        const s = slot();
        if (!s.info) throw new Error(s.error ?? `kernel ${series[i]} has not booted (useKernels() boots it in beforeAll: call vm.run() inside a test)`);
        return s.info;
      }),
  );
  afterAll(async () => {
    await Promise.all(lanes.map((l) => l.close()));
  });
  return lanes;
}

/**
 * The VMs for this test file, one per kernel: call at the top level of the file (it registers
 * beforeAll/afterAll there) and `await` it, e.g. `describe.each(await useKernels())(...)`.
 */
export async function useKernels(options: UseKernelsOptions = {}): Promise<KernelVm[]> {
  const provided = inject('kmodHarness');
  const settings = provided && !options.config ? provided.settings : await runSettings(options.config ? { config: options.config } : {});
  const wanted =
    options.kernels === undefined
      ? settings.kernels
      : parseKernels(Array.isArray(options.kernels) ? options.kernels.join(',') : options.kernels, knownSeries(), defaultSeries(), [
          ...knownVariants(),
          ...buildableNames(settings.kernelBuilds),
        ]).map((k) => absoluteKernelSpec(k, process.cwd()));
  const shared = new Map((provided?.slots ?? []).map((s) => [s.series, s]));
  if (wanted.every((k) => shared.has(k))) {
    const slots = wanted.map((k) => () => shared.get(k)!);
    const lanes = lanesFor(slots, wanted);
    return wanted.map((k, i) => vmOn(slots[i]!, lanes[i]!, k, settings, options.isolate));
  }

  // Not booted by a globalSetup: this file boots its own.
  const own: KernelSlot[] = wanted.map((series) => ({ series }));
  let close: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const booted = await bootSlots({ ...settings, kernels: wanted });
    close = booted.close;
    booted.slots.forEach((s, i) => Object.assign(own[i]!, s));
  }, options.bootTimeoutMs ?? 600_000);
  afterAll(async () => {
    await close?.();
  });
  const slots = wanted.map((_, i) => () => own[i]!);
  const lanes = lanesFor(slots, wanted);
  return wanted.map((k, i) => vmOn(slots[i]!, lanes[i]!, k, settings, options.isolate));
}
