// The --junit report, for CI test views: one <testsuite> per kernel with a <testcase> per
// pipeline stage and one for the verdict; a failure carries the kernel's report, the test's
// output or the compiler's diagnostics. Any text may come from a serial console, so every
// character XML 1.0 cannot hold is dropped and the rest escaped.
import { excerpt } from '../util/bounded-text.js';
import { writeFileAtomic } from '../util/files.js';
import type { KernelResult } from '../run.js';
import { headlineDiagnostic } from '../verdict/tap.js';
import { droppedNote, REPORT_LOG_BYTES } from './logs.js';

/** The stages a run reports as test cases, in pipeline order. */
export const JUNIT_STAGES = ['build', 'boot', 'load', 'test', 'unload'] as const;
export type JunitStage = (typeof JUNIT_STAGES)[number];

/** Lines of a log kept in a failure's text (at most REPORT_LOG_BYTES); the whole log is in the artifacts. */
export const LOG_TAIL_LINES = 60;
/** Lines of the test's output kept as the test case's <system-out>. */
export const TEST_OUTPUT_LINES = 200;

/** Drop what XML 1.0 cannot hold: C0 controls but tab, LF and CR; lone surrogates; U+FFFE, U+FFFF. */
export function xmlChars(text: string): string {
  return text.replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '');
}

/** Character data: `<`, `&` and `>` (for `]]>`) escaped; a CR kept as a reference, not normalised away. */
export function xmlText(text: string): string {
  return xmlChars(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r/g, '&#13;');
}

/** An attribute value in double quotes: whitespace other than blanks as references, or parsers fold it. */
export function xmlAttr(text: string): string {
  return xmlText(text).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\n/g, '&#10;').replace(/\t/g, '&#9;');
}

/** A log made readable: CRLF (serial console) as LF, terminal colour sequences removed. */
function plain(log: string): string {
  // ESC starts the sequences: matching it is the point.
  // eslint-disable-next-line no-control-regex
  return log.replace(/\r\n?/g, '\n').replace(/\u001b\[[0-?]*[ -/]*[@-~]/g, '');
}

/** Line breaks in text[0, end): LF, CRLF and a lone CR each one, as plain() sees them. */
function lineBreaks(text: string, end: number): number {
  let n = 0;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) n++;
  }
  return n;
}

/**
 * The last `lines` lines of a log, saying how many were left out, in at most about `maxBytes`
 * (longer lines: their head and tail). Only the log's last `maxBytes` characters are split into
 * lines: a log of megabytes of short lines costs one pass to count them, no more.
 */
export function logTail(log: string, lines: number, maxBytes: number = REPORT_LOG_BYTES): string {
  let start = Math.max(0, log.length - maxBytes);
  let partial = false;
  if (start > 0 && log[start - 1] !== '\n') {
    // The window starts inside a line: from the next one, or, in one endless line, where it is.
    const next = log.indexOf('\n', start);
    if (next >= 0 && next < log.length - 1) start = next + 1;
    else partial = true;
  }
  const all = plain(log.slice(start)).replace(/\n+$/, '').split('\n');
  const earlier = lineBreaks(log, start) + Math.max(0, all.length - lines);
  const kept = excerpt(all.slice(-lines).join('\n'), maxBytes);
  if (partial) return `[... ${earlier} earlier lines and the start of this one left out]\n${kept}`;
  return earlier === 0 ? kept : `[... ${earlier} earlier lines left out]\n${kept}`;
}

const seconds = (ms: number | undefined): string => ((ms ?? 0) / 1000).toFixed(3);

function stageMs(r: KernelResult, stage: JunitStage): number | undefined {
  if (stage !== 'boot') return r.stages[stage];
  // Boot is "to SSH": the console's ready line, then the SSH login.
  const { boot, ssh } = r.stages;
  return boot === undefined && ssh === undefined ? undefined : (boot ?? 0) + (ssh ?? 0);
}

const isStage = (s: string | undefined): s is JunitStage => (JUNIT_STAGES as readonly string[]).includes(s ?? '');

/** Where each harness stage is reported among the JUnit stages. */
const JUNIT_STAGE_OF: Record<string, JunitStage> = {
  kernel: 'build',
  toolchain: 'build',
  'test-build': 'build',
  upload: 'load',
  settle: 'unload',
  'after-unload': 'unload',
  reload: 'unload',
};

function junitStage(stage: string | undefined): JunitStage | undefined {
  const mapped = stage === undefined ? undefined : (JUNIT_STAGE_OF[stage] ?? stage);
  return isStage(mapped) ? mapped : undefined;
}

/** The stage a timeout hit, from the result's fields (never from the wording of a reason). */
function timedOutStage(r: KernelResult): JunitStage {
  return junitStage(r.timedOutStage ?? r.failedStage) ?? 'test';
}

