// From what one guest job returned to its verdict: pick the job's part of the kernel log
// (dmesg, and the serial console for what dmesg lost or never got: a wrapped ring buffer, a
// guest that died), find kernel errors and new taint, the registrations the module left
// behind, check the expected log lines of the test stage, and decide.
import type { JobRaw } from '../job-raw.js';
import { detectKernelErrors, type KernelError } from './detect.js';
import { matchInOrder } from './expect.js';
import { kunitInStage } from './kunit.js';
import { parseConsole, parseDmesg, parseStageMarker, sliceStage, stageMarker, type KmsgRecord } from './kmsg.js';
import { leftoverErrors, newEntries } from './leftovers.js';
import { newTaint } from './taint.js';
import { parseTap, tapVerdict, type Subtest, type SubtestStatus } from './tap.js';
import { decide, type CommandResult, type Verdict } from './verdict.js';

/** A kernel error as judged: where in the job it struck, and what in the module it hit. */
export type JudgedError = KernelError & {
  /** The stage (load, test, unload, after-unload, reload, leak-scan) whose markers enclose it. */
  stage?: string;
  /** Blamed through a bare address inside the module's code or data as it was loaded: `sym+0x../0x.. [mod]`. */
  freedText?: string;
  /** Found only on the serial console (dmesg had lost it or was never read). */
  fromConsole?: boolean;
};

/** One subtest as results carry it: nested ones flattened, with dotted ids (`2.3`). */
export interface ResultSubtest {
  id: string;
  name: string;
  status: SubtestStatus;
  diagnostics: string[];
}

/** The tree of subtests, depth first, parents before their children. */
export function flattenSubtests(subtests: readonly Subtest[], into: ResultSubtest[] = []): ResultSubtest[] {
  for (const s of subtests) {
    into.push({ id: s.id, name: s.name, status: s.status, diagnostics: s.diagnostics });
    if (s.children) flattenSubtests(s.children, into);
  }
  return into;
}

export interface JobVerdict extends Verdict {
  kernelErrors: JudgedError[];
  /**
   * The test's TAP/KTAP subtests, when it printed TAP, then the module's KUnit cases as they
   * ran at load (ids `kunit.N...`, verdict/kunit.ts); undefined when there were neither.
   */
  subtests?: ResultSubtest[];
  /** Why the TAP (the test's, then KUnit's) says the test failed (failed subtests, a plan not finished, a bail-out), if it does. */
  tapFailure?: string;
  /** Forbidden taint bits the job set, and the first stage after which they were seen. */
  taint?: { letters: string; stage: string };
  /** The job's kernel log, from its first marker on. */
  records: KmsgRecord[];
  /** Where the records came from. */
  logSource: 'dmesg' | 'console';
}

export interface JudgeOptions {
  /** Kernel-log substrings the test stage must print, in order (expected.kmsg, config). */
  expected?: readonly string[];
  /** The module's kmemleak objects found after rmmod, each one report. */
  leaks?: readonly string[];
  /** The job's module names: leftovers are blamed on a lone module. */
  modules?: readonly string[];
  /** `func+0x../0x.. [mod]` for an address in a module's text as loaded (verdict/leaks.ts symbolizeAddress). */
  locate?: (address: bigint) => string | undefined;
}

/** Records from the job's load marker to the end of the log. */
export function jobRecords(records: KmsgRecord[], jobId: string): KmsgRecord[] {
  const begin = stageMarker(`load:${jobId}`, 'begin');
  const start = records.findIndex((r) => r.text.trim() === begin);
  return start < 0 ? records : records.slice(start);
}

/**
 * The stage whose begin marker last precedes record `index`, unless its end marker came first.
 * Past the job's last marker the module has left (or never loaded): that is `after-unload`.
 */
export function stageAt(records: KmsgRecord[], index: number): string | undefined {
  for (let i = index; i >= 0; i--) {
    const marker = parseStageMarker(records[i]!.text);
    if (!marker) continue;
    // Job markers name `<stage>:<job>`; the stage is the part before the colon.
    const name = marker.stage.split(':')[0]!;
    if (marker.edge === 'begin') return name;
    // After an unload (the first, its settle window, a reload's) the module is gone, whatever
    // comes next; after the job's last marker too. Between load and test it is no stage.
    if (UNLOADED_AFTER.has(name)) return 'after-unload';
    const job = marker.stage.slice(marker.stage.indexOf(':') + 1);
    const later = records.slice(index + 1).some((r) => parseStageMarker(r.text)?.stage.endsWith(`:${job}`));
    return later ? undefined : 'after-unload';
  }
  return undefined;
}

/** Stages whose end leaves the module unloaded. */
const UNLOADED_AFTER = new Set(['unload', 'after-unload', 'reload']);

/** Taint readings in job order, each with the stage it closes. */
const TAINT_POINTS = [
  ['load', 'load'],
  ['test', 'test'],
  ['unload', 'unload'],
  ['settle', 'after-unload'],
  ['reload', 'reload'],
] as const;

