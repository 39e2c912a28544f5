// kmod-harness as a library: the config helper, and the pipeline for scripts of your own.
export { defineConfig, type KmodHarnessConfig, type TimeoutsConfig, type VmConfig } from './config/define.js';
export { loadConfig, findConfigFile, CONFIG_NAMES, type LoadedConfig } from './config/load.js';
export { ConfigError } from './config/schema.js';
export { resolveRunSettings, type RunSettings } from './config/settings.js';
export { runSettings } from './config/settings.js';
export { run, runOnKernel, type KernelResult, type RunOptions } from './run.js';
export {
  openSession,
  connectSession,
  buildJob,
  runBuilt,
  DEFAULT_TIMEOUTS,
  type Session,
  type SessionInfo,
  type Timeouts,
  type JobOutcome,
} from './session.js';
export { prepareKernel, knownSeries, defaultSeries, type KernelArtifacts } from './kernel/index.js';
export { HarnessError, UsageError, BuildError, BootError, TimeoutError, KernelFetchError, MissingToolError } from './errors.js';
export { OUTCOMES, type Outcome } from './outcome.js';
export type { HarnessEvent, Emit, Stage } from './events.js';
