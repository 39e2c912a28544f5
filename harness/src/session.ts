// A booted guest for one kernel that runs jobs in turn. The CLI opens one per kernel per run;
// the vitest globalSetup opens one per kernel and hands its serialisable `info` to test
// files, which connect on their own and run their jobs on it.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { buildModule, type BuiltModule } from './build/kbuild.js';
import { buildTest, type BuiltTest } from './build/userland.js';
import { BuildError, HarnessError } from './errors.js';
import { silent, type Emit } from './events.js';
import { bootGuest, type BootKind, type Guest } from './guest/boot.js';
import { cacheRoot } from './cache/store.js';
import { guestStateCommand, parseGuestState } from './guest/clean-check.js';
import { runJob, type JobRaw } from './guest/job.js';
import { connectGuest, withExecDefaults, type GuestConnection } from './guest/ssh.js';
import { buildImage } from './image/initramfs.js';
import type { KernelArtifacts } from './kernel/index.js';
import { bootSlowness, kernelTraits, type KernelTraits } from './kernel/traits.js';
import { chooseAccel, type AccelChoice } from './qemu/accel.js';
import { strictBootParams } from './qemu/args.js';
import { prepareToolchain, type Toolchain } from './toolchain/index.js';
import { parseExpectations } from './verdict/expect.js';
import { judgeJob, lateKernelErrors, type JobVerdict, type JudgedError, type ResultSubtest } from './verdict/judge.js';
export type { ResultSubtest } from './verdict/judge.js';
import { kernelErrorReasons } from './verdict/verdict.js';
import { moduleLeaks, readFuncSymbols, symbolizeAddress, type FuncSymbol } from './verdict/leaks.js';
import { symbolize, type SourceLocation } from './verdict/symbolize.js';
import { archOf, type Arch } from './arch.js';
import { crossBinutil } from './host/tools.js';
import { withDeadline } from './util/timers.js';
import { makeWorkDir } from './util/workdir.js';
import { DEFAULT_LIFECYCLE, DEFAULT_TIMEOUTS, type Lifecycle, type Timeouts } from './limits.js';

export { DEFAULT_LIFECYCLE, DEFAULT_TIMEOUTS, type Lifecycle, type Timeouts } from './limits.js';

/**
 * How a session was booted, serialisable: a replacement for a spent VM (vitest/vm-lane.ts)
 * boots with exactly these.
 */
export interface BootSettings {
  accel: AccelChoice;
  memoryMiB: number;
  cpus: number;
  bootParams: string[];
  strict: boolean;
  bootTimeoutS: number;
  /** Boot from a snapshot of the configuration (guest/snapshot.ts). */
  snapshot: boolean;
  cacheRoot?: string;
  outputLimitBytes?: number;
}

/** What a separate process needs to use a running session. */
export interface SessionInfo {
  series: string;
  release: string;
  /** The guest's architecture. */
  arch: Arch;
  headersDir: string;
  /** The kernel itself (plain data): what buildJob needs to pick its compiler. */
  kernel: KernelArtifacts;
  sshPort: number;
  privateKey: string;
  hostKey: string;
  consoleLog: string;
  accel: string;
  accelReason: string;
  stageMs: { image: number; boot: number; ssh: number };
  /** Booted cold, cold then saved as a snapshot and restored, or restored from one. */
  bootKind: BootKind;
  /** A restored guest's boot id, distinct per restore (/run/kmod-harness/boot-id in the guest). */
  nonce?: string;
  /** What the kernel's .config enables that changes a job (kmemleak: scan after rmmod). */
  traits: KernelTraits;
  /** The modules in /proc/modules right after boot: a later job's may not be left among them. */
  baseModules: string[];
  /** /proc/sys/kernel/tainted right after boot. */
  baseTaint: number;
  /** The options it was booted with. */
  boot: BootSettings;
}

export interface Session {
  info: SessionInfo;
  guest: Guest;
  /** Power off, kill QEMU, remove the work dir. Idempotent. */
  close(): Promise<void>;
}

export interface SessionOptions {
  accel?: AccelChoice;
  memoryMiB?: number;
  cpus?: number;
  bootParams?: string[];
  /** Strict boot parameters (qemu/args.ts STRICT_BOOT_PARAMS); default true. */
  strict?: boolean;
  bootTimeoutS?: number;
  /** Boot from a snapshot of the boot configuration, made by the first boot (default true). */
  snapshot?: boolean;
  cacheRoot?: string;
  emit?: Emit;
  /** Cancels the boot: QEMU is killed and openSession rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Bytes kept of each captured output (test stdout, stderr, serial console), head and tail (default 16 MiB). */
  outputLimitBytes?: number;
}

