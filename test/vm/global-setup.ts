// Boots one VM per kernel for the whole vm project and hands each test file the session's
// connection details through provide(); tears every VM down at the end.
import { availableParallelism, freemem } from 'node:os';
import type { TestProject } from 'vitest/node';
import { asHarnessError } from '../../harness/src/errors.js';
import { silent } from '../../harness/src/events.js';
import { ensureHostPackages } from '../../harness/src/host/setup.js';
import { defaultSeries, knownSeries, prepareKernel } from '../../harness/src/kernel/index.js';
import { parseKernels } from '../../harness/src/program.js';
import { parseAccelChoice } from '../../harness/src/qemu/accel.js';
import { parallelVms } from '../../harness/src/run.js';
import { openSession, type Session, type SessionInfo } from '../../harness/src/session.js';

/** One kernel of the run: its booted session, or why it could not be had. */
export interface KernelSlot {
  series: string;
  info?: SessionInfo;
  error?: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    kernels: KernelSlot[];
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
  // Boot as many at once as the host takes; every VM then stays up (idle) for the whole run.
  const limit = parallelVms({ kernels: series.length, cores: availableParallelism(), freeMemMiB: freemem() / 2 ** 20, cpusPerVm: 2, memoryMiB: 512 });
  const queue = [...series];
  const slots: KernelSlot[] = series.map((s) => ({ series: s }));
  // A kernel that cannot be fetched or booted fails its own tests, not the others'.
  const boot = async () => {
    for (let s = queue.shift(); s !== undefined; s = queue.shift()) {
      const slot = slots[series.indexOf(s)]!;
      try {
        const kernel = await prepareKernel(s, { emit: (e) => e.type !== 'stage-start' && e.type !== 'stage-end' && log(e.message) });
        const session = await openSession(kernel, { accel, emit: silent });
        sessions.push(session);
        slot.info = session.info;
        log(`${kernel.release}: booted under ${session.info.accel} (${session.info.accelReason}) in ${session.info.stageMs.boot + session.info.stageMs.ssh} ms`);
      } catch (error) {
        const e = asHarnessError(error);
        slot.error = `${s}: ${e.outcome}: ${e.message}${e.fix ? ` (fix: ${e.fix})` : ''}`;
        log(slot.error);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: limit }, boot));
  } catch (error) {
    await closeAll();
    throw error;
  }
  project.provide('kernels', slots);
  return closeAll;
}
