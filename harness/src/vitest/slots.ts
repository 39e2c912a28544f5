// The kernels a vitest run boots, shared by globalSetup (one VM per kernel for the whole run)
// and useKernels (one VM per kernel for a file, when no globalSetup booted them).
import { asHarnessError } from '../errors.js';
import { silent, type Emit } from '../events.js';
import { acquireKernel } from '../kernel-build/index.js';
import type { RunSettings } from '../config/settings.js';
import { mapLimit } from '../util/pool.js';
import { planVmsHere } from '../run.js';
import { openSession, type Session, type SessionInfo } from '../session.js';
import { prepareToolchain } from '../toolchain/index.js';

/** One kernel of the run: its booted session, or why it could not be had. */
export interface KernelSlot {
  series: string;
  info?: SessionInfo;
  error?: string;
}

/**
 * Boot every kernel, as many at once as the host takes. A kernel that cannot be fetched or
 * booted gets its error in its slot (its tests fail with it), the others boot on.
 */
export async function bootSlots(
  settings: Pick<
    RunSettings,
    'kernels' | 'kernelBuilds' | 'accel' | 'memoryMiB' | 'cpus' | 'parallel' | 'bootParams' | 'strict' | 'snapshot' | 'timeouts' | 'outputLimitBytes'
  >,
  log: Emit = silent,
): Promise<{ slots: KernelSlot[]; close: () => Promise<void> }> {
  const sessions: Session[] = [];
  const close = async () => {
    await Promise.all(sessions.map((s) => s.close()));
  };
  const plan = planVmsHere(settings.kernels.length, {
    memoryMiB: settings.memoryMiB,
    ...(settings.cpus ? { cpus: settings.cpus } : {}),
    ...(settings.parallel ? { parallel: settings.parallel } : {}),
  });
  const slots: KernelSlot[] = settings.kernels.map((series) => ({ series }));
  const boot = async (slot: KernelSlot): Promise<void> => {
    try {
      const kernel = await acquireKernel(slot.series, { emit: (e) => log({ ...e, series: slot.series }), definitions: settings.kernelBuilds });
      // The kernel's compiler (a Debian root for 6.12/7.2) is made beside the boot, not in the first test.
      const [session] = await Promise.all([
        openSession(kernel, {
          accel: settings.accel,
          cpus: plan.cpus,
          memoryMiB: settings.memoryMiB,
          bootParams: settings.bootParams,
          strict: settings.strict,
          snapshot: settings.snapshot,
          bootTimeoutS: settings.timeouts.bootS,
          outputLimitBytes: settings.outputLimitBytes,
        }),
        prepareToolchain(kernel).catch(() => undefined),
      ]);
      sessions.push(session);
      slot.info = session.info;
      log({
        type: 'info',
        series: slot.series,
        message: `${kernel.release}: booted under ${session.info.accel} (${session.info.accelReason}) in ${session.info.stageMs.boot + session.info.stageMs.ssh} ms`,
      });
    } catch (error) {
      const e = asHarnessError(error);
      slot.error = `${slot.series}: ${e.outcome}: ${e.message}${e.fix ? ` (fix: ${e.fix})` : ''}`;
      log({ type: 'warn', series: slot.series, message: slot.error });
    }
  };
  try {
    await mapLimit(slots, plan.parallel, boot);
  } catch (error) {
    await close();
    throw error;
  }
  for (const slot of slots) if (!slot.info) slot.error ??= `${slot.series}: not booted`;
  return { slots, close };
}
