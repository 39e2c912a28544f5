// Boot a guest and log in: QEMU with the run's key on the kernel command line (or restored from
// a snapshot and given the key on the console: guest/snapshot.ts), wait for the ready marker on
// the console, connect over SSH. shutdown() powers off and always kills QEMU.
import { readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { ARCH_FACTS, type Arch } from '../arch.js';
import { BootError, HarnessError, TimeoutError } from '../errors.js';
import { requireTool } from '../host/tools.js';
import { isStopping } from '../util/lifecycle.js';
import type { GuestImage } from '../image/initramfs.js';
import { CONSOLE_KEY, kernelCmdline, type Accel, type RamFile } from '../qemu/args.js';
import { loadState, saveState } from '../qemu/migrate.js';
import { PORT_TAKEN, startVm, type Vm, type VmOptions } from '../qemu/process.js';
import { connectQmp, type Qmp } from '../qemu/qmp.js';
import { makeRunKeys, type RunKeys } from './keys.js';
import {
  createSnapshot,
  discardSnapshot,
  fileIdentity,
  findSnapshot,
  freshSecrets,
  hostCpuIdentity,
  secretsLine,
  snapshotArgv,
  snapshotKey,
  SnapshotError,
  touchSnapshot,
  WAITING_MARKER,
  type SavedBoot,
  type Snapshot,
} from './snapshot.js';
import { connectGuest, type GuestConnection } from './ssh.js';

export const READY_MARKER = 'KMOD-HARNESS-READY';

export type BootKind = 'cold' | 'saved' | 'restored';

export interface SnapshotUse {
  /** The cache root whose `snapshots/` holds them. */
  root: string;
  /** Names the entry (the kernel's release). */
  label: string;
}

export interface BootOptions {
  vmlinuz: string;
  image: GuestImage;
  /** The guest's architecture (default amd64). */
  arch?: Arch;
  accel: Accel;
  memoryMiB: number;
  cpus: number;
  bootParams?: string[];
  /** Slab debugging, init_on_free and KFENCE on the kernel command line (default true). */
  strict?: boolean;
  /** The kernel's strict parameters (qemu/args.ts strictBootParams). */
  strictParams?: string[];
  /** The kernel has KUnit: boot it with KUnit enabled (qemu/args.ts CmdlineOptions.kunit). */
  kunit?: boolean;
  /** How many times a stock kernel's boot this kernel's may take before it counts as hung (KASAN: 3). */
  slowness?: number;
  bootTimeoutMs: number;
  /** Told when a boot that hung or died before the ready marker is retried. */
  onRetry?: (message: string) => void;
  /** Told when a snapshot could not be saved or restored and the boot went on cold. */
  onWarn?: (message: string) => void;
  /** Boot from the configuration's snapshot (made on the first boot): see guest/snapshot.ts. */
  snapshot?: SnapshotUse;
  /** The run's 0700 work dir: keys and console log go there. */
  workDir: string;
  consoleLog: string;
  /** Bytes of console kept in memory and in consoleLog, head and tail (default 16 MiB). */
  consoleLimitBytes?: number;
  /** Cancels the boot (QEMU is killed): the run needs no guest any more, e.g. its build failed. */
  signal?: AbortSignal;
}

export interface Guest {
  vm: Vm;
  conn: GuestConnection;
  keys: RunKeys;
  stageMs: { boot: number; ssh: number };
  /** Booted cold, cold and saved as a snapshot (then restored from it), or restored from one. */
  bootKind: BootKind;
  /** A restored guest's boot id (its /run/kmod-harness/boot-id): distinct per restore. */
  nonce?: string;
  /** Power off, wait briefly, kill QEMU. Idempotent. */
  shutdown(): Promise<void>;
}

/**
 * A healthy TCG boot prints its ready marker within ~10 s even on a loaded host, but now and
 * then a TCG guest hangs in early boot (seen in the soak: stuck after "Switched to clocksource
 * hpet", long before the module is loaded). So the first attempt gets at most this long, and a
 * first boot that hung or died is retried once on a fresh QEMU within what remains of
 * --boot-timeout.
 */
const FIRST_BOOT_ATTEMPT_MS = 25_000;

/** QEMU's options of a boot apart from the per-VM parts startVm adds. */
type BaseVm = Omit<VmOptions, 'ramFile' | 'qmpSocket' | 'incoming' | 'consolePrefix'>;

function baseVm(o: BootOptions, publicKey: string): BaseVm {
  return {
    kernel: o.vmlinuz,
    initrd: o.image.initramfs,
    ...(o.arch ? { arch: o.arch } : {}),
    append: kernelCmdline({
      publicKey,
      ...(o.arch ? { arch: o.arch } : {}),
      strict: o.strict !== false,
      ...(o.strictParams ? { strictParams: o.strictParams } : {}),
      ...(o.kunit ? { kunit: true } : {}),
      extra: o.bootParams ?? [],
    }),
    accel: o.accel,
    memoryMiB: o.memoryMiB,
    cpus: o.cpus,
    consoleLog: o.consoleLog,
    ...(o.consoleLimitBytes !== undefined ? { consoleLimitBytes: o.consoleLimitBytes } : {}),
  };
}

/** Boot to `marker` on the console, retrying a boot that hung or died once (see FIRST_BOOT_ATTEMPT_MS). */
async function startReadyVm(o: BootOptions, vmOptions: VmOptions, marker: string, start: number): Promise<Vm> {
  const firstAttemptMs = FIRST_BOOT_ATTEMPT_MS * (o.slowness ?? 1);
  const attempts = o.bootTimeoutMs > 2 * firstAttemptMs ? 2 : 1;
  let portRetries = 0;
  for (let attempt = 1; ; attempt++) {
    const remaining = o.bootTimeoutMs - (performance.now() - start);
    const budget = attempt < attempts ? Math.min(firstAttemptMs, remaining) : remaining;
    o.signal?.throwIfAborted();
    const vm = await startVm(vmOptions);
    const cancel = () => void vm.stop();
    o.signal?.addEventListener('abort', cancel, { once: true });
    try {
      await vm.waitForConsole(marker, budget);
      return vm;
    } catch (error) {
      const exit = await vm.stop();
      o.signal?.throwIfAborted();
      // Under load QEMU may reach its port forward after startVm's early check, and an outgoing
      // connection may have taken the port meanwhile: that is ours to retry, not a boot failure.
      if (PORT_TAKEN.test(exit.stderr) && portRetries++ < 3) {
        attempt--;
        continue;
      }
      // Nothing of the user's is loaded yet: a guest that hung or died this early is booted once
      // more (said as a warning, the first console kept); if it fails again, that is the result.
      // A hang is a timeout of the boot stage; QEMU or the kernel dying is boot-failed.
      const hung = error instanceof HarnessError && error.outcome === 'timeout';
      // A QEMU killed by the user's Ctrl-C is not a boot to retry.
      if (isStopping() || (!hung && !(error instanceof BootError))) throw error;
      if (attempt >= attempts) {
        if (!hung) throw error;
        throw new TimeoutError('boot', Math.round(o.bootTimeoutMs / 1000), {
          detail: vm.console().slice(-4000),
          fix: 'the guest never printed its ready marker: read the console log; raise --boot-timeout on a slow host',
        });
      }
      const last = vm.console().trim().split('\n').at(-1) ?? '';
      o.onRetry?.(
        `${hung ? `the guest hung in boot (no ready marker after ${Math.round(budget / 1000)} s` : `${(error as Error).message} (exit ${exit.exitCode ?? exit.signal}`}; console ends: ${last}); booting it again`,
      );
      // Keep the hung boot's console beside the new one.
      await rename(o.consoleLog, `${o.consoleLog}.hung-boot-${attempt}`).catch(() => {});
    } finally {
      o.signal?.removeEventListener('abort', cancel);
    }
  }
}

/** A restored guest prints its ready marker within ~0.3 s under TCG; more than this is a restore that went wrong. */
export const RESTORE_READY_MS = 10_000;
/** Saving is ~30 ms (device state only); loading ~0.2 s. */
const SAVE_LIMIT_MS = 30_000;
const LOAD_LIMIT_MS = 20_000;
const QMP_CONNECT_MS = 5_000;

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A Ctrl-C or a cancelled run is no reason to try another way of booting. */
function cancelled(o: BootOptions): boolean {
  return isStopping() || o.signal?.aborted === true;
}

/** Boot for a snapshot: to the waiting marker with RAM in `ramFile`, then save the device state to `stateFile` and end QEMU. */
async function bootAndSave(o: BootOptions, base: BaseVm, ramFile: RamFile, stateFile: string, start: number): Promise<SavedBoot> {
  const qmpSocket = path.join(o.workDir, 'qmp-save.sock');
  const vm = await startReadyVm(o, { ...base, ramFile, qmpSocket }, WAITING_MARKER, start);
  try {
    const bootMs = Math.round(performance.now() - start);
    let qmp: Qmp | undefined;
    try {
      qmp = await connectQmp(qmpSocket, QMP_CONNECT_MS, vm.exited);
      await saveState(qmp, stateFile, SAVE_LIMIT_MS);
    } catch (error) {
      throw new SnapshotError(`could not save the booted guest: ${messageOf(error)}`, { cause: error });
    } finally {
      qmp?.close();
    }
    return { console: Buffer.from(vm.console()), bootMs };
  } finally {
    await vm.stop();
    await rm(qmpSocket, { force: true });
  }
}

let restores = 0;

/** A fresh QEMU from `snapshot`, given this run's secrets, up to the ready marker; another port if the chosen one was taken meanwhile. */
async function restoreVm(o: BootOptions, base: BaseVm, snapshot: Snapshot, keys: RunKeys): Promise<{ vm: Vm; nonce: string }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await restoreOnce(o, base, snapshot, keys);
    } catch (error) {
      const stderr = error instanceof HarnessError ? (error.detail ?? '') : '';
      if (attempt >= 3 || !PORT_TAKEN.test(stderr) || cancelled(o)) throw error;
    }
  }
}

