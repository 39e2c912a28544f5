import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { annotations, emitGithub, escapeData, escapeProperty, markdownCell, onGithub, stepSummary, workspacePath } from '../../../harness/src/report/github.js';
import type { KernelResult } from '../../../harness/src/run.js';
import { result } from './result.js';

const WS = '/__w/kmod/kmod';

const compileError = (kernel: string, series: string): KernelResult =>
  result({
    kernel,
    series,
    outcome: 'build-failed',
    exitCode: null,
    reasons: ['module build failed: kmh.c:17:19: error: undeclared'],
    diagnostics: [
      { file: `${WS}/mod/kmh.c`, line: 17, column: 19, severity: 'error', message: "'kmh_no_such_symbol' undeclared: 100% sure, see\nnote" },
      { file: `${WS}/mod/kmh.c`, line: 9, severity: 'warning', message: 'unused variable' },
    ],
    stages: { build: 3669, total: 7826 },
  });

const warned = (kernel: string, offset: string): KernelResult =>
  result({
    kernel,
    outcome: 'kernel-error',
    reasons: ['WARNING at warn_mmap.c:22 kmh_warn_read [warn_mmap] | <TASK> & *bold*'],
    kernelErrors: [
      {
        kind: 'warning',
        title: `WARNING at warn_mmap.c:22 kmh_warn_read+${offset} [warn_mmap]`,
        stage: 'test',
        trace: ['<TASK>', 'proc_reg_read+0x56/0xa0', '</TASK>'],
        source: [{ frame: `kmh_warn_read+${offset} [warn_mmap]`, func: 'kmh_warn_read', file: '/elsewhere/a,b:c/warn_mmap.c', line: 22 }],
      },
      // Not symbolised: no annotation.
      { kind: 'oops', title: 'Oops: 0000', trace: [] },
    ],
    stages: { boot: 4250, test: 1234, total: 9249 },
  });

/** The runner's side: split a workflow command line and unescape it. */
function parseCommand(line: string): { command: string; props: Record<string, string>; message: string } {
  const m = /^::(\w+) ([^:]*)::(.*)$/s.exec(line);
  if (!m) throw new Error(`not a workflow command: ${line}`);
  const unData = (s: string) => s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
  const unProp = (s: string) => unData(s.replace(/%3A/g, ':').replace(/%2C/g, ','));
  const props = Object.fromEntries(m[2]!.split(',').map((kv) => [kv.slice(0, kv.indexOf('=')), unProp(kv.slice(kv.indexOf('=') + 1))]));
  return { command: m[1]!, props, message: unData(m[3]!) };
}

describe('workflow command escaping', () => {
  it('escapes %, CR and LF in a message, and also : and , in a property', () => {
    expect(escapeData('100% a\r\nb: c, d')).toBe('100%25 a%0D%0Ab: c, d');
    expect(escapeProperty('100% a\r\nb: c, d')).toBe('100%25 a%0D%0Ab%3A c%2C d');
    // % first: an escape sequence already in the text survives as text.
    expect(escapeData('%0A')).toBe('%250A');
  });
});

describe('annotations', () => {
  const lines = annotations(
    [
      compileError('6.1.0-56-cloud-amd64', '6.1'),
      compileError('6.12.48+deb13-cloud-amd64', '6.12'),
      warned('5.10.0-35-cloud-amd64', '0x5/0xe'),
      warned('7.2.0-1-cloud-amd64', '0x9/0x20'),
    ],
    WS,
  );

  it('gives one ::error per compile error and per symbolised kernel error, naming every kernel it happened on', () => {
    expect(lines).toHaveLength(2);
    expect(lines.every((l) => !l.includes('\n') && !l.includes('\r'))).toBe(true);
    const cc = parseCommand(lines[0]!);
    expect(cc).toEqual({
      command: 'error',
      props: { file: 'mod/kmh.c', line: '17', col: '19', title: 'compile error (6.1.0-56-cloud-amd64, 6.12.48+deb13-cloud-amd64)' },
      message: "'kmh_no_such_symbol' undeclared: 100% sure, see\nnote",
    });
    expect(lines[0]).toBe(
      "::error file=mod/kmh.c,line=17,col=19,title=compile error (6.1.0-56-cloud-amd64%2C 6.12.48+deb13-cloud-amd64)::'kmh_no_such_symbol' undeclared: 100%25 sure, see%0Anote",
    );
  });

  it('annotates a kernel error at its first module frame, with the report as the message', () => {
    const ke = parseCommand(lines[1]!);
    // Outside the workspace: kept absolute; its comma and colon escaped so they do not split properties.
    expect(lines[1]).toContain(
      'file=/elsewhere/a%2Cb%3Ac/warn_mmap.c,line=22,title=kernel warning in kmh_warn_read (5.10.0-35-cloud-amd64%2C 7.2.0-1-cloud-amd64)::',
    );
    expect(ke.props).toEqual({
      file: '/elsewhere/a,b:c/warn_mmap.c',
      line: '22',
      title: 'kernel warning in kmh_warn_read (5.10.0-35-cloud-amd64, 7.2.0-1-cloud-amd64)',
    });
    expect(ke.message).toBe('WARNING at warn_mmap.c:22 kmh_warn_read+0x5/0xe [warn_mmap]\n  <TASK>\n  proc_reg_read+0x56/0xa0\n  </TASK>');
  });

  it('has nothing to say about a passing run', () => {
    expect(annotations([result({})], WS)).toEqual([]);
  });
});

