// The one outcome of a run, from what each stage returned and what the kernel log showed.
// Every failure found becomes a reason, in precedence order; the first one names the outcome,
// so a test killed by an oops reports `kernel-error` with the test's death as a later reason.
import type { Outcome } from '../outcome.js';
import type { KernelError } from './detect.js';
import type { MatchResult } from './expect.js';
import { taintMeanings } from './taint.js';

export interface CommandResult {
  exitCode: number | null;
  output: string;
}

export interface VerdictInput {
  /** insmod. */
  load: CommandResult;
  /** The userland test; undefined when it was not reached. */
  test?: CommandResult & { signal?: string | null };
  /** rmmod; undefined when it was not reached. */
  unload?: CommandResult;
  /** Each load and unload after the first; unload undefined when that insmod failed. */
  reloads?: Array<{ load: CommandResult; unload?: CommandResult }>;
  kernelErrors: Array<KernelError & { freedText?: string; stage?: string }>;
  /** Newly set taint bits, already filtered of the allowed ones (see newTaint). */
  taint: { letters: string; stage?: string } | undefined;
  expectations?: MatchResult;
  /** The test's TAP/KTAP, when it printed some: why it says the test failed (tap.ts tapVerdict). */
  subtests?: { reason?: string };
  /** The module's KUnit suites, when they ran at load (kunit.ts): why they failed then, and on the last reload. */
  kunit?: { reason?: string; onReload?: string };
  /** The stage that ran out of time, e.g. `test:read`. */
  timedOutStage?: string;
}

export interface Verdict {
  outcome: Outcome;
  reasons: string[];
  /**
   * The stage that decided the outcome (the first kernel error's, the taint's, the one that timed
   * out, load, test, unload or reload); undefined on a pass. Reporters read this, not the reasons.
   */
  failedStage?: string;
}

/** Kernel-error reasons listed one by one before the rest are summarised. */
const MAX_ERROR_REASONS = 5;
const MAX_DETAIL = 160;

function lastLine(output: string): string | undefined {
  const line = output
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .at(-1);
  if (line === undefined) return undefined;
  return line.length > MAX_DETAIL ? `${line.slice(0, MAX_DETAIL - 1)}…` : line;
}

/**
 * kselftest's exit status for a test that skipped (ktest.h KTEST_SKIP): the module or the guest
 * lacked what it needed. A run where nothing was tested must not pass, so it fails, saying so.
 */
const KSFT_SKIP = 4;

function commandFailure(name: string, result: CommandResult, signal?: string | null): string | undefined {
  let what: string;
  if (signal) what = `${name} killed by ${signal}`;
  else if (result.exitCode === null) what = `${name} ended without an exit status`;
  else if (result.exitCode === KSFT_SKIP && name === 'test')
    what = `test exited with status ${KSFT_SKIP}, kselftest's skip: it tested nothing, which is no pass`;
  else if (result.exitCode !== 0) what = `${name} exited with status ${result.exitCode}`;
  else return undefined;
  const detail = lastLine(result.output);
  return detail === undefined ? what : `${what}: ${detail}`;
}

export function kernelErrorReasons(errors: ReadonlyArray<KernelError & { freedText?: string }>): string[] {
  const reasons = errors.slice(0, MAX_ERROR_REASONS).map((e) => {
    // The title names the module and the entry it left.
    if (e.kind === 'leftover') return e.title;
    if (e.freedText !== undefined) return `${e.title} (module ${e.module}: at ${e.freedText}, in the module's memory after it was unloaded)`;
    // Still a failure: the module may have caused it (a bad pointer it passed on, a lock it took).
    if (e.module === undefined) return `${e.title} (in the kernel itself: no frame of a module in the report)`;
    return e.title.includes(`[${e.module}]`) ? e.title : `${e.title} (module ${e.module})`;
  });
  const rest = errors.length - MAX_ERROR_REASONS;
  if (rest > 0) reasons.push(`… and ${rest} more kernel error report${rest === 1 ? '' : 's'}`);
  return reasons;
}

