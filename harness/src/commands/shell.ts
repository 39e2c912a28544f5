// `kmod-harness shell`: boot one kernel with the module built, uploaded and loaded, and open an
// interactive SSH shell in the guest; the VM is powered off when the shell ends.
import { BuildError } from '../errors.js';
import { forSeries, type Emit } from '../events.js';
import { GUEST_DIR, insmodAll, uploadBuilt } from '../guest/job.js';
import type { ShellIo } from '../guest/ssh.js';
import { ensureHostPackages } from '../host/setup.js';
import { acquireKernelWithin, kernelArch } from '../kernel-build/index.js';
import { withDeadline } from '../util/timers.js';
import type { RunFlags } from '../config/settings.js';
import { bootBesideBuild, buildJob, type Session } from '../session.js';
import { makeWorkDir } from '../util/workdir.js';
import { runSettings } from '../config/settings.js';
import { checkSources } from './run.js';

export interface ShellFlags extends RunFlags {
  config?: string;
  /** false with --no-load: upload, but leave the module for the user to insmod. */
  load?: boolean;
  /** Run this command on a pty instead of an interactive shell. */
  command?: string;
}

const DEFAULT_IO: ShellIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, ...(process.env.TERM ? { term: process.env.TERM } : {}) };

/** Returns the exit code of the guest's shell (or of --command). */
export async function shellCommand(flags: ShellFlags, emitAll: Emit, io: ShellIo = DEFAULT_IO): Promise<number> {
  const settings = await runSettings(flags);
  const series = settings.kernels[0]!;
  const emit = forSeries(emitAll, series);
  if (settings.kernels.length > 1)
    emit({ type: 'info', message: `shell on ${series}, the first of ${settings.kernels.join(', ')} (choose another with --kernel)` });
  await checkSources(settings);
  await ensureHostPackages(emit, { arches: [kernelArch(series, settings.kernelBuilds)] });
  const kernel = await acquireKernelWithin(series, settings.timeouts.fetchS, { emit, definitions: settings.kernelBuilds });
  const work = await makeWorkDir();
  let session: Session | undefined;
  try {
    const building = buildJob(kernel, settings, work.path, { emit, timeouts: settings.timeouts }).catch((e: unknown) => {
      if (e instanceof BuildError) io.stderr.write(`${e.log.trim()}\n`);
      throw e;
    });
    const sessionOptions = {
      accel: settings.accel,
      memoryMiB: settings.memoryMiB,
      cpus: settings.cpus ?? 2,
      bootParams: settings.bootParams,
      strict: settings.strict,
      snapshot: settings.snapshot,
      bootTimeoutS: settings.timeouts.bootS,
      outputLimitBytes: settings.outputLimitBytes,
      emit,
    };
    const { built, session: opened } = await bootBesideBuild(building, kernel, sessionOptions, (s) => (session = s));
    const { guest } = opened;
    const { kos, test } = await withDeadline('upload', settings.timeouts.uploadS, () =>
      uploadBuilt(guest.conn, `${GUEST_DIR}/shell`, built.module.strippedKos, built.test.binary),
    );
    let loaded = 'not loaded (--no-load)';
    if (flags.load !== false) {
      const r = await guest.conn.exec(`${insmodAll(kos)}; exit $rc`, { timeoutMs: settings.timeouts.loadS * 1000, stage: 'load' });
      loaded = r.exitCode === 0 ? 'loaded' : `NOT loaded: insmod exited ${r.exitCode}: ${r.stderr.trim()} (see dmesg)`;
    }
    io.stderr.write(
      [
        `guest ${kernel.release} (${opened.info.accel}); the VM is powered off when the shell ends.`,
        `  module ${built.module.names.join(', ')}: ${loaded}; ${kos.join(' ')}`,
        `  test: ${test}`,
        '',
      ].join('\n'),
    );
    const code = await guest.conn.shell(io, flags.command);
    return code ?? 1;
  } finally {
    await session?.close();
    await work.remove();
  }
}
