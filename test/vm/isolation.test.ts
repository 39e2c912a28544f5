// Jobs sharing one VM do not see each other: a job that times out leaves its module loaded and
// its test running, so the next job runs on a replacement VM and says so (ModuleRun.vm); jobs
// started together take the VM one at a time. On the run's first kernel only.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseStageMarker } from '../../harness/src/verdict/kmsg.js';
import { useKernels, type ModuleRun } from '../../harness/src/vitest/index.js';
import { FIXTURES, firstKernel } from './support.js';

// The shared VM and its replacements: what 'vm' isolation is (snapshot isolation has a guest per job).
const [vm] = await useKernels({ kernels: firstKernel(), isolate: 'vm' });

/** Guest seconds from the job's first stage marker to its last: when it held the VM. */
function heldSpan(run: ModuleRun): { from: number; to: number } {
  const times = run.job.records.filter((r) => parseStageMarker(r.text.trim()) !== undefined && r.time !== undefined).map((r) => r.time!);
  expect(times.length).toBeGreaterThan(1);
  return { from: Math.min(...times), to: Math.max(...times) };
}

describe(`jobs on one ${vm!.name} VM`, () => {
  it('a job after a timed-out one runs on a fresh VM that says why; the next one stays on it', async () => {
    const spin = path.join(FIXTURES, 'endless-loop');
    const hung = await vm!.run({ module: path.join(spin, 'module'), test: path.join(spin, 'test'), timeouts: { test: 5 } });
    expect(hung.outcome, hung.reasons.join('\n')).toBe('timeout');
    const spentVm = vm!.session().consoleLog;

    const next = await vm!.run();
    expect(next.reasons).toEqual([]);
    expect(next.outcome).toBe('pass');
    expect(next.vm.fresh).toBe(true);
    expect(next.vm.reason).toBe('the previous job on this VM (kmh_spin) ended in timeout (during test)');
    const freshVm = vm!.session().consoleLog;
    expect(freshVm).not.toBe(spentVm);

    // A clean job leaves the replacement clean: the next job runs on it, still a replacement.
    const third = await vm!.run();
    expect(third.outcome).toBe('pass');
    expect(third.vm).toEqual(next.vm);
    expect(vm!.session().consoleLog).toBe(freshVm);
  }, 400_000);

  it('two jobs started together both complete, one after the other on the VM', async () => {
    const failing = path.join(FIXTURES, 'failing-test');
    const before = vm!.session().consoleLog;
    const [seed, fails] = await Promise.all([vm!.run(), vm!.run({ module: path.join(failing, 'module'), test: path.join(failing, 'test') })]);
    expect(seed.outcome, seed.reasons.join('\n')).toBe('pass');
    expect(fails.outcome, fails.reasons.join('\n')).toBe('test-failed');
    // Both on the VM the first test left: neither replaced it.
    expect(vm!.session().consoleLog).toBe(before);
    expect(fails.vm).toEqual(seed.vm);
    const [first, second] = [heldSpan(seed), heldSpan(fails)].sort((a, b) => a.from - b.from);
    expect(first!.to).toBeLessThan(second!.from);
  }, 300_000);
});
