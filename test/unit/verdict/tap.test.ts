// The TAP/KTAP parser and its verdict: on real outputs captured in the guest
// (test/fixtures/tap, see its README), then one hand-written case per rule.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { droppedLine } from '../../../harness/src/util/bounded-text.js';
import { parseDmesg } from '../../../harness/src/verdict/kmsg.js';
import { headlineDiagnostic, parseTap, TAP_LIMITS, tapVerdict, type Subtest, type TapResult } from '../../../harness/src/verdict/tap.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/tap/', import.meta.url));

/** A fixture as it is, its `fixture:` header line included: the parser must skip it. */
function fixture(name: string): string {
  const text = readFileSync(FIXTURES + name, 'utf8');
  expect(text.startsWith('fixture: ')).toBe(true);
  return name.endsWith('.dmesg')
    ? parseDmesg(text)
        .map((r) => r.text)
        .join('\n')
    : text;
}

function parsed(text: string): TapResult {
  const result = parseTap(text);
  if (result === undefined) throw new Error('not read as TAP');
  return result;
}

/** Every subtest of the tree, depth first, parents after their children. */
function all(subtests: readonly Subtest[]): Subtest[] {
  return subtests.flatMap((s) => [...all(s.children ?? []), s]);
}

function shape(subtests: readonly Subtest[]): Array<[string, string, Subtest['status']]> {
  return all(subtests).map((s) => [s.id, s.name, s.status]);
}

