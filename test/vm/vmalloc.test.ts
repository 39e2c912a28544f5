// The seed's second answer on every kernel: a multi-page vmalloc_user buffer mapped by page
// offset (faulting and pre-populated), with its own userland checks and kernel-log trace.
import { describe, expect, it } from 'vitest';
import { VMALLOC_MODULE_DIR, VMALLOC_TEST_DIR } from '../../harness/src/util/paths.js';
import { useKernels } from '../../harness/src/vitest/index.js';

const source = { module: VMALLOC_MODULE_DIR, test: VMALLOC_TEST_DIR };

describe.each(await useKernels())('lkmc_vmap on $name', (vm) => {
  it('passes: every check ok, faults per page touched in the kernel log, none for the prefault file', async () => {
    const run = await vm.run(source);
    expect(run.reasons).toEqual([]);
    expect(run.outcome).toBe('pass');
    expect(run).toHaveNoKernelErrors();
    expect(run.stdout).not.toMatch(/^not ok/m);
    expect(run.stdout).not.toMatch(/# SKIP/);
    expect(run.kernelLog).toContainKernelLines([/lkmc_vmap: vm_fault pgoff=\d+ past the end: SIGBUS/]);
    expect(run.kernelLog).toContainKernelLines([/^lkmc_vmap: mmap prefault/]);
  });
});
