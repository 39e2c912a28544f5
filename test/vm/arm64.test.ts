// arm64 guests on this amd64 host: Debian's cloud-arm64 kernels of 6.1 and 6.12, the module
// cross-built (the host's aarch64 gcc-12 for 6.1, gcc-14-aarch64-linux-gnu in a trixie root for
// 6.12), the guest's userland from arm64 packages, QEMU's virt machine under TCG. The seed and
// the vmalloc module pass on both, and module bugs fail 6.1/arm64 with arm64's own reports.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { entryKey } from '../../harness/src/kernel/entry.js';
import { runOnKernel } from '../../harness/src/run.js';
import { SEED_MODULE_DIR, SEED_TEST_DIR, VMALLOC_MODULE_DIR, VMALLOC_TEST_DIR } from '../../harness/src/util/paths.js';
import { useKernels } from '../../harness/src/vitest/index.js';
import { FIXTURES, runKernels } from './support.js';

// In a kernel matrix (GitHub's, one series per job) this file belongs to the 6.1 job; the
// workflow's arm64 job runs every VM test on 6.1/arm64 instead (KMOD_HARNESS_KERNELS).
const here = runKernels().includes('6.1');
const vms = here ? await useKernels({ kernels: ['6.1/arm64', '6.12/arm64'] }) : [];

describe.runIf(here).each(vms)('the $name kernel', (vm) => {
  it("is Debian's cloud-arm64 kernel of the series, on an arm64 guest, from an entry of its own", async () => {
    const info = vm.session();
    expect(info.arch).toBe('arm64');
    expect(vm.arch).toBe('arm64');
    expect(info.release).toMatch(/-cloud-arm64$/);
    expect(info.kernel.vmlinuz).toContain(`/kernels/${entryKey(info.series, '')}`);
    // The host's kbuild tools: modpost runs on this amd64 host.
    expect(info.kernel.packages.find((p) => p.name.startsWith('linux-kbuild-'))).toBeDefined();
    expect((await vm.exec('uname -m')).stdout.trim()).toBe('aarch64');
    expect(info.accel).toBe('tcg');
  });

  it('passes the seed, every subtest', async () => {
    const run = await vm.run({ module: SEED_MODULE_DIR, test: SEED_TEST_DIR });
    expect(run.outcome, run.reasons.join('\n')).toBe('pass');
    expect(run).toPassAllSubtests();
  });

  it('passes the vmalloc module', async () => {
    const run = await vm.run({ module: VMALLOC_MODULE_DIR, test: VMALLOC_TEST_DIR });
    expect(run.outcome, run.reasons.join('\n')).toBe('pass');
    expect(run).toPassAllSubtests();
  });
});

const fixture = (name: string): { moduleDir: string; test: string } => ({
  moduleDir: path.join(FIXTURES, name, 'module'),
  test: path.join(FIXTURES, name, 'test'),
});

describe.runIf(here)('module bugs on 6.1/arm64', () => {
  it('an oops at load: the NULL dereference, blamed on the module and mapped to its source line', async () => {
    const r = await runOnKernel('6.1/arm64', fixture('oops-at-load'));
    expect(r.outcome, r.reasons.join('\n')).toBe('kernel-error');
    expect(r.arch).toBe('arm64');
    const oops = r.kernelErrors.find((e) => e.module === 'kmh_oops_load');
    // arm64's wording of x86's `BUG: kernel NULL pointer dereference`.
    expect(oops?.title).toMatch(/^Unable to handle kernel NULL pointer dereference at virtual address 0+$/);
    expect(oops?.trace[0]).toMatch(/^kmh_oops_load_init\+0x[0-9a-f]+\/0x[0-9a-f]+ \[kmh_oops_load\]$/);
    // Symbolised by the aarch64 binutils: the host's addr2line cannot apply arm64 relocations.
    expect(oops?.source?.[0]).toMatchObject({ func: 'kmh_oops_load_init', file: path.join(FIXTURES, 'oops-at-load', 'module', 'kmh_oops_load.c') });
  });

  it('a WARN on unload', async () => {
    const [vm] = vms;
    const run = await vm!.run({ module: fixture('warn-on-unload').moduleDir, test: fixture('warn-on-unload').test });
    expect(run.outcome, run.reasons.join('\n')).toBe('kernel-error');
    expect(run.kernelErrors.map((e) => [e.kind, e.stage, e.module])).toContainEqual(['warning', 'unload', 'kmh_warn_unload']);
  });

  it('a panic in the test', async () => {
    const r = await runOnKernel('6.1/arm64', { ...fixture('panic-in-test'), timeouts: { testS: 8 } });
    expect(r.outcome, r.reasons.join('\n')).toBe('kernel-error');
    expect(r.kernelErrors.map((e) => e.kind)).toContain('panic');
  });

  it('a double free, found by SLUB debugging', async () => {
    const r = await runOnKernel('6.1/arm64', fixture('double-free'));
    expect(r.outcome, r.reasons.join('\n')).toBe('kernel-error');
    expect(r.kernelErrors.map((e) => e.kind).filter((k) => ['slub', 'kernel-bug'].includes(k))).not.toEqual([]);
  });

  it('a test that never ends: a timeout of the test stage', async () => {
    const r = await runOnKernel('6.1/arm64', { ...fixture('endless-loop'), timeouts: { testS: 8 } });
    expect(r.outcome, r.reasons.join('\n')).toBe('timeout');
    expect(r.timedOutStage).toBe('test');
  });
});

describe.runIf(here)('a module that builds on x86 only, on 6.1/arm64', () => {
  it('is build-failed at its x86 include, and the fix says the build was for arm64', async () => {
    const dir = path.join(FIXTURES, '..', 'cross', 'x86-only');
    const r = await runOnKernel('6.1/arm64', { moduleDir: path.join(dir, 'module'), test: path.join(dir, 'test', 'x86_only_test.c') });
    expect(r.outcome, r.reasons.join('\n')).toBe('build-failed');
    expect(r.diagnostics[0]).toMatchObject({ file: path.join(dir, 'module', 'kmh_x86_only.c'), line: 8, severity: 'error' });
    expect(r.diagnostics[0]?.message).toContain('asm/msr.h');
    expect(r.reasons.join('\n')).toContain('cross-built here, for aarch64');
  });
});
