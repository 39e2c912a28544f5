// Fixture modules that must not pass: the verdict has to catch a kernel warning even when
// the test exits 0, and a failing test even when the kernel is quiet.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useKernels } from '../../harness/src/vitest/index.js';
import { FIXTURES } from './support.js';

function fixture(name: string) {
  return { module: path.join(FIXTURES, name, 'module'), test: path.join(FIXTURES, name, 'test') };
}

describe.each(await useKernels())('verdicts that fail on $name', (vm) => {
  it('WARN_ON in a read callback is a kernel-error, though the test exits 0', async () => {
    const job = await vm.run(fixture('warn-in-callback'));
    expect(job.exitCode).toBe(0);
    expect(job.outcome).toBe('kernel-error');
    const warning = job.kernelErrors.find((e) => e.kind === 'warning');
    expect(warning?.module).toBe('warn_mmap');
    expect(warning?.title).toMatch(/warn_mmap/);
    expect(warning?.trace.length).toBeGreaterThan(0);
    // Symbolised from the built .ko's debug info to the WARN_ON_ONCE line in the fixture's source.
    expect(warning?.source?.[0]).toMatchObject({ func: 'kmh_warn_read', file: path.join(FIXTURES, 'warn-in-callback/module/warn_mmap.c'), line: 22 });
    // The matcher a module author would use fails here, and names the warning and its line.
    expect(() => expect(job).toHaveNoKernelErrors()).toThrow(/warning in warn_mmap during test at .*warn_mmap\.c:22/);
  });

  it('a test that exits 1 is test-failed, with its exit code', async () => {
    const job = await vm.run(fixture('failing-test'));
    expect(job).toHaveNoKernelErrors();
    expect(job.outcome).toBe('test-failed');
    expect(job.exitCode).toBe(1);
    expect(job.reasons[0]).toMatch(/exited with status 1/);
  });
});