async function restoreOnce(o: BootOptions, base: BaseVm, snapshot: Snapshot, keys: RunKeys): Promise<{ vm: Vm; nonce: string }> {
  const qmpSocket = path.join(o.workDir, `qmp-${++restores}.sock`);
  const vm = await startVm({
    ...base,
    ramFile: { path: snapshot.ram, share: false },
    qmpSocket,
    incoming: true,
    consolePrefix: await readFile(snapshot.console),
    earlyMs: 0,
  });
  const cancel = () => void vm.stop();
  o.signal?.addEventListener('abort', cancel, { once: true });
  try {
    const qmp = await connectQmp(qmpSocket, QMP_CONNECT_MS, vm.exited);
    try {
      await loadState(qmp, snapshot.state, LOAD_LIMIT_MS, vm.exited);
    } finally {
      qmp.close();
    }
    const secrets = freshSecrets(keys.publicBlob);
    vm.writeConsole(secretsLine(secrets));
    await vm.waitForConsole(READY_MARKER, RESTORE_READY_MS * (o.slowness ?? 1));
    return { vm, nonce: secrets.nonce };
  } catch (error) {
    const exit = await vm.stop();
    const said = exit.stderr.trim().split('\n').at(-1);
    throw new SnapshotError(`${messageOf(error)}${said ? ` (QEMU: ${said})` : ''}`, { cause: error, detail: exit.stderr });
  } finally {
    o.signal?.removeEventListener('abort', cancel);
    await rm(qmpSocket, { force: true });
  }
}