describe('workspacePath', () => {
  it('is relative under the workspace, and the path as it is elsewhere or without one', () => {
    expect(workspacePath(`${WS}/a/b.c`, WS)).toBe('a/b.c');
    expect(workspacePath(`${WS}/a/b.c`, `${WS}/`)).toBe('a/b.c');
    expect(workspacePath(`${WS}-other/b.c`, WS)).toBe(`${WS}-other/b.c`);
    expect(workspacePath('/tmp/b.c', WS)).toBe('/tmp/b.c');
    expect(workspacePath(`${WS}/..b.c`, WS)).toBe('..b.c');
    expect(workspacePath('/tmp/b.c', undefined)).toBe('/tmp/b.c');
  });
});

describe('stepSummary', () => {
  const results = [
    result({ stages: { boot: 4250, test: 1234, total: 9249 } }),
    warned('6.12.48+deb13-cloud-amd64', '0x5/0xe'),
    result({ kernel: '7.2', series: '7.2', outcome: 'infra-error', reasons: ['no mirror'] }),
    result({ kernel: '6.1.0-57-cloud-arm64', series: '6.1/arm64', arch: 'arm64' }),
  ];
  const md = stepSummary(results);
  const rows = md.split('\n').filter((l) => l.startsWith('|'));

  it('says how many kernels passed, then a table row per kernel with timings and the first reason', () => {
    expect(md.startsWith('### kmod-harness: 2 of 4 kernels passed\n')).toBe(true);
    expect(rows[0]).toBe('| kernel | series | arch | outcome | subtests | boot | test | total | reason |');
    expect(rows).toHaveLength(6);
    expect(rows[2]).toBe('| 6.1.0-56-cloud-amd64 | 6.1 | amd64 | ✅ pass | - | 4.3s | 1.2s | 9.2s |  |');
    expect(rows[4]).toBe('| 7.2 | 7.2 | amd64 | ⚠️ infra-error | - | - | - | - | no mirror |');
    expect(rows[5]).toBe('| 6.1.0-57-cloud-arm64 | 6.1/arm64 | arm64 | ✅ pass | - | - | - | - |  |');
  });

  it('escapes a reason so that it stays in its cell and shows as text', () => {
    expect(rows[3]).toBe(
      '| 6.12.48+deb13-cloud-amd64 | 6.1 | amd64 | ❌ kernel-error | - | 4.3s | 1.2s | 9.2s | WARNING at warn\\_mmap.c:22 kmh\\_warn\\_read \\[warn\\_mmap\\] \\| \\<TASK\\> \\& \\*bold\\* |',
    );
    // Every row has the header's nine cells: no unescaped | inside one.
    for (const row of rows) expect(row.split(/(?<!\\)\|/).length).toBe(11);
    expect(markdownCell('a\r\n  b\nc')).toBe('a b c');
  });
});

describe('emitGithub', () => {
  const dirs: string[] = [];
  afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it('appends the summary to $GITHUB_STEP_SUMMARY and writes the annotations, on GitHub Actions', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'kmh-gh-'));
    dirs.push(dir);
    const summary = path.join(dir, 'step_summary');
    await writeFile(summary, 'earlier step\n');
    const out: string[] = [];
    const results = [compileError('6.1.0-56-cloud-amd64', '6.1')];
    await emitGithub(results, { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary, GITHUB_WORKSPACE: WS }, (t) => out.push(t));
    expect(await readFile(summary, 'utf8')).toBe(`earlier step\n${stepSummary(results)}`);
    expect(out).toEqual(annotations(results, WS).map((l) => `${l}\n`));
  });

  it('does nothing elsewhere', async () => {
    const out: string[] = [];
    await emitGithub([compileError('6.1.0-56-cloud-amd64', '6.1')], { GITHUB_STEP_SUMMARY: '/nonexistent/dir/summary' }, (t) => out.push(t));
    expect(out).toEqual([]);
    expect(onGithub({ GITHUB_ACTIONS: 'false' })).toBe(false);
    expect(onGithub({ GITHUB_ACTIONS: 'true' })).toBe(true);
  });
});
