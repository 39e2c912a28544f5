// Boot a guest and log in: QEMU with the run's key on the kernel command line, wait for the
// ready marker on the console, connect over SSH. shutdown() powers off and always kills QEMU.
import { BootError, HarnessError, TimeoutError } from '../errors.js';
import type { GuestImage } from '../image/initramfs.js';
import { kernelCmdline, type Accel } from '../qemu/args.js';
import { startVm, type Vm } from '../qemu/process.js';
import { makeRunKeys, type RunKeys } from './keys.js';
import { connectGuest, type GuestConnection } from './ssh.js';

export const READY_MARKER = 'KMOD-HARNESS-READY';

export interface BootOptions {
  vmlinuz: string;
  image: GuestImage;
  accel: Accel;
  memoryMiB: number;
  cpus: number;
  bootParams?: string[];
  /** Slab debugging, init_on_free and KFENCE on the kernel command line (default true). */
  strict?: boolean;
  bootTimeoutMs: number;
  /** The run's 0700 work dir: keys and console log go there. */
  workDir: string;
  consoleLog: string;
}

export interface Guest {
  vm: Vm;
  conn: GuestConnection;
  keys: RunKeys;
  stageMs: { boot: number; ssh: number };
  /** Power off, wait briefly, kill QEMU. Idempotent. */
  shutdown(): Promise<void>;
}

export async function bootGuest(o: BootOptions): Promise<Guest> {
  const keys = await makeRunKeys(o.workDir);
  const start = performance.now();
  const vm = await startVm({
    kernel: o.vmlinuz,
    initrd: o.image.initramfs,
    append: kernelCmdline({ publicKey: keys.publicBlob, strict: o.strict !== false, extra: o.bootParams ?? [] }),
    accel: o.accel,
    memoryMiB: o.memoryMiB,
    cpus: o.cpus,
    consoleLog: o.consoleLog,
  });
  try {
    await vm.waitForConsole(READY_MARKER, o.bootTimeoutMs).catch((error: unknown) => {
      // A guest that hangs is a timeout of the boot stage; QEMU or the kernel dying is boot-failed.
      if (error instanceof HarnessError && error.outcome === 'timeout') {
        throw new TimeoutError('boot', Math.round(o.bootTimeoutMs / 1000), {
          detail: vm.console().slice(-4000),
          fix: 'the guest never printed its ready marker: read the console log; raise --boot-timeout on a slow host',
        });
      }
      throw error;
    });
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
  }
}