/** Newly set forbidden taint bits, named with the first stage after which they were seen. */
export function taintVerdict(taint: JobRaw['taint']): { letters: string; stage: string } | undefined {
  if (taint.before === undefined) return undefined;
  const readings = TAINT_POINTS.filter(([point]) => taint[point] !== undefined);
  for (const [point, stage] of readings) {
    const fresh = newTaint(taint.before, taint[point]!);
    if (fresh.letters) {
      // Bits that appear in later stages too are reported together with the first.
      const last = taint[readings.at(-1)![0]]!;
      return { letters: newTaint(taint.before, last).letters || fresh.letters, stage };
    }
  }
  return undefined;
}

const KERNEL_ADDRESS = /\b(?:0x)?(ffff[0-9a-f]{12})\b/g;

/**
 * A module whose code or data (as loaded) holds an address of the report (`lines`: its title,
 * RIP line, trace): it struck after the module left.
 */
export function blameFreedText(lines: readonly string[], locate: (address: bigint) => string | undefined): string | undefined {
  for (const line of lines) {
    for (const m of line.matchAll(KERNEL_ADDRESS)) {
      const where = locate(BigInt(`0x${m[1]}`));
      if (where) return where;
    }
  }
  return undefined;
}

/** The errors in `records`, each with its stage and, failing a named module, the one whose memory it hit. */
function judgedErrors(records: KmsgRecord[], locate: JudgeOptions['locate']): JudgedError[] {
  return detectKernelErrors(records).map((e): JudgedError => {
    const stage = stageAt(records, e.recordIndex);
    const lines = [e.title, ...records.slice(e.recordIndex, e.endIndex ?? e.recordIndex + 1).map((r) => r.text), ...e.trace];
    return attribute(stage ? { ...e, stage } : e, lines, locate);
  });
}

/** The same report seen in dmesg and on the console counts once. */
function sameReport(a: KernelError, b: KernelError): boolean {
  return a.kind === b.kind && a.title === b.title;
}

// kmemleak's dmesg summary of a scan the harness asked for: the objects themselves (leaks
// below) are what is judged, so a summary of leaks in the kernel alone fails nothing.
const SCAN_SUMMARY = /^kmemleak: \d+ new suspected memory leaks?\b/;

/** The module's kmemleak objects (verdict/leaks.ts moduleLeaks) as records of the leak-scan stage. */
export function leakRecords(leaks: readonly string[], jobId: string): KmsgRecord[] {
  if (leaks.length === 0) return [];
  const lines = leaks.flatMap((block) => block.split('\n'));
  return [stageMarker(`leak-scan:${jobId}`, 'begin'), ...lines, stageMarker(`leak-scan:${jobId}`, 'end')].map((text) => ({ text }));
}

/** A reload cycle as the verdict's commands: rmmod fails too when a module stayed loaded. */
function reloadResult(r: JobRaw['reloads'][number]): { load: CommandResult; unload?: CommandResult } {
  return {
    load: { exitCode: r.load.exitCode, output: r.load.stderr || r.load.stdout },
    ...(r.unload
      ? {
          unload: {
            exitCode: r.stillLoaded.length > 0 && r.unload.exitCode === 0 ? 1 : r.unload.exitCode,
            output: r.stillLoaded.length > 0 ? `still loaded: ${r.stillLoaded.join(' ')}` : r.unload.stderr || r.unload.stdout,
          },
        }
      : {}),
  };
}

/** The console's records of this job; none when the job's first marker never reached it. */
function consoleRecords(consoleText: string, jobId: string): KmsgRecord[] {
  const all = parseConsole(consoleText);
  const begin = stageMarker(`load:${jobId}`, 'begin');
  return all.some((r) => r.text.trim() === begin) ? jobRecords(all, jobId) : [];
}

/** An error blamed on the module whose loaded memory holds one of its addresses, if no module is named. */
function attribute(e: JudgedError, lines: readonly string[], locate: JudgeOptions['locate']): JudgedError {
  if (e.module !== undefined || !locate) return e;
  const where = blameFreedText(lines, locate);
  const module = where ? /\[(\w+)\]$/.exec(where)?.[1] : undefined;
  return where && module ? { ...e, module, freedText: where } : e;
}

/**
 * Reports on the console past the job's last marker that `counted` does not hold yet: read once
 * the guest is off, they struck after the job's last look (stage `after-unload`).
 */
export function lateKernelErrors(consoleText: string, jobId: string, counted: readonly KernelError[], locate?: JudgeOptions['locate']): JudgedError[] {
  const records = consoleRecords(consoleText, jobId);
  let last = records.length - 1;
  while (last >= 0 && parseStageMarker(records[last]!.text)?.stage.endsWith(`:${jobId}`) !== true) last--;
  return judgedErrors(records, locate)
    .filter((e) => e.recordIndex > last && !counted.some((c) => sameReport(c, e)))
    .map((e) => ({ ...e, stage: 'after-unload', fromConsole: true }));
}