function expectationReason(result: MatchResult | undefined): string | undefined {
  if (result === undefined || result.ok) return undefined;
  const where = result.after === undefined ? '' : ` after '${result.after}'`;
  return `expected kernel-log line '${result.missing}' not found${where}`;
}

/**
 * Precedence: kernel errors or forbidden new taint (the root cause even when the test also
 * failed) > timeout > insmod failure > a failed KUnit case at load > test failure (non-zero
 * exit, signal, missing expected log line) > rmmod failure > a failed insmod or rmmod or
 * KUnit case on reload > pass.
 */
export function decide(input: VerdictInput): Verdict {
  const tiers: Array<[Outcome, string | undefined, string[]]> = [];
  const add = (outcome: Outcome, stage: string | undefined, ...reasons: Array<string | undefined>): void => {
    const present = reasons.filter((r): r is string => r !== undefined);
    if (present.length > 0) tiers.push([outcome, stage, present]);
  };

  const taint = input.taint?.letters ?? '';
  add(
    'kernel-error',
    input.kernelErrors.find((e) => e.stage !== undefined)?.stage ?? (taint === '' ? undefined : input.taint?.stage),
    ...kernelErrorReasons(input.kernelErrors),
    taint === '' ? undefined : `new taint: ${taint} (${taintMeanings(taint).join('; ')})${input.taint?.stage ? ` after ${input.taint.stage}` : ''}`,
  );
  const timedOut = input.timedOutStage;
  add('timeout', timedOut?.split(':')[0], timedOut === undefined ? undefined : `timed out during ${timedOut}`);
  // The command the harness killed for running too long failed because of that; say it once.
  const killed = (stage: string): boolean => timedOut !== undefined && (timedOut === stage || timedOut.startsWith(`${stage}:`));

  // An upload that ran out of time never got to insmod.
  const loadFailure = killed('load') || killed('upload') ? undefined : commandFailure('insmod', input.load);
  add('load-failed', 'load', loadFailure);
  // A KUnit case is a test of the module, run by insmod: a failed one fails the test at load.
  add('test-failed', 'load', input.kunit?.reason && `KUnit: ${input.kunit.reason}`);
  if (input.test !== undefined && !killed('test')) {
    add('test-failed', 'test', commandFailure('test', input.test, input.test.signal));
    // A `not ok` fails the test even when it exits 0: TAP is the test's own account.
    add('test-failed', 'test', input.subtests?.reason);
  }
  // With the module not loaded, a missing module log line is a consequence, not a cause.
  if (loadFailure === undefined) add('test-failed', 'test', expectationReason(input.expectations));
  if (input.unload !== undefined && !killed('unload')) {
    add('unload-failed', 'unload', commandFailure('rmmod', input.unload));
  }
  for (const [i, reload] of (input.reloads ?? []).entries()) {
    if (killed('reload')) break;
    const which = (input.reloads?.length ?? 0) > 1 ? `reload ${i + 1}` : 'reload';
    const load = commandFailure('insmod', reload.load);
    add('load-failed', 'reload', load && `on ${which} (the first load and unload succeeded): ${load}`);
    if (i === (input.reloads?.length ?? 0) - 1) add('test-failed', 'reload', input.kunit?.onReload && `KUnit on ${which}: ${input.kunit.onReload}`);
    if (reload.unload) {
      const unload = commandFailure('rmmod', reload.unload);
      add('unload-failed', 'reload', unload && `on ${which}: ${unload}`);
    }
  }

  if (tiers.length === 0) return { outcome: 'pass', reasons: [] };
  const [outcome, stage] = tiers[0]!;
  return { outcome, reasons: tiers.flatMap(([, , reasons]) => reasons), ...(stage ? { failedStage: stage } : {}) };
}