describe('parseTap on real outputs', () => {
  it('skips the fixture header line in every fixture', () => {
    for (const name of [
      'seed-pass.stdout',
      'vmalloc-pass.stdout',
      'seed-fail-midway.stdout',
      'kunit-debugfs.stdout',
      'kunit-load.dmesg',
      'kselftest-harness.stdout',
      'kselftest-plain.stdout',
    ]) {
      const result = parsed(fixture(name));
      const text = [...result.diagnostics, ...all(result.subtests).flatMap((s) => [s.name, ...s.diagnostics])];
      expect(
        text.filter((t) => t.includes('fixture:')),
        name,
      ).toEqual([]);
    }
  });

  it('reads the seed test: plain TAP, its # lines on the check they precede', () => {
    const result = parsed(fixture('seed-pass.stdout'));
    expect(result.version).toBe('plain');
    expect(result.plan).toEqual({ count: 14 });
    expect(result.subtests.map((s) => s.id)).toEqual(Array.from({ length: 14 }, (_, i) => String(i + 1)));
    expect(result.subtests.every((s) => s.status === 'pass' && s.ok)).toBe(true);
    expect(result.subtests[0]).toMatchObject({ name: 'open O_RDWR', diagnostics: ['/proc/lkmc_mmap, page size 4096'] });
    expect(result.subtests[1]!.diagnostics).toEqual([expect.stringMatching(/^mappings at 0x[0-9a-f]+ and 0x[0-9a-f]+$/)]);
    expect(result.subtests[4]).toMatchObject({ name: 'both mappings map the same physical page', diagnostics: [expect.stringMatching(/^pfn 0x[0-9a-f]+$/)] });
    expect(result.subtests[12]!.diagnostics).toEqual(['refcnt 0 before mmap, 2 with both mappings, 1 with the copy']);
    expect(result.subtests[13]!.diagnostics).toEqual([]);
    expect(result.planMismatch).toBeUndefined();
    expect(tapVerdict(result)).toEqual({ failed: [] });
  });

  it('reads the vmalloc test: 30 passes', () => {
    const result = parsed(fixture('vmalloc-pass.stdout'));
    expect(result.plan).toEqual({ count: 30 });
    expect(result.subtests).toHaveLength(30);
    expect(result.subtests.filter((s) => s.status !== 'pass')).toEqual([]);
    expect(result.subtests[19]).toMatchObject({ number: 20, name: 'threads write separate pages through one mapping', diagnostics: ['4 threads'] });
    expect(tapVerdict(result)).toEqual({ failed: [] });
  });

  it("reads the seed test failing midway: the reason after `not ok` is the failed check's", () => {
    const result = parsed(fixture('seed-fail-midway.stdout'));
    const failed = result.subtests[2]!;
    expect(failed).toMatchObject({
      id: '3',
      name: 'both mappings read asdf',
      status: 'fail',
      ok: false,
      diagnostics: ['mapping 1 holds "page", expected "asdf"'],
    });
    expect(result.diagnostics).toEqual([]);
    expect(result.planMismatch).toEqual({ planned: 14, seen: 3, last: failed });
    expect(tapVerdict(result)).toEqual({
      failed: [failed],
      reason: 'subtest 3 "both mappings read asdf" failed; the test stopped after subtest 3 of a plan of 14',
    });
  });

  it("reads KUnit's debugfs results: a nested suite, its failure message, its summary on the suite", () => {
    const result = parsed(fixture('kunit-debugfs.stdout'));
    expect(result.version).toBe('ktap1');
    expect(result.plan).toEqual({ count: 1 });
    expect(shape(result.subtests)).toEqual([
      ['1.1', 'kmh_passes', 'pass'],
      ['1.2', 'kmh_fails', 'fail'],
      ['1.3', 'kmh_skips', 'skip'],
      ['1.4.3', 'value 2', 'pass'],
      ['1.4', 'kmh_param', 'fail'],
      ['1', 'kmh_tap_demo', 'fail'],
    ]);
    const [suite] = result.subtests;
    const [, fails, skips, param] = suite!.children!;
    expect(fails!.diagnostics).toEqual([
      'kmh_fails: comparing two sums',
      'kmh_fails: EXPECTATION FAILED at /tmp/tapfix/kunit-module/kmh_tap_demo.c:18',
      'Expected 1 + 1 == 3, but',
      '    1 + 1 == 2',
    ]);
    expect(skips).toMatchObject({ keyword: 'SKIP', directive: 'no such device in the guest', ok: true });
    expect(param!.diagnostics).toEqual(['kmh_param: pass:1 fail:1 skip:1 total:3']);
    expect(suite!.diagnostics).toEqual(['kmh_tap_demo: pass:1 fail:2 skip:1 total:4', 'Totals: pass:2 fail:2 skip:2 total:6']);
    // kmh_param has no failed parameter line in debugfs (6.1 keeps the last one): it is named itself.
    expect(tapVerdict(result)).toEqual({ failed: [fails, param], reason: '2 of 5 subtests failed: 1.2 "kmh_fails", 1.4 "kmh_param"' });
  });

  it('reads KUnit from the kernel log: three levels, the block indented, no top-level plan', () => {
    const result = parsed(fixture('kunit-load.dmesg'));
    expect(result.version).toBe('ktap1');
    expect(result.plan).toBeUndefined();
    expect(shape(result.subtests)).toEqual([
      ['1.1', 'kmh_passes', 'pass'],
      ['1.2', 'kmh_fails', 'fail'],
      ['1.3', 'kmh_skips', 'skip'],
      ['1.4.1', 'value 0', 'pass'],
      ['1.4.2', 'value 1', 'fail'],
      ['1.4.3', 'value 2', 'pass'],
      ['1.4', 'kmh_param', 'fail'],
      ['1', 'kmh_tap_demo', 'fail'],
    ]);
    const param = result.subtests[0]!.children![3]!;
    // Printed at the case's indent inside the parameters' block, before `not ok 2 value 1`.
    expect(param.children![1]!.diagnostics).toEqual([
      'kmh_param: EXPECTATION FAILED at /tmp/tapfix/kunit-module/kmh_tap_demo.c:41',
      'Expected *v != 1, but',
      '    *v == 1',
    ]);
    expect(param.diagnostics).toEqual(['kmh_param: pass:1 fail:1 skip:1 total:3']);
    expect(result.diagnostics).toEqual([]);
    const verdict = tapVerdict(result);
    expect(verdict.failed.map((s) => s.id)).toEqual(['1.2', '1.4.2']);
    expect(verdict.reason).toBe('2 of 6 subtests failed: 1.2 "kmh_fails", 1.4.2 "value 1"');
  });

  it('reads kselftest_harness.h: RUN/OK lines on their test, a nameless SKIP, the totals on none', () => {
    const result = parsed(fixture('kselftest-harness.stdout'));
    expect(result.version).toBe('tap13');
    expect(shape(result.subtests)).toEqual([
      ['1', 'global.sums_add_up', 'pass'],
      ['2', 'global.sums_are_wrong', 'fail'],
      ['3', '', 'skip'],
      ['4', 'buffer.filled', 'pass'],
    ]);
    expect(result.subtests[0]!.diagnostics).toEqual([
      'Starting 4 tests from 2 test cases.',
      ' RUN           global.sums_add_up ...',
      '           OK  global.sums_add_up',
    ]);
    expect(result.subtests[1]!.diagnostics).toEqual([' RUN           global.sums_are_wrong ...', '         FAIL  global.sums_are_wrong']);
    expect(result.subtests[2]).toMatchObject({ keyword: 'SKIP', directive: 'no /dev/kmh_missing in the guest' });
    expect(result.diagnostics).toEqual(['FAILED: 3 / 4 tests passed.', 'Totals: pass:2 fail:1 xfail:0 xpass:0 skip:1 error:0']);
    expect(tapVerdict(result).reason).toBe('subtest 2 "global.sums_are_wrong" failed');
  });

  it('reads kselftest.h: XFAIL is no failure, error is, and Bail out! ends the reading', () => {
    const result = parsed(fixture('kselftest-plain.stdout'));
    expect(shape(result.subtests)).toEqual([
      ['1', 'first check', 'pass'],
      ['2', 'second check', 'fail'],
      ['3', '', 'skip'],
      ['4', '', 'todo'],
      ['5', '', 'fail'],
    ]);
    expect(result.subtests[1]!.diagnostics).toEqual(['expected 3, got 4']);
    expect(result.subtests[3]).toMatchObject({ keyword: 'XFAIL', directive: 'fourth check fails on this kernel', ok: true });
    expect(result.subtests[4]).toMatchObject({ keyword: 'ERROR', directive: 'fifth check could not run', ok: false });
    expect(result.bailOut).toBe('cannot go on without the device');
    // Nothing after the bail-out is read: not its `# Totals`.
    expect(result.diagnostics).toEqual([]);
    expect(result.planMismatch).toMatchObject({ planned: 6, seen: 5 });
    expect(tapVerdict(result).reason).toBe(
      'bail out: cannot go on without the device; 2 of 5 subtests failed: 2 "second check", 5 (error: fifth check could not run); the test stopped after subtest 5 of a plan of 6',
    );
  });
});

