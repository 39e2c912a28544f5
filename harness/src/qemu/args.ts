// The QEMU command line, assembled from one small builder per device. Pure: unit-tested
// without booting anything.
import { ARCH_FACTS, type Arch } from '../arch.js';

export type Accel = 'kvm' | 'tcg';

export interface QemuOptions {
  kernel: string;
  initrd: string;
  /** Kernel command line parameters, joined with spaces. */
  append: string[];
  accel: Accel;
  memoryMiB: number;
  cpus: number;
  /** Host port forwarded to the guest's SSH port, bound to 127.0.0.1 only. */
  sshPort: number;
  /** The guest's architecture (default amd64). */
  arch?: Arch;
  /** The CPU model under TCG instead of the architecture's default (`max`, ARM64_TCG_CPU): what the benchmark compares. */
  tcgCpu?: string;
  /** Guest RAM in a file (a snapshot's: qemu/migrate.ts) instead of anonymous memory. */
  ramFile?: RamFile;
  /** A QMP server on this unix socket: how a snapshot is saved and restored. */
  qmpSocket?: string;
  /** Start paused, waiting for a snapshot's device state over QMP (migrate-incoming). */
  incoming?: boolean;
}

/**
 * Guest RAM mapped from a file. Saving a snapshot maps it shared (the file is the RAM, and
 * migration's x-ignore-shared leaves it out of the state stream); a restore maps the same file
 * private, copy on write: every restore starts from the saved pages and none writes them back.
 */
export interface RamFile {
  path: string;
  share: boolean;
}

/** The id of the RAM backend that -machine memory-backend= names. */
const RAM_ID = 'ram0';

/**
 * The arm64 CPU model under TCG, chosen by measurement (6.1 cloud-arm64 to a shell, 2 vCPUs,
 * medians of 3): cortex-a72 2.05 s, cortex-a57 2.11 s, neoverse-n1 2.23 s, max,pauth=off 2.26 s,
 * cortex-a53 2.54 s, max,pauth-impdef=on 3.36 s, max 7.54 s (the kernel turns on pointer
 * authentication, whose QARMA5 emulation is slow). `BENCH=arm64` to the harness's ready marker:
 * a72 3.25 s, a57 2.91 s, n1 2.90 s, max,pauth-impdef=on 3.75 s, max 11.86 s: the three named
 * models are within noise of each other; `max` is the one to avoid.
 */
export const ARM64_TCG_CPU = 'cortex-a72';

export function machineArgs(accel: Accel, arch: Arch = 'amd64', tcgCpu?: string, ramFile = false): string[] {
  const backend = ramFile ? `,memory-backend=${RAM_ID}` : '';
  if (arch === 'arm64') {
    // `virt` is the arm64 machine with PCI (virtio-*-pci) and a PL011 console; under KVM (an
    // arm64 host) the host's CPU and interrupt controller.
    return accel === 'kvm'
      ? ['-machine', `virt,gic-version=host${backend}`, '-accel', 'kvm', '-cpu', 'host']
      : ['-machine', `virt${backend}`, '-accel', 'tcg,thread=multi', '-cpu', tcgCpu ?? ARM64_TCG_CPU];
  }
  // -cpu host only exists under KVM; under TCG 'max' gives the guest every feature QEMU emulates.
  return ['-machine', `q35${backend}`, '-accel', accel === 'kvm' ? 'kvm' : 'tcg', '-cpu', accel === 'kvm' ? 'host' : (tcgCpu ?? 'max')];
}

export function resourceArgs(memoryMiB: number, cpus: number, ramFile?: RamFile): string[] {
  const ram = ramFile
    ? ['-object', `memory-backend-file,id=${RAM_ID},size=${memoryMiB}M,mem-path=${qemuOptionValue(ramFile.path)},share=${ramFile.share ? 'on' : 'off'}`]
    : [];
  return ['-m', String(memoryMiB), '-smp', String(cpus), ...ram];
}

/** A value inside QEMU's comma-separated options: a comma is written twice. */
export function qemuOptionValue(value: string): string {
  return value.replaceAll(',', ',,');
}

/** The QMP server, and, for a restore, the wait for the snapshot's state (sent over QMP). */
export function controlArgs(qmpSocket?: string, incoming = false): string[] {
  return [...(qmpSocket ? ['-qmp', `unix:${qemuOptionValue(qmpSocket)},server=on,wait=off`] : []), ...(incoming ? ['-incoming', 'defer'] : [])];
}

