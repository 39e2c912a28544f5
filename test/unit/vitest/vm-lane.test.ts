// Which job outcomes spend a shared VM, and the reason the next job's ModuleRun.vm gives.
import { describe, expect, it } from 'vitest';
import { spentReason, vmFiles } from '../../../harness/src/vitest/vm-lane.js';

type Job = Parameters<typeof spentReason>[0];
const job = (outcome: Job['outcome'], reasons: string[] = [], raw: Partial<Job['raw']> = {}): Job => ({
  outcome,
  reasons,
  raw: { timedOutStage: undefined, guestLost: false, ...raw },
});

describe('spentReason', () => {
  it('leaves the VM to the next job after a pass or an ordinary failure (the clean check sees what they left)', () => {
    for (const outcome of ['pass', 'test-failed', 'load-failed', 'unload-failed'] as const) expect(spentReason(job(outcome, ['x']))).toBeUndefined();
  });

  it('spends it after a timeout, naming the stage and the modules', () => {
    expect(spentReason(job('timeout', ['timed out during test'], { timedOutStage: 'test' }), ['kmh_spin'])).toBe(
      'the previous job on this VM (kmh_spin) ended in timeout (during test)',
    );
  });

  it('spends it after a kernel error or new taint, with the first reason, even when the job also timed out', () => {
    expect(spentReason(job('kernel-error', ['WARNING: CPU: 0 PID: 9 at x.c:3 f+0x1/0x2 [kmh_w]', 'timed out during test'], { timedOutStage: 'test' }))).toBe(
      'the previous job on this VM ended in kernel-error: WARNING: CPU: 0 PID: 9 at x.c:3 f+0x1/0x2 [kmh_w]',
    );
    expect(spentReason(job('kernel-error', ['new taint: W (kernel issued a warning) after unload']), ['a', 'b'])).toBe(
      'the previous job on this VM (a, b) ended in kernel-error: new taint: W (kernel issued a warning) after unload',
    );
  });

  it('spends it when the guest stopped answering', () => {
    expect(
      spentReason(job('infra-error', ['the guest stopped answering during the job, with no kernel error found on the console'], { guestLost: true })),
    ).toBe('the guest stopped answering during the previous job on this VM');
  });
});

describe('vmFiles', () => {
  it("puts the lock and the spent marker in the session's work dir, beside its console log", () => {
    expect(vmFiles({ consoleLog: '/tmp/kmod-harness-abc/console.log' })).toEqual({
      lock: '/tmp/kmod-harness-abc/vm.lock',
      spent: '/tmp/kmod-harness-abc/spent',
    });
  });
});
