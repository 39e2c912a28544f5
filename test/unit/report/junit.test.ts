import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { failedStages, JUNIT_STAGES, junitReport, logTail, writeJunitReport, xmlAttr, xmlChars, xmlText } from '../../../harness/src/report/junit.js';
import { result } from './result.js';
import { needs } from '../../support/host-tools.js';

// --- A small XML 1.0 reader: enough to prove the report well-formed and to read it back. ---

interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const isXmlChar = (c: number): boolean =>
  c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
const isNameChar = (ch: string): boolean =>
  (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch === '-' || ch === '_' || ch === ':' || ch === '.';
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Parse a document or throw saying where it is not well-formed. Character by character, no regex. */
function parseXml(doc: string): XmlElement {
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`not well-formed at offset ${i}: ${why} near ${JSON.stringify(doc.slice(Math.max(0, i - 20), i + 20))}`);
  };
  for (const ch of doc) {
    if (!isXmlChar(ch.codePointAt(0)!)) fail(`character U+${ch.codePointAt(0)!.toString(16)} is not allowed in XML 1.0`);
    i += ch.length;
  }
  i = 0;
  // Character data or an attribute value up to `stop`, references resolved.
  const chars = (stop: string, inAttr: boolean): string => {
    let out = '';
    while (i < doc.length && doc[i] !== stop) {
      const ch = doc[i]!;
      if (ch === '<') fail("raw '<'");
      if (inAttr && ch === '"') fail('raw quote');
      if (!inAttr && doc.startsWith(']]>', i)) fail("']]>' in character data");
      if (ch === '&') {
        const end = doc.indexOf(';', i);
        if (end < 0) fail("'&' without ';'");
        const ref = doc.slice(i + 1, end);
        let value: string | undefined = ENTITIES[ref];
        if (ref.startsWith('#x')) value = String.fromCodePoint(Number.parseInt(ref.slice(2), 16));
        else if (ref.startsWith('#')) value = String.fromCodePoint(Number(ref.slice(1)));
        if (value === undefined || !isXmlChar(value.codePointAt(0)!)) fail(`bad reference &${ref};`);
        out += value;
        i = end + 1;
      } else {
        // An attribute's literal whitespace is normalised to a blank; a reference's is kept.
        out += inAttr && (ch === '\n' || ch === '\t' || ch === '\r') ? ' ' : ch;
        i++;
      }
    }
    return out;
  };
  const name = (): string => {
    const start = i;
    while (i < doc.length && isNameChar(doc[i]!)) i++;
    if (i === start) fail('expected a name');
    return doc.slice(start, i);
  };
  const blanks = (): void => {
    while (doc[i] === ' ' || doc[i] === '\n' || doc[i] === '\t' || doc[i] === '\r') i++;
  };

  if (doc.startsWith('<?xml')) {
    i = doc.indexOf('?>') + 2;
    if (i < 2) fail('unterminated declaration');
  }
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  while (i < doc.length) {
    if (doc[i] !== '<') {
      const text = chars('<', false);
      if (stack.length > 0) stack[stack.length - 1]!.text += text;
      else if (text.trim() !== '') fail('text outside the root element');
      continue;
    }
    i++;
    if (doc[i] === '/') {
      i++;
      const closing = name();
      blanks();
      if (doc[i] !== '>') fail("expected '>'");
      i++;
      const open = stack.pop();
      if (!open || open.name !== closing) fail(`</${closing}> closes <${open?.name}>`);
      continue;
    }
    const el: XmlElement = { name: name(), attrs: {}, children: [], text: '' };
    if (stack.length === 0 && root) fail('a second root element');
    for (;;) {
      const before = i;
      blanks();
      if (doc[i] === '/' || doc[i] === '>') break;
      if (i === before) fail('attributes must be separated by blanks');
      const attr = name();
      if (doc[i] !== '=' || doc[i + 1] !== '"') fail(`attribute ${attr} without ="`);
      i += 2;
      if (attr in el.attrs) fail(`attribute ${attr} twice`);
      el.attrs[attr] = chars('"', true);
      if (doc[i] !== '"') fail('unterminated attribute value');
      i++;
    }
    if (stack.length > 0) stack[stack.length - 1]!.children.push(el);
    else root = el;
    if (doc[i] === '/') {
      if (doc[i + 1] !== '>') fail("expected '/>'");
      i += 2;
    } else {
      i++;
      stack.push(el);
    }
  }
  if (stack.length > 0) fail(`<${stack[stack.length - 1]!.name}> not closed`);
  if (!root) fail('no root element');
  return root!;
}

