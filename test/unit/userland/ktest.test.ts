// userland/include/kmod-harness/ktest.h, the TAP helpers every test build can include: small
// programs compiled against it with the host gcc and run on the host, no VM needed.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_INCLUDE_DIR } from '../../../harness/src/util/paths.js';

const STRICT = ['-Wall', '-Wextra', '-Werror', '-O2', `-I${TEST_INCLUDE_DIR}`];

let dir: string;
let seq = 0;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'kmod-harness-ktest-'));
});

afterAll(() => rm(dir, { recursive: true, force: true }));

/** Compiles main's body against the header; the compiler's result, not thrown. */
async function compile(body: string, flags: string[] = ['-std=c11']) {
  const name = `t${++seq}`;
  const source = path.join(dir, `${name}.c`);
  await writeFile(source, `#include <kmod-harness/ktest.h>\n\nint main(void)\n{\n${body}\n}\n`);
  const bin = path.join(dir, name);
  const result = await execa('gcc', [...STRICT, ...flags, '-o', bin, source], { reject: false, all: true });
  return { bin, ok: result.exitCode === 0, log: result.all ?? '' };
}

/** Builds (which must work) and runs it: exit code, stdout and stderr. */
async function run(body: string, flags?: string[]) {
  const built = await compile(body, flags);
  expect(built.log).toBe('');
  const { exitCode, stdout, stderr } = await execa(built.bin, { reject: false });
  return { exitCode, stdout, stderr };
}

