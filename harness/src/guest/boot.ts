// Boot a guest and log in: QEMU with the run's key on the kernel command line, wait for the
// ready marker on the console, connect over SSH. shutdown() powers off and always kills QEMU.
import { rename } from 'node:fs/promises';
import type { Arch } from '../arch.js';
import { BootError, HarnessError, TimeoutError } from '../errors.js';
import { isStopping } from '../util/lifecycle.js';
import type { GuestImage } from '../image/initramfs.js';
import { kernelCmdline, type Accel } from '../qemu/args.js';
import { PORT_TAKEN, startVm, type Vm } from '../qemu/process.js';
import { makeRunKeys, type RunKeys } from './keys.js';
import { connectGuest, type GuestConnection } from './ssh.js';

export const READY_MARKER = 'KMOD-HARNESS-READY';

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

async function startReadyVm(o: BootOptions, keys: RunKeys, start: number): Promise<Vm> {
  const firstAttemptMs = FIRST_BOOT_ATTEMPT_MS * (o.slowness ?? 1);
  const attempts = o.bootTimeoutMs > 2 * firstAttemptMs ? 2 : 1;
  let portRetries = 0;
  for (let attempt = 1; ; attempt++) {
    const remaining = o.bootTimeoutMs - (performance.now() - start);
    const budget = attempt < attempts ? Math.min(firstAttemptMs, remaining) : remaining;
    o.signal?.throwIfAborted();
    const vm = await startVm({
      kernel: o.vmlinuz,
      initrd: o.image.initramfs,
      ...(o.arch ? { arch: o.arch } : {}),
      append: kernelCmdline({
        publicKey: keys.publicBlob,
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
    });
    const cancel = () => void vm.stop();
    o.signal?.addEventListener('abort', cancel, { once: true });
    try {
      await vm.waitForConsole(READY_MARKER, budget);
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

export async function bootGuest(o: BootOptions): Promise<Guest> {
  const keys = await makeRunKeys(o.workDir);
  const start = performance.now();
  const vm = await startReadyVm(o, keys, start);
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