/** Where a kernel error belongs: the stage whose markers enclose it, else the one the taint names, else test. */
function kernelErrorStage(r: KernelResult, e: KernelResult['kernelErrors'][number]): JunitStage {
  return junitStage(e.stage) ?? junitStage(r.taint?.stage) ?? 'test';
}

/** The stages this result's outcome blames. */
export function failedStages(r: KernelResult): JunitStage[] {
  switch (r.outcome) {
    case 'build-failed':
      return ['build'];
    case 'boot-failed':
      return ['boot'];
    case 'load-failed':
      // A reload's insmod: reported with the unload it follows.
      return [junitStage(r.failedStage) === 'unload' ? 'unload' : 'load'];
    case 'test-failed':
      return ['test'];
    case 'unload-failed':
      return ['unload'];
    case 'timeout':
      return [timedOutStage(r)];
    case 'kernel-error': {
      const stages = new Set(r.kernelErrors.map((e) => kernelErrorStage(r, e)));
      if (stages.size === 0) stages.add(kernelErrorStage(r, { kind: '', title: '', trace: [] }));
      return JUNIT_STAGES.filter((s) => stages.has(s));
    }
    default:
      return [];
  }
}

/** A kernel error as the kernel printed it: title, call trace, and the module's source lines. */
function kernelReport(e: KernelResult['kernelErrors'][number]): string {
  return [e.title, ...e.trace.map((line) => `  ${line}`), ...(e.source ?? []).map((s) => `  at ${s.file}:${s.line} (${s.frame})`)].join('\n');
}

function testStatus(r: KernelResult): string | undefined {
  if (r.signal) return `test killed by ${r.signal}`;
  if (r.exitCode !== null) return `test exited ${r.exitCode}`;
  return undefined;
}

interface Failure {
  message: string;
  body: string;
}

/** The failure text of one blamed stage. */
function stageFailure(r: KernelResult, stage: JunitStage): Failure {
  const reasons = r.reasons.join('\n');
  const tail = (log: string | undefined, name: string): string[] => (log === undefined ? [] : [`--- ${name} (last lines) ---`, logTail(log, LOG_TAIL_LINES)]);
  if (r.outcome === 'kernel-error') {
    const errors = r.kernelErrors.filter((e) => kernelErrorStage(r, e) === stage);
    // The reports, then what else the verdict said (a new taint), not each title twice.
    const others = r.reasons.filter((x) => !r.kernelErrors.some((e) => x.startsWith(e.title)));
    return {
      message: errors[0]?.title ?? r.reasons[0] ?? r.outcome,
      body: [...errors.map(kernelReport), ...(others.length > 0 ? [others.join('\n')] : [])].join('\n\n'),
    };
  }
  const message = r.reasons[0] ?? r.outcome;
  switch (stage) {
    case 'build': {
      const diagnostics = r.diagnostics.map((d) => `${d.file}:${d.line}${d.column === undefined ? '' : `:${d.column}`}: ${d.severity}: ${d.message}`);
      const detail = diagnostics.length > 0 ? ['--- diagnostics ---', ...diagnostics] : tail(r.logs.build, 'build log');
      return { message, body: [reasons, ...detail].join('\n') };
    }
    case 'boot':
      return { message, body: [reasons, ...tail(r.logs.console, 'console')].join('\n') };
    case 'test':
      return {
        message,
        body: [
          reasons,
          ...(testStatus(r) ? [testStatus(r)!] : []),
          ...tail(r.logs.test, 'test output'),
          ...(r.outcome === 'timeout' ? tail(r.logs.console, 'console') : []),
        ].join('\n'),
      };
    default:
      // load, unload: insmod/rmmod's complaint is in the reasons, the kernel's in its log.
      return { message, body: [reasons, ...tail(r.logs.dmesg ?? r.logs.console, r.logs.dmesg === undefined ? 'console' : 'dmesg')].join('\n') };
  }
}

interface Case {
  name: string;
  ms: number | undefined;
  failure?: Failure & { type: string };
  error?: Failure & { type: string };
  skipped?: string;
  systemOut?: string;
}