describe('parseTap: what is TAP', () => {
  it('is undefined without a version line or a top-level plan', () => {
    expect(parseTap('')).toBeUndefined();
    expect(parseTap('hello\nworld\n')).toBeUndefined();
    expect(parseTap('ok 1 - looks like TAP\nnot ok 2\n')).toBeUndefined();
    expect(parseTap('  1..3\n  ok 1\n')).toBeUndefined();
    expect(parseTap('TAP version 12\nok 1\n')).toBeUndefined();
  });

  it('takes a plan line or a version line as TAP', () => {
    expect(parsed('1..1\nok 1\n').version).toBe('plain');
    expect(parsed('TAP version 13\n').version).toBe('tap13');
    expect(parsed('TAP version 14\n').version).toBe('tap14');
    expect(parsed('KTAP version 1\n').version).toBe('ktap1');
    expect(parsed('KTAP version 2\n').version).toBe('ktap2');
  });

  it("ignores what comes before the version line, and the test's own prints", () => {
    const result = parsed('ok 7 - not yet TAP\n1..9\nstarting\nTAP version 13\n1..2\nok 1 - a\nplain print\nnot okay, just text\nok, so\nok 2 - b\n');
    expect(result.plan).toEqual({ count: 2 });
    expect(shape(result.subtests)).toEqual([
      ['1', 'a', 'pass'],
      ['2', 'b', 'pass'],
    ]);
    expect(all(result.subtests).flatMap((s) => s.diagnostics)).toEqual([]);
  });

  it('reads \\r\\n line ends and a missing final newline alike', () => {
    const lf = 'TAP version 13\n1..2\n# why\nnot ok 1 - a\nok 2 - b # SKIP later';
    expect(parseTap(lf.replace(/\n/g, '\r\n'))).toEqual(parseTap(`${lf}\n`));
    expect(parsed(lf).subtests[1]).toMatchObject({ name: 'b', status: 'skip', directive: 'later' });
  });

  it('takes duplicate and missing numbers in order, flagging nothing', () => {
    const result = parsed('1..4\nok 1 a\nok 1 b\nok\nok - d\n');
    expect(result.subtests.map((s) => [s.number, s.name])).toEqual([
      [1, 'a'],
      [1, 'b'],
      [2, ''],
      [3, 'd'],
    ]);
    expect(result.planMismatch).toBeUndefined();
    expect(tapVerdict(result)).toEqual({ failed: [] });
  });

  it('splits the description at the first unescaped #, keeping other comments as diagnostics', () => {
    const result = parsed('KTAP version 1\n1..2\nok 1 issue \\#42 fixed\nok 2 check return code # rcode=0\n');
    expect(result.subtests[0]).toMatchObject({ name: 'issue #42 fixed', diagnostics: [] });
    expect(result.subtests[1]).toMatchObject({ name: 'check return code', status: 'pass', diagnostics: ['rcode=0'] });
    expect(result.subtests[1]!.keyword).toBeUndefined();
  });
});

