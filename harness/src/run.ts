// The pipeline for one kernel: kernel -> build (module, test) + image + accelerator ->
// boot -> guest job -> verdict. Every failure becomes a result with an outcome; nothing
// started here outlives the call.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { buildModule, type BuiltModule } from './build/kbuild.js';
import { buildTest, type BuiltTest } from './build/userland.js';
import { asHarnessError, BuildError, type Diagnostic } from './errors.js';
import { silent, type Emit, type Stage } from './events.js';
import { bootGuest, type Guest } from './guest/boot.js';
import { runJob } from './guest/job.js';
import { buildImage } from './image/initramfs.js';
import { prepareKernel, type KernelArtifacts } from './kernel/index.js';
import type { Outcome } from './outcome.js';
import { chooseAccel, type AccelChoice } from './qemu/accel.js';
import { judgeJob } from './verdict/judge.js';
import { makeWorkDir } from './workdir.js';

export interface Timeouts {
  bootS: number;
  loadS: number;
  testS: number;
  unloadS: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { bootS: 60, loadS: 30, testS: 120, unloadS: 30 };

export interface RunOptions {
  moduleDir: string;
  test: string;
  testArgs?: string[];
  accel?: AccelChoice;
  timeouts?: Partial<Timeouts>;
  memoryMiB?: number;
  cpus?: number;
  bootParams?: string[];
  emit?: Emit;
  cacheRoot?: string;
}

export interface KernelResult {
  /** Exact kernel release (uname -r), or the series when the kernel could not be fetched. */
  kernel: string;
  series: string;
  outcome: Outcome;
  reasons: string[];
  exitCode: number | null;
  signal: string | null;
  kernelErrors: Array<{ kind: string; title: string; module?: string; trace: string[] }>;
  diagnostics: Diagnostic[];
  accel?: string;
  stages: Partial<Record<Stage | 'upload', number>>;
  logs: { console?: string; dmesg?: string; test?: string; build?: string };
}

function emptyResult(series: string): KernelResult {
  return { kernel: series, series, outcome: 'infra-error', reasons: [], exitCode: null, signal: null, kernelErrors: [], diagnostics: [], stages: {}, logs: {} };
}

export async function runOnKernel(series: string, options: RunOptions): Promise<KernelResult> {
  const emit = options.emit ?? silent;
  const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const result = emptyResult(series);
  const work = await makeWorkDir();
  let guest: Guest | undefined;
  const stage = async <T>(name: Stage, fn: () => Promise<T>): Promise<T> => {
    emit({ type: 'stage-start', stage: name, kernel: result.kernel });
    const start = performance.now();
    try {
      return await fn();
    } finally {
      result.stages[name] = Math.round(performance.now() - start);
      emit({ type: 'stage-end', stage: name, kernel: result.kernel, ms: result.stages[name]! });
    }
  };

  try {
    const kernel: KernelArtifacts = await stage('kernel', () =>
      prepareKernel(series, { emit, ...(options.cacheRoot ? { cacheRoot: options.cacheRoot } : {}) }),
    );
    result.kernel = kernel.release;

    // Builds, image and the accelerator probe do not depend on each other.
    const [built, image, accel] = await Promise.all([
      stage('build', async () => {
        const outcome = await Promise.allSettled([
          buildModule({ sourceDir: options.moduleDir, buildDir: path.join(work.path, 'module'), headersDir: kernel.headersDir }),
          buildTest({ source: options.test, buildDir: path.join(work.path, 'test') }),
        ]);
        result.logs.build = outcome.map((o) => (o.status === 'fulfilled' ? o.value.log : o.reason instanceof BuildError ? o.reason.log : '')).join('\n');
        for (const o of outcome) if (o.status === 'rejected') throw o.reason;
        return { module: (outcome[0] as PromiseFulfilledResult<BuiltModule>).value, test: (outcome[1] as PromiseFulfilledResult<BuiltTest>).value };
      }),
      stage('image', () => buildImage(kernel, options.cacheRoot)),
      chooseAccel(options.accel ?? 'auto', kernel.vmlinuz, options.cacheRoot),
    ]);
    result.accel = accel.accel;
    emit({ type: 'info', kernel: result.kernel, message: `accelerator: ${accel.accel} (${accel.reason})` });

    guest = await stage('boot', () =>
      bootGuest({
        vmlinuz: kernel.vmlinuz,
        image,
        accel: accel.accel,
        memoryMiB: options.memoryMiB ?? 512,
        cpus: options.cpus ?? 2,
        bootTimeoutMs: timeouts.bootS * 1000,
        workDir: work.path,
        consoleLog: path.join(work.path, 'console.log'),
        ...(options.bootParams ? { bootParams: options.bootParams } : {}),
      }),
    );
    result.stages.ssh = guest.stageMs.ssh;

    const jobId = 'job1';
    const g = guest;
    emit({ type: 'stage-start', stage: 'test', kernel: result.kernel, detail: 'upload, insmod, test, rmmod' });
    const raw = await runJob(g.conn, {
        id: jobId,
        kos: built.module.kos,
        names: built.module.names,
        testBinary: built.test.binary,
        ...(options.testArgs ? { testArgs: options.testArgs } : {}),
        timeouts: { loadMs: timeouts.loadS * 1000, testMs: timeouts.testS * 1000, unloadMs: timeouts.unloadS * 1000 },
    });
    for (const [k, ms] of Object.entries(raw.stageMs)) result.stages[k as Stage] = ms;
    emit({ type: 'stage-end', stage: 'test', kernel: result.kernel, ms: raw.stageMs.test ?? 0, detail: Object.entries(raw.stageMs).map(([k, v]) => `${k} ${v} ms`).join(', ') });
    const verdict = judgeJob(raw, jobId, guest.vm.console(), built.test.expectedKmsg);
    Object.assign(result, {
      outcome: verdict.outcome,
      reasons: verdict.reasons,
      exitCode: raw.test?.exitCode ?? null,
      signal: raw.test?.signal ?? null,
      kernelErrors: verdict.kernelErrors.map((e) => ({ kind: e.kind, title: e.title, trace: e.trace, ...(e.module ? { module: e.module } : {}) })),
    });
    result.logs.dmesg = raw.dmesg;
    result.logs.test = raw.test ? raw.test.stdout + raw.test.stderr : undefined;
  } catch (error) {
    const e = asHarnessError(error);
    result.outcome = e.outcome;
    result.reasons = [e.message, ...(e.fix ? [`fix: ${e.fix}`] : [])];
    if (e instanceof BuildError) result.diagnostics = e.diagnostics;
  } finally {
    if (guest) {
      const g = guest;
      await stage('teardown', () => g.shutdown());
    }
    result.logs.console = await readFile(path.join(work.path, 'console.log'), 'utf8').catch(() => undefined);
    await work.remove();
  }
  return result;
}

export async function run(series: string[], options: RunOptions): Promise<KernelResult[]> {
  const results: KernelResult[] = [];
  for (const s of series) results.push(await runOnKernel(s, options));
  return results;
}
