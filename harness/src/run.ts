// The pipeline for one kernel: kernel -> build (module, test) beside image + boot -> guest
// job -> verdict. Every failure becomes a result with an outcome; nothing started here
// outlives the call.
import { availableParallelism, freemem } from 'node:os';
import { asHarnessError, BuildError, TimeoutError, type Diagnostic, type ErrorCode } from './errors.js';
import { forSeries, silent, type Stage } from './events.js';
import { acquireKernelWithin, kernelArch, type KernelBuildDef } from './kernel-build/index.js';
import type { Outcome } from './outcome.js';
import { archOf, type Arch } from './arch.js';
import type { JobStage } from './job-raw.js';
import type { BootKind } from './guest/boot.js';
import { mapLimit } from './util/pool.js';
import {
  bootBesideBuild,
  buildJob,
  DEFAULT_TIMEOUTS,
  judgeAfterPoweroff,
  runBuilt,
  summarizeJob,
  type ResultKernelError,
  type ResultSubtest,
  type Built,
  type JobOutcome,
  type Lifecycle,
  type Session,
  type SessionOptions,
  type Timeouts,
} from './session.js';
import { makeWorkDir } from './util/workdir.js';

export { DEFAULT_LIFECYCLE, DEFAULT_TIMEOUTS, type Lifecycle, type Timeouts } from './session.js';

export interface RunOptions extends SessionOptions {
  moduleDir: string;
  test: string;
  testArgs?: string[];
  timeouts?: Partial<Timeouts>;
  lifecycle?: Partial<Lifecycle>;
  /** Kernel-log lines the test stage must print, in order, besides the test's expected.kmsg. */
  expectKernelLog?: readonly string[];
  /** Kernels a config defines (kernelBuilds), besides the built-in `<series>-debug`. */
  kernelBuilds?: readonly KernelBuildDef[];
}

export interface KernelResult {
  /** Exact kernel release (uname -r), or the series when the kernel could not be fetched. */
  kernel: string;
  series: string;
  /** The guest's architecture: the kernel's, or the name's (6.1/arm64) when it could not be fetched. */
  arch: Arch;
  outcome: Outcome;
  reasons: string[];
  exitCode: number | null;
  signal: string | null;
  kernelErrors: ResultKernelError[];
  /** The stage that decided the outcome (verdict, timeout, build, boot); undefined on a pass. Reporters read this. */
  failedStage?: string;
  /** Forbidden taint bits the job set, with the first stage after which they were seen. */
  taint?: { letters: string; stage: string };
  /** The test's TAP/KTAP subtests; absent when it printed no TAP. */
  subtests?: ResultSubtest[];
  /** Why the TAP says the test failed (failed subtests, a plan not finished, a bail-out), if it does. */
  tapFailure?: string;
  diagnostics: Diagnostic[];
  /** The stage that ran out of time, when the outcome is `timeout` (`test-build`, `upload`, `test`, ...). */
  timedOutStage?: string;
  /** The harness error that ended the run early (its code: E_USAGE is bad input, exit 2), if one did. */
  errorCode?: ErrorCode;
  accel?: string;
  /** How the guest came up: a cold boot, a cold boot saved as a snapshot (then restored), or a restore of one. */
  boot?: BootKind;
  /** Milliseconds per stage; build overlaps image and boot, `total` is the wall time. */
  stages: Partial<Record<Stage | JobStage | 'total', number>>;
  /** `kmemleak`: /sys/kernel/debug/kmemleak after the post-unload scans, on kernels with kmemleak. */
  logs: { console?: string; dmesg?: string; test?: string; build?: string; kmemleak?: string };
  /**
   * Bytes of the test's stdout and stderr and of the serial console past the output limit, left
   * out of `logs` (which keep head and tail); only the non-zero ones, only when there are any.
   */
  dropped?: { stdout?: number; stderr?: number; console?: number };
}

/** The stage an error that ended the run early blames, by its outcome. */
const STAGE_OF_OUTCOME: Partial<Record<Outcome, string>> = { 'build-failed': 'build', 'boot-failed': 'boot' };

/** A judged job's outcome, reasons, exit status, stages and kernel errors into the kernel's result. */
function applyJob(result: KernelResult, job: JobOutcome): void {
  Object.assign(result, summarizeJob(job));
}