describe('parseTap: directives', () => {
  it('makes not ok + TODO a todo, which does not fail', () => {
    const result = parsed('TAP version 13\n1..2\nnot ok 1 - frobnicate # TODO not written yet\nok 2 - polish # todo\n');
    expect(result.subtests.map((s) => [s.status, s.ok, s.keyword, s.directive])).toEqual([
      ['todo', false, 'TODO', 'not written yet'],
      ['todo', true, 'TODO', ''],
    ]);
    expect(tapVerdict(result)).toEqual({ failed: [] });
  });

  it('makes SKIP a skip whatever the result said', () => {
    const result = parsed('TAP version 14\n1..3\nok 1 - a # SKIP no device\nnot ok 2 - b # skip\nok 3 - c # Skipped: old kernel\n');
    expect(result.subtests.map((s) => [s.status, s.directive])).toEqual([
      ['skip', 'no device'],
      ['skip', ''],
      ['skip', 'old kernel'],
    ]);
    // None of them is a failure; that all three skipped is (below).
    expect(tapVerdict(result)).toEqual({ failed: [], reason: 'all 3 subtests were skipped: it tested nothing, which is no pass' });
  });

  it('reads 1..0 as skipping all', () => {
    expect(parsed('TAP version 13\n1..0 # SKIP no such hardware\n').plan).toEqual({ count: 0, skipAll: 'no such hardware' });
    expect(parsed('1..0\n').plan).toEqual({ count: 0, skipAll: '' });
    expect(tapVerdict(parsed('1..0 # Skipped: no network\n'))).toEqual({
      failed: [],
      reason: 'the test skipped everything (1..0 # SKIP no network): it tested nothing, which is no pass',
    });
  });

  it('fails a run whose every result is a SKIP, as kselftest exits 4 for it, but not one with a pass beside its skips', () => {
    expect(tapVerdict(parsed('1..2\nok 1 # SKIP no device\nok 2 - b # SKIP no device\n')).reason).toBe(
      'all 2 subtests were skipped: it tested nothing, which is no pass',
    );
    expect(tapVerdict(parsed('1..2\nok 1 - a\nok 2 - b # SKIP no device\n'))).toEqual({ failed: [] });
    // KTAP: a suite whose one case skipped.
    expect(tapVerdict(parsed('    KTAP version 1\n    # Subtest: s\n    1..1\n    ok 1 c # SKIP no device\nok 1 s # SKIP\n')).reason).toBe(
      'its one subtest was skipped: it tested nothing, which is no pass',
    );
    // Unless the caller judges skips itself (KUnit's suites, verdict/kunit.ts).
    expect(
      tapVerdict(parsed('    KTAP version 1\n    # Subtest: s\n    1..1\n    ok 1 c # SKIP no device\nok 1 s # SKIP\n'), { skipsAreNoPass: false }),
    ).toEqual({ failed: [] });
  });

  it('fails TIMEOUT and ERROR, naming them in the reason', () => {
    const result = parsed('KTAP version 1\n1..2\nnot ok 1 slow # TIMEOUT 30 seconds\nnot ok 2 # error no fixture\n');
    expect(result.subtests.map((s) => s.status)).toEqual(['fail', 'fail']);
    expect(tapVerdict(result).reason).toBe('2 of 2 subtests failed: 1 "slow" (timeout: 30 seconds), 2 (error: no fixture)');
  });
});

