// One run's settings from, in rising precedence: built-in defaults, the config file, the
// environment (KMOD_HARNESS_KERNELS, KMOD_HARNESS_ACCEL: what a CI matrix sets), and flags.
import path from 'node:path';
import { DEFAULT_OUTPUT_LIMIT_BYTES, outputLimitBytes } from '../util/bounded-text.js';
import { builtinDefinitions, userDefinitions, type KernelBuildDef } from '../kernel-build/definitions.js';
import { absoluteKernelSpec, parseKernels } from '../kernel/selection.js';
import { SEED_MODULE_DIR, SEED_TEST_DIR } from '../util/paths.js';
import { parseAccelChoice, type AccelChoice } from '../qemu/accel.js';
import { DEFAULT_LIFECYCLE, DEFAULT_TIMEOUTS, type Lifecycle, type Timeouts } from '../limits.js';
import { HarnessError } from '../errors.js';
import { loadConfig, type LoadedConfig } from './load.js';
import { defaultSeries, kernelArch, knownSeries, knownVariants } from '../kernel/index.js';
import { ConfigError } from './schema.js';

/** The `run` flags the user actually gave (commander's defaults filtered out). */
export interface RunFlags {
  module?: string;
  test?: string;
  kernel?: string;
  json?: string;
  junit?: string;
  artifacts?: string;
  fetchTimeout?: number;
  toolchainTimeout?: number;
  buildTimeout?: number;
  testBuildTimeout?: number;
  uploadTimeout?: number;
  bootTimeout?: number;
  loadTimeout?: number;
  testTimeout?: number;
  unloadTimeout?: number;
  settle?: number;
  reloads?: number;
  leftovers?: boolean;
  accel?: string;
  memory?: number;
  cpus?: number;
  parallel?: number;
  strict?: boolean;
  /** --no-snapshot gives false. */
  snapshot?: boolean;
  bootParam?: string[];
  /** --output-limit, in MiB. */
  outputLimit?: number;
}

export interface RunSettings {
  moduleDir: string;
  test: string;
  testArgs: string[];
  kernels: string[];
  /** The config's kernelBuilds, checked and with absolute fragment paths (`<series>-debug` are built in). */
  kernelBuilds: KernelBuildDef[];
  expectKernelLog: string[];
  timeouts: Timeouts;
  lifecycle: Lifecycle;
  /** Bytes kept of each captured output (test stdout, stderr, console), head and tail. */
  outputLimitBytes: number;
  memoryMiB: number;
  cpus?: number;
  parallel?: number;
  bootParams: string[];
  strict: boolean;
  /** Boot from a snapshot of each boot configuration (guest/snapshot.ts). */
  snapshot: boolean;
  accel: AccelChoice;
  reports: { json?: string; junit?: string; artifacts?: string };
  /** The config file used, if any. */
  configFile?: string;
}

export interface SettingsInput {
  loaded?: LoadedConfig | undefined;
  flags?: RunFlags;
  env?: NodeJS.ProcessEnv;
  /** Flags' paths are relative to this. */
  cwd: string;
  knownSeries: string[];
  /** `<series>/<variant>` names of the catalogue (kernel/index.ts knownVariants). */
  knownVariants?: string[];
  defaultSeries: string;
}

const defined = <T extends object>(o: T): Partial<T> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

/** A config field's value checked by `check`; its error is re-raised naming the file and field. */
function inConfig<T>(loaded: LoadedConfig, field: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (!(error instanceof HarnessError)) throw error;
    throw new ConfigError(`${loaded.file}: ${field}: ${error.message}`, { ...(error.fix ? { fix: error.fix } : {}), cause: error });
  }
}