export async function openSession(kernel: KernelArtifacts, options: SessionOptions = {}): Promise<Session> {
  const emit = options.emit ?? silent;
  const traits = kernelTraits(await readFile(kernel.config, 'utf8').catch(() => ''));
  const work = await makeWorkDir();
  try {
    const imageStart = performance.now();
    emit({ type: 'stage-start', stage: 'image', kernel: kernel.release });
    const [image, accel] = await Promise.all([
      buildImage(kernel, options.cacheRoot, { emit, ...(options.signal ? { signal: options.signal } : {}) }),
      chooseAccel(options.accel ?? 'auto', kernel.vmlinuz, options.cacheRoot, archOf(kernel)),
    ]);
    const imageMs = Math.round(performance.now() - imageStart);
    emit({ type: 'stage-end', stage: 'image', kernel: kernel.release, ms: imageMs, detail: image.hit ? 'cached' : 'built' });
    emit({ type: 'info', kernel: kernel.release, message: `accelerator: ${accel.accel} (${accel.reason})` });
    emit({ type: 'stage-start', stage: 'boot', kernel: kernel.release });
    const consoleLog = path.join(work.path, 'console.log');
    const guest = await bootGuest({
      vmlinuz: kernel.vmlinuz,
      image,
      arch: archOf(kernel),
      accel: accel.accel,
      memoryMiB: options.memoryMiB ?? 512,
      cpus: options.cpus ?? 2,
      // A KASAN kernel boots ~3x slower: its own hung-boot detector and boot timeout.
      bootTimeoutMs: (options.bootTimeoutS ?? DEFAULT_TIMEOUTS.bootS) * 1000 * bootSlowness(traits),
      slowness: bootSlowness(traits),
      strictParams: strictBootParams(traits),
      kunit: traits.kunit,
      workDir: work.path,
      consoleLog,
      onRetry: (message) => emit({ type: 'warn', kernel: kernel.release, message }),
      onWarn: (message) => emit({ type: 'warn', kernel: kernel.release, message }),
      ...(options.snapshot === false ? {} : { snapshot: { root: options.cacheRoot ?? cacheRoot(), label: kernel.release } }),
      ...(options.bootParams ? { bootParams: options.bootParams } : {}),
      ...(options.strict === false ? { strict: false } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.outputLimitBytes !== undefined ? { consoleLimitBytes: options.outputLimitBytes } : {}),
    });
    emit({
      type: 'stage-end',
      stage: 'boot',
      kernel: kernel.release,
      ms: guest.stageMs.boot + guest.stageMs.ssh,
      detail: `${BOOT_KIND_WORDS[guest.bootKind]}, console ready ${guest.stageMs.boot} ms, ssh ${guest.stageMs.ssh} ms`,
    });
    const base = await bootBaseline(guest);
    let closing: Promise<void> | undefined;
    return {
      info: {
        series: kernel.series,
        release: kernel.release,
        arch: archOf(kernel),
        headersDir: kernel.headersDir,
        kernel,
        sshPort: guest.vm.sshPort,
        privateKey: guest.keys.privateKey,
        hostKey: image.hostKey,
        consoleLog,
        accel: accel.accel,
        accelReason: accel.reason,
        stageMs: { image: imageMs, ...guest.stageMs },
        bootKind: guest.bootKind,
        ...(guest.nonce ? { nonce: guest.nonce } : {}),
        traits,
        ...base,
        boot: {
          accel: options.accel ?? 'auto',
          memoryMiB: options.memoryMiB ?? 512,
          cpus: options.cpus ?? 2,
          bootParams: options.bootParams ?? [],
          strict: options.strict ?? true,
          bootTimeoutS: options.bootTimeoutS ?? DEFAULT_TIMEOUTS.bootS,
          snapshot: options.snapshot ?? true,
          ...(options.cacheRoot !== undefined ? { cacheRoot: options.cacheRoot } : {}),
          ...(options.outputLimitBytes !== undefined ? { outputLimitBytes: options.outputLimitBytes } : {}),
        },
      },
      guest,
      close() {
        closing ??= guest.shutdown().finally(() => work.remove());
        return closing;
      },
    };
  } catch (error) {
    await work.remove();
    throw error;
  }
}

const BOOT_KIND_WORDS: Record<BootKind, string> = { cold: 'cold boot', saved: 'cold boot saved as a snapshot, restored', restored: 'restored from a snapshot' };

