// Reads a test's stdout as TAP 13/14 or KTAP 1/2 (kselftest, KUnit): the results line by line,
// nested subtests, diagnostics, bail-outs and plans; and the rule that turns them into a
// failure. Pure: text in, data out. Written from the KTAP spec (Documentation/dev-tools/ktap.rst),
// the TAP 13 and TAP 14 specs, and what kunit.py's parser accepts.
//
// Where diagnostics go, the one real choice (KTAP spec: "diagnostic lines regarding a test are
// directly before the test result line for that test"); each rule is what reads the captured
// outputs in test/fixtures/tap right:
// - A `#` line belongs to the next result line of the innermost open block, in output order
//   whatever its indent. kselftest.h (ksft_print_msg, then ksft_test_result_*),
//   kselftest_harness.h (`#  RUN ...`, `#  OK ...`, then `ok N`), KUnit (a case's log, then its
//   result; in 6.1 a parameter's failure at the case's indent inside the parameters' block)
//   and the seed test's passing checks all print that way.
// - `#` lines at the end of a nested block go to its parent's result line, which follows them
//   (KUnit's `# suite: pass:1 fail:1 ...`).
// - `#` lines after the last top-level result belong to it when it failed: the seed test
//   prints a failed check's reason after its `not ok` and exits. Otherwise they belong to no
//   test (TapResult.diagnostics: kselftest's `# Totals: ...` after a complete run).
// - A TAP 14 YAML block (`---` .. `...`, indented past its result line) belongs to the result
//   line right above it.
// - Lines that are not TAP are the test's own prints and ignored, except in a nested block
//   lines indented at least as far as the `#` line right before them: the rest of its message
//   (KUnit's `Expected 1 + 1 == 3, but` after `# case: EXPECTATION FAILED at ...`).
// So a Perl-style stream that explains a failure after it and then goes on (`not ok 1`,
// `#   Failed test`, `ok 2`) gets the explanation on test 2: kernel tests do not print that way.
import { droppedLine } from '../util/bounded-text.js';

export type TapVersion = 'tap13' | 'tap14' | 'ktap1' | 'ktap2' | 'plain';
export type SubtestStatus = 'pass' | 'fail' | 'skip' | 'todo';
/** The directives this parser knows (KTAP: SKIP, TODO, XFAIL, TIMEOUT, ERROR). */
export type TapKeyword = 'SKIP' | 'TODO' | 'XFAIL' | 'TIMEOUT' | 'ERROR';

export interface Subtest {
  /** The numbers from the top level down: `5`, or `2.3` for subtest 3 of subtest 2. */
  id: string;
  number: number;
  /** The description, without a leading `- `; '' when the line has none (kselftest's `ok 3 # SKIP why`). */
  name: string;
  /** ok → pass, not ok → fail; SKIP → skip and TODO/XFAIL → todo whatever the line said; TIMEOUT/ERROR → fail. */
  status: SubtestStatus;
  /** The line said `ok` (false: `not ok`). */
  ok: boolean;
  keyword?: TapKeyword;
  /** The text after the directive's keyword: the SKIP/TODO reason ('' when none). */
  directive?: string;
  /** `#` lines (without the `# `) and YAML lines attached to it; see the file's head for which. */
  diagnostics: string[];
  /** Diagnostic lines past the limit, not kept: of those before the result line the first 40 and the last 10 are. */
  diagnosticsOmitted?: number;
  /** The results of its nested block. */
  children?: Subtest[];
  /**
   * No result line came for it: the output ended (or bailed out, or started another block)
   * inside its nested block. Its status is then `fail`; its name is the `# Subtest:` header's.
   */
  incomplete?: true;
}

export interface TapResult {
  version: TapVersion;
  /** The top level's plan; skipAll when it is `1..0` (the reason, '' when none). */
  plan?: { count: number; skipAll?: string };
  /** The top level's results in order, at most TAP_LIMITS.subtests in the whole tree. */
  subtests: Subtest[];
  /** Top-level `#` lines that belong to no result (after the last one). */
  diagnostics: string[];
  diagnosticsOmitted?: number;
  /** `Bail out!` was printed: its reason ('' when none). Nothing after it is read. */
  bailOut?: string;
  /** The plan's count is not the number of top-level result lines; last is the last one seen. */
  planMismatch?: { planned: number; seen: number; last?: Subtest };
  /** Result lines past TAP_LIMITS.subtests: counted, not kept. */
  omitted?: { subtests: number; failed: number };
  /** The captured output was cut in the middle (util/bounded-text.ts): results may be missing. */
  outputDropped?: { bytes: number };
}