export function resolveRunSettings(input: SettingsInput): RunSettings {
  const { loaded, cwd } = input;
  const flags = input.flags ?? {};
  const env = input.env ?? {};
  const config = loaded?.config ?? {};
  const fromConfig = (p: string | undefined) => (p === undefined || !loaded ? undefined : path.resolve(loaded.dir, p));
  const fromCwd = (p: string | undefined) => (p === undefined ? undefined : path.resolve(cwd, p));

  let kernelBuilds: KernelBuildDef[] = [];
  if (loaded && config.kernelBuilds) {
    try {
      kernelBuilds = userDefinitions(config.kernelBuilds, input.knownSeries, loaded.dir, loaded.file);
    } catch (error) {
      if (!(error instanceof HarnessError)) throw error;
      // Its message names the field (kernelBuilds[1].series: ...).
      throw new ConfigError(`${loaded.file}: ${error.message}`, { ...(error.fix ? { fix: error.fix } : {}), cause: error });
    }
  }
  const arm64 = (input.knownVariants ?? []).filter((v) => kernelArch(v) === 'arm64');
  const buildable = [...(input.knownVariants ?? []), ...[...builtinDefinitions(input.knownSeries, arm64), ...kernelBuilds].map((d) => d.name)];
  let kernels: string[];
  if (flags.kernel !== undefined || env.KMOD_HARNESS_KERNELS) {
    kernels = parseKernels(flags.kernel ?? env.KMOD_HARNESS_KERNELS, input.knownSeries, input.defaultSeries, buildable).map((k) => absoluteKernelSpec(k, cwd));
  } else if (loaded && config.kernels !== undefined) {
    // An array holds one kernel per item (a local: item keeps its own comma).
    const list = Array.isArray(config.kernels) ? config.kernels.join(',') : config.kernels;
    kernels = inConfig(loaded, 'kernels', () => parseKernels(list, input.knownSeries, input.defaultSeries, buildable)).map((k) =>
      absoluteKernelSpec(k, loaded.dir),
    );
  } else {
    kernels = [input.defaultSeries];
  }

  // vm.accel was checked with the config; a bad flag or env value is named by parseAccelChoice.
  const accel = parseAccelChoice(flags.accel ?? (env.KMOD_HARNESS_ACCEL || undefined) ?? config.vm?.accel);

  const t = config.timeouts ?? {};
  const vm = config.vm ?? {};
  const reports = defined({
    json: fromCwd(flags.json) ?? fromConfig(config.reports?.json),
    junit: fromCwd(flags.junit) ?? fromConfig(config.reports?.junit),
    artifacts: fromCwd(flags.artifacts) ?? fromConfig(config.reports?.artifacts),
  });
  const cpus = flags.cpus ?? vm.cpus;
  const parallel = flags.parallel ?? vm.parallel;
  return {
    moduleDir: fromCwd(flags.module) ?? fromConfig(config.module) ?? SEED_MODULE_DIR,
    test: fromCwd(flags.test) ?? fromConfig(config.test) ?? SEED_TEST_DIR,
    testArgs: config.testArgs ?? [],
    kernels,
    kernelBuilds,
    expectKernelLog: config.expect?.kernelLog ?? [],
    timeouts: {
      fetchS: flags.fetchTimeout ?? t.fetch ?? DEFAULT_TIMEOUTS.fetchS,
      toolchainS: flags.toolchainTimeout ?? t.toolchain ?? DEFAULT_TIMEOUTS.toolchainS,
      buildS: flags.buildTimeout ?? t.build ?? DEFAULT_TIMEOUTS.buildS,
      testBuildS: flags.testBuildTimeout ?? t.testBuild ?? DEFAULT_TIMEOUTS.testBuildS,
      uploadS: flags.uploadTimeout ?? t.upload ?? DEFAULT_TIMEOUTS.uploadS,
      bootS: flags.bootTimeout ?? t.boot ?? DEFAULT_TIMEOUTS.bootS,
      loadS: flags.loadTimeout ?? t.load ?? DEFAULT_TIMEOUTS.loadS,
      testS: flags.testTimeout ?? t.test ?? DEFAULT_TIMEOUTS.testS,
      unloadS: flags.unloadTimeout ?? t.unload ?? DEFAULT_TIMEOUTS.unloadS,
      settleS: flags.settle ?? t.settle ?? DEFAULT_TIMEOUTS.settleS,
    },
    lifecycle: {
      reloads: flags.reloads ?? config.lifecycle?.reloads ?? DEFAULT_LIFECYCLE.reloads,
      leftovers: flags.leftovers ?? config.lifecycle?.leftovers ?? DEFAULT_LIFECYCLE.leftovers,
    },
    outputLimitBytes: outputLimitBytes(flags.outputLimit ?? config.limits?.outputMiB ?? DEFAULT_OUTPUT_LIMIT_BYTES / 2 ** 20),
    memoryMiB: flags.memory ?? vm.memory ?? 512,
    ...(cpus !== undefined ? { cpus } : {}),
    ...(parallel !== undefined ? { parallel } : {}),
    // Flags add to the config's parameters; both override the strict ones.
    bootParams: [...(vm.bootParams ?? []), ...(flags.bootParam ?? [])],
    strict: flags.strict ?? vm.strict ?? true,
    snapshot: flags.snapshot ?? vm.snapshot ?? true,
    accel,
    reports,
    ...(loaded ? { configFile: loaded.file } : {}),
  };
}

/** The settings of a run started in `cwd` with these flags (and --config, if given). */
export async function runSettings(flags: RunFlags & { config?: string }, cwd = process.cwd(), env = process.env): Promise<RunSettings> {
  const loaded = await loadConfig({ cwd, ...(flags.config ? { file: flags.config } : {}) });
  return resolveRunSettings({ loaded, flags, env, cwd, knownSeries: knownSeries(), knownVariants: knownVariants(), defaultSeries: defaultSeries() });
}
