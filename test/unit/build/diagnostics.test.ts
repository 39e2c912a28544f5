import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic, parseDiagnostics } from '../../../harness/src/build/diagnostics.js';

// Real gcc and kbuild output, see test/fixtures/gcc/README.md.
const fixture = (name: string): string => readFileSync(new URL(`../../fixtures/gcc/${name}`, import.meta.url), 'utf8');

describe('parseDiagnostics on gcc output', () => {
  it('reads an undeclared identifier error and the warning before it, skipping notes and source echo', () => {
    expect(parseDiagnostics(fixture('undeclared.txt'))).toEqual([
      {
        file: '/tmp/unit-helper/gcc/undeclared.c',
        line: 5,
        column: 18,
        severity: 'warning',
        message: 'implicit declaration of function ‘open_device’ [-Wimplicit-function-declaration]',
      },
      { file: '/tmp/unit-helper/gcc/undeclared.c', line: 6, column: 24, severity: 'error', message: '‘count’ undeclared (first use in this function)' },
    ]);
  });

  it('reads warnings of a build that succeeded', () => {
    const diagnostics = parseDiagnostics(fixture('warning.txt'));
    expect(diagnostics.map((d) => [d.line, d.column, d.severity])).toEqual([
      [7, 18, 'warning'],
      [5, 13, 'warning'],
    ]);
    expect(diagnostics[1]!.message).toBe('unused variable ‘unused’ [-Wunused-variable]');
  });

  it("reports a fatal error (missing header) as an error, without 'fatal' in the message", () => {
    expect(parseDiagnostics(fixture('missing-header.txt'))).toEqual([
      { file: '/tmp/unit-helper/gcc/missing-header.c', line: 2, column: 10, severity: 'error', message: 'kmh/no_such_header.h: No such file or directory' },
    ]);
  });

  it('keeps a line without a column', () => {
    expect(parseDiagnostics('x.c:12: error: expected declaration')).toEqual([{ file: 'x.c', line: 12, severity: 'error', message: 'expected declaration' }]);
  });

  it('ignores notes, context lines and make output', () => {
    const log = [
      'x.c: In function ‘main’:',
      'x.c:3:1: note: declared here',
      'make[1]: *** [Makefile:4: x] Error 1',
      'cc1: all warnings being treated as errors',
      '',
    ].join('\n');
    expect(parseDiagnostics(log)).toEqual([]);
  });
});

describe('parseDiagnostics on a kbuild log (6.1 headers, M= build copy)', () => {
  const log = fixture('kbuild-6.1.txt');
  const copy = '/tmp/unit-helper/broken';
  const source = '/home/dev/kmh_broken';

  it('maps the build copy back to the source dir and drops notes from the kernel headers', () => {
    expect(parseDiagnostics(log, [{ from: copy, to: source }])).toEqual([
      { file: `${source}/kmh_broken.c`, line: 9, column: 37, severity: 'error', message: '‘kmh_answer’ undeclared (first use in this function)' },
      { file: `${source}/kmh_broken.c`, line: 7, column: 13, severity: 'warning', message: 'unused variable ‘unused’ [-Wunused-variable]' },
    ]);
  });

  it('leaves paths alone without a map, or when they are outside the copy', () => {
    expect(parseDiagnostics(log).map((d) => d.file)).toEqual([`${copy}/kmh_broken.c`, `${copy}/kmh_broken.c`]);
    expect(parseDiagnostics(log, [{ from: '/elsewhere', to: source }]).map((d) => d.file)).toEqual([`${copy}/kmh_broken.c`, `${copy}/kmh_broken.c`]);
  });

  it('uses the first map entry that matches', () => {
    const files = parseDiagnostics(log, [
      { from: '/elsewhere', to: '/nope' },
      { from: copy, to: source },
      { from: '/tmp', to: '/also-nope' },
    ]).map((d) => d.file);
    expect(files).toEqual([`${source}/kmh_broken.c`, `${source}/kmh_broken.c`]);
  });
});

describe('formatDiagnostic', () => {
  it('prints gcc style, with or without a column', () => {
    const [error] = parseDiagnostics(fixture('missing-header.txt'));
    expect(formatDiagnostic(error!)).toBe('/tmp/unit-helper/gcc/missing-header.c:2:10: error: kmh/no_such_header.h: No such file or directory');
    expect(formatDiagnostic({ file: 'x.c', line: 3, severity: 'warning', message: 'm' })).toBe('x.c:3: warning: m');
  });
});

describe('parseDiagnostics edge cases', () => {
  it("never reads gcc's quoted source line as a diagnostic, even when it looks like one", () => {
    const log = [
      'kmh.c:3:9: warning: too many arguments for format [-Wformat-extra-args]',
      '    3 |         printf("%d kmh.c:1: error: fake\\n", 1, 2);',
      '      |         ^~~~~~',
    ].join('\n');
    expect(parseDiagnostics(log).map((d) => `${d.file}:${d.line}:${d.severity}`)).toEqual(['kmh.c:3:warning']);
  });

  it('maps a directory only at a path boundary (/w/src does not map /w/src2)', () => {
    const log = '/w/src2/x.c:1:1: error: boom';
    expect(parseDiagnostics(log, [{ from: '/w/src', to: '/home/me/mod' }])[0]!.file).toBe('/w/src2/x.c');
    expect(parseDiagnostics('/w/src/x.c:1:1: error: boom', [{ from: '/w/src', to: '/home/me/mod' }])[0]!.file).toBe('/home/me/mod/x.c');
  });

  it('resolves relative names against the directory make ran in, then maps them back', () => {
    const log = 'answer_test.c:19:3: error: expected ; before return';
    const [d] = parseDiagnostics(log, [{ from: '/tmp/run/test/src', to: '/home/me/tests' }], '/tmp/run/test/src');
    expect(d!.file).toBe('/home/me/tests/answer_test.c');
  });
});