const xmllint = await needs(['xmllint']);
/** The JUnit dialect CI tools read, as a strict schema of our own (see its head). */
const JUNIT_XSD = fileURLToPath(new URL('../../fixtures/junit/junit.xsd', import.meta.url));

/** xmllint's verdict on a document against JUNIT_XSD: its exit status and what it printed. */
function validate(text: string): { status: number | null; stderr: string } {
  const out = spawnSync('xmllint', ['--noout', '--schema', JUNIT_XSD, '-'], { input: text, encoding: 'utf8' });
  return { status: out.status, stderr: out.stderr };
}

// --- Results, as the pipeline makes them. ---

const passing = result({
  accel: 'kvm',
  stages: { kernel: 12, build: 2654, image: 15, boot: 7691, ssh: 226, upload: 407, load: 106, test: 123, unload: 216, teardown: 75, total: 9109 },
  logs: { console: '[    0.000000] Linux version 6.1\r\n', dmesg: '<6>[0.0] x\n', test: 'ok 1 - mmap twice\nok 2 - pagemap\n', build: 'CC [M] mod.o\n' },
});

// What a serial console really carries: NUL, BEL, colour sequences, CRLF, a lone surrogate, U+FFFF.
const NASTY_CONSOLE = '[    5.66] \u0000\u0007\u001b[31mWARNING\u001b[0m <TASK> & "x" \'y\' ]]> \uD800 \uFFFF\r\n[    5.67] ---[ end trace ]---\r\n';

const warned = result({
  kernel: '6.12.48+deb13-cloud-amd64',
  series: '6.12',
  outcome: 'kernel-error',
  reasons: ['WARNING at warn_mmap.c:22 kmh_warn_read+0x5/0xe [warn_mmap] <&>', 'new taint: W (kernel issued a warning) after test'],
  kernelErrors: [
    {
      kind: 'warning',
      title: 'WARNING at warn_mmap.c:22 kmh_warn_read+0x5/0xe [warn_mmap] <&>',
      module: 'warn_mmap',
      stage: 'test',
      trace: ['<TASK>', 'proc_reg_read+0x56/0xa0', 'vfs_read+0xa5/0x310', '</TASK>'],
      source: [{ frame: 'kmh_warn_read+0x5/0xe [warn_mmap]', func: 'kmh_warn_read', file: '/src/warn_mmap.c', line: 22 }],
    },
  ],
  stages: { build: 3000, boot: 4000, ssh: 250, load: 100, test: 1500, unload: 200, total: 9000 },
  logs: { console: NASTY_CONSOLE, dmesg: NASTY_CONSOLE.replace(/\r/g, ''), test: 'warn_test: read 0 bytes \u0001from /proc/kmh_warn\n' },
});

const buildFailed = result({
  kernel: '5.10.0-35-cloud-amd64',
  series: '5.10',
  outcome: 'build-failed',
  exitCode: null,
  reasons: ["module build failed: kmh.c:17:19: error: 'kmh_no_such_symbol' undeclared", 'fix: fix kmh.c:17'],
  diagnostics: [
    { file: '/src/kmh.c', line: 17, column: 19, severity: 'error', message: '‘kmh_no_such_symbol’ undeclared (first use in this function)' },
    { file: '/src/kmh.c', line: 9, severity: 'warning', message: 'unused variable <x>' },
  ],
  stages: { kernel: 14, build: 3669, teardown: 82, total: 7826 },
  logs: { build: 'make: ...\n', console: 'booted\r\n' },
});