export function judgeJob(raw: JobRaw, jobId: string, consoleText: string, options: JudgeOptions = {}): JobVerdict {
  const { expected = [], leaks = [], modules = [], locate } = options;
  const logSource = raw.dmesg === undefined ? 'console' : 'dmesg';
  const records = [...jobRecords(raw.dmesg === undefined ? parseConsole(consoleText) : parseDmesg(raw.dmesg), jobId), ...leakRecords(leaks, jobId)];
  const found = judgedErrors(records, locate);
  // dmesg is a ring: a flood after a report pushes it out, and what struck after dmesg was
  // read is only on the console. A report seen in both counts once.
  if (raw.dmesg !== undefined) {
    for (const e of judgedErrors(consoleRecords(consoleText, jobId), locate)) {
      if (!found.some((f) => sameReport(f, e))) found.push({ ...e, fromConsole: true });
    }
  }
  const kernelErrors = found.filter((e) => !(e.stage === 'leak-scan' && SCAN_SUMMARY.test(e.title)));
  if (raw.entries.before && raw.entries.after) {
    // In job order: the leftovers were seen after the settle, before any reload's reports.
    const at = kernelErrors.findIndex((e) => e.stage === 'reload' || e.stage === 'leak-scan');
    kernelErrors.splice(at < 0 ? kernelErrors.length : at, 0, ...leftoverErrors(newEntries(raw.entries.before, raw.entries.after), modules));
  }
  const taint = taintVerdict(raw.taint);
  // A test cut short by its limit is a timeout: its partial TAP says nothing more.
  const tap = raw.test && !raw.timedOutStage ? parseTap(raw.test.stdout) : undefined;
  const tapResult = tap ? tapVerdict(tap) : undefined;
  // KUnit's suites run inside insmod: a load cut short by its limit printed only part of them.
  const timedOutIn = raw.timedOutStage?.split(':')[0];
  const kunit = timedOutIn === 'load' ? undefined : kunitInStage(records, `load:${jobId}`);
  const kunitReason = kunit?.reason === undefined ? undefined : `KUnit: ${kunit.reason}`;
  // They run again at each reload: a case that fails only then (state left from the first load) fails too.
  const kunitAgain = kunit && !kunit.reason && raw.reloads.length > 0 && timedOutIn !== 'reload' ? kunitInStage(records, `reload:${jobId}`)?.reason : undefined;
  const tapFailure = [tapResult?.reason, kunitReason, kunitAgain && `KUnit on reload: ${kunitAgain}`].filter((r) => r).join('; ');
  const subtests =
    tap || kunit
      ? { subtests: [...flattenSubtests(tap?.subtests ?? []), ...flattenSubtests(kunit?.result.subtests ?? [])], ...(tapFailure ? { tapFailure } : {}) }
      : {};
  const verdict = decide({
    load: { exitCode: raw.load.exitCode, output: raw.load.stderr || raw.load.stdout },
    ...(raw.test ? { test: { exitCode: raw.test.exitCode, signal: raw.test.signal, output: raw.test.stdout + raw.test.stderr } } : {}),
    ...(raw.unload
      ? {
          unload: {
            exitCode: raw.stillLoaded.length > 0 && raw.unload.exitCode === 0 ? 1 : raw.unload.exitCode,
            output: raw.stillLoaded.length > 0 ? `still loaded: ${raw.stillLoaded.join(' ')}` : raw.unload.stderr || raw.unload.stdout,
          },
        }
      : {}),
    kernelErrors,
    taint,
    ...(tapResult ? { subtests: tapResult.reason === undefined ? {} : { reason: tapResult.reason } } : {}),
    ...(kunit ? { kunit: { ...(kunit.reason ? { reason: kunit.reason } : {}), ...(kunitAgain ? { onReload: kunitAgain } : {}) } } : {}),
    ...(raw.reloads.length > 0 ? { reloads: raw.reloads.map((r) => reloadResult(r)) } : {}),
    // A test cut short by its limit did not get to print the lines it would have.
    ...(raw.test && !raw.timedOutStage && expected.length > 0 ? { expectations: matchInOrder(sliceStage(records, `test:${jobId}`), expected) } : {}),
    ...(raw.timedOutStage ? { timedOutStage: raw.timedOutStage } : {}),
  });
  if (raw.guestLost && verdict.outcome === 'pass') {
    return {
      outcome: 'infra-error',
      reasons: ['the guest stopped answering during the job, with no kernel error found on the console'],
      kernelErrors,
      records,
      logSource,
      ...(taint ? { taint } : {}),
      ...subtests,
    };
  }
  return { ...verdict, kernelErrors, records, logSource, ...(taint ? { taint } : {}), ...subtests };
}
