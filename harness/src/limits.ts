// The vocabulary of a job's limits: how long each stage may take, and which checks run around
// the module's unload. Defaults here; the config and flags override them (config/settings.ts).
/** Seconds per stage (settleS aside): each expiry is outcome `timeout` naming the stage. */
export interface Timeouts {
  /** Fetching a Debian kernel (a source-built one adds its build limit, KERNEL_BUILD_TIMEOUT_MS). */
  fetchS: number;
  /** Making a toolchain root for a kernel built by a newer gcc than the host's. */
  toolchainS: number;
  /** The module's kbuild. */
  buildS: number;
  /** The userland test's build. */
  testBuildS: number;
  /** SFTP of the modules and test into the guest. */
  uploadS: number;
  bootS: number;
  loadS: number;
  testS: number;
  unloadS: number;
  /** Not a limit: how long after rmmod to wait for what the module left running (0: no wait). */
  settleS: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = {
  fetchS: 1800,
  toolchainS: 1800,
  buildS: 600,
  testBuildS: 300,
  uploadS: 60,
  bootS: 60,
  loadS: 30,
  testS: 120,
  unloadS: 30,
  settleS: 1,
};

/** What a job checks around the module's unload. */
export interface Lifecycle {
  /** Load and unload cycles after the first (default 1; 0 skips). */
  reloads: number;
  /** Compare registrations before insmod and after the settle (default true). */
  leftovers: boolean;
}

export const DEFAULT_LIFECYCLE: Lifecycle = { reloads: 1, leftovers: true };