const testFailed = result({
  kernel: '7.2.0-1-cloud-amd64',
  series: '7.2',
  outcome: 'test-failed',
  exitCode: null,
  signal: 'SIGSEGV',
  reasons: ['test killed by SIGSEGV'],
  stages: { build: 1000, boot: 3000, ssh: 200, load: 100, test: 50, unload: 100, total: 5000 },
  logs: { test: Array.from({ length: 100 }, (_, n) => `line ${n + 1}`).join('\n') },
});

const infra = result({
  kernel: '7.2',
  series: '7.2',
  outcome: 'infra-error',
  exitCode: null,
  reasons: ['cannot read the package index of sid', 'fix: set KMOD_HARNESS_MIRROR'],
});

const all = [passing, warned, buildFailed, testFailed, infra];
const xml = junitReport(all);
const doc = parseXml(xml);
const suites = doc.children.filter((c) => c.name === 'testsuite');
const testcase = (suite: number, name: string): XmlElement => suites[suite]!.children.find((c) => c.name === 'testcase' && c.attrs.name === name)!;
const child = (el: XmlElement, name: string): XmlElement | undefined => el.children.find((c) => c.name === name);

const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

describe('the XML reader used by these tests', () => {
  it('rejects what is not well-formed', () => {
    for (const bad of [
      '<a>',
      '<a></b>',
      '<a x="1" x="2"/>',
      '<a>&nope;</a>',
      '<a>&#0;</a>',
      '<a>x < y</a>',
      '<a>\u0001</a>',
      '<a/><b/>',
      '<a x="""/>',
      '<a>]]></a>',
    ]) {
      expect(() => parseXml(bad), bad).toThrow(/not well-formed/);
    }
    expect(parseXml('<a x="&lt;&#10;">t&amp;<b/></a>')).toEqual({
      name: 'a',
      attrs: { x: '<\n' },
      children: [{ name: 'b', attrs: {}, children: [], text: '' }],
      text: 't&',
    });
  });
});

