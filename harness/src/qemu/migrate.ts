// A VM's device state saved to a file and loaded into a fresh QEMU, by migration over QMP
// (QEMU 7.2 has no `file:` URI: `exec:cat`). Guest RAM stays out of the stream: it lives in a
// shared file (qemu/args.ts RamFile) and x-ignore-shared skips it, so the state is ~1 MB and
// a restore maps the saved RAM instead of copying it.
import { HarnessError } from '../errors.js';
import type { Qmp } from './qmp.js';

/** A path as one word of the `sh -c` that QEMU's exec: migration runs. */
export function shellWord(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

const IGNORE_SHARED = { capabilities: [{ capability: 'x-ignore-shared', state: true }] };

async function poll<T>(what: string, timeoutMs: number, step: () => Promise<T | undefined>): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const done = await step();
    if (done !== undefined) return done;
    if (performance.now() > deadline) throw new HarnessError('E_SNAPSHOT', 'infra-error', `${what} did not finish within ${Math.round(timeoutMs / 1000)} s`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Pause the guest and write its device state to `file`; the guest stays paused (the caller ends that QEMU). */
export async function saveState(qmp: Qmp, file: string, timeoutMs: number): Promise<void> {
  await qmp.execute('stop');
  await qmp.execute('migrate-set-capabilities', IGNORE_SHARED);
  await qmp.execute('migrate', { uri: `exec:cat > ${shellWord(file)}` });
  const status = await poll('saving the snapshot', timeoutMs, async () => {
    const info = (await qmp.execute('query-migrate')) as { status?: string; 'error-desc'?: string };
    return info.status === 'completed' || info.status === 'failed' || info.status === 'cancelled' ? info : undefined;
  });
  if (status.status !== 'completed')
    throw new HarnessError('E_SNAPSHOT', 'infra-error', `QEMU could not save the snapshot: ${status['error-desc'] ?? status.status ?? 'unknown'}`);
}

/**
 * Load `file` into a QEMU started with `-incoming defer` and the same command line, then let
 * the guest run. A state QEMU cannot load makes it exit: `exited` ends the wait at once.
 */
export async function loadState(qmp: Qmp, file: string, timeoutMs: number, exited: Promise<unknown>): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  await qmp.execute('migrate-set-capabilities', IGNORE_SHARED);
  await qmp.execute('migrate-incoming', { uri: `exec:cat ${shellWord(file)}` });
  const status = await poll('loading the snapshot', timeoutMs, async () => {
    if (gone) return 'exited';
    const info = (await qmp.execute('query-status')) as { status?: string };
    return info.status === 'inmigrate' ? undefined : (info.status ?? 'unknown');
  });
  // Without -S a loaded guest would run at once; QEMU 7.2 leaves it paused after -incoming defer.
  if (status !== 'paused' && status !== 'running') throw new HarnessError('E_SNAPSHOT', 'infra-error', `QEMU could not load the snapshot (status ${status})`);
  if (status === 'paused') await qmp.execute('cont');
}
