// The seed module and its userland test on every booted kernel: exit status and the
// kernel-log trace both decide.
import { describe, expect, it } from 'vitest';
import { SEED_MODULE_DIR, SEED_TEST_DIR } from '../../harness/src/paths.js';
import { kernelRows, runOnSession, sessionOf } from './helpers.js';

describe.each(kernelRows())('seed lkmc_mmap on %s', (_name, slot) => {
  it('passes: test exits 0, expected kernel-log lines in order, module unloaded, no kernel error', async () => {
    const job = await runOnSession(sessionOf(slot), { moduleDir: SEED_MODULE_DIR, test: SEED_TEST_DIR });
    expect(job.reasons).toEqual([]);
    expect(job.outcome).toBe('pass');
    expect(job.raw.test?.exitCode).toBe(0);
    expect(job.raw.test?.stdout).toContain('ok 5 - both mappings map the same physical page');
    expect(job.raw.stillLoaded).toEqual([]);
    expect(job.kernelErrors).toEqual([]);
    const texts = job.records.map((r) => r.text);
    expect(texts).toContain('lkmc_mmap: loaded');
    expect(texts.filter((t) => t.startsWith('lkmc_mmap: vm_fault'))).toHaveLength(2);
    expect(texts).toContain('lkmc_mmap: unloaded');
  });
});
