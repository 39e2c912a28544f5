import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JobRaw } from '../../../harness/src/guest/job.js';
import { judgeJob, lateKernelErrors, stageAt, taintVerdict } from '../../../harness/src/verdict/judge.js';
import { stageMarker } from '../../../harness/src/verdict/kmsg.js';

const O = 1 << 12;
const E = 1 << 13;
const W = 1 << 9;
const D = 1 << 7;

describe('taintVerdict', () => {
  it('ignores the O and E bits an out-of-tree unsigned module always sets', () => {
    expect(taintVerdict({ before: 0, load: O | E, test: O | E, unload: O | E })).toBeUndefined();
  });

  it('names the first stage after which a forbidden bit appeared, and every bit seen by the end', () => {
    expect(taintVerdict({ before: 0, load: O | E, test: O | E | W, unload: O | E | W | D })).toEqual({ letters: 'DW', stage: 'test' });
    expect(taintVerdict({ before: 0, load: O | E | W })).toEqual({ letters: 'W', stage: 'load' });
  });

  it('does not blame a job for bits set before it loaded', () => {
    expect(taintVerdict({ before: W, load: W | O, test: W | O, unload: W | O })).toBeUndefined();
  });

  it('names the settle window after rmmod after-unload, and the reload reload', () => {
    expect(taintVerdict({ before: 0, load: O, test: O, unload: O, settle: O | D, reload: O | D | W })).toEqual({ letters: 'DW', stage: 'after-unload' });
    expect(taintVerdict({ before: 0, load: O, test: O, unload: O, settle: O, reload: O | W })).toEqual({ letters: 'W', stage: 'reload' });
  });

  it('says nothing without a reading before the load', () => {
    expect(taintVerdict({ load: W })).toBeUndefined();
  });
});

describe('stageAt', () => {
  const records = [
    'boot line',
    'kmod-harness: mark load:j1 begin',
    'insmod line',
    'kmod-harness: mark load:j1 end',
    'between',
    'kmod-harness: mark test:j1 begin',
    'WARNING: here',
  ].map((text) => ({ text }));
  it('names the stage whose begin marker encloses the record, nothing between stages or before the job', () => {
    expect(stageAt(records, 2)).toBe('load');
    expect(stageAt(records, 4)).toBeUndefined();
    expect(stageAt(records, 6)).toBe('test');
    expect(stageAt(records, 0)).toBeUndefined();
  });

  it("calls what comes after the job's last end marker after-unload: the module has left", () => {
    const done = [...records, 'kmod-harness: mark test:j1 end', 'kmod-harness: mark unload:j1 begin', 'kmod-harness: mark unload:j1 end', 'BUG: late'].map(
      (r) => (typeof r === 'string' ? { text: r } : r),
    );
    expect(stageAt(done, done.length - 1)).toBe('after-unload');
    // Between two stages of the job it is still no stage.
    expect(stageAt(done, 4)).toBeUndefined();
    // After the settle window ended and before the reload began (a work item late on a loaded host): the module is gone.
    const late = [
      'kmod-harness: mark unload:j1 end',
      'kmod-harness: mark after-unload:j1 begin',
      'kmod-harness: mark after-unload:j1 end',
      'BUG: late',
      'kmod-harness: mark reload:j1 begin',
    ].map((text) => ({ text }));
    expect(stageAt(late, 3)).toBe('after-unload');
  });
});

const job = (over: Partial<JobRaw>): JobRaw => ({
  taint: { before: 0, load: O, test: O, unload: O, settle: O },
  load: { exitCode: 0, signal: null, stdout: '', stderr: '' },
  test: { exitCode: 0, signal: null, stdout: '', stderr: '' },
  unload: { exitCode: 0, signal: null, stdout: '', stderr: '' },
  stillLoaded: [],
  sections: [],
  settled: true,
  entries: {},
  reloads: [],
  kmemleak: undefined,
  dmesg: undefined,
  timedOutStage: undefined,
  guestLost: false,
  stageMs: {},
  ...over,
});