/** The modules and taint of a guest just booted, for later clean checks; powers it off when they cannot be read. */
async function bootBaseline(guest: Guest): Promise<Pick<SessionInfo, 'baseModules' | 'baseTaint'>> {
  try {
    const result = await guest.conn.exec(guestStateCommand(), { timeoutMs: 20_000, stage: 'baseline' });
    const state = parseGuestState(result.stdout);
    if (!state.complete || state.taint === undefined) {
      throw new HarnessError(
        'E_BASELINE',
        'infra-error',
        `the guest booted but could not read its taint and modules (exit ${result.exitCode ?? result.signal}): ${result.stderr.trim().split('\n')[0] ?? ''}`,
        {
          fix: 'the console log shows the guest; a root image without ls, grep or /proc cannot be used',
        },
      );
    }
    return { baseModules: state.modules.map((m) => m.name), baseTaint: state.taint };
  } catch (error) {
    await guest.shutdown();
    throw error;
  }
}

/**
 * Build (`building`) and boot side by side: the build needs only the headers, the image and
 * boot only the kernel. A failed build needs no guest, so it cancels the boot. `keep` gets the
 * session as soon as it is up: the caller closes it, whatever else fails. Throws the build's
 * error before the boot's.
 */
export async function bootBesideBuild<T>(
  building: Promise<T>,
  kernel: KernelArtifacts,
  options: SessionOptions,
  keep: (session: Session) => void,
): Promise<{ built: T; session: Session }> {
  const noGuest = new AbortController();
  building.catch(() => noGuest.abort(new Error('the build failed')));
  const booting = openSession(kernel, { ...options, signal: noGuest.signal }).then((session) => {
    keep(session);
    return session;
  });
  const [built, opened] = await Promise.allSettled([building, booting]);
  if (built.status === 'rejected') throw built.reason;
  if (opened.status === 'rejected') throw opened.reason;
  return { built: built.value, session: opened.value };
}

/** A second connection to a running session, e.g. from a vitest worker. */
export function connectSession(info: SessionInfo, timeoutMs = 20_000): Promise<GuestConnection> {
  return connectGuest({ port: info.sshPort, privateKey: info.privateKey, hostKey: info.hostKey, timeoutMs });
}

export interface Built {
  module: BuiltModule;
  test: BuiltTest;
}

export interface BuildJobOptions {
  /** The kernel's compiler, if already prepared (or being prepared); else buildJob prepares it. */
  toolchain?: Toolchain | Promise<Toolchain>;
  cacheRoot?: string;
  emit?: Emit;
  /** The stage limits used: toolchainS, buildS, testBuildS (default DEFAULT_TIMEOUTS). */
  timeouts?: Partial<Timeouts>;
  signal?: AbortSignal;
}

/**
 * Build the module (kbuild, with the kernel's compiler: see prepareToolchain) and the test
 * (static, host gcc) side by side into buildDir, each within its time limit. A failure of one
 * cancels the other: nothing is waited for that cannot change the outcome.
 */
export async function buildJob(
  kernel: KernelArtifacts,
  source: { moduleDir: string; test: string },
  buildDir: string,
  options: BuildJobOptions = {},
): Promise<Built> {
  const t = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const failed = new AbortController();
  const parent = options.signal ? AbortSignal.any([options.signal, failed.signal]) : failed.signal;
  const fix = (what: string, field: string, flag: string) => ({
    parent,
    fix: `${what} ran longer than its limit: find what hangs (its log is in the report), or raise timeouts.${field} / ${flag}`,
  });
  const toolchain =
    options.toolchain ??
    withDeadline(
      'toolchain',
      t.toolchainS,
      (signal) =>
        prepareToolchain(kernel, { signal, ...(options.cacheRoot ? { cacheRoot: options.cacheRoot } : {}), ...(options.emit ? { emit: options.emit } : {}) }),
      fix('making the compiler root', 'toolchain', '--toolchain-timeout'),
    );
  const cancelled = new Error('cancelled: the other build failed');
  const stopOther = (error: unknown): never => {
    if (error !== cancelled) failed.abort(cancelled);
    throw error;
  };
  const [module, test] = await Promise.allSettled([
    Promise.resolve(toolchain)
      .then((tc) =>
        withDeadline(
          'build',
          t.buildS,
          (signal) =>
            buildModule({
              sourceDir: source.moduleDir,
              buildDir: path.join(buildDir, 'module'),
              headersDir: kernel.headersDir,
              toolchain: tc,
              cacheRoot: options.cacheRoot ?? cacheRoot(),
              signal,
            }),
          fix("the module's build", 'build', '--build-timeout'),
        ),
      )
      .catch(stopOther),
    withDeadline(
      'test-build',
      t.testBuildS,
      (signal) => buildTest({ source: source.test, buildDir: path.join(buildDir, 'test'), arch: archOf(kernel), signal }),
      fix("the test's build", 'testBuild', '--test-build-timeout'),
    ).catch(stopOther),
  ]);
  if (module.status === 'rejected' && !(module.reason === cancelled && test.status === 'rejected')) throw module.reason;
  if (test.status === 'rejected') {
    // Keep the module's log too: the report shows the whole build.
    if (test.reason instanceof BuildError && module.status === 'fulfilled')
      throw new BuildError(test.reason.message, test.reason.diagnostics, `${module.value.log}\n${test.reason.log}`, {
        ...(test.reason.fix ? { fix: test.reason.fix } : {}),
      });
    throw test.reason;
  }
  if (module.status === 'rejected') throw module.reason;
  return { module: module.value, test: test.value };
}

