// Boots one VM per kernel for the whole vm project and hands each test file the session's
// connection details through provide(); tears every VM down at the end.
import type { TestProject } from 'vitest/node';
import { asHarnessError } from '../../harness/src/errors.js';
import { silent } from '../../harness/src/events.js';
import { ensureHostPackages } from '../../harness/src/host/setup.js';
import { defaultSeries, knownSeries, prepareKernel } from '../../harness/src/kernel/index.js';
import { parseKernels } from '../../harness/src/program.js';
import { parseAccelChoice } from '../../harness/src/qemu/accel.js';
import { planVmsHere } from '../../harness/src/run.js';
import { prepareToolchain } from '../../harness/src/toolchain/index.js';
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
  // npm test covers every catalogue kernel unless KMOD_HARNESS_KERNELS narrows it.
  const series = parseKernels(process.env.KMOD_HARNESS_KERNELS || 'all', knownSeries(), defaultSeries());
  const accel = parseAccelChoice(process.env.KMOD_HARNESS_ACCEL);
  const sessions: Session[] = [];
  const closeAll = async () => {
    await Promise.all(sessions.map((s) => s.close()));
  };
  // Boot as many at once as the host takes; every VM then stays up (idle) for the whole run.
  const plan = planVmsHere(series.length, {});
  const queue = [...series];
  const slots: KernelSlot[] = series.map((s) => ({ series: s }));
  // A kernel that cannot be fetched or booted fails its own tests, not the others'.
  const boot = async () => {
    for (let s = queue.shift(); s !== undefined; s = queue.shift()) {
      const slot = slots[series.indexOf(s)]!;
      try {
        const kernel = await prepareKernel(s, { emit: (e) => e.type !== 'stage-start' && e.type !== 'stage-end' && log(e.message) });
        // The kernel's compiler (a Debian root for 6.12/7.2) is made beside the boot, not in the first test.
        const [session] = await Promise.all([openSession(kernel, { accel, cpus: plan.cpus, emit: silent }), prepareToolchain(kernel, { emit: silent }).catch(() => undefined)]);
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
    await Promise.all(Array.from({ length: plan.parallel }, boot));
  } catch (error) {
    await closeAll();
    throw error;
  }
  project.provide('kernels', slots);
  return closeAll;
}