const marks = (id: string, ...stages: string[]) => stages.flatMap((s) => [stageMarker(`${s}:${id}`, 'begin'), stageMarker(`${s}:${id}`, 'end')]);
const asDmesg = (lines: string[]) => lines.map((l, i) => `<4>[   ${10 + i}.000000] ${l}`).join('\n');
const asConsole = (lines: string[]) => lines.map((l, i) => `[   ${10 + i}.000000] ${l}`).join('\n');

describe('judgeJob around the unload', () => {
  const warn = [
    '------------[ cut here ]------------',
    'WARNING: CPU: 0 PID: 97 at kmh_flood.c:30 kmh_flood_read+0x1d/0x80 [kmh_flood]',
    'Call Trace:',
    ' <TASK>',
    ' kmh_flood_read+0x1d/0x80 [kmh_flood]',
    ' </TASK>',
    '---[ end trace 0000000000000000 ]---',
  ];
  const testWithWarn = [
    stageMarker('load:j', 'begin'),
    stageMarker('load:j', 'end'),
    stageMarker('test:j', 'begin'),
    ...warn,
    stageMarker('test:j', 'end'),
    ...marks('j', 'unload', 'after-unload'),
  ];

  it('fails on a registration the module left behind, naming the path', () => {
    const v = judgeJob(
      job({ dmesg: asDmesg(marks('j', 'load', 'test', 'unload')), entries: { before: ['/proc/cpuinfo'], after: ['/proc/cpuinfo', '/proc/kmh_leftover'] } }),
      'j',
      '',
      { modules: ['kmh_leftover'] },
    );
    expect(v.outcome).toBe('kernel-error');
    expect(v.reasons).toEqual(['left behind after rmmod of kmh_leftover: /proc/kmh_leftover']);
    expect(v.kernelErrors.map((e) => [e.kind, e.stage, e.module])).toEqual([['leftover', 'after-unload', 'kmh_leftover']]);
  });

  it('passes when the registrations after are those before', () => {
    expect(judgeJob(job({ dmesg: asDmesg(marks('j', 'load', 'test', 'unload')), entries: { before: ['/proc/a'], after: ['/proc/a'] } }), 'j', '').outcome).toBe(
      'pass',
    );
  });

  it('finds on the console a report that dmesg lost (the ring buffer wrapped), at its stage', () => {
    // dmesg holds only the flood that followed the WARN: the job's markers are gone from it too.
    const dmesg = asDmesg(Array.from({ length: 50 }, (_, i) => `kmh_flood: line ${i}`));
    const v = judgeJob(job({ dmesg }), 'j', asConsole(testWithWarn));
    expect(v.outcome).toBe('kernel-error');
    expect(v.kernelErrors).toHaveLength(1);
    expect(v.kernelErrors[0]).toMatchObject({ kind: 'warning', stage: 'test', module: 'kmh_flood', fromConsole: true });
  });

  it('counts a report seen in dmesg and on the console once', () => {
    const v = judgeJob(job({ dmesg: asDmesg(testWithWarn) }), 'j', asConsole(testWithWarn));
    expect(v.kernelErrors).toHaveLength(1);
    expect(v.kernelErrors[0]!.fromConsole).toBeUndefined();
  });

  it("ignores a console that never showed the job's first marker (an earlier job's reports are not this one's)", () => {
    const v = judgeJob(job({ dmesg: asDmesg(marks('j', 'load', 'test', 'unload')) }), 'j', asConsole([stageMarker('load:old', 'begin'), ...warn]));
    expect(v.outcome).toBe('pass');
  });

  it('fails a reload whose insmod collides, saying the first cycle went through', () => {
    const v = judgeJob(
      job({
        dmesg: asDmesg([...marks('j', 'load', 'test', 'unload', 'after-unload'), stageMarker('reload:j', 'begin')]),
        reloads: [
          {
            load: { exitCode: 1, signal: null, stdout: '', stderr: "insmod: can't insert '/tmp/kmod-harness/j/kmh_reload.ko': File exists" },
            unload: undefined,
            stillLoaded: [],
          },
        ],
      }),
      'j',
      '',
    );
    expect(v.outcome).toBe('load-failed');
    expect(v.reasons).toEqual([
      "on reload (the first load and unload succeeded): insmod exited with status 1: insmod: can't insert '/tmp/kmod-harness/j/kmh_reload.ko': File exists",
    ]);
  });

  it('fails a reload whose rmmod leaves the module loaded', () => {
    const ok = { exitCode: 0, signal: null, stdout: '', stderr: '' };
    const v = judgeJob(
      job({ dmesg: asDmesg(marks('j', 'load', 'test', 'unload', 'after-unload', 'reload')), reloads: [{ load: ok, unload: ok, stillLoaded: ['kmh_x'] }] }),
      'j',
      '',
    );
    expect(v.outcome).toBe('unload-failed');
    expect(v.reasons).toEqual(['on reload: rmmod exited with status 1: still loaded: kmh_x']);
  });
});

