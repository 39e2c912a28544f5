// From what one guest job returned to its verdict: pick the job's part of the kernel log
// (dmesg, or the serial console when the guest died), find kernel errors and new taint,
// check the expected log lines of the test stage, and decide.
import type { JobRaw } from '../guest/job.js';
import { detectKernelErrors, type KernelError } from './detect.js';
import { matchInOrder } from './expect.js';
import { parseConsole, parseDmesg, parseStageMarker, sliceStage, stageMarker, type KmsgRecord } from './kmsg.js';
import { newTaint } from './taint.js';
import { decide, type Verdict } from './verdict.js';

export interface JobVerdict extends Verdict {
  /** Each with the stage (load, test, unload) whose markers enclose it, if any. */
  kernelErrors: Array<KernelError & { stage?: string }>;
  /** The job's kernel log, from its first marker on. */
  records: KmsgRecord[];
  /** Where the records came from. */
  logSource: 'dmesg' | 'console';
}

/** Records from the job's load marker to the end of the log. */
export function jobRecords(records: KmsgRecord[], jobId: string): KmsgRecord[] {
  const begin = stageMarker(`load:${jobId}`, 'begin');
  const start = records.findIndex((r) => r.text.trim() === begin);
  return start < 0 ? records : records.slice(start);
}

/** The stage whose begin marker last precedes record `index`, unless its end marker came first. */
export function stageAt(records: KmsgRecord[], index: number): string | undefined {
  for (let i = index; i >= 0; i--) {
    const marker = parseStageMarker(records[i]!.text);
    // Job markers name `<stage>:<job>`; the stage is the part before the colon.
    if (marker) return marker.edge === 'begin' ? marker.stage.split(':')[0] : undefined;
  }
  return undefined;
}

/** Newly set forbidden taint bits, named with the first stage after which they were seen. */
export function taintVerdict(taint: JobRaw['taint']): { letters: string; stage: string } | undefined {
  if (taint.before === undefined) return undefined;
  for (const point of ['load', 'test', 'unload'] as const) {
    const after = taint[point];
    if (after === undefined) continue;
    const fresh = newTaint(taint.before, after);
    if (fresh.letters) {
      // Bits that appear in later stages too are reported together with the first.
      const last = taint.unload ?? taint.test ?? after;
      return { letters: newTaint(taint.before, last).letters || fresh.letters, stage: point };
    }
  }
  return undefined;
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

/**
 * `expected`: kernel-log substrings the test stage must print, in order (expected.kmsg, config).
 * `leaks`: the module's kmemleak objects found after rmmod, each one report.
 */
export function judgeJob(raw: JobRaw, jobId: string, consoleText: string, expected: readonly string[] = [], leaks: readonly string[] = []): JobVerdict {
  const logSource = raw.dmesg === undefined ? 'console' : 'dmesg';
  const records = [...jobRecords(raw.dmesg === undefined ? parseConsole(consoleText) : parseDmesg(raw.dmesg), jobId), ...leakRecords(leaks, jobId)];
  const kernelErrors = detectKernelErrors(records)
    .map((e): KernelError & { stage?: string } => {
      const stage = stageAt(records, e.recordIndex);
      return stage ? { ...e, stage } : e;
    })
    .filter((e) => !(e.stage === 'leak-scan' && SCAN_SUMMARY.test(e.title)));
  const taint = taintVerdict(raw.taint);
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
    ...(raw.test && expected.length > 0 ? { expectations: matchInOrder(sliceStage(records, `test:${jobId}`), expected) } : {}),
    ...(raw.timedOutStage ? { timedOutStage: raw.timedOutStage } : {}),
  });
  if (raw.guestLost && verdict.outcome === 'pass') {
    return { outcome: 'infra-error', reasons: ['the guest stopped answering during the job, with no kernel error found on the console'], kernelErrors, records, logSource };
  }
  return { ...verdict, kernelErrors, records, logSource };
}
