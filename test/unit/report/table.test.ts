import { describe, expect, it } from 'vitest';
import { failingSubtests, formatTable, resultRows, subtestCounts, subtestDifferences } from '../../../harness/src/report/table.js';
import { result } from './result.js';

const results = [
  result({ stages: { kernel: 200, build: 3000, image: 500, boot: 4250, ssh: 900, upload: 100, load: 40, test: 1234, unload: 30, total: 9249 } }),
  result({
    kernel: '6.12.48+deb13-cloud-amd64',
    series: '6.12',
    outcome: 'kernel-error',
    reasons: ['WARNING in kmh_mmap (kmh_warn)', 'test exited 0'],
    stages: { boot: 61000, total: 61020 },
  }),
  result({ kernel: '7.2', series: '7.2', outcome: 'infra-error', reasons: ['cannot read the package index of sid', 'fix: set KMOD_HARNESS_MIRROR'] }),
];

describe('resultRows', () => {
  it('gives seconds with one decimal, - for a stage that did not run, and the first reason', () => {
    expect(resultRows(results)).toEqual([
      // total: the wall time the run measured (build overlaps image and boot, so no sum).
      ['6.1.0-56-cloud-amd64', 'pass', '-', '4.3s', '1.2s', '9.2s', ''],
      ['6.12.48+deb13-cloud-amd64', 'kernel-error', '-', '61.0s', '-', '61.0s', 'WARNING in kmh_mmap (kmh_warn)'],
      ['7.2', 'infra-error', '-', '-', '-', '-', 'cannot read the package index of sid'],
    ]);
  });
});

describe('resultRows and the output limit', () => {
  it('adds what the limit dropped to the reason, on a pass too', () => {
    const rows = resultRows([
      result({ dropped: { stdout: 3 * 2 ** 30 } }),
      result({ outcome: 'timeout', reasons: ['timed out during test', 'fix: raise --test-timeout'], dropped: { console: 2048 } }),
    ]);
    expect(rows[0]![6]).toBe('3.0 GiB of test stdout dropped (output limit: head and tail kept)');
    expect(rows[1]![6]).toBe('timed out during test; 2.0 KiB of console dropped (output limit: head and tail kept)');
  });
});

describe('subtests in the table', () => {
  const sub = (id: string, status: 'pass' | 'fail' | 'skip' | 'todo', name = `t${id}`, diagnostics: string[] = []) => ({ id, name, status, diagnostics });
  const a = result({ kernel: '6.1.0-56-cloud-amd64', series: '6.1', subtests: [sub('1', 'pass'), sub('2', 'pass'), sub('3', 'skip')] });
  const b = result({
    kernel: '7.2.13+deb14-cloud-amd64',
    series: '7.2',
    outcome: 'test-failed',
    subtests: [sub('1', 'pass'), sub('2', 'fail', 't2', ['got 0, want 1']), sub('3', 'skip')],
  });

  it('counts passes of all, then failures, skips and todos; - without TAP; a nested suite by its cases', () => {
    expect(subtestCounts(a)).toBe('2/3 ok, 1 skipped');
    expect(subtestCounts(b)).toBe('1/3 ok, 1 failed, 1 skipped');
    expect(subtestCounts(result({}))).toBe('-');
    expect(subtestCounts(result({ subtests: [sub('1', 'fail', 'suite'), sub('1.1', 'pass'), sub('1.2', 'fail'), sub('2', 'todo')] }))).toBe(
      '1/3 ok, 1 failed, 1 todo',
    );
  });

  it('lists the failing subtests by kernel, with their first diagnostic', () => {
    expect(failingSubtests([a, b])).toEqual(['7.2.13+deb14-cloud-amd64: subtest 2 "t2" failed: got 0, want 1']);
  });

  it('says in one line per subtest where its result differs between kernels', () => {
    const c = result({ kernel: '5.10.0-46-cloud-amd64', series: '5.10', subtests: [sub('1', 'pass'), sub('2', 'pass')] });
    expect(subtestDifferences([c, a, b])).toEqual(['subtest 2 "t2": fail on 7.2, pass on 5.10 6.1', 'subtest 3 "t3": skip on 6.1 7.2, not reached on 5.10']);
    expect(subtestDifferences([a])).toEqual([]);
    expect(subtestDifferences([a, a])).toEqual([]);
  });
});

describe('formatTable', () => {
  const lines = formatTable(results).split('\n');

  it('has a header and one line per kernel', () => {
    expect(lines).toHaveLength(4);
    expect(lines[0]!.split(/\s+/)).toEqual(['kernel', 'outcome', 'subtests', 'boot', 'test', 'total', 'reason']);
  });

  it('aligns every column under its header, two spaces apart', () => {
    const starts = ['kernel', 'outcome', 'subtests', 'boot', 'test', 'total', 'reason'].map((h) => lines[0]!.search(new RegExp(`(?<=^|\\s)${h}(?=\\s|$)`)));
    // The widest cell of each column sets its width.
    expect(starts.slice(1, 3)).toEqual(['6.12.48+deb13-cloud-amd64'.length + 2, '6.12.48+deb13-cloud-amd64'.length + 2 + 'kernel-error'.length + 2]);
    const rows = resultRows(results);
    lines.slice(1).forEach((line, r) => {
      const cells = starts.map((start, i) => line.slice(start, starts[i + 1]));
      expect(cells.map((c) => c.trim())).toEqual(rows[r]);
      // Each cell starts at its column; two blanks at least separate it from the next.
      cells.forEach((c) => c && expect(c[0]).not.toBe(' '));
      starts.slice(1).forEach((start) => line.length > start && expect(line.slice(start - 2, start)).toBe('  '));
    });
  });

  it('puts the first reason last, unpadded, and only the first', () => {
    expect(lines[2]!.endsWith('  WARNING in kmh_mmap (kmh_warn)')).toBe(true);
    expect(lines[3]!.endsWith('  cannot read the package index of sid')).toBe(true);
    expect(formatTable(results)).not.toContain('test exited 0');
    expect(formatTable(results)).not.toContain('fix:');
    // No reason: no trailing blanks.
    expect(lines[1]).toBe(lines[1]!.trimEnd());
    expect(lines[1]!.endsWith('9.2s')).toBe(true);
  });
});