describe('parseTap: diagnostics', () => {
  it('gives # lines to the result that follows them', () => {
    const result = parsed('1..2\n# setting up\n# first\nok 1 - a\n# second\nnot ok 2 - b\n');
    expect(result.subtests.map((s) => s.diagnostics)).toEqual([['setting up', 'first'], ['second']]);
  });

  it('gives # lines after the last result to it when it failed, else to the stream', () => {
    expect(parsed('1..2\nok 1 - a\nnot ok 2 - b\n# b: got 4\n').subtests[1]!.diagnostics).toEqual(['b: got 4']);
    const passed = parsed('1..2\nok 1 - a\nok 2 - b\n# Totals: pass:2\n');
    expect(passed.subtests[1]!.diagnostics).toEqual([]);
    expect(passed.diagnostics).toEqual(['Totals: pass:2']);
  });

  it("gives a nested block's last # lines to its parent's result line", () => {
    const result = parsed('KTAP version 1\n1..1\n  KTAP version 1\n  1..1\n  not ok 1 inner\n  # inner block: 1 failed\n# example failed\nnot ok 1 example\n');
    expect(result.subtests[0]!.diagnostics).toEqual(['inner block: 1 failed', 'example failed']);
    expect(result.subtests[0]!.children![0]!.diagnostics).toEqual([]);
  });

  it('attaches a TAP 14 YAML block to the result above it', () => {
    const result = parsed('TAP version 14\n1..2\nnot ok 1 - a\n  ---\n  message: "boom"\n  at:\n    line: 3\n  ...\n# before b\nok 2 - b\n');
    expect(result.subtests[0]!.diagnostics).toEqual(['---', 'message: "boom"', 'at:', '  line: 3', '...']);
    expect(result.subtests[1]!.diagnostics).toEqual(['before b']);
  });

  it('ends a YAML block cut short at the next less indented line', () => {
    const result = parsed('TAP version 14\n1..2\nnot ok 1 - a\n  ---\n  message: x\nok 2 - b\n');
    expect(result.subtests.map((s) => [s.name, s.diagnostics])).toEqual([
      ['a', ['---', 'message: x']],
      ['b', []],
    ]);
  });

  it('takes --- as YAML only right after a result line', () => {
    const result = parsed('TAP version 14\n1..1\n# note\n  ---\nok 1 - a\n');
    expect(result.subtests[0]!.diagnostics).toEqual(['note']);
  });
});

