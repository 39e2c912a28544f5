// The parser and detector on kernel logs captured from real runs of this harness (6.1 cloud
// kernel under QEMU): the seed job must read clean, the WARN_ON fixture must be found.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectKernelErrors, matchInOrder, parseConsole, parseDmesg, parseExpectations, sliceStage } from '../../../harness/src/verdict/index.js';
import { jobRecords } from '../../../harness/src/verdict/judge.js';

const dir = path.resolve(import.meta.dirname, '../../fixtures/kmsg/captured');
const read = (name: string) => readFileSync(path.join(dir, name), 'utf8').replace(/^#.*\n/, '');
const expected = parseExpectations(readFileSync(path.resolve(import.meta.dirname, '../../../userland/expected.kmsg'), 'utf8'));

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
