import { describe, expect, it } from 'vitest';
import type { HarnessEvent } from '../../../harness/src/events.js';
import { GENERAL, initialRows, reduceRows, settleRows, viewRow, type Rows } from '../../../harness/src/console/rows.js';

/** Feed `[at, event]` pairs through the reducer. */
const fold = (rows: Rows, script: Array<[number, HarnessEvent]>): Rows => script.reduce((r, [at, e]) => reduceRows(r, e, at), rows);
const row = (rows: Rows, key: string) => rows.find((r) => r.key === key)!;
const text = (rows: Rows, key: string, now: number) => viewRow(row(rows, key), now).lines.map((l) => l.text);

// What runOnKernel sends for one kernel: series on every event, kernel the series until the
// release is known.
const script: Array<[number, HarnessEvent]> = [
  [0, { type: 'stage-start', stage: 'kernel', series: '6.1', kernel: '6.1' }],
  [100, { type: 'info', series: '6.1', kernel: '6.1', message: 'downloading 6.1.0-37-amd64 (6.1.140-1) from bookworm' }],
  [200, { type: 'progress', stage: 'kernel', series: '6.1', kernel: '6.1', what: '6.1.0-37-amd64', done: 38_200_000, total: 61_000_000 }],
];

describe('reduceRows', () => {
  it('starts with a general row and one waiting row per kernel', () => {
    const rows = initialRows(['6.1', '5.10']);
    expect(rows.map((r) => r.key)).toEqual([GENERAL, '6.1', '5.10']);
    expect(text(rows, '6.1', 0)).toEqual(['6.1  waiting']);
    expect(viewRow(row(rows, '6.1'), 0).status).toBe('waiting');
    expect(text(rows, GENERAL, 0)).toEqual([]);
  });

  it('shows the current stage with its elapsed time and the download in bytes', () => {
    const rows = fold(initialRows(['6.1', '5.10']), script);
    expect(text(rows, '6.1', 3400)).toEqual([
      '6.1  kernel 3.4 s',
      'downloading 38.2/61.0 MB (6.1.0-37-amd64)',
      'downloading 6.1.0-37-amd64 (6.1.140-1) from bookworm',
    ]);
    expect(viewRow(row(rows, '6.1'), 0).status).toBe('running');
    expect(text(rows, '5.10', 3400)).toEqual(['5.10  waiting']);
  });

  it('lists the stages done with their ms, names the release once known, runs overlapping stages side by side', () => {
    const rows = fold(initialRows(['6.1']), [
      ...script,
      [4000, { type: 'stage-end', stage: 'kernel', series: '6.1', kernel: '6.1', ms: 4000 }],
      [4000, { type: 'stage-start', stage: 'build', series: '6.1', kernel: '6.1.0-37-amd64' }],
      [4001, { type: 'stage-start', stage: 'image', series: '6.1', kernel: '6.1.0-37-amd64' }],
      [4800, { type: 'stage-end', stage: 'image', series: '6.1', kernel: '6.1.0-37-amd64', ms: 799, detail: 'cached' }],
      [4800, { type: 'stage-start', stage: 'boot', series: '6.1', kernel: '6.1.0-37-amd64' }],
    ]);
    const lines = text(rows, '6.1', 6000);
    expect(lines[0]).toBe('6.1 (6.1.0-37-amd64)  build 2.0 s, boot 1.2 s');
    expect(lines[1]).toBe('done: kernel 4000 ms, image 799 ms');
    expect(lines.some((l) => l.startsWith('downloading 38.2'))).toBe(false); // ended with its stage
  });

  it('says a kernel has finished once its teardown has ended (its verdict comes with finish)', () => {
    const rows = fold(initialRows(['6.1']), [
      ...script,
      [4000, { type: 'stage-end', stage: 'kernel', series: '6.1', kernel: '6.1', ms: 4000 }],
      [9000, { type: 'stage-start', stage: 'teardown', series: '6.1', kernel: '6.1.0-37-amd64' }],
      [9100, { type: 'stage-end', stage: 'teardown', series: '6.1', kernel: '6.1.0-37-amd64', ms: 100 }],
    ]);
    expect(text(rows, '6.1', 30_000)).toEqual(['6.1 (6.1.0-37-amd64)  finished in 9.1 s', 'done: kernel 4000 ms, teardown 100 ms']);
  });

  it('keeps warnings, the last three of them', () => {
    const warn = (n: number): [number, HarnessEvent] => [n, { type: 'warn', series: '6.1', kernel: '6.1', message: `w${n}` }];
    const rows = fold(initialRows(['6.1']), [warn(1), warn(2), warn(3), warn(4), warn(5)]);
    expect(text(rows, '6.1', 10).slice(1)).toEqual(['(2 earlier warnings)', 'warning: w3', 'warning: w4', 'warning: w5']);
    const lone = fold(initialRows(['6.1']), [warn(1)]);
    expect(viewRow(row(lone, '6.1'), 10).lines.at(-1)).toEqual({ text: 'warning: w1', tone: 'warn' });
  });

  it('puts events of no kernel on the general row, and those of a kernel without a row, named', () => {
    const rows = fold(initialRows(['6.1']), [
      [0, { type: 'info', message: 'installing host packages: zstd' }],
      [1, { type: 'warn', kernel: 'buildroot:/x', message: 'odd' }],
    ]);
    expect(text(rows, GENERAL, 5)).toEqual(['host', 'installing host packages: zstd', 'warning: buildroot:/x: odd']);
    expect(rows.map((r) => r.key)).toEqual([GENERAL, '6.1']);
  });

  it('leaves the rows it was given untouched', () => {
    const rows = initialRows(['6.1']);
    fold(rows, script);
    expect(row(rows, '6.1').since).toBeUndefined();
  });
});