describe('parseTap: nesting', () => {
  it('reads the KTAP spec example: three levels, children of the result line after them', () => {
    const text = [
      'KTAP version 1',
      '1..1',
      '  KTAP version 1',
      '  1..3',
      '    KTAP version 1',
      '    1..1',
      '    # test_1: initializing test_1',
      '    ok 1 test_1',
      '  ok 1 example_test_1',
      '    KTAP version 1',
      '    1..2',
      '    ok 1 test_1 # SKIP test_1 skipped',
      '    ok 2 test_2',
      '  ok 2 example_test_2',
      '    KTAP version 1',
      '    1..3',
      '    ok 1 test_1',
      '    # test_2: FAIL',
      '    not ok 2 test_2',
      '    ok 3 test_3 # SKIP test_3 skipped',
      '  not ok 3 example_test_3',
      'not ok 1 main_test',
    ].join('\n');
    const result = parsed(text);
    expect(shape(result.subtests)).toEqual([
      ['1.1.1', 'test_1', 'pass'],
      ['1.1', 'example_test_1', 'pass'],
      ['1.2.1', 'test_1', 'skip'],
      ['1.2.2', 'test_2', 'pass'],
      ['1.2', 'example_test_2', 'pass'],
      ['1.3.1', 'test_1', 'pass'],
      ['1.3.2', 'test_2', 'fail'],
      ['1.3.3', 'test_3', 'skip'],
      ['1.3', 'example_test_3', 'fail'],
      ['1', 'main_test', 'fail'],
    ]);
    expect(result.subtests[0]!.children![0]!.children![0]!.diagnostics).toEqual(['test_1: initializing test_1']);
    expect(result.subtests[0]!.children![2]!.children![1]!.diagnostics).toEqual(['test_2: FAIL']);
    expect(tapVerdict(result)).toMatchObject({ reason: 'subtest 1.3.2 "test_2" failed' });
  });

  it('reads TAP 14 subtests: a # Subtest line at the parent, a 4-space block', () => {
    const result = parsed('TAP version 14\n1..2\n# Subtest: foo.tap\n    1..2\n    ok 1\n    ok 2 - this passed\nok 1 - foo.tap\nok 2 - bar\n');
    expect(shape(result.subtests)).toEqual([
      ['1.1', '', 'pass'],
      ['1.2', 'this passed', 'pass'],
      ['1', 'foo.tap', 'pass'],
      ['2', 'bar', 'pass'],
    ]);
    expect(result.subtests[0]!.diagnostics).toEqual([]);
  });

  it('reads the older KUnit form: # Subtest first, no nested version line', () => {
    const result = parsed(
      'TAP version 14\n1..1\n    # Subtest: example\n    1..2\n    ok 1 - example_simple_test\n    not ok 2 - example_fail\nnot ok 1 - example\n',
    );
    expect(shape(result.subtests)).toEqual([
      ['1.1', 'example_simple_test', 'pass'],
      ['1.2', 'example_fail', 'fail'],
      ['1', 'example', 'fail'],
    ]);
  });

  it('fails a block whose parent result line never came, named by its # Subtest line', () => {
    const result = parsed(
      'KTAP version 1\n1..2\n    KTAP version 1\n    # Subtest: first\n    1..1\n    ok 1 a\nok 1 first\n    KTAP version 1\n    # Subtest: second\n    1..3\n    ok 1 b\n    # about to crash\n',
    );
    const second = result.subtests[1]!;
    expect(second).toMatchObject({ id: '2', name: 'second', status: 'fail', incomplete: true, diagnostics: ['about to crash'] });
    expect(second.children!.map((s) => s.id)).toEqual(['2.1']);
    expect(result.planMismatch).toEqual({ planned: 2, seen: 1, last: result.subtests[0] });
    expect(tapVerdict(result)).toEqual({
      failed: [second],
      reason: 'subtest 2 "second" did not finish; the test stopped after subtest 1 "first" of a plan of 2',
    });
  });

  it('starts a new block at a version line where the last one got no parent line', () => {
    const result = parsed(
      'KTAP version 1\n    KTAP version 1\n    # Subtest: a\n    1..1\n    ok 1 x\n    KTAP version 1\n    # Subtest: b\n    1..1\n    ok 1 y\nok 2 b\n',
    );
    expect(shape(result.subtests)).toEqual([
      ['1.1', 'x', 'pass'],
      ['1', 'a', 'fail'],
      ['2.1', 'y', 'pass'],
      ['2', 'b', 'pass'],
    ]);
    expect(result.subtests[0]!.incomplete).toBe(true);
  });

  it('fails an ok parent for a failed child', () => {
    const result = parsed('KTAP version 1\n1..1\n  KTAP version 1\n  1..1\n  not ok 1 inner\nok 1 outer\n');
    expect(tapVerdict(result).reason).toBe('subtest 1.1 "inner" failed');
  });
});

