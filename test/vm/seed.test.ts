// The seed module and its userland test on every kernel of kmod-harness.config.ts, through the
// public vitest API (kmod-harness/vitest): exit status and the kernel-log trace both decide.
import { describe, expect, it } from 'vitest';
import { useKernels } from '../../harness/src/vitest/index.js';

const vms = await useKernels();

describe.each(vms)('seed lkmc_mmap on $name', (vm) => {
  it('passes: test exits 0, expected kernel-log lines in order, module unloaded, no kernel error', async () => {
    const run = await vm.run();
    expect(run.reasons).toEqual([]);
    expect(run.outcome).toBe('pass');
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain('ok 5 - both mappings map the same physical page');
    expect(run.stdout).toContain('ok 12 - delete_module() is refused while a mapping outlives close()');
    expect(run.job.raw.stillLoaded).toEqual([]);
    expect(run).toHaveNoKernelErrors();
    // Every check of the seed's TAP, as a subtest of the result.
    expect(run.subtests?.map((s) => s.id)).toEqual(Array.from({ length: 14 }, (_, i) => String(i + 1)));
    expect(run).toPassAllSubtests();
    expect(run.kernelLog).toContainKernelLines(['lkmc_mmap: loaded', 'lkmc_mmap: vm_fault pgoff=0', 'lkmc_mmap: vm_fault pgoff=0', 'lkmc_mmap: unloaded']);
    expect(run.kernelLog.filter((t) => t.startsWith('lkmc_mmap: vm_fault'))).toHaveLength(2);
  });

  it("fails when a line of the config's expect.kernelLog is missing, naming it", async () => {
    // Checked after userland/mmap/expected.kmsg's lines, which all match: only this one is missing.
    const run = await vm.run({ expectKernelLog: ['lkmc_mmap: no such line'] });
    expect(run.outcome).toBe('test-failed');
    expect(run.reasons[0]).toBe("expected kernel-log line 'lkmc_mmap: no such line' not found after 'lkmc_mmap: release'");
    // The matchers fail on the same run where they should. No read follows a release (an open
    // does: mmap_test's check 12 opens the file again).
    expect(() => expect(run.kernelLog).toContainKernelLines(['lkmc_mmap: release', 'lkmc_mmap: read'])).toThrow(/"lkmc_mmap: read" after "lkmc_mmap: release"/);
  });

  it('exec runs a shell command in the guest', async () => {
    const r = await vm.exec('uname -r');
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toBe(vm.session().release);
  });
});