export function bootArgs(kernel: string, initrd: string, append: string[]): string[] {
  return ['-kernel', kernel, '-initrd', initrd, '-append', append.join(' ')];
}

export function networkArgs(sshPort: number): string[] {
  // restrict=on cuts the guest off from the host and the outside; hostfwd still works.
  return ['-netdev', `user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:${sshPort}-:22`, '-device', 'virtio-net-pci,netdev=net0'];
}

export function serialArgs(): string[] {
  // The console goes to our stdout only (read live for the ready marker and panics). No
  // logfile=: it grows without bound; the harness writes a bounded log (qemu/console-log.ts).
  return ['-chardev', 'stdio,id=console,signal=off', '-serial', 'chardev:console'];
}

export function qemuArgs(o: QemuOptions): string[] {
  return [
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-monitor',
    'none',
    // A guest panic or reboot ends QEMU at once instead of looping.
    '-no-reboot',
    ...machineArgs(o.accel, o.arch, o.tcgCpu, o.ramFile !== undefined),
    ...resourceArgs(o.memoryMiB, o.cpus, o.ramFile),
    ...bootArgs(o.kernel, o.initrd, o.append),
    ...networkArgs(o.sshPort),
    '-device',
    'virtio-rng-pci',
    ...serialArgs(),
    ...controlArgs(o.qmpSocket, o.incoming),
  ];
}

/**
 * Boot parameters that make memory bugs loud: SLUB sanity checks, red zones, poisoning and
 * owner tracking on every cache, memory wiped on free, and KFENCE sampling where the kernel
 * has it (5.12+; older kernels ignore the unknown parameter). Costs ~1.5 s of boot under TCG.
 */
export const STRICT_BOOT_PARAMS = ['slub_debug=FZPU', 'init_on_free=1', 'kfence.sample_interval=100'];

/**
 * On a KASAN kernel: KASAN already red-zones, poisons and quarantines every slab object, so
 * slub_debug and init_on_free add no report of their own and only slow the boot (past the
 * hung-boot detector, measured on 6.1 under TCG). KFENCE sampling still catches what KASAN's
 * quarantine lets slip. kasan_multi_shot: every report, not only the boot's first, so that a
 * shared VM judges each job on its own.
 */
export const KASAN_STRICT_BOOT_PARAMS = ['kfence.sample_interval=100', 'kasan_multi_shot'];

export function strictBootParams(kernel: { kasan: boolean }): string[] {
  return kernel.kasan ? KASAN_STRICT_BOOT_PARAMS : STRICT_BOOT_PARAMS;
}

/** The kernel's log ring buffer: 8 MiB holds a flood of several minutes under TCG. */
export const LOG_BUF_LEN = '8M';

/**
 * The key parameter of a guest that takes its secrets from the console after boot (a
 * snapshot's: guest/snapshot.ts): the command line, in the snapshot, is the same for every run.
 */
export const CONSOLE_KEY = 'console';

export interface CmdlineOptions {
  /** Base64 blob of the run's ed25519 public key, or CONSOLE_KEY. */
  publicKey: string;
  /** The guest's architecture, which names its serial console (default amd64: ttyS0). */
  arch?: Arch;
  /** Add the strict parameters (default true). */
  strict?: boolean;
  /** The strict parameters of this kernel (strictBootParams); default STRICT_BOOT_PARAMS. */
  strictParams?: string[];
  /**
   * The kernel has KUnit: run the suites of each module as it loads. Without CONFIG_KUNIT_DEFAULT_ENABLED
   * (off in the debug kernels) KUnit skips them unless booted with kunit.enable=1 (6.1+).
   */
  kunit?: boolean;
  /** User parameters, last so that they override ours. */
  extra?: string[];
}

export function kernelCmdline(o: CmdlineOptions): string[] {
  return [
    `console=${ARCH_FACTS[o.arch ?? 'amd64'].console}`,
    'rdinit=/init',
    // A panic ends the VM at once (with -no-reboot), so it is reported as such, not as a hang.
    'panic=-1',
    // A chatty module must not push a report out of dmesg before the job reads it (the default
    // is 128 KiB on these kernels); the verdict also reads the console, which keeps everything.
    `log_buf_len=${LOG_BUF_LEN}`,
    `kmod_harness.key=${o.publicKey}`,
    ...(o.strict === false ? [] : (o.strictParams ?? STRICT_BOOT_PARAMS)),
    ...(o.kunit ? ['kunit.enable=1'] : []),
    ...(o.extra ?? []),
  ];
}