describe('parseTap: bail-out and plans', () => {
  it('records Bail out! and reads nothing after it', () => {
    const result = parsed('TAP version 13\n1..3\nok 1 - a\nBail out! no device\nok 2 - b\n');
    expect(result.bailOut).toBe('no device');
    expect(result.subtests).toHaveLength(1);
    expect(tapVerdict(result).reason).toBe('bail out: no device; the test stopped after subtest 1 "a" of a plan of 3');
    expect(parsed('1..1\nBail out!\n').bailOut).toBe('');
  });

  it('names where the test stopped short of its plan', () => {
    const result = parsed('1..5\nok 1 - a\nok 2 - b\nok 3 - c\n');
    expect(result.planMismatch).toEqual({ planned: 5, seen: 3, last: result.subtests[2] });
    expect(tapVerdict(result)).toEqual({ failed: [], reason: 'the test stopped after subtest 3 "c" of a plan of 5' });
    expect(tapVerdict(parsed('1..5\n')).reason).toBe('the test stopped before its first subtest of a plan of 5');
  });

  it('fails more results than planned', () => {
    expect(tapVerdict(parsed('1..1\nok 1\nok 2\n')).reason).toBe('the test reported 2 subtests, more than its plan of 1');
  });

  it('takes a plan at the end', () => {
    const result = parsed('TAP version 13\nok 1 - a\nok 2 - b\n1..2\n');
    expect(result.plan).toEqual({ count: 2 });
    expect(tapVerdict(result)).toEqual({ failed: [] });
  });

  it('fails TAP 13/14 without a plan, KTAP only without any result', () => {
    expect(tapVerdict(parsed('TAP version 13\nok 1 - a\n')).reason).toBe('no plan line (1..N) in the TAP output: the test may have stopped before printing it');
    expect(tapVerdict(parsed('KTAP version 1\nok 1 a\n'))).toEqual({ failed: [] });
    expect(tapVerdict(parsed('KTAP version 1\n')).reason).toBe('no test results after the KTAP version line');
  });

  it('lists several failures, then counts the rest', () => {
    const lines = [
      '1..14',
      ...Array.from({ length: 14 }, (_, i) => (i === 4 || i === 8 ? `not ok ${i + 1} - check ${i + 1}` : `ok ${i + 1} - check ${i + 1}`)),
    ];
    expect(tapVerdict(parsed(lines.join('\n'))).reason).toBe('2 of 14 subtests failed: 5 "check 5", 9 "check 9"');
    const many = ['1..8', ...Array.from({ length: 8 }, (_, i) => `not ok ${i + 1} - c${i + 1}`)];
    expect(tapVerdict(parsed(many.join('\n'))).reason).toBe('8 of 8 subtests failed: 1 "c1", 2 "c2", 3 "c3", 4 "c4", 5 "c5", and 3 more');
  });

  it('does not hold missing results against a test whose output was cut', () => {
    const text = `1..500\n${Array.from({ length: 10 }, (_, i) => `ok ${i + 1}`).join('\n')}\n${droppedLine(123456)}\n${Array.from({ length: 10 }, (_, i) => `ok ${i + 491}`).join('\n')}\n`;
    const result = parsed(text);
    expect(result.outputDropped).toEqual({ bytes: 123456 });
    expect(result.planMismatch).toMatchObject({ planned: 500, seen: 20 });
    expect(tapVerdict(result)).toEqual({ failed: [] });
    // A failure seen is one all the same.
    expect(tapVerdict(parsed(`${text}not ok 500 - the last\n`)).reason).toBe('subtest 500 "the last" failed');
  });
});

