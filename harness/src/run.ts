// The pipeline for one kernel: kernel -> build (module, test) beside image + boot -> guest
// job -> verdict. Every failure becomes a result with an outcome; nothing started here
// outlives the call.
import { readFile } from 'node:fs/promises';
import { availableParallelism, freemem } from 'node:os';
import { asHarnessError, BuildError, type Diagnostic } from './errors.js';
import { forSeries, silent, type Stage } from './events.js';
import { acquireKernel, type KernelBuildDef } from './kernel-build/index.js';
import type { Outcome } from './outcome.js';
import { mapLimit } from './pool.js';
import { bootBesideBuild, buildJob, consoleReader, runBuilt, type Session, type SessionOptions, type Timeouts } from './session.js';
import { makeWorkDir } from './workdir.js';

export { DEFAULT_TIMEOUTS, type Timeouts } from './session.js';

export interface RunOptions extends SessionOptions {
  moduleDir: string;
  test: string;
  testArgs?: string[];
  timeouts?: Partial<Timeouts>;
  /** Kernel-log lines the test stage must print, in order, besides the test's expected.kmsg. */
  expectKernelLog?: readonly string[];
  /** Kernels a config defines (kernelBuilds), besides the built-in `<series>-debug`. */
  kernelBuilds?: readonly KernelBuildDef[];
}

export interface KernelResult {
  /** Exact kernel release (uname -r), or the series when the kernel could not be fetched. */
  kernel: string;
  series: string;
  outcome: Outcome;
  reasons: string[];
  exitCode: number | null;
  signal: string | null;
  kernelErrors: Array<{ kind: string; title: string; module?: string; stage?: string; trace: string[]; source?: Array<{ frame: string; func: string; file: string; line: number }> }>;
  diagnostics: Diagnostic[];
  /** The harness error that ended the run early (its code: E_USAGE is bad input, exit 2), if one did. */
  errorCode?: string;
  accel?: string;
  /** Milliseconds per stage; build overlaps image and boot, `total` is the wall time. */
  stages: Partial<Record<Stage | 'upload' | 'total', number>>;
  /** `kmemleak`: /sys/kernel/debug/kmemleak after the post-unload scans, on kernels with kmemleak. */
  logs: { console?: string; dmesg?: string; test?: string; build?: string; kmemleak?: string };
}

export async function runOnKernel(series: string, options: RunOptions): Promise<KernelResult> {
  const emit = forSeries(options.emit ?? silent, series);
  options = { ...options, emit };
  const result: KernelResult = { kernel: series, series, outcome: 'infra-error', reasons: [], exitCode: null, signal: null, kernelErrors: [], diagnostics: [], stages: {}, logs: {} };
  const timed = async <T>(stage: Stage, fn: () => Promise<T>): Promise<T> => {
    emit({ type: 'stage-start', stage, kernel: result.kernel });
    const start = performance.now();
    try {
      return await fn();
    } finally {
      result.stages[stage] = Math.round(performance.now() - start);
      emit({ type: 'stage-end', stage, kernel: result.kernel, ms: result.stages[stage]! });
    }
  };
  const started = performance.now();
  const work = await makeWorkDir();
  let session: Session | undefined;
  try {
    const kernel = await timed('kernel', () => acquireKernel(series, { emit, ...(options.cacheRoot ? { cacheRoot: options.cacheRoot } : {}), ...(options.kernelBuilds ? { definitions: options.kernelBuilds } : {}) }));
    result.kernel = kernel.release;

    const building = timed('build', () => buildJob(kernel, options, work.path, { emit, ...(options.cacheRoot ? { cacheRoot: options.cacheRoot } : {}) }));
    const { built, session: s } = await bootBesideBuild(building, kernel, { ...options, bootTimeoutS: options.timeouts?.bootS ?? options.bootTimeoutS }, (opened) => (session = opened));
    result.logs.build = `${built.module.log}\n${built.test.log}`;
    result.accel = s.info.accel;
    Object.assign(result.stages, { image: s.info.stageMs.image, boot: s.info.stageMs.boot, ssh: s.info.stageMs.ssh });

    emit({ type: 'stage-start', stage: 'test', kernel: result.kernel, detail: 'upload, insmod, test, rmmod' });
    const job = await runBuilt(s.guest.conn, consoleReader(s.info), built, 'job1', {
      ...(options.testArgs ? { testArgs: options.testArgs } : {}),
      ...(options.timeouts ? { timeouts: options.timeouts } : {}),
      ...(options.expectKernelLog ? { expectKernelLog: options.expectKernelLog } : {}),
      kmemleak: s.info.traits.kmemleak,
    });
    Object.assign(result.stages, job.raw.stageMs);
    emit({ type: 'stage-end', stage: 'test', kernel: result.kernel, ms: job.raw.stageMs.test ?? 0, detail: Object.entries(job.raw.stageMs).map(([k, v]) => `${k} ${v} ms`).join(', ') });
    Object.assign(result, {
      outcome: job.outcome,
      reasons: job.reasons,
      exitCode: job.raw.test?.exitCode ?? null,
      signal: job.raw.test?.signal ?? null,
      kernelErrors: job.kernelErrors.map((e) => ({ kind: e.kind, title: e.title, trace: e.trace, ...(e.module ? { module: e.module } : {}), ...(e.stage ? { stage: e.stage } : {}), ...(e.source ? { source: e.source } : {}) })),
    });
    result.logs.dmesg = job.raw.dmesg;
    if (job.raw.kmemleak !== undefined) result.logs.kmemleak = job.raw.kmemleak;
    result.logs.test = job.raw.test ? job.raw.test.stdout + job.raw.test.stderr : undefined;
  } catch (error) {
    const e = asHarnessError(error);
    result.outcome = e.outcome;
    result.errorCode = e.code;
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
      result.logs.console = await readFile(s.info.consoleLog, 'utf8').catch(() => undefined);
      await timed('teardown', () => s.close());
    }
    await work.remove();
    result.stages.total = Math.round(performance.now() - started);
    emit({ type: 'kernel-end', kernel: result.kernel, outcome: result.outcome, ms: result.stages.total });
  }
  return result;
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