interface Booted {
  vm: Vm;
  kind: BootKind;
  /** The nonce a restored guest got (its /run/kmod-harness/boot-id). */
  nonce?: string;
}

async function coldBoot(o: BootOptions, keys: RunKeys, start: number): Promise<Booted> {
  return { vm: await startReadyVm(o, baseVm(o, keys.publicBlob), READY_MARKER, start), kind: 'cold' };
}

/** Restore the configuration's snapshot, making it first if there is none; any failure of a snapshot falls back to a cold boot. */
async function snapshotBoot(o: BootOptions, use: SnapshotUse, keys: RunKeys, start: number): Promise<Booted> {
  const base = baseVm(o, CONSOLE_KEY);
  const qemu = await requireTool(ARCH_FACTS[o.arch ?? 'amd64'].qemu);
  const identity = {
    argv: snapshotArgv(base),
    files: await Promise.all([qemu, base.kernel, base.initrd].map(fileIdentity)),
    ...(o.accel === 'kvm' ? { hostCpu: await hostCpuIdentity() } : {}),
  };
  const key = snapshotKey(use.label, identity);
  const warn = (message: string) => o.onWarn?.(message);
  const found = await findSnapshot(use.root, key);
  if (found) {
    try {
      const restored = await restoreVm(o, base, found, keys);
      void touchSnapshot(found);
      return { ...restored, kind: 'restored' };
    } catch (error) {
      if (cancelled(o)) throw error;
      warn(`the snapshot ${key} could not be restored (${messageOf(error)}): removed it, booting cold`);
      await discardSnapshot(found);
    }
  }
  let created: { snapshot: Snapshot; hit: boolean };
  try {
    created = await createSnapshot(
      {
        root: use.root,
        key,
        memoryMiB: o.memoryMiB,
        meta: { label: use.label, kernel: base.kernel, initrd: base.initrd, qemu, argv: identity.argv },
        ...(o.signal ? { lock: { signal: o.signal } } : {}),
      },
      (ramFile, stateFile) => bootAndSave(o, base, ramFile, stateFile, start),
    );
  } catch (error) {
    // A boot that failed is the run's result; only a save that failed is the snapshot's.
    if (!(error instanceof SnapshotError) || cancelled(o)) throw error;
    warn(`${error.message}: booting cold without a snapshot`);
    return coldBoot(o, keys, performance.now());
  }
  try {
    return { ...(await restoreVm(o, base, created.snapshot, keys)), kind: created.hit ? 'restored' : 'saved' };
  } catch (error) {
    if (cancelled(o)) throw error;
    warn(`the snapshot ${key} just made could not be restored (${messageOf(error)}): removed it, booting cold`);
    await discardSnapshot(created.snapshot);
    return coldBoot(o, keys, performance.now());
  }
}