describe('parseTap: bounds', () => {
  it(`keeps ${TAP_LIMITS.subtests} results and counts the rest, failures too`, () => {
    const n = TAP_LIMITS.subtests + 5;
    const lines = ['TAP version 13', `1..${n}`, ...Array.from({ length: n }, (_, i) => (i === n - 2 ? `not ok ${i + 1} - late` : `ok ${i + 1}`))];
    const result = parsed(lines.join('\n'));
    expect(result.subtests).toHaveLength(TAP_LIMITS.subtests);
    expect(result.omitted).toEqual({ subtests: 5, failed: 1 });
    expect(result.planMismatch).toBeUndefined();
    expect(tapVerdict(result).reason).toBe(`1 of ${n} subtests failed: and 1 more (1 past the first ${TAP_LIMITS.subtests} results, not kept)`);
  });

  it(`keeps ${TAP_LIMITS.diagnostics} diagnostic lines per test, the first and the last`, () => {
    const lines = [
      '1..1',
      ...Array.from({ length: 80 }, (_, i) => `# line ${i + 1}`),
      'not ok 1 - a',
      ...Array.from({ length: 5 }, (_, i) => `# after ${i + 1}`),
    ];
    const [sub] = parsed(lines.join('\n')).subtests;
    expect(sub!.diagnostics).toHaveLength(TAP_LIMITS.diagnostics);
    expect(sub!.diagnostics.slice(0, 2)).toEqual(['line 1', 'line 2']);
    expect(sub!.diagnostics.slice(39, 41)).toEqual(['line 40', 'line 71']);
    expect(sub!.diagnostics.at(-1)).toBe('line 80');
    expect(sub!.diagnosticsOmitted).toBe(30 + 5);
  });

  it('clips long lines and ignores nesting past the depth limit', () => {
    const long = parsed(`1..1\nok 1 - ${'n'.repeat(5000)}\n`).subtests[0]!;
    expect(long.name).toHaveLength(TAP_LIMITS.lineChars);
    expect(long.name.endsWith('…')).toBe(true);
    const deep = Array.from({ length: 40 }, (_, i) => `${'  '.repeat(i + 1)}KTAP version 1\n${'  '.repeat(i + 1)}ok 1 level ${i + 1}`).join('\n');
    const result = parsed(`KTAP version 1\n1..1\n${deep}\nok 1 top\n`);
    let depth = 0;
    for (let s: Subtest | undefined = result.subtests.at(-1); s; s = s.children?.[0]) depth++;
    expect(depth).toBeLessThanOrEqual(TAP_LIMITS.depth);
    expect(result.subtests.at(-1)).toMatchObject({ name: 'top', status: 'pass' });
  });

  it('reads 16 MiB of output in bounded time and memory', () => {
    const chunk = `${'x'.repeat(200)}\n# ${'d'.repeat(100)}\nok 1 - ${'n'.repeat(50)}\n`;
    const chunks = Math.ceil((16 * 2 ** 20) / chunk.length);
    const text = `TAP version 13\n1..1\n${chunk.repeat(chunks)}`;
    const start = performance.now();
    const result = parsed(text);
    expect(performance.now() - start).toBeLessThan(10_000);
    expect(result.subtests).toHaveLength(TAP_LIMITS.subtests);
    expect(result.omitted).toEqual({ subtests: chunks - TAP_LIMITS.subtests, failed: 0 });
    expect(result.planMismatch).toMatchObject({ planned: 1, seen: chunks });
  });
});

describe('headlineDiagnostic', () => {
  it("picks KUnit's EXPECTATION FAILED line over the case's own messages before it, else the first line", () => {
    const fails = parsed(fixture('kunit-debugfs.stdout')).subtests[0]!.children![1]!;
    expect(headlineDiagnostic(fails.diagnostics)).toBe('kmh_fails: EXPECTATION FAILED at /tmp/tapfix/kunit-module/kmh_tap_demo.c:18');
    expect(headlineDiagnostic(['got 0x00, want 0x5a', 'second'])).toBe('got 0x00, want 0x5a');
    expect(headlineDiagnostic([])).toBeUndefined();
  });
});