export interface JobOutcome extends JobVerdict {
  /** Kernel errors, with the module frames mapped to source lines where the .ko's debug info allows. */
  kernelErrors: Array<JobVerdict['kernelErrors'][number] & { source?: SourceLocation[] }>;
  raw: JobRaw;
}

/** kmemleak reports no object younger than this (MSECS_MIN_AGE, 5 s), plus a margin. */
export const KMEMLEAK_MIN_AGE_MS = 5_500;

/** Upload, load, test, unload and judge one built job on a guest. */
export async function runBuilt(
  conn: GuestConnection,
  consoleText: () => Promise<string>,
  built: Built,
  jobId: string,
  options: {
    testArgs?: string[];
    timeouts?: Partial<Timeouts>;
    lifecycle?: Partial<Lifecycle>;
    expectKernelLog?: readonly string[];
    kmemleak?: boolean;
    outputLimitBytes?: number;
  } = {},
): Promise<JobOutcome> {
  const t = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const lifecycle = { ...DEFAULT_LIFECYCLE, ...options.lifecycle };
  // The limit reaches every command of the job (job.ts need not pass it).
  const limited = options.outputLimitBytes === undefined ? conn : withExecDefaults(conn, { maxOutputBytes: options.outputLimitBytes });
  const raw = await runJob(limited, {
    id: jobId,
    kos: built.module.strippedKos,
    names: built.module.names,
    testBinary: built.test.binary,
    ...(options.testArgs ? { testArgs: options.testArgs } : {}),
    timeouts: { uploadMs: t.uploadS * 1000, loadMs: t.loadS * 1000, testMs: t.testS * 1000, unloadMs: t.unloadS * 1000 },
    settleMs: t.settleS * 1000,
    reloads: lifecycle.reloads,
    leftovers: lifecycle.leftovers,
    ...(options.kmemleak ? { leakScan: { minAgeMs: KMEMLEAK_MIN_AGE_MS, timeoutMs: t.unloadS * 1000 } } : {}),
  });
  const expected = [...(built.test.expectedKmsg === undefined ? [] : parseExpectations(built.test.expectedKmsg)), ...(options.expectKernelLog ?? [])];
  const kos = new Map(built.module.names.map((name, i) => [name, built.module.kos[i]!]));
  const symbols = raw.sections.length > 0 ? await readFuncSymbols(kos).catch(() => new Map<string, FuncSymbol[]>()) : new Map<string, FuncSymbol[]>();
  const leaks = raw.kmemleak ? moduleLeaks(raw.kmemleak, built.module.names, raw.sections, symbols) : [];
  const verdict = judgeJob(raw, jobId, await consoleText(), {
    expected,
    leaks,
    modules: built.module.names,
    locate: (address) => symbolizeAddress(address, raw.sections, symbols),
  });
  const kernelErrors = await withSources(verdict.kernelErrors, built, kos);
  const { from, to } = built.module.pathMap;
  return { ...verdict, reasons: verdict.reasons.map((r) => r.split(`${from}/`).join(`${to}/`)), kernelErrors, raw };
}

