// Running a module + test on the VM that globalSetup booted for a kernel.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import type { KernelSlot } from './global-setup.js';
import { buildJob, connectSession, consoleReader, runBuilt, type JobOutcome, type SessionInfo } from '../../harness/src/session.js';

let jobs = 0;

export async function runOnSession(info: SessionInfo, source: { moduleDir: string; test: string }, options: { testS?: number } = {}): Promise<JobOutcome> {
  const buildDir = await mkdtemp(path.join(tmpdir(), 'kmod-harness-vmtest-'));
  try {
    const built = await buildJob(info.kernel, source, buildDir);
    const conn = await connectSession(info);
    try {
      const id = `${process.pid}-${++jobs}`;
      return await runBuilt(conn, consoleReader(info), built, id, { ...(options.testS ? { timeouts: { testS: options.testS } } : {}) });
    } finally {
      conn.close();
    }
  } finally {
    await rm(buildDir, { recursive: true, force: true });
  }
}

export const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/modules');

/** The kernels globalSetup booted, as describe.each rows: [name, slot]. */
export function kernelRows(): Array<[string, KernelSlot]> {
  return inject('kernels').map((slot) => [slot.info?.release ?? slot.series, slot]);
}

/** The slot's session; a kernel that did not boot fails the test with the reason. */
export function sessionOf(slot: KernelSlot): SessionInfo {
  if (!slot.info) throw new Error(slot.error ?? `kernel ${slot.series} did not boot`);
  return slot.info;
}
