// The seed's second answer on every kernel: a multi-page vmalloc_user buffer mapped by page
// offset (faulting and pre-populated), with its own userland checks and kernel-log trace.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../harness/src/paths.js';
import { kernelRows, runOnSession, sessionOf } from './helpers.js';

const source = { moduleDir: path.join(PACKAGE_ROOT, 'kernel-module-vmalloc'), test: path.join(PACKAGE_ROOT, 'userland-vmalloc') };

describe.each(kernelRows())('lkmc_vmap on %s', (_name, slot) => {
  it('passes: every check ok, faults per page touched in the kernel log, none for the prefault file', async () => {
    const job = await runOnSession(sessionOf(slot), source);
    expect(job.reasons).toEqual([]);
    expect(job.outcome).toBe('pass');
    const out = job.raw.test?.stdout ?? '';
    expect(out).not.toMatch(/^not ok/m);
    expect(out).not.toMatch(/# SKIP/);
    const texts = job.records.map((r) => r.text);
    expect(texts.some((t) => /lkmc_vmap: vm_fault pgoff=\d+ past the end: SIGBUS/.test(t))).toBe(true);
    expect(texts.some((t) => t.startsWith('lkmc_vmap: mmap prefault'))).toBe(true);
  });
});