/** Each error with the module frames mapped to source lines, and the user's paths in UBSAN titles. */
async function withSources(errors: readonly JudgedError[], built: Built, kos: Map<string, string>): Promise<JobOutcome['kernelErrors']> {
  const { from, to } = built.module.pathMap;
  return Promise.all(
    errors.map(async (e) => {
      // The title's frame (WARNING/RIP) is the faulting address; trace frames are return addresses.
      const lines = [
        { text: e.title, returnAddress: false },
        ...(e.freedText ? [{ text: e.freedText, returnAddress: false }] : []),
        ...e.trace.map((text) => ({ text, returnAddress: !/^\s*(?:RIP:|pc\s*:)/.test(text) })),
      ];
      const source = await symbolize(lines, kos, crossBinutil('addr2line', built.module.crossCompile) ?? 'addr2line').catch(() => []);
      // gcc 12's -ffile-prefix-map does not reach UBSAN's source locations: name the user's file.
      const mapped = e.title.includes(`${from}/`) ? { ...e, title: e.title.split(`${from}/`).join(`${to}/`) } : e;
      return source.length ? { ...mapped, source } : mapped;
    }),
  );
}

/**
 * The job's outcome once the guest is off: a report on the console past the job's last marker
 * (a timer that fired after the settle window, a crash at poweroff) fails it as a kernel error
 * at `after-unload`. Unchanged when there is none.
 */
export async function judgeAfterPoweroff(job: JobOutcome, built: Built, jobId: string, consoleText: string): Promise<JobOutcome> {
  const kos = new Map(built.module.names.map((name, i) => [name, built.module.kos[i]!]));
  const symbols = job.raw.sections.length > 0 ? await readFuncSymbols(kos).catch(() => new Map<string, FuncSymbol[]>()) : new Map<string, FuncSymbol[]>();
  const late = lateKernelErrors(consoleText, jobId, job.kernelErrors, (address) => symbolizeAddress(address, job.raw.sections, symbols));
  if (late.length === 0) return job;
  const kernelErrors = [...job.kernelErrors, ...(await withSources(late, built, kos))];
  const reasons = job.outcome === 'kernel-error' ? [...job.reasons, ...kernelErrorReasons(late)] : [...kernelErrorReasons(late), ...job.reasons];
  return {
    ...job,
    outcome: 'kernel-error',
    reasons,
    kernelErrors,
    failedStage: job.outcome === 'kernel-error' && job.failedStage ? job.failedStage : 'after-unload',
  };
}

/** A kernel error as every result carries it: plain data, no log indexes. */
export interface ResultKernelError {
  kind: string;
  title: string;
  module?: string;
  stage?: string;
  /** Blamed through the module's memory after it was unloaded: `sym+0x../0x.. [mod]`. */
  freedText?: string;
  trace: string[];
  source?: SourceLocation[];
}

/** What a judged job says, in the fields every result has (the CLI's KernelResult, vitest's ModuleRun). */
export interface JobSummary {
  outcome: JobOutcome['outcome'];
  reasons: string[];
  exitCode: number | null;
  signal: string | null;
  /** The stage that decided the outcome; undefined on a pass. */
  failedStage?: string;
  /** The stage that ran out of time, when one did. */
  timedOutStage?: string;
  taint?: { letters: string; stage: string };
  kernelErrors: ResultKernelError[];
  /** The test's TAP/KTAP subtests (flattened, dotted ids); undefined when it printed no TAP. */
  subtests?: ResultSubtest[];
  /** Why the TAP says the test failed, if it does. */
  tapFailure?: string;
}

/** The one mapping from a judged job to a result's fields. */
export function summarizeJob(job: JobOutcome): JobSummary {
  return {
    outcome: job.outcome,
    reasons: job.reasons,
    exitCode: job.raw.test?.exitCode ?? null,
    signal: job.raw.test?.signal ?? null,
    ...(job.failedStage ? { failedStage: job.failedStage } : {}),
    ...(job.raw.timedOutStage ? { timedOutStage: job.raw.timedOutStage } : {}),
    ...(job.taint ? { taint: job.taint } : {}),
    ...(job.subtests ? { subtests: job.subtests } : {}),
    ...(job.tapFailure ? { tapFailure: job.tapFailure } : {}),
    kernelErrors: job.kernelErrors.map((e) => ({
      kind: e.kind,
      title: e.title,
      trace: e.trace,
      ...(e.module ? { module: e.module } : {}),
      ...(e.stage ? { stage: e.stage } : {}),
      ...(e.freedText ? { freedText: e.freedText } : {}),
      ...(e.source ? { source: e.source } : {}),
    })),
  };
}

export function consoleReader(info: Pick<SessionInfo, 'consoleLog'>): () => Promise<string> {
  return () => readFile(info.consoleLog, 'utf8').catch(() => '');
}
