// useKernels(): the kernels of the config (or the ones asked for) as VMs a test file runs its
// module on. The VMs are the globalSetup's when it booted them (one per kernel for the whole
// vitest run), else the file boots its own in beforeAll and powers them off in afterAll.
import path from 'node:path';
import { afterAll, beforeAll, inject } from 'vitest';
import { runSettings } from '../commands/run.js';
import type { LifecycleConfig, TimeoutsConfig } from '../config/define.js';
import type { RunSettings } from '../config/settings.js';
import type { ExecResult } from '../guest/ssh.js';
import { defaultSeries, knownSeries } from '../kernel/index.js';
import { absoluteKernelSpec, parseKernels } from '../kernel/selection.js';
import type { Outcome } from '../outcome.js';
import { buildJob, connectSession, consoleReader, runBuilt, type JobOutcome, type SessionInfo } from '../session.js';
import { parseStageMarker } from '../verdict/kmsg.js';
import { makeWorkDir } from '../workdir.js';
import { bootSlots, type KernelSlot } from './slots.js';
import { buildableNames } from '../kernel-build/index.js';

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
  stdout: string;
  stderr: string;
  /** The kernel log of this cycle, one line per record, the harness's stage markers left out. */
  kernelLog: string[];
  kernelErrors: JobOutcome['kernelErrors'];
  /** Everything the verdict saw. */
  job: JobOutcome;
}

export interface KernelVm {
  /** The kernel as named in the config or asked for. */
  readonly series: string;
  /** uname -r when already booted (a globalSetup's VM), else the series: for test titles. */
  readonly name: string;
  /** The booted session; throws the boot error for a kernel that did not boot. */
  session(): SessionInfo;
  /** Build the module and test for this kernel and run one cycle on the VM. */
  run(options?: RunModuleOptions): Promise<ModuleRun>;
  /** A shell command in the guest (as root). */
  exec(command: string, options?: { timeoutMs?: number }): Promise<ExecResult>;
}

export interface UseKernelsOptions {
  /** Kernels for this file: series, 'all', buildroot:<dir>, local:<bzImage>,<build> (default: the config's). */
  kernels?: string | string[];
  /** Config file (default: kmod-harness.config.ts found from the working directory). */
  config?: string;
  /** Time allowed for booting the file's own VMs (default 600 s). */
  bootTimeoutMs?: number;
}

let jobs = 0;

function kernelLogOf(job: JobOutcome): string[] {
  return job.records.filter((r) => parseStageMarker(r.text.trim()) === undefined).map((r) => r.text);
}

function vmOn(slot: () => KernelSlot, series: string, settings: RunSettings): KernelVm {
  const session = () => {
    const s = slot();
    if (!s.info) throw new Error(s.error ?? `kernel ${series} has not booted (useKernels() boots it in beforeAll: call vm.run() inside a test)`);
    return s.info;
  };
  return {
    series,
    get name() {
      return slot().info?.release ?? series;
    },
    session,
    async run(options = {}) {
      const info = session();
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
      const work = await makeWorkDir('kmod-harness-vitest-');
      try {
        const built = await buildJob(info.kernel, source, work.path, { timeouts: settings.timeouts });
        const conn = await connectSession(info);
        try {
          const job = await runBuilt(conn, consoleReader(info), built, `${process.pid}-${++jobs}`, {
            testArgs: options.testArgs ?? settings.testArgs,
            timeouts,
            lifecycle: { ...settings.lifecycle, ...options.lifecycle },
            expectKernelLog: options.expectKernelLog ?? settings.expectKernelLog,
            kmemleak: info.traits.kmemleak,
          });
          return {
            kernel: info.release,
            outcome: job.outcome,
            reasons: job.reasons,
            exitCode: job.raw.test?.exitCode ?? null,
            signal: job.raw.test?.signal ?? null,
            stdout: job.raw.test?.stdout ?? '',
            stderr: job.raw.test?.stderr ?? '',
            kernelLog: kernelLogOf(job),
            kernelErrors: job.kernelErrors,
            job,
          };
        } finally {
          conn.close();
        }
      } finally {
        await work.remove();
      }
    },
    async exec(command, options = {}) {
      const conn = await connectSession(session());
      try {
        return await conn.exec(command, { timeoutMs: options.timeoutMs ?? 60_000, stage: 'exec' });
      } finally {
        conn.close();
      }
    },
  };
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
      : parseKernels(Array.isArray(options.kernels) ? options.kernels.join(',') : options.kernels, knownSeries(), defaultSeries(), buildableNames(settings.kernelBuilds)).map((k) => absoluteKernelSpec(k, process.cwd()));
  const shared = new Map((provided?.slots ?? []).map((s) => [s.series, s]));
  if (wanted.every((k) => shared.has(k))) return wanted.map((k) => vmOn(() => shared.get(k)!, k, settings));

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
  return wanted.map((k, i) => vmOn(() => own[i]!, k, settings));
}