export async function bootGuest(o: BootOptions): Promise<Guest> {
  const keys = await makeRunKeys(o.workDir);
  const start = performance.now();
  const booted = o.snapshot ? await snapshotBoot(o, o.snapshot, keys, start) : await coldBoot(o, keys, start);
  const vm = booted.vm;
  // Cancelled while logging in: QEMU's exit ends the SSH retries at once (exitedEarly).
  const cancel = () => void vm.stop();
  o.signal?.addEventListener('abort', cancel, { once: true });
  try {
    o.signal?.throwIfAborted();
    const boot = Math.round(performance.now() - start);
    const exitedEarly = vm.exited.then((e) => {
      throw new BootError(`QEMU exited (code ${e.exitCode ?? e.signal}) before SSH came up`, { detail: vm.console().slice(-4000) });
    });
    const conn = await connectGuest({
      port: vm.sshPort,
      privateKey: keys.privateKey,
      hostKey: o.image.hostKey,
      timeoutMs: Math.max(5000, o.bootTimeoutMs - boot),
      abort: exitedEarly,
    });
    const ssh = Math.round(performance.now() - start) - boot;
    let down: Promise<void> | undefined;
    return {
      vm,
      conn,
      keys,
      stageMs: { boot, ssh },
      bootKind: booted.kind,
      ...(booted.nonce ? { nonce: booted.nonce } : {}),
      shutdown() {
        down ??= (async () => {
          // poweroff -f never answers: the channel dies with the guest. Don't wait for it.
          if (vm.isRunning()) void conn.exec('poweroff -f').catch(() => {});
          await vm.stop(2000);
          conn.close();
        })();
        return down;
      },
    };
  } catch (error) {
    await vm.stop();
    throw error;
  } finally {
    o.signal?.removeEventListener('abort', cancel);
  }
}