function cases(r: KernelResult): Case[] {
  const blamed = failedStages(r);
  const stages = JUNIT_STAGES.map((stage): Case => {
    const ms = stageMs(r, stage);
    const c: Case = { name: stage, ms };
    if (stage === 'test' && r.logs.test !== undefined) {
      const note = droppedNote(r, ['stdout', 'stderr']);
      c.systemOut = [...(note ? [`[kmod-harness: ${note}]`] : []), logTail(r.logs.test, TEST_OUTPUT_LINES)].join('\n');
    }
    if (blamed.includes(stage)) c.failure = { type: r.outcome, ...stageFailure(r, stage) };
    else if (ms === undefined) c.skipped = `skipped: the run ended in ${r.outcome}`;
    return c;
  });
  const verdict: Case = { name: 'verdict', ms: r.stages.total };
  const note = droppedNote(r);
  if (note) verdict.systemOut = `[kmod-harness: ${note}]`;
  const summary = { type: r.outcome, message: r.reasons[0] ?? r.outcome, body: r.reasons.join('\n') };
  if (r.outcome === 'infra-error') verdict.error = summary;
  else if (r.outcome !== 'pass') verdict.failure = summary;
  return [...stages, ...subtestCases(r), verdict];
}

/** One case per TAP/KTAP subtest the test printed: its description, its diagnostics as the failure text. */
function subtestCases(r: KernelResult): Case[] {
  return (r.subtests ?? []).map((s): Case => {
    const c: Case = { name: `subtest ${s.id}${s.name ? ` ${s.name}` : ''}`, ms: undefined };
    const text = s.diagnostics.join('\n');
    if (s.status === 'fail') c.failure = { type: 'subtest-failed', message: headlineDiagnostic(s.diagnostics) ?? `subtest ${s.id} failed`, body: text };
    else if (s.status === 'skip') c.skipped = s.diagnostics[0] ?? 'skipped';
    else if (text !== '') c.systemOut = text;
    return c;
  });
}

function caseXml(c: Case, classname: string): string {
  const open = `    <testcase name="${xmlAttr(c.name)}" classname="${xmlAttr(classname)}" time="${seconds(c.ms)}"`;
  const inner: string[] = [];
  for (const [tag, f] of [
    ['failure', c.failure],
    ['error', c.error],
  ] as const) {
    if (f) inner.push(`      <${tag} message="${xmlAttr(f.message)}" type="${xmlAttr(f.type)}">${xmlText(f.body)}</${tag}>`);
  }
  if (c.skipped !== undefined) inner.push(`      <skipped message="${xmlAttr(c.skipped)}"/>`);
  if (c.systemOut !== undefined) inner.push(`      <system-out>${xmlText(c.systemOut)}</system-out>`);
  return inner.length === 0 ? `${open}/>` : [`${open}>`, ...inner, '    </testcase>'].join('\n');
}

/** The suite's name: the exact release, with the series it was asked as. */
export function suiteName(r: KernelResult): string {
  return r.kernel === r.series ? r.kernel : `${r.kernel} (${r.series})`;
}

function suiteXml(r: KernelResult): { xml: string; tests: number; failures: number; errors: number; skipped: number } {
  const all = cases(r);
  const count = {
    tests: all.length,
    failures: all.filter((c) => c.failure).length,
    errors: all.filter((c) => c.error).length,
    skipped: all.filter((c) => c.skipped !== undefined).length,
  };
  const properties: Array<[string, string]> = [
    ['series', r.series],
    ['arch', r.arch],
    ['outcome', r.outcome],
    ...(r.accel ? [['accel', r.accel] as [string, string]] : []),
    ...(r.boot ? [['boot', r.boot] as [string, string]] : []),
    ...(r.exitCode !== null ? [['exit-code', String(r.exitCode)] as [string, string]] : []),
    ...(r.signal ? [['signal', r.signal] as [string, string]] : []),
  ];
  const xml = [
    `  <testsuite name="${xmlAttr(suiteName(r))}" tests="${count.tests}" failures="${count.failures}" errors="${count.errors}" skipped="${count.skipped}" time="${seconds(r.stages.total)}">`,
    '    <properties>',
    ...properties.map(([name, value]) => `      <property name="${xmlAttr(name)}" value="${xmlAttr(value)}"/>`),
    '    </properties>',
    ...all.map((c) => caseXml(c, r.kernel)),
    '  </testsuite>',
  ].join('\n');
  return { xml, ...count };
}

export function junitReport(results: KernelResult[]): string {
  const suites = results.map(suiteXml);
  const sum = (key: 'tests' | 'failures' | 'errors'): number => suites.reduce((n, s) => n + s[key], 0);
  const totalMs = results.reduce((n, r) => n + (r.stages.total ?? 0), 0);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    // No `skipped` here: the common JUnit schema (Jenkins' junit-10.xsd) has it on <testsuite> only.
    `<testsuites name="kmod-harness" tests="${sum('tests')}" failures="${sum('failures')}" errors="${sum('errors')}" time="${seconds(totalMs)}">`,
    ...suites.map((s) => s.xml),
    '</testsuites>',
    '',
  ].join('\n');
}

/** Write the report whole, then rename it into place: a reader never sees half a file. */
export async function writeJunitReport(file: string, results: KernelResult[]): Promise<void> {
  await writeFileAtomic(file, junitReport(results));
}
