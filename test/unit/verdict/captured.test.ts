// The parser and detector on kernel logs captured from real runs of this harness (6.1 cloud
// kernel under QEMU): the seed job must read clean, the WARN_ON fixture must be found.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectKernelErrors, matchInOrder, parseConsole, parseDmesg, parseExpectations, sliceStage } from '../../../harness/src/verdict/index.js';
import { jobRecords } from '../../../harness/src/verdict/judge.js';

const dir = path.resolve(import.meta.dirname, '../../fixtures/kmsg/captured');
const read = (name: string) => readFileSync(path.join(dir, name), 'utf8').replace(/^#.*\n/, '');
const expected = parseExpectations(readFileSync(path.resolve(import.meta.dirname, '../../../userland/mmap/expected.kmsg'), 'utf8'));

describe('captured 6.1 seed run', () => {
  const records = parseDmesg(read('6.1-seed.dmesg'));

  it('finds no kernel error in a whole clean boot and seed job', () => {
    expect(detectKernelErrors(records)).toEqual([]);
    expect(detectKernelErrors(parseConsole(read('6.1-seed.console')))).toEqual([]);
  });

  it('finds the seed test trace, in order, inside the test stage', () => {
    const test = sliceStage(records, 'test:job1');
    // The module logs nothing in the test stage beyond the expected trace.
    expect(test).toHaveLength(expected.length);
    expect(matchInOrder(test, expected)).toEqual({ ok: true });
    // The same lines outside the stage do not count: the load stage has none of them.
    expect(matchInOrder(sliceStage(records, 'load:job1'), expected).ok).toBe(false);
  });

  it('keeps the level and time of records, and the job starts at its load marker', () => {
    const job = jobRecords(records, 'job1');
    expect(job[0]!.text).toBe('kmod-harness: mark load:job1 begin');
    expect(job[0]!.level).toBe(4);
    expect(job[0]!.facility).toBe(1);
    expect(job.find((r) => r.text === 'lkmc_mmap: loaded')?.level).toBe(6);
  });
});

describe('captured 6.1 WARN_ON fixture run', () => {
  for (const [name, parse] of [
    ['6.1-warn.dmesg', parseDmesg],
    ['6.1-warn.console', parseConsole],
  ] as const) {
    it(`finds exactly one warning in warn_mmap with its call trace (${name})`, () => {
      const errors = detectKernelErrors(parse(read(name)));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ kind: 'warning', module: 'warn_mmap' });
      expect(errors[0]!.title).toContain('kmh_warn_read');
      expect(errors[0]!.trace.join('\n')).toContain('proc_reg_read');
    });
  }
});

describe('captured 6.1-debug runs (the harness-built debug kernel)', () => {
  const errors = (name: string) =>
    detectKernelErrors(parseDmesg(read(`6.1-debug-${name}.dmesg`))).map((e) => ({ kind: e.kind, title: e.title, module: e.module }));

  it('KASAN names the read after free in the module', () => {
    expect(errors('use-after-free')).toEqual([{ kind: 'kasan', title: 'BUG: KASAN: use-after-free in kmh_uaf_read+0x178/0x1c2 [kmh_uaf]', module: 'kmh_uaf' }]);
  });

  it('lockdep names the ABBA order, with the module in its chain', () => {
    expect(errors('lock-order')).toEqual([{ kind: 'lockdep', title: 'WARNING: possible circular locking dependency detected', module: 'kmh_abba' }]);
  });

  it('a GFP_KERNEL allocation under rcu_read_lock: lockdep RCU splat, then DEBUG_ATOMIC_SLEEP, both blamed on the module', () => {
    const found = errors('sleep-in-rcu');
    expect(found.map((e) => [e.kind, e.module])).toEqual([
      ['lockdep', 'kmh_rcu_sleep'],
      ['bug', 'kmh_rcu_sleep'],
    ]);
    expect(found[1]!.title).toBe('BUG: sleeping function called from invalid context at include/linux/sched/mm.h:274');
  });

  it('ODEBUG (a kfree of an object whose timer is armed) and the WARN that prints it are one report, blamed on the module', () => {
    expect(errors('odebug')).toEqual([
      { kind: 'odebug', title: 'ODEBUG: free active (active state 0) object type: timer_list hint: kmh_odebug_fn+0x0/0x10 [kmh_odebug]', module: 'kmh_odebug' },
    ]);
  });

  it('UBSAN names the out-of-bounds index', () => {
    const [e] = errors('ubsan-bounds');
    expect(e).toMatchObject({ kind: 'ubsan', module: 'kmh_ubsan' });
    expect(e!.title).toMatch(/^UBSAN: array-index-out-of-bounds in .*\/kmh_ubsan\.c:65:26$/);
  });
});