describe('junitReport', () => {
  it('is well-formed XML 1.0, valid against the JUnit schema for xmllint too', () => {
    expect(doc.name).toBe('testsuites');
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n')).toBe(true);
    if (xmllint.skip) return;
    xmllint.require();
    expect(validate(xml)).toEqual({ status: 0, stderr: '- validates\n' });
  });

  it.skipIf(xmllint.skip)('the schema check can fail: a second failure in a case, a case without classname, a count that is not a number', () => {
    xmllint.require();
    const one = xml.replace('</failure>', '</failure>\n      <failure message="again" type="x">again</failure>');
    expect(one).not.toBe(xml);
    expect(validate(one).status).not.toBe(0);
    expect(validate(xml.replace(/ classname="[^"]*"/, '')).status).not.toBe(0);
    expect(validate(xml.replace(/ tests="\d+"/, ' tests="six"')).status).not.toBe(0);
  });

  it.skipIf(xmllint.skip)('reads back through xmllint with the same failure text', () => {
    xmllint.require();
    const text = execFileSync('xmllint', ['--xpath', 'string(//testsuite[2]/testcase[@name="test"]/failure)', '-'], { input: xml, encoding: 'utf8' });
    // xmllint ends what it prints with a newline of its own.
    expect(text).toBe(`${child(testcase(1, 'test'), 'failure')!.text}\n`);
  });

  it('has one testsuite per kernel, named by its release and series, with counts and seconds', () => {
    expect(suites.map((s) => s.attrs.name)).toEqual([
      '6.1.0-56-cloud-amd64 (6.1)',
      '6.12.48+deb13-cloud-amd64 (6.12)',
      '5.10.0-35-cloud-amd64 (5.10)',
      '7.2.0-1-cloud-amd64 (7.2)',
      '7.2',
    ]);
    expect(suites[0]!.attrs).toMatchObject({ tests: '6', failures: '0', errors: '0', skipped: '0', time: '9.109' });
    expect(suites[1]!.attrs).toMatchObject({ tests: '6', failures: '2', errors: '0', skipped: '0' });
    expect(suites[2]!.attrs).toMatchObject({ failures: '2', skipped: '4' });
    expect(suites[4]!.attrs).toMatchObject({ failures: '0', errors: '1', skipped: '5', time: '0.000' });
    expect(doc.attrs).toEqual({ name: 'kmod-harness', tests: '30', failures: '6', errors: '1', time: '30.935' });
    const props = Object.fromEntries(child(suites[0]!, 'properties')!.children.map((p) => [p.attrs.name, p.attrs.value]));
    expect(props).toEqual({ series: '6.1', arch: 'amd64', outcome: 'pass', accel: 'kvm', 'exit-code': '0' });
  });

  it('has a testcase per stage and the verdict, timed in seconds from the stages (boot = boot + ssh)', () => {
    const cases = suites[0]!.children.filter((c) => c.name === 'testcase');
    expect(cases.map((c) => [c.attrs.name, c.attrs.time])).toEqual([
      ['build', '2.654'],
      ['boot', '7.917'],
      ['load', '0.106'],
      ['test', '0.123'],
      ['unload', '0.216'],
      ['verdict', '9.109'],
    ]);
    expect(cases.every((c) => c.attrs.classname === '6.1.0-56-cloud-amd64' && !child(c, 'failure') && !child(c, 'skipped'))).toBe(true);
    expect(child(testcase(0, 'test'), 'system-out')!.text).toBe('ok 1 - mmap twice\nok 2 - pagemap');
  });

  it('puts a kernel error on the stage it happened in: its title, then its trace and source line', () => {
    const failure = child(testcase(1, 'test'), 'failure')!;
    expect(failure.attrs).toEqual({ type: 'kernel-error', message: 'WARNING at warn_mmap.c:22 kmh_warn_read+0x5/0xe [warn_mmap] <&>' });
    expect(failure.text).toContain(
      'WARNING at warn_mmap.c:22 kmh_warn_read+0x5/0xe [warn_mmap] <&>\n  <TASK>\n  proc_reg_read+0x56/0xa0\n  vfs_read+0xa5/0x310\n  </TASK>\n  at /src/warn_mmap.c:22 (kmh_warn_read+0x5/0xe [warn_mmap])',
    );
    // The report first, then what else the verdict said; the title once.
    expect(failure.text.startsWith(warned.kernelErrors[0]!.title)).toBe(true);
    expect(failure.text.split(warned.kernelErrors[0]!.title)).toHaveLength(2);
    expect(failure.text.endsWith('\n\nnew taint: W (kernel issued a warning) after test')).toBe(true);
    for (const stage of ['build', 'boot', 'load', 'unload']) expect(child(testcase(1, stage), 'failure'), stage).toBeUndefined();
    expect(child(testcase(1, 'verdict'), 'failure')!.text).toBe(warned.reasons.join('\n'));
  });

  it('puts a build failure on build with its diagnostics, and skips the stages not reached', () => {
    const failure = child(testcase(2, 'build'), 'failure')!;
    expect(failure.attrs.message).toBe(buildFailed.reasons[0]);
    expect(failure.text).toContain(
      '/src/kmh.c:17:19: error: ‘kmh_no_such_symbol’ undeclared (first use in this function)\n/src/kmh.c:9: warning: unused variable <x>',
    );
    expect(['boot', 'load', 'test', 'unload'].map((s) => child(testcase(2, s), 'skipped')?.attrs.message)).toEqual(
      Array(4).fill('skipped: the run ended in build-failed'),
    );
  });

  it("puts a test failure on test with the test's exit status and the tail of its output", () => {
    const text = child(testcase(3, 'test'), 'failure')!.text;
    expect(text).toContain('test killed by SIGSEGV');
    expect(text).toContain('[... 40 earlier lines left out]\nline 41\n');
    expect(text.endsWith('line 100')).toBe(true);
    expect(text).not.toContain('line 40\n');
  });

  it('reports an infra error as an error of the verdict, not a failure of the module', () => {
    expect(child(testcase(4, 'verdict'), 'error')!.attrs).toEqual({ type: 'infra-error', message: 'cannot read the package index of sid' });
    expect(child(testcase(4, 'verdict'), 'failure')).toBeUndefined();
  });

  it('drops characters XML cannot hold and escapes the rest, keeping the text otherwise intact', () => {
    expect(xml).not.toContain('\u0000');
    expect(xml).not.toContain('\u001b');
    expect(xml).not.toContain(']]>');
    const dmesgTail = child(testcase(1, 'test'), 'failure')!.text;
    expect(dmesgTail).not.toContain('\u001b');
    const out = child(testcase(1, 'test'), 'system-out')!.text;
    expect(out).toBe('warn_test: read 0 bytes from /proc/kmh_warn');
  });
});

describe('escaping', () => {
  it('xmlChars drops C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF, and keeps astral characters', () => {
    expect(xmlChars('a\u0000b\u0008c\td\ne\rf\u000bg\u001fh')).toBe('abc\td\ne\rfgh');
    expect(xmlChars('x\uD800y\uDC00z\uFFFE\uFFFF')).toBe('xyz');
    expect(xmlChars('kernel 🐧 \u0085 é')).toBe('kernel 🐧 \u0085 é');
  });

  it('xmlText escapes markup and keeps CR as a reference', () => {
    expect(xmlText('<a> & ]]> \r\n')).toBe('&lt;a&gt; &amp; ]]&gt; &#13;\n');
  });

  it('xmlAttr also escapes quotes and the whitespace attribute normalisation would fold', () => {
    expect(xmlAttr(`"it's"\n\t<&>`)).toBe('&quot;it&apos;s&quot;&#10;&#9;&lt;&amp;&gt;');
    expect(parseXml(`<a v="${xmlAttr('x\ny\tz"\'\r')}"/>`).attrs.v).toBe('x\ny\tz"\'\r');
  });

  it('logTail is bounded in bytes too: a huge line keeps its head and tail, a huge log is counted, not split', () => {
    const line = 'a'.repeat(50_000) + 'b'.repeat(50_000);
    expect(logTail(`first\n${line}\n`, 5, 1000)).toBe(`[... 1 earlier lines and the start of this one left out]\n${'b'.repeat(999)}`);
    expect(logTail(`first\n${line}`, 5, 200_000)).toBe(`first\n${line.slice(0, 100_000)}`);
    const tail = logTail(`${'z'.repeat(10)}\n${line}\nlast\n`, 5, 1000);
    expect(tail).toBe(`[... 2 earlier lines left out]\nlast`);
    const many = Array.from({ length: 2_000_000 }, (_, n) => String(n % 10)).join('\r\n');
    expect(logTail(many, 3)).toBe('[... 1999997 earlier lines left out]\n7\n8\n9');
    // Two bytes a character: the last 64 Ki characters are 128 KiB, cut to head and tail.
    const long = logTail(Array.from({ length: 100 }, () => 'é'.repeat(5000)).join('\n'), 60);
    expect(Buffer.byteLength(long)).toBeLessThan(66 * 1024);
    expect(long).toMatch(/^\[\.\.\. 87 earlier lines left out\]\n[é\n]+\n\[kmod-harness: \d+ bytes dropped\]\n[é\n]+$/);
  });

  it("says in the test's system-out and the verdict what the output limit dropped", () => {
    const lost = result({ logs: { test: 'ok\n' }, stages: { test: 10, total: 20 }, dropped: { stdout: 2 ** 20, console: 10 } });
    const suite = parseXml(junitReport([lost])).children[0]!;
    const find = (name: string): XmlElement => suite.children.find((c) => c.name === 'testcase' && c.attrs.name === name)!;
    expect(child(find('test'), 'system-out')!.text).toBe('[kmod-harness: 1.0 MiB of test stdout dropped (output limit: head and tail kept)]\nok');
    expect(child(find('verdict'), 'system-out')!.text).toBe(
      '[kmod-harness: 1.0 MiB of test stdout, 10 B of console dropped (output limit: head and tail kept)]',
    );
    expect(child(find('verdict'), 'failure')).toBeUndefined();
    // Nothing dropped: no note.
    expect(child(testcase(0, 'verdict'), 'system-out')).toBeUndefined();
  });

  it('has one testcase per subtest: the description as its name, its diagnostics as the failure text', () => {
    const r = result({
      outcome: 'test-failed',
      reasons: ['subtest 2 "read back" failed'],
      subtests: [
        { id: '1', name: 'open', status: 'pass', diagnostics: [] },
        { id: '2', name: 'read back', status: 'fail', diagnostics: ['got 0x00, want 0x5a'] },
        { id: '3', name: '', status: 'skip', diagnostics: ['no hugepages'] },
        { id: '3.1', name: 'nested', status: 'todo', diagnostics: ['not yet'] },
      ],
    });
    const text = junitReport([r]);
    const suite = parseXml(text).children[0]!;
    const find = (name: string): XmlElement => suite.children.find((c) => c.name === 'testcase' && c.attrs.name === name)!;
    expect(find('subtest 1 open').attrs.classname).toBe(r.kernel);
    expect(find('subtest 1 open').children).toEqual([]);
    expect(child(find('subtest 2 read back'), 'failure')!.attrs).toMatchObject({ type: 'subtest-failed', message: 'got 0x00, want 0x5a' });
    expect(child(find('subtest 3'), 'skipped')!.attrs.message).toBe('no hugepages');
    expect(child(find('subtest 3.1 nested'), 'failure')).toBeUndefined();
    expect(suite.attrs.tests).toBe(String(JUNIT_STAGES.length + 4 + 1));
    if (xmllint.skip) return;
    xmllint.require();
    expect(validate(text)).toEqual({ status: 0, stderr: '- validates\n' });
  });

  it('logTail keeps the last lines of a CRLF log without its colour sequences', () => {
    expect(logTail('a\r\nb\r\n\u001b[1;31mc\u001b[0m\r\n', 2)).toBe('[... 1 earlier lines left out]\nb\nc');
    expect(logTail('one\n', 5)).toBe('one');
  });
});

describe('failedStages', () => {
  it('blames the stage the outcome names; a timeout by its stage; a kernel error by its markers or its taint: all from fields', () => {
    expect(failedStages(result({ outcome: 'load-failed' }))).toEqual(['load']);
    expect(failedStages(result({ outcome: 'load-failed', failedStage: 'reload' }))).toEqual(['unload']);
    expect(failedStages(result({ outcome: 'timeout', timedOutStage: 'unload', failedStage: 'unload' }))).toEqual(['unload']);
    expect(failedStages(result({ outcome: 'timeout', timedOutStage: 'upload' }))).toEqual(['load']);
    expect(failedStages(result({ outcome: 'timeout', timedOutStage: 'test-build', failedStage: 'test-build' }))).toEqual(['build']);
    expect(failedStages(result({ outcome: 'kernel-error', taint: { letters: 'D', stage: 'load' } }))).toEqual(['load']);
    expect(failedStages(result({ outcome: 'kernel-error', taint: { letters: 'D', stage: 'after-unload' } }))).toEqual(['unload']);
    // The wording of a reason decides nothing: a reworded message cannot blame another stage.
    expect(failedStages(result({ outcome: 'timeout', timedOutStage: 'test', reasons: ['timed out during unload'] }))).toEqual(['test']);
    expect(failedStages(result({ outcome: 'kernel-error', reasons: ['new taint: D (kernel died recently) after load'] }))).toEqual(['test']);
    expect(
      failedStages(
        result({
          outcome: 'kernel-error',
          kernelErrors: [
            { kind: 'oops', title: 'Oops', trace: [], stage: 'unload' },
            { kind: 'bug', title: 'BUG', trace: [], stage: 'load' },
          ],
        }),
      ),
    ).toEqual(['load', 'unload']);
    expect(failedStages(passing)).toEqual([]);
  });
});

describe('writeJunitReport', () => {
  it('writes the report whole and leaves no temporary file', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'kmh-junit-'));
    dirs.push(dir);
    const file = path.join(dir, 'sub', 'junit.xml');
    await writeJunitReport(file, [passing]);
    expect(await readFile(file, 'utf8')).toBe(junitReport([passing]));
    expect(await readdir(path.dirname(file))).toEqual(['junit.xml']);
  });
});
