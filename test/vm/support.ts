// What the VM test files share: fixture paths, and for those that start the CLI or a nested
// vitest, the kernel to use, their environment, and a count of QEMU processes.
import path from 'node:path';
import { execa } from 'execa';
import { inject } from 'vitest';

/** The broken fixture modules, each with module/, test/ and expect.json. */
export const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/modules');

/** The kernels of this run (globalSetup's settings): in CI's kernel matrix, the job's. */
export function runKernels(): readonly string[] {
  return inject('kmodHarness')?.settings.kernels ?? ['6.1'];
}

/** The first kernel of this run: in CI's kernel matrix, the job's kernel. */
export function firstKernel(): string {
  return runKernels()[0] ?? '6.1';
}

/**
 * The environment for runs a test starts: not GITHUB_ACTIONS, so that their tables (some fail
 * on purpose) stay out of the step summary of the job running the tests. Use with extendEnv: false.
 */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const { GITHUB_ACTIONS: _actions, GITHUB_STEP_SUMMARY: _summary, ...env } = process.env;
  return { ...env, ...extra };
}

/** QEMU processes on the host now (the run's own VMs included): compare before and after. */
export async function qemuCount(): Promise<string> {
  return (await execa('pgrep', ['-c', '-x', 'qemu-system-x86_64'], { reject: false })).stdout.trim();
}
