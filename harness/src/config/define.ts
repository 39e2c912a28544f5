// What a module's repo puts in kmod-harness.config.ts. Paths are relative to the config file.
// Config files import this as `kmod-harness/config`: it must import nothing, so that loading a
// config does not load the whole harness a second time (~180 ms per run).

/** Seconds per stage; each expiry ends the run with outcome `timeout` naming the stage. */
export interface TimeoutsConfig {
  /** Fetching a Debian kernel (default 1800; a kernel built from source adds its 3 h build limit). */
  fetch?: number;
  /** Making the compiler root for a kernel whose gcc the host lacks (default 1800). */
  toolchain?: number;
  /** The module's kbuild (default 600). */
  build?: number;
  /** The test's build (default 300). */
  testBuild?: number;
  /** Uploading the modules and the test into the guest (default 60). */
  upload?: number;
  /** QEMU start to SSH login (default 60). */
  boot?: number;
  /** insmod (default 30). */
  load?: number;
  /** The userland test (default 120). */
  test?: number;
  /** rmmod (default 30). */
  unload?: number;
  /**
   * Not a limit: how long to wait after rmmod before reading taint, the kernel log and what is
   * still registered, so that a timer or work item the module left armed fires (default 1; 0: no wait).
   */
  settle?: number;
}

/** What each job checks around the module's unload. */
export interface LifecycleConfig {
  /** Load and unload the module this many more times after the first cycle (default 1; 0 skips). */
  reloads?: number;
  /** Fail when rmmod leaves a /proc, /sys/class, /dev, debugfs, ... entry behind (default true). */
  leftovers?: boolean;
}

/** Bounds on what a run keeps. */
export interface LimitsConfig {
  /**
   * MiB kept of each captured output: the test's stdout, its stderr, the serial console (default
   * 16, at most 256). Past it the first and last halves are kept, and the report says how much was
   * dropped.
   */
  outputMiB?: number;
}

export interface VmConfig {
  /** Guest memory in MiB (default 512). */
  memory?: number;
  /** vCPUs per guest (default: 2 for one kernel, 1 each for several). */
  cpus?: number;
  /** VMs at once (default: by host cores and memory). */
  parallel?: number;
  /** Extra kernel parameters; they override the strict ones of the same name. */
  bootParams?: string[];
  /** Slab debugging, init_on_free and KFENCE sampling on the kernel command line (default true). */
  strict?: boolean;
  /**
   * Boot from a snapshot of the booted guest, saved in the cache by the first boot of each
   * configuration (kernel, initramfs, QEMU, memory, CPUs, accelerator, boot parameters): ~1 s
   * instead of a cold boot (default true).
   */
  snapshot?: boolean;
  /** 'auto' proves KVM with a probe boot and falls back to TCG (default); 'kvm' or 'tcg' force it. */
  accel?: 'auto' | 'kvm' | 'tcg';
}

/** A kernel the harness builds from Debian's source of `series` (see kernelBuilds). */
export interface KernelBuildConfig {
  /** The name --kernel and `kernels` use, e.g. 'mine'. */
  name: string;
  /** The catalogue series whose Debian source (linux-source-<series>) is built, e.g. '6.12'. */
  series: string;
  /** Kconfig fragment files, applied in order over the harness's guest (and debug) configuration. */
  fragments?: string[];
  /** Single options, applied last: { CONFIG_FOO: 'y', CONFIG_BAR: false, CONFIG_LOG_BUF_SHIFT: 18 }. */
  config?: Record<string, string | number | boolean>;
  /** Start from the harness's debug fragment (KASAN, lockdep, kmemleak, ...) as `<series>-debug` does (default true). */
  debug?: boolean;
}

export interface KmodHarnessConfig {
  /** The out-of-tree module: a directory with a Kbuild or a Makefile (obj-m). */
  module?: string;
  /** The userland test: one C file, or a directory whose Makefile builds a static binary at $(OUT). */
  test?: string;
  /** Arguments for the test binary. */
  testArgs?: string[];
  /**
   * Kernels to run on: catalogue series ('5.10', '6.1', '6.12', '7.2'), 'all' (those four), their
   * debug builds ('6.1-debug', ...), names from kernelBuilds, or kernels you built:
   * 'buildroot:<output dir>', 'local:<bzImage>,<build dir>' (default: the catalogue's default).
   */
  kernels?: string | string[];
  /** Kernels the harness builds from Debian's source, named for `kernels` and --kernel. */
  kernelBuilds?: KernelBuildConfig[];
  expect?: {
    /** Kernel-log substrings the test stage must print, in order (after the test's expected.kmsg). */
    kernelLog?: string[];
  };
  timeouts?: TimeoutsConfig;
  lifecycle?: LifecycleConfig;
  limits?: LimitsConfig;
  vm?: VmConfig;
  /** Reports written by `kmod-harness run`, as the --json, --junit and --artifacts flags. */
  reports?: {
    json?: string;
    junit?: string;
    artifacts?: string;
  };
}

/** Identity, for the types: `export default defineConfig({ ... })`. */
export function defineConfig(config: KmodHarnessConfig): KmodHarnessConfig {
  return config;
}
