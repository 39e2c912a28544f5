// The checks behind the vitest matchers, as pure functions of what was received: each says
// whether it passed and, either way, what a failure message should show.
import { findInOrder } from '../verdict/expect.js';

/** What toHaveNoKernelErrors reads: a ModuleRun, a KernelResult or a JobOutcome will do. */
export interface HasKernelErrors {
  kernelErrors: ReadonlyArray<{
    kind: string;
    title: string;
    module?: string;
    stage?: string;
    source?: ReadonlyArray<{ file: string; line: number; func?: string }>;
  }>;
  reasons?: readonly string[];
  outcome?: string;
}

/** What toPassAllSubtests reads: a ModuleRun or a KernelResult. */
export interface HasSubtests {
  subtests?: ReadonlyArray<{ id: string; name: string; status: string; diagnostics: readonly string[] }>;
  /** Why the TAP says the test failed: also a plan not finished or a bail-out, with no `not ok`. */
  tapFailure?: string;
}

export interface MatchOutcome {
  pass: boolean;
  message: string;
}

const TAIL = 15;

/** Kernel-log lines from a string (one per line) or an array (one per record). */
function logLines(received: unknown): string[] | undefined {
  if (typeof received === 'string') return received.split(/\r?\n/);
  if (Array.isArray(received) && received.every((l) => typeof l === 'string')) return received;
  if (received && typeof received === 'object' && 'kernelLog' in received) return logLines(received.kernelLog);
  return undefined;
}

const show = (want: string | RegExp) => (typeof want === 'string' ? JSON.stringify(want) : String(want));

/**
 * Each expected line (substring or RegExp) in some kernel-log line, each after the line that
 * matched the one before it: other lines may come between.
 */
export function containKernelLines(received: unknown, expected: ReadonlyArray<string | RegExp>): MatchOutcome {
  const lines = logLines(received);
  if (!lines) return { pass: false, message: 'expected a kernel log (string, string[], or a run with .kernelLog)' };
  const found = findInOrder(lines, expected);
  const i = found.length;
  if (i < expected.length) {
    const lastAt = found.at(-1) ?? -1;
    const from = lastAt + 1;
    const around = lines
      .slice(from, from + TAIL)
      .map((l) => `    ${l}`)
      .join('\n');
    const after = i > 0 ? ` after ${show(expected[i - 1]!)} (line ${lastAt + 1})` : '';
    return {
      pass: false,
      message: `expected the kernel log to contain ${show(expected[i]!)}${after}; ${i} of ${expected.length} line(s) found in order.\n  the log${i > 0 ? ' from there' : ''} (${lines.length - from} line(s)):\n${around || '    (empty)'}`,
    };
  }
  return { pass: true, message: `expected the kernel log not to contain, in order: ${expected.map(show).join(', ')}` };
}

function describeError(e: HasKernelErrors['kernelErrors'][number]): string {
  const where = [e.module ? `in ${e.module}` : '', e.stage ? `during ${e.stage}` : ''].filter(Boolean).join(' ');
  const source = e.source?.[0] ? ` at ${e.source[0].file}:${e.source[0].line}` : '';
  return `  ${e.kind}${where ? ` ${where}` : ''}${source}: ${e.title}`;
}

/** No kernel error (oops, WARN, BUG, KASAN/KFENCE/SLUB report, lockdep, hung task, panic...) was found. */
export function noKernelErrors(received: unknown): MatchOutcome {
  if (!received || typeof received !== 'object' || !Array.isArray((received as HasKernelErrors).kernelErrors)) {
    return { pass: false, message: 'expected a run result with .kernelErrors (from vm.run())' };
  }
  const { kernelErrors, outcome, reasons } = received as HasKernelErrors;
  // New taint without a recognised report is a kernel-error outcome too: a module that taints
  // the kernel silently (a forced load, a TAINT_* it set itself) must not pass this matcher.
  const taint = outcome === 'kernel-error' && kernelErrors.length === 0 ? (reasons ?? []).filter((r) => /taint/i.test(r)) : [];
  if (kernelErrors.length === 0 && taint.length === 0) return { pass: true, message: 'expected kernel errors, found none' };
  const lines = [...kernelErrors.map(describeError), ...taint.map((r) => `  ${r}`)];
  return { pass: false, message: `expected no kernel errors, found ${lines.length}:\n${lines.join('\n')}` };
}

/**
 * The test printed TAP/KTAP and no subtest failed (skips and todos pass), and the TAP itself
 * says nothing failed (a plan the test did not finish, a bail-out): the failure names each.
 */
export function passAllSubtests(received: unknown): MatchOutcome {
  if (!received || typeof received !== 'object') return { pass: false, message: 'expected a run result with .subtests (from vm.run())' };
  const { subtests, tapFailure } = received as HasSubtests;
  if (!subtests) return { pass: false, message: 'expected subtests, but the test printed no TAP or KTAP (a plan line `1..N` or a version line)' };
  const failed = subtests.filter((s) => s.status === 'fail');
  if (failed.length === 0 && tapFailure === undefined)
    return { pass: true, message: `expected a failing subtest, but all ${subtests.length} passed (or were skipped)` };
  const lines = [
    ...failed.map(
      (s) =>
        `  subtest ${s.id}${s.name ? ` "${s.name}"` : ''} failed${s.diagnostics.length ? `:\n${s.diagnostics.map((d) => `      # ${d}`).join('\n')}` : ''}`,
    ),
    ...(tapFailure ? [`  the TAP says: ${tapFailure}`] : []),
  ];
  return { pass: false, message: `expected every subtest to pass, ${failed.length} of ${subtests.length} failed:\n${lines.join('\n')}` };
}