describe('a fault in the freed text of an unloaded module', () => {
  const oops = [
    'BUG: unable to handle page fault for address: ffffffffc0a01010',
    '#PF: supervisor instruction fetch in kernel mode',
    'Oops: 0010 [#1] PREEMPT SMP NOPTI',
    'RIP: 0010:0xffffffffc0a01010',
    'Call Trace:',
    ' <IRQ>',
    ' call_timer_fn+0x27/0x130',
    ' </IRQ>',
    '---[ end trace 0000000000000000 ]---',
  ];
  const before = [...marks('j', 'load', 'test', 'unload'), stageMarker('after-unload:j', 'begin')];
  // The module's .text was at 0xffffffffc0a01000; kmh_timer_fn is its first 0x20 bytes.
  const locate = (a: bigint) =>
    a >= 0xffffffffc0a01000n && a < 0xffffffffc0a01020n ? `kmh_timer_fn+0x${(a - 0xffffffffc0a01000n).toString(16)}/0x20 [kmh_timer]` : undefined;

  it('is blamed on the module whose text held the address, in the settle window', () => {
    const v = judgeJob(job({ dmesg: undefined, guestLost: true, settled: false }), 'j', asConsole([...before, ...oops]), { locate });
    expect(v.outcome).toBe('kernel-error');
    expect(v.kernelErrors[0]).toMatchObject({ stage: 'after-unload', module: 'kmh_timer', freedText: 'kmh_timer_fn+0x10/0x20 [kmh_timer]' });
    expect(v.reasons[0]).toBe(
      "BUG: unable to handle page fault for address: ffffffffc0a01010 (module kmh_timer: at kmh_timer_fn+0x10/0x20 [kmh_timer], in the module's memory after it was unloaded)",
    );
  });

  it('stays a kernel error of the kernel itself when no module held the address', () => {
    const v = judgeJob(job({ dmesg: undefined, guestLost: true }), 'j', asConsole([...before, ...oops]), { locate: () => undefined });
    expect(v.kernelErrors[0]!.module).toBeUndefined();
    expect(v.reasons[0]).toMatch(/in the kernel itself/);
  });

  it('after poweroff: a report past the last marker that the verdict has not counted', () => {
    const console = asConsole([...marks('j', 'load', 'test', 'unload', 'after-unload'), ...oops]);
    const late = lateKernelErrors(console, 'j', [], locate);
    expect(late).toHaveLength(1);
    expect(late[0]).toMatchObject({ stage: 'after-unload', module: 'kmh_timer', fromConsole: true });
    expect(lateKernelErrors(console, 'j', late)).toEqual([]);
    // Reports inside the job are the verdict's own, not late ones.
    expect(lateKernelErrors(asConsole([stageMarker('load:j', 'begin'), ...oops, stageMarker('load:j', 'end')]), 'j', [])).toEqual([]);
  });
});