export const TAP_LIMITS = {
  /** Result lines kept, over all levels: a test's output can be 16 MiB. */
  subtests: 10_000,
  /** Diagnostic lines kept per test: the first ones and the last ones. */
  diagnostics: 50,
  diagnosticsTail: 10,
  /** Characters kept of a name, a directive or a diagnostic line. */
  lineChars: 1000,
  /** Nesting levels followed; lines deeper than that are ignored. */
  depth: 16,
} as const;

const VERSION = /^(K?TAP) version (\d+)$/;
const VERSIONS: Record<string, TapVersion> = { 'TAP 13': 'tap13', 'TAP 14': 'tap14', 'KTAP 1': 'ktap1', 'KTAP 2': 'ktap2' };
const PLAN = /^1\.\.(\d+)\s*(?:#\s*(.*))?$/;
const RESULT = /^(not ok|ok)(?=\s|$)\s*(\d+)?(?=\s|$)\s*(.*)$/;
const BAIL_OUT = /^Bail out!\s*(.*)$/;
const SUBTEST_HEADER = /^#\s*Subtest:\s*(.*)$/;
const DIAGNOSTIC = /^#\s?(.*)$/;
const DIRECTIVE = /^(skip\S*|todo\S*|xfail|timeout|error)(?=[\s:]|$)[\s:]*(.*)$/i;
/** The line util/bounded-text.ts puts where it dropped bytes (util/bounded-text.ts droppedLine). */
const DROPPED = new RegExp(`^${droppedLine(0).replace(/[[\]]/g, '\\$&').replace('0', '(\\d+)')}$`);

function clip(text: string): string {
  return text.length > TAP_LIMITS.lineChars ? `${text.slice(0, TAP_LIMITS.lineChars - 1)}…` : text;
}

/** Diagnostics waiting for their result line: the first and the last ones, the rest counted. */
class Pending {
  private head: string[] = [];
  private tail: string[] = [];
  omitted = 0;

  get empty(): boolean {
    return this.head.length === 0 && this.tail.length === 0;
  }

  push(line: string): void {
    if (this.head.length < TAP_LIMITS.diagnostics - TAP_LIMITS.diagnosticsTail) this.head.push(line);
    else {
      this.tail.push(line);
      if (this.tail.length > TAP_LIMITS.diagnosticsTail) {
        this.tail.shift();
        this.omitted++;
      }
    }
  }

  /** Move everything to another level's buffer, in order (what it drops is counted there). */
  moveTo(to: Pending): void {
    for (const line of [...this.head, ...this.tail]) to.push(line);
    to.omitted += this.omitted;
    this.head = [];
    this.tail = [];
    this.omitted = 0;
  }

  /** Move everything to `to`; empties this buffer. */
  drainInto(to: { diagnostics: string[]; diagnosticsOmitted?: number }): void {
    for (const line of this.head) addDiagnostic(to, line);
    if (this.omitted > 0) to.diagnosticsOmitted = (to.diagnosticsOmitted ?? 0) + this.omitted;
    for (const line of this.tail) addDiagnostic(to, line);
    this.head = [];
    this.tail = [];
    this.omitted = 0;
  }
}

function addDiagnostic(to: { diagnostics: string[]; diagnosticsOmitted?: number }, line: string): void {
  if (to.diagnostics.length < TAP_LIMITS.diagnostics) to.diagnostics.push(line);
  else to.diagnosticsOmitted = (to.diagnosticsOmitted ?? 0) + 1;
}

/** One nesting level being read: the top level, or a nested block. */
interface Level {
  indent: number;
  results: Subtest[];
  /** Result lines read at this level, kept or not. */
  seen: number;
  lastNumber: number;
  last?: Subtest;
  plan?: { count: number; skipAll?: string };
  pending: Pending;
  /** The results of a closed nested block, for this level's next result line. */
  children?: { name: string | undefined; subtests: Subtest[] };
  /** From `# Subtest: name` inside the block. */
  name?: string;
  /** From `# Subtest: name` at this level's indent: the name of the next nested block (TAP 14). */
  nextName?: string;
}

function newLevel(indent: number, name?: string): Level {
  return { indent, results: [], seen: 0, lastNumber: 0, pending: new Pending(), ...(name === undefined ? {} : { name }) };
}

function countFailed(subtests: readonly Subtest[] | undefined): number {
  let n = 0;
  for (const s of subtests ?? []) n += (s.status === 'fail' ? 1 : 0) + countFailed(s.children);
  return n;
}

function parseDirective(comment: string): { keyword: TapKeyword; reason: string } | undefined {
  const m = DIRECTIVE.exec(comment);
  if (!m) return undefined;
  const word = m[1]!.toUpperCase();
  const keyword: TapKeyword = word.startsWith('SKIP') ? 'SKIP' : word.startsWith('TODO') ? 'TODO' : (word as TapKeyword);
  return { keyword, reason: clip(m[2]!.trim()) };
}

/** Splits `- name # directive` at the first `#` not escaped as `\#` (TAP 14). */
function splitDescription(rest: string): { name: string; comment?: string } {
  let i = 0;
  for (; i < rest.length; i++) {
    if (rest[i] === '\\') i++;
    else if (rest[i] === '#') break;
  }
  const desc = rest
    .slice(0, i)
    .trim()
    .replace(/^-(\s+|$)/, '');
  const name = clip(desc.replace(/\\([\\#])/g, '$1'));
  return i < rest.length ? { name, comment: rest.slice(i + 1).trim() } : { name };
}

function statusOf(ok: boolean, keyword: TapKeyword | undefined): SubtestStatus {
  if (keyword === 'SKIP') return 'skip';
  if (keyword === 'TODO' || keyword === 'XFAIL') return 'todo';
  if (keyword === 'TIMEOUT' || keyword === 'ERROR') return 'fail';
  return ok ? 'pass' : 'fail';
}

/** Each line of text without its `\r\n` / `\n`, lazily: the text can be 16 MiB. */
function* linesOf(text: string, from: number): Generator<string> {
  let start = from;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const line = text.slice(start, end);
    yield line.endsWith('\r') ? line.slice(0, -1) : line;
    start = end + 1;
  }
}

function indentOf(line: string): number {
  let i = 0;
  while (i < line.length && (line[i] === ' ' || line[i] === '\t')) i++;
  return i;
}

/**
 * The stream's version and where reading starts: at the first version line at column 0 (what
 * comes before it is not TAP), else at the top (a plain `1..N` stream, or a nested block's
 * indented version line first, as a KUnit suite in a module prints it).
 */
function findStart(text: string): { offset: number; version: TapVersion | undefined } {
  const re = /^([ \t]*)(K?TAP) version (\d+)[ \t]*\r?$/gm;
  let nested: TapVersion | undefined;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const version = VERSIONS[`${m[2]} ${m[3]}`];
    if (version === undefined) continue;
    if (m[1] === '') return { offset: m.index, version };
    nested ??= version;
  }
  return { offset: 0, version: nested };
}

/**
 * The TAP/KTAP results in a test's output; undefined when it is not TAP: no version line
 * (`TAP version 13|14`, `KTAP version 1|2`) and no plan line (`1..N`) at the top level.
 * Lines before the version line, and lines that are neither TAP nor `#` diagnostics (the
 * test's own prints), are ignored.
 */
export function parseTap(text: string): TapResult | undefined {
  const start = findStart(text);
  // The top level is at column 0 even when the first version line is indented: a KUnit suite
  // in a module prints its block indented and only its result line at column 0.
  const stack: Level[] = [newLevel(0)];
  let stored = 0;
  const omitted = { subtests: 0, failed: 0 };
  let bailOut: string | undefined;
  let outputDropped: { bytes: number } | undefined;
  /** The result line a YAML block may follow, and the block being read. */
  let yamlAfter: { target: Subtest; indent: number } | undefined;
  let yaml: { target: Subtest; indent: number } | undefined;

  const top = (): Level => stack[stack.length - 1]!;
  /** The `#` line that lines of the rest of its message may continue, in a nested block. */
  let continued: { level: Level; indent: number } | undefined;

  function keep(level: Level, sub: Subtest): void {
    if (stored < TAP_LIMITS.subtests) {
      level.results.push(sub);
      stored++;
    } else {
      omitted.subtests++;
      omitted.failed += countFailed([sub]);
    }
  }

  /** A nested block that no result line closed: a failed, incomplete subtest of its parent. */
  function incompleteOf(parent: Level, name: string | undefined, subtests: Subtest[], pending?: Pending): Subtest {
    const sub: Subtest = { id: '', number: ++parent.lastNumber, name: clip(name ?? ''), status: 'fail', ok: false, diagnostics: [], incomplete: true };
    if (subtests.length > 0) sub.children = subtests;
    pending?.drainInto(sub);
    return sub;
  }

  /**
   * Closed children that never got their result line become an incomplete subtest; at the end
   * of the output it takes the level's pending diagnostics, which came before its missing line.
   */
  function flushChildren(level: Level, pending?: Pending): void {
    if (!level.children) return;
    const { name, subtests } = level.children;
    delete level.children;
    keep(level, incompleteOf(level, name, subtests, pending));
  }

  /** The block ended normally (a shallower line came): its results wait for the parent's result line. */
  function close(): void {
    const level = stack.pop()!;
    const parent = top();
    flushChildren(level);
    level.pending.moveTo(parent.pending);
    flushChildren(parent);
    parent.children = { name: level.name, subtests: level.results };
  }

  /** The block ended without its parent's result line (end of output, bail-out, a new block). */
  function abandon(): void {
    const level = stack.pop()!;
    const parent = top();
    flushChildren(level);
    keep(parent, incompleteOf(parent, level.name, level.results, level.pending));
  }

  function onResult(level: Level, m: RegExpExecArray, indent: number): void {
    const ok = m[1] === 'ok';
    const number = m[2] === undefined ? level.lastNumber + 1 : Number(m[2]);
    const { name, comment } = splitDescription(m[3] ?? '');
    const directive = comment === undefined ? undefined : parseDirective(comment);
    const sub: Subtest = { id: '', number, name, status: statusOf(ok, directive?.keyword), ok, diagnostics: [] };
    if (directive) {
      sub.keyword = directive.keyword;
      sub.directive = directive.reason;
    }
    if (level.children) {
      if (level.children.subtests.length > 0) sub.children = level.children.subtests;
      delete level.children;
    }
    level.pending.drainInto(sub);
    if (comment !== undefined && !directive && comment !== '') addDiagnostic(sub, clip(comment));
    level.seen++;
    level.lastNumber = number;
    level.last = sub;
    keep(level, sub);
    yamlAfter = { target: sub, indent };
  }

  const lines = linesOf(text, start.offset);
  for (const full of lines) {
    const afterResult = yamlAfter;
    yamlAfter = undefined;
    const line = full.length > 4 * TAP_LIMITS.lineChars ? full.slice(0, 4 * TAP_LIMITS.lineChars) : full;
    const rawIndent = indentOf(line);
    const content = line.slice(rawIndent).trimEnd();

    if (yaml) {
      if (content === '') {
        addDiagnostic(yaml.target, '');
        continue;
      }
      if (rawIndent >= yaml.indent) {
        addDiagnostic(yaml.target, clip(line.slice(yaml.indent).trimEnd()));
        if (rawIndent === yaml.indent && content === '...') yaml = undefined;
        continue;
      }
      // Less indented before its `...`: the block was cut short; this line is read as usual.
      yaml = undefined;
    }
    if (content === '') continue;
    if (afterResult && content === '---' && rawIndent > afterResult.indent) {
      yaml = { target: afterResult.target, indent: rawIndent };
      addDiagnostic(yaml.target, '---');
      continue;
    }

    const dropped = DROPPED.exec(content);
    if (dropped) {
      outputDropped = { bytes: (outputDropped?.bytes ?? 0) + Number(dropped[1]) };
      continue;
    }
    const indent = rawIndent;
    const diagnostic = SUBTEST_HEADER.test(content) ? undefined : DIAGNOSTIC.exec(content);
    if (diagnostic) {
      // In output order, whatever its indent: KUnit 6.1 prints a parameterised case's failure
      // at the case's indent, inside the block of its parameters, before the failed one's line.
      top().pending.push(clip(diagnostic[1]!.trimEnd()));
      continued = stack.length > 1 ? { level: top(), indent } : undefined;
      continue;
    }
    const bail = BAIL_OUT.exec(content);
    if (bail) {
      bailOut = clip(bail[1]!.trim());
      break;
    }
    const version = VERSION.exec(content);
    const plan = version ? undefined : PLAN.exec(content);
    const result = version || plan ? undefined : RESULT.exec(content);
    const header = version || plan || result ? undefined : SUBTEST_HEADER.exec(content);
    if (!version && !plan && !result && !header) {
      // Not TAP: the test's own prints, ignored; except, in a nested block, lines indented at
      // least as far as the `#` line before them, which go on with its message (KUnit prints
      // an expectation's `Expected ... but` on such lines).
      if (continued?.level === top() && indent >= continued.indent) continued.level.pending.push(clip(line.slice(continued.indent).trimEnd()));
      else continued = undefined;
      continue;
    }
    continued = undefined;

    while (stack.length > 1 && top().indent > indent) close();
    if (indent > top().indent) {
      if (stack.length >= TAP_LIMITS.depth) continue;
      const parent = top();
      stack.push(newLevel(indent, parent.nextName));
      delete parent.nextName;
    } else if (version && stack.length > 1 && (top().seen > 0 || top().plan)) {
      // A new block's version line where the last block never got its parent's result line.
      abandon();
      stack.push(newLevel(indent));
    }
    const level = top();
    if (header) {
      const name = clip(header[1]!.trim());
      // At the block's own start it names the block (KUnit); at a level with results, the next one (TAP 14).
      if (stack.length > 1 && level.seen === 0 && !level.plan && level.name === undefined) level.name = name;
      else level.nextName = name;
    } else if (plan) {
      if (!level.plan) {
        const count = Number(plan[1]);
        level.plan = count === 0 ? { count, skipAll: clip((plan[2] ?? '').replace(/^skip\S*[\s:]*/i, '').trim()) } : { count };
      }
    } else if (result) {
      onResult(level, result, rawIndent);
    }
  }

  while (stack.length > 1) abandon();
  const root = stack[0]!;
  flushChildren(root, root.pending);
  if (start.version === undefined && !root.plan) return undefined;

  const out: TapResult = { version: start.version ?? 'plain', subtests: root.results, diagnostics: [] };
  if (!root.pending.empty) {
    if (root.last?.status === 'fail') root.pending.drainInto(root.last);
    else root.pending.drainInto(out);
  }
  if (root.plan) out.plan = root.plan;
  if (bailOut !== undefined) out.bailOut = bailOut;
  if (root.plan && root.plan.count !== root.seen) {
    out.planMismatch = { planned: root.plan.count, seen: root.seen, ...(root.last ? { last: root.last } : {}) };
  }
  if (omitted.subtests > 0) out.omitted = omitted;
  if (outputDropped) out.outputDropped = outputDropped;
  assignIds(out.subtests, '');
  return out;
}

function assignIds(subtests: Subtest[], prefix: string): void {
  for (const s of subtests) {
    s.id = `${prefix}${s.number}`;
    if (s.children) assignIds(s.children, `${s.id}.`);
  }
}

export interface TapVerdict {
  /**
   * The failures that explain the verdict, in output order: a `fail` at any level, a failed
   * test whose own subtests failed represented by them (KUnit fails a suite for its cases).
   */
  failed: Subtest[];
  /** Why the test failed; undefined when the TAP says it passed. */
  reason?: string;
}

/**
 * The diagnostic line that best says why a subtest failed, for a one-line report: KUnit logs a
 * case's own messages before its `EXPECTATION FAILED at file:line`, so that one when present,
 * else the first.
 */
export function headlineDiagnostic(diagnostics: readonly string[]): string | undefined {
  return diagnostics.find((d) => /\b(EXPECTATION|ASSERTION) FAILED at /.test(d)) ?? diagnostics[0];
}

/** Failures named one by one in a reason before the rest are counted. */
const MAX_NAMED = 5;
const MAX_NAME = 80;

/** `5 "name"`, `5 (error: why)` for a nameless one, with `(timeout: 30 s)` when it says so. */
export function subtestLabel(s: Subtest): string {
  const name = s.name.length > MAX_NAME ? `${s.name.slice(0, MAX_NAME - 1)}…` : s.name;
  const why = s.keyword === 'TIMEOUT' || s.keyword === 'ERROR' ? `${s.keyword.toLowerCase()}${s.directive ? `: ${s.directive}` : ''}` : undefined;
  if (name === '') return why ? `${s.id} (${why})` : s.id;
  return why ? `${s.id} "${name}" (${why})` : `${s.id} "${name}"`;
}

function explainingFailures(subtests: readonly Subtest[], into: Subtest[]): Subtest[] {
  for (const s of subtests) {
    const before = into.length;
    if (s.children) explainingFailures(s.children, into);
    if (into.length === before && s.status === 'fail') into.push(s);
  }
  return into;
}

/** Tests at the granularity the failures are named at: the leaves, plus failed parents named for themselves. */
function testCount(subtests: readonly Subtest[], failed: ReadonlySet<Subtest>): number {
  let n = 0;
  for (const s of subtests) n += s.children ? testCount(s.children, failed) + (failed.has(s) ? 1 : 0) : 1;
  return n;
}

/**
 * The harness's rule: the test failed when a result at any level is a `fail` (TODO, XFAIL and
 * SKIP are not), when it bailed out, when the number of top-level results is not its plan's,
 * when a TAP 13/14 stream has no plan at all (KTAP allows none), or when it skipped every
 * test (`1..0`, or every result a SKIP; `skipsAreNoPass: false` leaves that to the caller,
 * as KUnit's suites do). When the output was cut in
 * the middle, fewer results than planned is not held against it: they may be in the cut.
 */
export function tapVerdict(result: TapResult, options: { skipsAreNoPass?: boolean } = {}): TapVerdict {
  const failed = explainingFailures(result.subtests, []);
  const reasons: string[] = [];
  if (result.bailOut !== undefined) reasons.push(result.bailOut === '' ? 'bail out' : `bail out: ${result.bailOut}`);

  const omittedFailed = result.omitted?.failed ?? 0;
  const failures = failed.length + omittedFailed;
  const what = (s: Subtest): string => (s.incomplete ? `${subtestLabel(s)} (did not finish)` : subtestLabel(s));
  if (failures === 1 && failed.length === 1) {
    const s = failed[0]!;
    reasons.push(s.incomplete ? `subtest ${subtestLabel(s)} did not finish` : `subtest ${subtestLabel(s)} failed`);
  } else if (failures > 0) {
    const total = testCount(result.subtests, new Set(failed)) + (result.omitted?.subtests ?? 0);
    const named = failed.slice(0, MAX_NAMED).map(what);
    const rest = failures - named.length;
    const tail =
      rest > 0
        ? `${named.length > 0 ? ', ' : ''}and ${rest} more${omittedFailed > 0 ? ` (${omittedFailed} past the first ${TAP_LIMITS.subtests} results, not kept)` : ''}`
        : '';
    reasons.push(`${failures} of ${total} subtests failed: ${named.join(', ')}${tail}`);
  }

  const mismatch = result.planMismatch;
  if (mismatch && !(result.outputDropped && mismatch.seen < mismatch.planned)) {
    if (mismatch.seen > mismatch.planned) reasons.push(`the test reported ${mismatch.seen} subtests, more than its plan of ${mismatch.planned}`);
    else if (mismatch.last === undefined) reasons.push(`the test stopped before its first subtest of a plan of ${mismatch.planned}`);
    else if (failed.includes(mismatch.last)) reasons.push(`the test stopped after subtest ${mismatch.last.id} of a plan of ${mismatch.planned}`);
    else reasons.push(`the test stopped after subtest ${subtestLabel(mismatch.last)} of a plan of ${mismatch.planned}`);
  }
  if (!result.plan && (result.version === 'tap13' || result.version === 'tap14')) {
    reasons.push('no plan line (1..N) in the TAP output: the test may have stopped before printing it');
  } else if (!result.plan && result.subtests.length === 0 && !result.omitted) {
    reasons.push('no test results after the KTAP version line');
  }
  const skipped = options.skipsAreNoPass === false || reasons.length > 0 ? undefined : skippedEverything(result);
  if (skipped) reasons.push(skipped);
  return reasons.length > 0 ? { failed, reason: reasons.join('; ') } : { failed };
}

/**
 * As for kselftest's exit status 4: a run that tested nothing is no pass (a test that skips
 * because the module never made its device would hide the bug).
 */
function skippedEverything(result: TapResult): string | undefined {
  if (result.plan?.skipAll !== undefined)
    return `the test skipped everything (1..0${result.plan.skipAll ? ` # SKIP ${result.plan.skipAll}` : ''}): it tested nothing, which is no pass`;
  const all = leaves(result.subtests);
  if (all.length === 0 || result.omitted || !all.every((s) => s.status === 'skip')) return undefined;
  return `${all.length === 1 ? 'its one subtest was' : `all ${all.length} subtests were`} skipped: it tested nothing, which is no pass`;
}

function leaves(subtests: readonly Subtest[]): Subtest[] {
  return subtests.flatMap((s) => (s.children ? leaves(s.children) : [s]));
}