describe('ktest.h', () => {
  it('prints the header, plan, results and diagnostics, and exits 0 when all passed', async () => {
    const r = await run(`
	ktest_print_header();
	ktest_set_plan(3);
	ktest_print_msg("page size %d", 4096);
	ktest_test_pass("open %s", "/proc/x");
	ktest_test_result(2 + 2 == 4, "read %d bytes", 4);
	ktest_test_skip("no %s", "kmemleak");
	ktest_finished();`);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      'TAP version 13',
      '1..3',
      '# page size 4096',
      'ok 1 - open /proc/x',
      'ok 2 - read 4 bytes',
      'ok 3 # SKIP no kmemleak',
      '# Totals: pass:2 fail:0 skip:1',
    ]);
    expect(r.stderr).toBe('');
  });

  it('exits 1 on a failure, and names the first failed test on stderr', async () => {
    const r = await run(`
	ktest_print_header();
	ktest_set_plan(3);
	ktest_test_pass("first");
	ktest_test_result(0, "second");
	ktest_test_fail("third %d", 3);
	ktest_finished();`);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain('ok 1 - first\nnot ok 2 - second\nnot ok 3 - third 3\n# Totals: pass:1 fail:2 skip:0');
    expect(r.stderr).toMatch(/: 2 of 3 tests failed, the first: 2 - second$/);
  });

  it('exits 4 when every test was skipped', async () => {
    const r = await run(`
	ktest_set_plan(2);
	ktest_test_skip("not root");
	ktest_test_result_code(KTEST_SKIP, "unload", "no %s", "CAP_SYS_MODULE");
	ktest_finished();`);
    expect(r.exitCode).toBe(4);
    expect(r.stdout).toContain('ok 1 # SKIP not root\nok 2 - unload # SKIP no CAP_SYS_MODULE\n');
  });

  it('exits 1 when fewer or more tests ran than planned, though all passed', async () => {
    const fewer = await run(`
	ktest_set_plan(3);
	ktest_test_pass("one");
	ktest_test_pass("two");
	ktest_finished();`);
    expect(fewer.exitCode).toBe(1);
    expect(fewer.stdout).toContain('# Planned tests != run tests (3 != 2)');
    expect(fewer.stderr).toMatch(/: planned 3 tests, ran 2$/);
    const more = await run(`
	ktest_set_plan(1);
	ktest_test_pass("one");
	ktest_test_pass("two");
	ktest_finished();`);
    expect(more.exitCode).toBe(1);
  });

  it('prints the plan last when none was set', async () => {
    const r = await run(`
	ktest_test_pass("one");
	ktest_test_pass("two");
	ktest_finished();`);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split('\n').slice(0, 3)).toEqual(['ok 1 - one', 'ok 2 - two', '1..2']);
  });

  it('stops at ktest_test_fail_exit: the failure, its reason, exit 1, the reason on stderr', async () => {
    const r = await run(`
	ktest_set_plan(5);
	ktest_test_pass("open");
	ktest_test_fail_exit("mmap", "mmap %d: %s", 2, "Invalid argument");
	ktest_test_pass("never");
	ktest_finished();`);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe('1..5\nok 1 - open\nnot ok 2 - mmap\n# mmap 2: Invalid argument');
    expect(r.stderr).toMatch(/: test 2 \(mmap\) failed: mmap 2: Invalid argument$/);
  });

  it('bails out with exit 1 (ktest_exit_fail_msg, ktest_bail_out)', async () => {
    for (const fn of ['ktest_exit_fail_msg', 'ktest_bail_out']) {
      const r = await run(`
	ktest_set_plan(2);
	ktest_test_pass("one");
	${fn}("no %s", "/proc/x");`);
      expect(r.exitCode).toBe(1);
      expect(r.stdout).toBe('1..2\nok 1 - one\nBail out! no /proc/x');
      expect(r.stderr).toMatch(/: no \/proc\/x$/);
    }
  });

  it('skips the rest with ktest_exit_skip: 4 when nothing passed, the plan kept', async () => {
    const before = await run(`
	ktest_print_header();
	ktest_exit_skip("needs %s", "root");`);
    expect(before.exitCode).toBe(4);
    expect(before.stdout).toBe('TAP version 13\n1..0 # SKIP needs root');
    const after = await run(`
	ktest_set_plan(3);
	ktest_test_pass("one");
	ktest_exit_skip("needs root");`);
    expect(after.exitCode).toBe(0);
    expect(after.stdout).toContain('ok 1 - one\nok 2 # SKIP needs root\nok 3 # SKIP needs root\n# Totals: pass:1 fail:0 skip:2');
  });

  it('keeps every line TAP: escapes # and \\ in descriptions, one "# " per message line', async () => {
    const r = await run(`
	ktest_test_pass("a # b \\\\ c\\n");
	ktest_print_msg("two\\nlines\\n");
	ktest_test_result_code(KTEST_FAIL, "named", "why\\nmore");
	ktest_finished();`);
    expect(r.stdout.split('\n').slice(0, 6)).toEqual(['ok 1 - a \\# b \\\\ c', '# two', '# lines', 'not ok 2 - named', '# why', '# more']);
  });

  it('leaves errno as it was, and lets %m see it', async () => {
    const r = await run(`
	errno = ENOENT;
	ktest_print_msg("%m");
	ktest_test_pass("errno %d", errno);
	return errno == ENOENT ? 0 : 99;`);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('# No such file or directory\nok 1 - errno 2');
  });

  it('keeps a long description whole', async () => {
    const r = await run(`
	char d[1200];

	memset(d, 'x', sizeof(d) - 1);
	d[sizeof(d) - 1] = '\\0';
	ktest_test_pass("%s", d);
	ktest_finished();`);
    expect(r.stdout.split('\n')[0]).toBe(`ok 1 - ${'x'.repeat(1199)}`);
  });

  it('compiles without a warning as C99, C11 and gnu11 with nothing of it used', async () => {
    for (const std of ['-std=c99', '-std=c11', '-std=gnu11']) {
      const built = await compile('\treturn 0;', [std, '-Wpedantic']);
      expect(built.log).toBe('');
      expect(built.ok).toBe(true);
    }
  });

  it('lets the compiler check formats: a bad one fails with -Werror=format', async () => {
    const bad = [`ktest_test_pass("%s", 42);`, `ktest_print_msg("%d", "x");`, `ktest_test_fail_exit("n", "%s");`, `ktest_test_result(1, "%ld", 1);`];
    for (const line of bad) {
      const built = await compile(`\t${line}\n\treturn 0;`, ['-std=c11', '-Werror=format']);
      expect(built.ok, line).toBe(false);
      expect(built.log).toMatch(/-Werror=format/);
    }
  });
});
