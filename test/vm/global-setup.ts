// Boots one VM per kernel for the whole vm project and hands each test file the session's
// connection details through provide(); tears every VM down at the end.
import type { TestProject } from 'vitest/node';
import { silent } from '../../harness/src/events.js';
import { ensureHostPackages } from '../../harness/src/host/setup.js';
import { defaultSeries, knownSeries, prepareKernel } from '../../harness/src/kernel/index.js';
import { parseKernels } from '../../harness/src/program.js';
import { parseAccelChoice } from '../../harness/src/qemu/accel.js';
import { openSession, type Session, type SessionInfo } from '../../harness/src/session.js';

declare module 'vitest' {
  export interface ProvidedContext {
    sessions: SessionInfo[];
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const log = (message: string) => process.stderr.write(`[vm setup] ${message}\n`);
  await ensureHostPackages((e) => e.type === 'info' && log(e.message));
  const series = parseKernels(process.env.KMOD_HARNESS_KERNELS, knownSeries(), defaultSeries());
  const accel = parseAccelChoice(process.env.KMOD_HARNESS_ACCEL);
  const sessions: Session[] = [];
  const closeAll = async () => {
    await Promise.all(sessions.map((s) => s.close()));
  };
  try {
    for (const s of series) {
      const kernel = await prepareKernel(s, { emit: (e) => e.type !== 'stage-start' && e.type !== 'stage-end' && log(e.message) });
      const session = await openSession(kernel, { accel, emit: silent });
      sessions.push(session);
      log(`${kernel.release}: booted under ${session.info.accel} (${session.info.accelReason}) in ${session.info.stageMs.boot + session.info.stageMs.ssh} ms`);
    }
  } catch (error) {
    await closeAll();
    throw error;
  }
  project.provide('sessions', sessions.map((s) => s.info));
  return closeAll;
}
