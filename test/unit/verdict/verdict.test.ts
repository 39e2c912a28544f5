import { describe, expect, it } from 'vitest';
import type { KernelError } from '../../../harness/src/verdict/detect.js';
import { decide, type VerdictInput } from '../../../harness/src/verdict/verdict.js';

const ok = { exitCode: 0, output: '' };
const base: VerdictInput = { load: ok, test: ok, unload: ok, kernelErrors: [], taint: undefined };

const warning: KernelError = {
  kind: 'warning',
  title: 'WARNING at drivers/x.c:12 warn_read+0x10/0x20 [kmh_warn]',
  trace: [],
  module: 'kmh_warn',
  recordIndex: 3,
};

describe('decide', () => {
  it('passes a clean run', () => {
    expect(decide(base)).toEqual({ outcome: 'pass', reasons: [] });
    expect(decide({ ...base, taint: { letters: '' }, expectations: { ok: true } })).toEqual({ outcome: 'pass', reasons: [] });
  });

  it('blames a kernel error even when the test failed too', () => {
    const verdict = decide({
      ...base,
      test: { exitCode: null, signal: 'SIGKILL', output: 'writing 4 bytes\n' },
      kernelErrors: [{ kind: 'bug', title: 'BUG: kernel NULL pointer dereference, address: 0000000000000000', trace: [], module: 'kmh_null', recordIndex: 0 }],
      taint: { letters: 'D' },
    });
    expect(verdict).toEqual({
      outcome: 'kernel-error',
      reasons: [
        'BUG: kernel NULL pointer dereference, address: 0000000000000000 (module kmh_null)',
        'new taint: D (kernel died recently, i.e. there was an OOPS or BUG)',
        'test killed by SIGKILL: writing 4 bytes',
      ],
    });
  });

  it('does not repeat a module already named in the title', () => {
    expect(decide({ ...base, kernelErrors: [warning] }).reasons).toEqual([warning.title]);
  });

  it('treats forbidden new taint alone as a kernel error', () => {
    expect(decide({ ...base, taint: { letters: 'W' } })).toEqual({
      outcome: 'kernel-error',
      reasons: ['new taint: W (kernel issued a warning)'],
    });
  });

  it('summarises a flood of kernel errors', () => {
    const reasons = decide({ ...base, kernelErrors: Array.from({ length: 8 }, () => warning) }).reasons;
    expect(reasons).toHaveLength(6);
    expect(reasons[5]).toBe('… and 3 more kernel error reports');
  });

  it('ranks a timeout above the killed command and does not repeat it', () => {
    expect(decide({ ...base, test: { exitCode: null, signal: 'SIGKILL', output: '' }, timedOutStage: 'test:read' })).toEqual({
      outcome: 'timeout',
      reasons: ['timed out during test:read'],
      failedStage: 'test',
    });
    expect(decide({ ...base, load: { exitCode: null, output: '' }, test: undefined, unload: undefined, timedOutStage: 'load' })).toEqual({
      outcome: 'timeout',
      reasons: ['timed out during load'],
      failedStage: 'load',
    });
    // insmod never ran: no reason of its own.
    expect(decide({ ...base, load: { exitCode: null, output: '' }, test: undefined, unload: undefined, timedOutStage: 'upload' })).toEqual({
      outcome: 'timeout',
      reasons: ['timed out during upload'],
      failedStage: 'upload',
    });
  });

  it('fails the load on a non-zero insmod, quoting its last line', () => {
    const verdict = decide({
      ...base,
      load: { exitCode: 1, output: "insmod: can't insert 'kmh.ko': Unknown symbol in module\n" },
      test: undefined,
      unload: undefined,
      expectations: { ok: false, missing: 'kmh: loaded', matched: 0 },
    });
    expect(verdict).toEqual({
      outcome: 'load-failed',
      reasons: ["insmod exited with status 1: insmod: can't insert 'kmh.ko': Unknown symbol in module"],
      failedStage: 'load',
    });
  });

  it("fails a test that skipped everything (exit 4, kselftest's skip): it tested nothing", () => {
    expect(decide({ ...base, test: { exitCode: 4, output: '1..0 # SKIP no /dev/kmh\n' } })).toEqual({
      outcome: 'test-failed',
      reasons: ["test exited with status 4, kselftest's skip: it tested nothing, which is no pass: 1..0 # SKIP no /dev/kmh"],
      failedStage: 'test',
    });
    // Status 4 of insmod or rmmod means nothing of the kind.
    expect(decide({ ...base, load: { exitCode: 4, output: '' } }).reasons).toEqual(['insmod exited with status 4']);
  });

  it('fails the test on a non-zero exit or a signal', () => {
    expect(decide({ ...base, test: { exitCode: 1, output: 'FAIL: read returned -22\n' } })).toEqual({
      outcome: 'test-failed',
      reasons: ['test exited with status 1: FAIL: read returned -22'],
      failedStage: 'test',
    });
    expect(decide({ ...base, test: { exitCode: null, signal: 'SIGSEGV', output: '' } })).toEqual({
      outcome: 'test-failed',
      reasons: ['test killed by SIGSEGV'],
      failedStage: 'test',
    });
    expect(decide({ ...base, test: { exitCode: null, output: '' } }).reasons).toEqual(['test ended without an exit status']);
  });

  it('fails the test on a missing expected kernel-log line', () => {
    expect(decide({ ...base, expectations: { ok: false, missing: 'lkmc_mmap: vm_close', matched: 1, after: 'lkmc_mmap: write' } })).toEqual({
      outcome: 'test-failed',
      reasons: ["expected kernel-log line 'lkmc_mmap: vm_close' not found after 'lkmc_mmap: write'"],
      failedStage: 'test',
    });
    expect(decide({ ...base, expectations: { ok: false, missing: 'kmh: hello', matched: 0 } }).reasons).toEqual([
      "expected kernel-log line 'kmh: hello' not found",
    ]);
  });

  it('fails the unload last, after everything else passed', () => {
    const rmmod = { exitCode: 1, output: "rmmod: can't unload module 'kmh': Resource temporarily unavailable" };
    expect(decide({ ...base, unload: rmmod })).toEqual({
      outcome: 'unload-failed',
      reasons: ["rmmod exited with status 1: rmmod: can't unload module 'kmh': Resource temporarily unavailable"],
      failedStage: 'unload',
    });
    expect(decide({ ...base, test: { exitCode: 2, output: '' }, unload: rmmod }).outcome).toBe('test-failed');
  });

  it('names the stage that decided the outcome: the first kernel error with a stage, else the taint', () => {
    expect(decide({ ...base, kernelErrors: [{ ...warning, stage: 'after-unload' }], taint: { letters: 'W', stage: 'test' } }).failedStage).toBe('after-unload');
    expect(decide({ ...base, taint: { letters: 'W', stage: 'reload' } }).failedStage).toBe('reload');
    expect(decide({ ...base, reloads: [{ load: { exitCode: 1, output: 'File exists' } }] })).toMatchObject({ outcome: 'load-failed', failedStage: 'reload' });
    expect(decide(base).failedStage).toBeUndefined();
  });

  it('truncates a very long output line in a reason', () => {
    const [reason] = decide({ ...base, test: { exitCode: 1, output: 'x'.repeat(1000) } }).reasons;
    expect(reason!.length).toBeLessThan(200);
  });
});