describe('settleRows', () => {
  const started = fold(initialRows(['6.1', '5.10', '6.12']), [
    ...script,
    [500, { type: 'stage-start', stage: 'boot', series: '5.10', kernel: '5.10.0-35-amd64' }],
    [600, { type: 'warn', series: '5.10', kernel: '5.10.0-35-amd64', message: 'boot retried' }],
  ]);

  it('ends each kernel by its outcome, with its wall time; warnings stay', () => {
    const rows = settleRows(
      started,
      [
        { series: '6.1', kernel: '6.1.0-37-amd64', outcome: 'pass' },
        { series: '5.10', kernel: '5.10.0-35-amd64', outcome: 'boot-failed' },
      ],
      20_500,
    );
    expect(viewRow(row(rows, '6.1'), 99_999)).toEqual({ status: 'passed', lines: [{ text: '6.1 (6.1.0-37-amd64)  pass in 20.5 s', tone: 'plain' }] });
    const failed = viewRow(row(rows, '5.10'), 99_999);
    expect(failed.status).toBe('failed');
    expect(failed.lines.map((l) => l.text)).toEqual(['5.10 (5.10.0-35-amd64)  boot-failed in 20.0 s', 'warning: boot retried']);
    expect(viewRow(row(rows, '6.12'), 0)).toMatchObject({ status: 'failed', lines: [{ text: '6.12  not run' }] });
    expect(viewRow(row(rows, GENERAL), 0)).toEqual({ status: 'passed', lines: [] });
  });

  it("takes the wall time from the result's stages when it has them", () => {
    const rows = settleRows(started, [{ series: '6.1', kernel: '6.1.0-37-amd64', outcome: 'pass', stages: { total: 13_900 } }], 20_500);
    expect(text(rows, '6.1', 0)[0]).toBe('6.1 (6.1.0-37-amd64)  pass in 13.9 s');
  });

  it('ends kernels without a result as did not finish, or as told', () => {
    expect(text(settleRows(started, [], 1000), '6.1', 0)[0]).toBe('6.1  did not finish in 1.0 s, during kernel');
    expect(text(settleRows(started, [], 1000, 'interrupted'), '5.10', 0)[0]).toBe('5.10 (5.10.0-35-amd64)  interrupted in 0.5 s, during boot');
  });

  it('matches a result without a series by its kernel, and ignores events after the end', () => {
    const rows = settleRows(initialRows(['local:/b/bzImage,/b']), [{ kernel: 'local:/b/bzImage,/b', outcome: 'pass' }], 5);
    expect(viewRow(row(rows, 'local:/b/bzImage,/b'), 0).status).toBe('passed');
    const later = reduceRows(rows, { type: 'warn', series: 'local:/b/bzImage,/b', message: 'late' }, 6);
    expect(row(later, 'local:/b/bzImage,/b').warnings).toEqual([]);
  });
});

describe('kernel-end', () => {
  it("ends the kernel's own row with its outcome at once, and the row takes no more events", () => {
    let rows = fold(initialRows(['6.1', '5.10']), [
      ...script,
      [9000, { type: 'stage-start', stage: 'boot', series: '6.1', kernel: '6.1.0-37-amd64' }],
      [9500, { type: 'kernel-end', series: '6.1', kernel: '6.1.0-37-amd64', outcome: 'kernel-error', ms: 9500 }],
    ]);
    expect(row(rows, '6.1').end).toEqual({ outcome: 'kernel-error', ms: 9500 });
    expect(viewRow(row(rows, '6.1'), 9600).status).toBe('failed');
    expect(text(rows, '6.1', 9600)[0]).toBe('6.1 (6.1.0-37-amd64)  kernel-error in 9.5 s');
    expect(viewRow(row(rows, '5.10'), 9600).status).toBe('waiting');
    rows = reduceRows(rows, { type: 'warn', series: '6.1', message: 'late' }, 9700);
    expect(row(rows, '6.1').warnings).toEqual([]);
    // finish() leaves an ended row as it is.
    expect(row(settleRows(rows, [{ series: '6.1', kernel: '6.1.0-37-amd64', outcome: 'pass' }], 10_000), '6.1').end?.outcome).toBe('kernel-error');
  });

  it('a pass is shown as passed', () => {
    const rows = reduceRows(initialRows(['6.1']), { type: 'kernel-end', series: '6.1', kernel: '6.1.0-37-amd64', outcome: 'pass', ms: 6400 }, 6400);
    expect(viewRow(row(rows, '6.1'), 6500).status).toBe('passed');
  });
});