describe("judgeJob reads the test's TAP", () => {
  const tapFixture = (name: string) => readFileSync(path.resolve('test/fixtures/tap', name), 'utf8');
  const clean = asDmesg(marks('j', 'load', 'test', 'unload', 'after-unload'));
  const withTest = (stdout: string, exitCode: number | null = 0) => job({ dmesg: clean, test: { exitCode, signal: null, stdout, stderr: '' } });

  it('passes the seed with every subtest in the result', () => {
    const v = judgeJob(withTest(tapFixture('seed-pass.stdout')), 'j', '');
    expect(v.outcome).toBe('pass');
    expect(v.subtests).toHaveLength(14);
    expect(v.subtests![4]).toEqual({ id: '5', name: 'both mappings map the same physical page', status: 'pass', diagnostics: ['pfn 0x62fd'] });
  });

  it('fails a test that exits 0 after a not ok, naming the subtest', () => {
    const v = judgeJob(withTest('TAP version 13\n1..3\nok 1 - open\nnot ok 2 - read back\n# got 0x00, want 0x5a\nok 3 - close\n'), 'j', '');
    expect(v.outcome).toBe('test-failed');
    expect(v.failedStage).toBe('test');
    expect(v.reasons).toEqual(['subtest 2 "read back" failed']);
    expect(v.subtests!.map((s) => s.status)).toEqual(['pass', 'fail', 'pass']);
  });

  it('fails a test that died midway through its plan, naming the last subtest seen (a real seed failure)', () => {
    const v = judgeJob(withTest(tapFixture('seed-fail-midway.stdout'), 1), 'j', '');
    expect(v.outcome).toBe('test-failed');
    expect(v.reasons.some((r) => /the test stopped after subtest 3 of a plan of 14/.test(r))).toBe(true);
  });

  it('judges a test that prints no TAP by its exit status alone', () => {
    const v = judgeJob(withTest('all good\n'), 'j', '');
    expect(v.outcome).toBe('pass');
    expect(v.subtests).toBeUndefined();
  });

  it('does not read the TAP of a test cut short by its limit: that is a timeout', () => {
    const v = judgeJob({ ...withTest('1..5\nok 1 - a\n', null), timedOutStage: 'test' }, 'j', '');
    expect(v.outcome).toBe('timeout');
    expect(v.subtests).toBeUndefined();
  });
});