export async function runOnKernel(series: string, options: RunOptions): Promise<KernelResult> {
  const emit = forSeries(options.emit ?? silent, series);
  options = { ...options, emit };
  const result: KernelResult = {
    kernel: series,
    series,
    arch: kernelArch(series, options.kernelBuilds ?? []),
    outcome: 'infra-error',
    reasons: [],
    exitCode: null,
    signal: null,
    kernelErrors: [],
    diagnostics: [],
    stages: {},
    logs: {},
  };
  const timed = async <T>(stage: Stage, fn: () => Promise<T>): Promise<T> => {
    emit({ type: 'stage-start', stage, kernel: result.kernel });
    const start = performance.now();
    try {
      return await fn();
    } finally {
      result.stages[stage] = Math.round(performance.now() - start);
      emit({ type: 'stage-end', stage, kernel: result.kernel, ms: result.stages[stage] });
    }
  };
  const t = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const started = performance.now();
  const work = await makeWorkDir();
  let session: Session | undefined;
  let finished: { job: JobOutcome; built: Built } | undefined;
  try {
    const kernel = await timed('kernel', () =>
      acquireKernelWithin(series, t.fetchS, {
        emit,
        ...(options.cacheRoot ? { cacheRoot: options.cacheRoot } : {}),
        ...(options.kernelBuilds ? { definitions: options.kernelBuilds } : {}),
      }),
    );
    result.kernel = kernel.release;
    result.arch = archOf(kernel);

    const building = timed('build', () =>
      buildJob(kernel, options, work.path, { emit, timeouts: t, ...(options.cacheRoot ? { cacheRoot: options.cacheRoot } : {}) }),
    );
    const { built, session: s } = await bootBesideBuild(
      building,
      kernel,
      { ...options, bootTimeoutS: options.timeouts?.bootS ?? options.bootTimeoutS },
      (opened) => (session = opened),
    );
    result.logs.build = `${built.module.log}\n${built.test.log}`;
    result.accel = s.info.accel;
    result.boot = s.info.bootKind;
    Object.assign(result.stages, { image: s.info.stageMs.image, boot: s.info.stageMs.boot, ssh: s.info.stageMs.ssh });

    emit({ type: 'stage-start', stage: 'test', kernel: result.kernel, detail: 'upload, insmod, test, rmmod' });
    // The console in memory: exact, where the log file lags up to a second past the limit.
    const job = await runBuilt(s.guest.conn, () => Promise.resolve(s.guest.vm.console()), built, 'job1', {
      ...(options.testArgs ? { testArgs: options.testArgs } : {}),
      ...(options.timeouts ? { timeouts: options.timeouts } : {}),
      ...(options.lifecycle ? { lifecycle: options.lifecycle } : {}),
      ...(options.expectKernelLog ? { expectKernelLog: options.expectKernelLog } : {}),
      kmemleak: s.info.traits.kmemleak,
      ...(options.outputLimitBytes !== undefined ? { outputLimitBytes: options.outputLimitBytes } : {}),
    });
    Object.assign(result.stages, job.raw.stageMs);
    emit({
      type: 'stage-end',
      stage: 'test',
      kernel: result.kernel,
      ms: job.raw.stageMs.test ?? 0,
      detail: Object.entries(job.raw.stageMs)
        .map(([k, v]) => `${k} ${v} ms`)
        .join(', '),
    });
    applyJob(result, job);
    finished = { job, built };
    result.logs.dmesg = job.raw.dmesg;
    if (job.raw.kmemleak !== undefined) result.logs.kmemleak = job.raw.kmemleak;
    result.logs.test = job.raw.test ? job.raw.test.stdout + job.raw.test.stderr : undefined;
    if (job.raw.test?.dropped) addDropped(result, job.raw.test.dropped);
  } catch (error) {
    const e = asHarnessError(error);
    result.outcome = e.outcome;
    result.errorCode = e.code;
    if (e instanceof TimeoutError) result.timedOutStage = e.stage;
    const stage = e instanceof TimeoutError ? e.stage : STAGE_OF_OUTCOME[e.outcome];
    if (stage) result.failedStage = stage;
    result.reasons = [e.message, ...(e.fix ? [`fix: ${e.fix}`] : [])];
    if (e instanceof BuildError) {
      result.diagnostics = e.diagnostics;
      result.logs.build = e.log;
    }
    // A guest that never came up has no session to read the console from: keep its tail.
    if ((e.outcome === 'boot-failed' || e.outcome === 'timeout') && e.detail) result.logs.console ??= e.detail;
  } finally {
    if (session) {
      const s = session;
      await timed('teardown', () => s.close());
      // Read once the guest is off: what struck after the job's last look is on it too.
      result.logs.console = s.guest.vm.console();
      addDropped(result, { console: s.guest.vm.consoleDropped() });
      if (finished) applyJob(result, await judgeAfterPoweroff(finished.job, finished.built, 'job1', result.logs.console));
    }
    await work.remove();
    result.stages.total = Math.round(performance.now() - started);
    emit({ type: 'kernel-end', kernel: result.kernel, outcome: result.outcome, ms: result.stages.total });
  }
  return result;
}

/** Record the non-zero counts of `dropped` in the result. */
function addDropped(result: KernelResult, dropped: NonNullable<KernelResult['dropped']>): void {
  for (const [stream, bytes] of Object.entries(dropped)) {
    if (bytes) result.dropped = { ...result.dropped, [stream]: bytes };
  }
}

export interface VmPlan {
  /** VMs at once. */
  parallel: number;
  /** vCPUs per VM. */
  cpus: number;
}

/**
 * How many VMs to run at once and with how many vCPUs: each TCG vCPU wants a host core and
 * each guest its memory plus QEMU's own (~256 MiB). Unless the user chose, a lone kernel gets
 * two vCPUs (SMP catches more races) and a matrix one each, so that as many kernels as there
 * are cores boot side by side: on 2 cores that halves the wall time of four kernels.
 */
export function planVms(o: { kernels: number; cores: number; freeMemMiB: number; memoryMiB: number; cpus?: number; parallel?: number }): VmPlan {
  const cpus = o.cpus ?? (o.kernels > 1 ? 1 : Math.min(2, o.cores));
  const byCores = Math.max(1, Math.floor(o.cores / cpus));
  const byMemory = Math.max(1, Math.floor(o.freeMemMiB / (o.memoryMiB + 256)));
  return { cpus, parallel: o.parallel ?? Math.max(1, Math.min(o.kernels, byCores, byMemory)) };
}

/** planVms for this host. */
export function planVmsHere(kernels: number, options: { memoryMiB?: number; cpus?: number; parallel?: number }): VmPlan {
  return planVms({ ...options, kernels, cores: availableParallelism(), freeMemMiB: freemem() / 2 ** 20, memoryMiB: options.memoryMiB ?? 512 });
}

/** One result per kernel, in the order asked; a failure on one kernel does not stop the others. */
export async function run(series: string[], options: RunOptions & { parallel?: number }): Promise<KernelResult[]> {
  const plan = planVmsHere(series.length, options);
  return mapLimit(series, plan.parallel, (s) => runOnKernel(s, { ...options, cpus: plan.cpus }));
}