describe('judgeJob reads the KTAP of KUnit suites run at load', () => {
  // The real kernel log of loading a KUnit suite on 6.1-debug (markers of job `job-kunit` around it).
  const loadLog = readFileSync(path.resolve('test/fixtures/tap/kunit-load.dmesg'), 'utf8').split('\n').slice(1).join('\n');
  const rest = asDmesg(marks('job-kunit', 'test', 'unload', 'after-unload'));
  const tapOk = { exitCode: 0, signal: null, stdout: '1..1\nok 1 - loaded\n', stderr: '' };

  it("fails the test at load for a failed case, with the cases as subtests after the test's own", () => {
    const v = judgeJob(job({ dmesg: `${loadLog}\n${rest}`, test: tapOk }), 'job-kunit', '');
    expect(v.outcome).toBe('test-failed');
    expect(v.failedStage).toBe('load');
    expect(v.reasons).toEqual(['KUnit: 2 of 6 subtests failed: kunit.1.2 "kmh_fails", kunit.1.4.2 "value 1"']);
    expect(v.tapFailure).toBe('KUnit: 2 of 6 subtests failed: kunit.1.2 "kmh_fails", kunit.1.4.2 "value 1"');
    expect(v.subtests!.map((s) => [s.id, s.name, s.status])).toEqual([
      ['1', 'loaded', 'pass'],
      ['kunit.1', 'kmh_tap_demo', 'fail'],
      ['kunit.1.1', 'kmh_passes', 'pass'],
      ['kunit.1.2', 'kmh_fails', 'fail'],
      ['kunit.1.3', 'kmh_skips', 'skip'],
      ['kunit.1.4', 'kmh_param', 'fail'],
      ['kunit.1.4.1', 'value 0', 'pass'],
      ['kunit.1.4.2', 'value 1', 'fail'],
      ['kunit.1.4.3', 'value 2', 'pass'],
    ]);
    expect(v.subtests!.find((s) => s.id === 'kunit.1.2')!.diagnostics).toContain('kmh_fails: EXPECTATION FAILED at /tmp/tapfix/kunit-module/kmh_tap_demo.c:18');
  });

  it('passes a suite whose cases all pass, with a test that prints no TAP', () => {
    const lines = [
      '    KTAP version 1',
      '    # Subtest: kmh_ok',
      '    1..2',
      '    ok 1 kmh_a',
      '    ok 2 kmh_b # SKIP not here',
      '# kmh_ok: pass:1 fail:0 skip:1 total:2',
      'ok 1 kmh_ok',
    ];
    const dmesg = asDmesg([
      stageMarker('load:j', 'begin'),
      'kmh_ok: loading out-of-tree module taints kernel.',
      ...lines,
      stageMarker('load:j', 'end'),
      ...marks('j', 'test', 'unload', 'after-unload'),
    ]);
    const v = judgeJob(job({ dmesg, test: { exitCode: 0, signal: null, stdout: 'fine\n', stderr: '' } }), 'j', '');
    expect(v.outcome).toBe('pass');
    expect(v.tapFailure).toBeUndefined();
    expect(v.subtests!.map((s) => [s.id, s.status])).toEqual([
      ['kunit.1', 'pass'],
      ['kunit.1.1', 'pass'],
      ['kunit.1.2', 'skip'],
    ]);
  });

  it("takes a suite whose every case skipped as KUnit's SKIP: the userland test decides", () => {
    const lines = ['    KTAP version 1', '    # Subtest: kmh_hw', '    1..1', '    ok 1 kmh_hw_probe # SKIP no such device', 'ok 1 kmh_hw # SKIP'];
    const dmesg = asDmesg([stageMarker('load:j', 'begin'), ...lines, stageMarker('load:j', 'end'), ...marks('j', 'test', 'unload', 'after-unload')]);
    const v = judgeJob(job({ dmesg, test: { exitCode: 0, signal: null, stdout: '1..1\nok 1 - device file works\n', stderr: '' } }), 'j', '');
    expect(v.outcome).toBe('pass');
    expect(v.subtests!.map((s) => [s.id, s.status])).toEqual([
      ['1', 'pass'],
      ['kunit.1', 'skip'],
      ['kunit.1.1', 'skip'],
    ]);
  });

  it('reads no KUnit from a module whose own log merely looks like TAP, nor from the test stage', () => {
    const dmesg = asDmesg([
      stageMarker('load:j', 'begin'),
      'ok 1 device probed',
      'not ok 2 nothing',
      stageMarker('load:j', 'end'),
      stageMarker('test:j', 'begin'),
      '    KTAP version 1',
      'not ok 1 other',
      stageMarker('test:j', 'end'),
      ...marks('j', 'unload'),
    ]);
    const v = judgeJob(job({ dmesg }), 'j', '');
    expect(v.outcome).toBe('pass');
    expect(v.subtests).toBeUndefined();
  });

  it('fails a case that fails only on the reload (state the first load left), at the reload', () => {
    const suite = (ok: boolean) => [
      '    KTAP version 1',
      '    # Subtest: kmh_once',
      '    1..1',
      `    ${ok ? 'ok' : 'not ok'} 1 kmh_fresh_state`,
      `${ok ? 'ok' : 'not ok'} 1 kmh_once`,
    ];
    const dmesg = asDmesg([
      stageMarker('load:j', 'begin'),
      ...suite(true),
      stageMarker('load:j', 'end'),
      ...marks('j', 'test', 'unload', 'after-unload'),
      stageMarker('reload:j', 'begin'),
      ...suite(false),
      stageMarker('reload:j', 'end'),
    ]);
    const reloads = [
      { load: { exitCode: 0, signal: null, stdout: '', stderr: '' }, unload: { exitCode: 0, signal: null, stdout: '', stderr: '' }, stillLoaded: [] },
    ];
    const v = judgeJob(job({ dmesg, reloads }), 'j', '');
    expect(v.outcome).toBe('test-failed');
    expect(v.failedStage).toBe('reload');
    expect(v.reasons).toEqual(['KUnit on reload: subtest kunit.1.1 "kmh_fresh_state" failed']);
    expect(v.subtests!.map((s) => s.status)).toEqual(['pass', 'pass']);
  });

  it('does not read a load cut short by its limit: that is a timeout', () => {
    const v = judgeJob(job({ dmesg: `${loadLog}\n${rest}`, timedOutStage: 'load', test: undefined, unload: undefined }), 'job-kunit', '');
    expect(v.outcome).toBe('timeout');
    expect(v.subtests).toBeUndefined();
  });
});
