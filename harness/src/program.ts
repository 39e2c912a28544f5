// The kmod-harness command tree: flags and help only; each command's work is in commands/.
import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_OUTPUT_LIMIT_BYTES, MAX_OUTPUT_LIMIT_MIB } from './util/bounded-text.js';
import { cacheRoot } from './cache/store.js';
import { cacheListCommand, cachePruneCommand } from './commands/cache.js';
import { runCommand } from './commands/run.js';
import { shellCommand, type ShellFlags } from './commands/shell.js';
import type { RunFlags } from './config/settings.js';
import { plainEmit } from './console/index.js';
import { doctorCommand } from './commands/doctor/index.js';
import { kernelsCommand } from './commands/kernels/index.js';
import { setupCommand } from './commands/setup.js';
import { knownSeries } from './kernel/index.js';
import { SEED_MODULE_DIR, SEED_TEST_DIR } from './util/paths.js';
import { DEFAULT_LIFECYCLE, DEFAULT_TIMEOUTS } from './run.js';
import { timeoutProblem } from './util/timers.js';

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number of seconds');
  return n;
}

/** A wait in seconds: zero or more, at most an hour. */
function settleSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 3600) throw new InvalidArgumentError('expected 0 to 3600 seconds');
  return n;
}

/** A whole count: zero or more. */
function count(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 100) throw new InvalidArgumentError('expected a whole number from 0 to 100');
  return n;
}

/** A time limit in seconds: positive and no longer than a timer can wait (timers.ts). */
function timeoutSeconds(value: string): number {
  const n = Number(value);
  const problem = timeoutProblem(n);
  if (problem) throw new InvalidArgumentError(problem);
  return n;
}

/** An output limit in MiB: positive, at most MAX_OUTPUT_LIMIT_MIB. */
function mebibytes(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > MAX_OUTPUT_LIMIT_MIB)
    throw new InvalidArgumentError(`expected a positive number of MiB, at most ${MAX_OUTPUT_LIMIT_MIB}`);
  return n;
}

/** The options the user gave on the command line: commander's defaults are only for --help. */
function givenFlags<T>(command: Command): T {
  return Object.fromEntries(Object.entries(command.opts()).filter(([key]) => command.getOptionValueSource(key) === 'cli')) as T;
}

/** Events of the commands other than run: a line each on stderr. */
const printEvent = plainEmit(process.stderr);

/** Options of every command that boots a VM: run and shell. */
function vmOptions(command: Command): Command {
  return command
    .option('--config <file>', 'config file (default: kmod-harness.config.ts, looked for from the working directory up to the project root or $HOME)')
    .option('--module <dir>', 'out-of-tree module directory (Kbuild or Makefile)', SEED_MODULE_DIR)
    .option('--test <file|dir>', 'userland test: a .c file or a directory with a Makefile honouring OUT=', SEED_TEST_DIR)
    .option(
      '--fetch-timeout <seconds>',
      'time limit for fetching a Debian kernel (a source-built one adds its 3 h build limit)',
      timeoutSeconds,
      DEFAULT_TIMEOUTS.fetchS,
    )
    .option(
      '--toolchain-timeout <seconds>',
      'time limit for making the compiler root of a kernel built by a gcc the host lacks',
      timeoutSeconds,
      DEFAULT_TIMEOUTS.toolchainS,
    )
    .option('--build-timeout <seconds>', "time limit for the module's build", timeoutSeconds, DEFAULT_TIMEOUTS.buildS)
    .option('--test-build-timeout <seconds>', "time limit for the test's build", timeoutSeconds, DEFAULT_TIMEOUTS.testBuildS)
    .option('--upload-timeout <seconds>', 'time limit for uploading the modules and the test into the guest', timeoutSeconds, DEFAULT_TIMEOUTS.uploadS)
    .option('--boot-timeout <seconds>', 'time limit for boot to SSH', timeoutSeconds, DEFAULT_TIMEOUTS.bootS)
    .option('--load-timeout <seconds>', 'time limit for insmod', timeoutSeconds, DEFAULT_TIMEOUTS.loadS)
    .option('--no-strict', 'boot without slab debugging, init_on_free and KFENCE sampling')
    .option('--no-snapshot', 'boot cold: neither restore nor save a snapshot of the booted guest (config vm.snapshot)')
    .option('--boot-param <param>', 'extra kernel parameter, repeatable; overrides the strict ones', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--accel <auto|kvm|tcg>', 'accelerator; auto probes KVM (env KMOD_HARNESS_ACCEL)')
    .option('--memory <MiB>', 'guest memory', (v) => Math.round(seconds(v)), 512)
    .option('--cpus <n>', 'guest CPUs (default: 2 for one kernel, 1 each for several)', (v) => Math.round(seconds(v)));
}

export function program(): Command {
  const cmd = new Command('kmod-harness').description('Build an out-of-tree kernel module and its test, boot real kernels in QEMU, and judge the result.');
  vmOptions(cmd.command('run'))
    .description('build, boot, load, test, judge: settings from kmod-harness.config.ts, the environment and these flags (flags win)')
    .option(
      '--kernel <spec>',
      `kernel series (${knownSeries().join(', ')}), comma-separated, or 'all'; another flavour as <series>/generic or <series>/rt; also buildroot:<output dir> and local:<bzImage>,<build dir> (env KMOD_HARNESS_KERNELS)`,
    )
    .option('--json <file>', 'write a JSON report')
    .option('--junit <file>', 'write a JUnit XML report: a testsuite per kernel, a testcase per stage and the verdict')
    .option(
      '--artifacts <dir>',
      'write per kernel <dir>/<release>/ (console.log, dmesg.txt, test-output.txt, build.log, result.json), and results.json (and junit.xml with --junit)',
    )
    .option('--test-timeout <seconds>', 'time limit for the test', timeoutSeconds, DEFAULT_TIMEOUTS.testS)
    .option('--unload-timeout <seconds>', 'time limit for rmmod', timeoutSeconds, DEFAULT_TIMEOUTS.unloadS)
    .option(
      '--settle <seconds>',
      'after rmmod, wait this long for timers and work the module left behind before judging (0: no wait)',
      settleSeconds,
      DEFAULT_TIMEOUTS.settleS,
    )
    .option('--reloads <n>', 'load and unload the module this many more times after the first cycle (0: none)', count, DEFAULT_LIFECYCLE.reloads)
    .option('--no-leftovers', 'do not fail on /proc, /sys, /dev or debugfs entries left behind after rmmod')
    .option('--parallel <n>', 'VMs at once (default: by host cores and memory)', (v) => Math.round(seconds(v)))
    .option(
      '--output-limit <MiB>',
      "MiB kept of each of the test's stdout, its stderr and the serial console: past it the first and last halves, and the report says how much was dropped",
      mebibytes,
      DEFAULT_OUTPUT_LIMIT_BYTES / 2 ** 20,
    )
    .option('--plain', 'progress as one line per event, even on a terminal (the default when not on one, or with CI or NO_COLOR set)')
    .action(async (_options: unknown, command: Command) => {
      process.exitCode = await runCommand(givenFlags<RunFlags & { config?: string; plain?: boolean }>(command));
    });
  vmOptions(cmd.command('shell'))
    .description('boot one kernel with the module built and loaded, and open an SSH shell in the guest; the VM goes away when the shell ends')
    .option('--kernel <spec>', 'the kernel (default: the first of the config, or the default series)')
    .option('--no-load', 'upload the module but do not insmod it')
    .option('--command <cmd>', 'run this command on a pty instead of an interactive shell, and exit with its status')
    .action(async (_options: unknown, command: Command) => {
      process.exitCode = await shellCommand(givenFlags<ShellFlags>(command), printEvent);
    });
  cmd
    .command('doctor')
    .description('check the host: tools, QEMU, KVM (and why not), disk space, the Debian mirror, compilers; prints the fix for each problem')
    .option('--probe', 'boot a cached kernel under KVM now if no probe result is cached')
    .action(async (options: { probe?: boolean }) => {
      process.exitCode = await doctorCommand(options.probe ? { probe: true } : {});
    });
  cmd
    .command('kernels')
    .description('the catalogue series, the exact Debian build each resolves to now, what is cached, and the compiler each needs')
    .option('--offline', 'resolve from the package indexes already cached; do not update them')
    .action(async (options: { offline?: boolean }) => {
      await kernelsCommand(options, printEvent);
    });
  const cache = cmd.command('cache').description(`the cache (${cacheRoot()}; KMOD_HARNESS_CACHE): list or prune it`);
  cache
    .command('list', { isDefault: true })
    .description('every entry with its size, last write and what it is')
    .action(async () => {
      await cacheListCommand(cacheRoot());
    });
  cache
    .command('prune')
    .description('remove superseded kernel builds (keep the newest per series), images of kernels no longer cached, and stale temporary dirs')
    .option('--keep <n>', 'kernel builds to keep per series', (v) => Math.round(seconds(v)), 1)
    .option('--older-than <days>', 'only remove what was last written more than this many days ago', seconds)
    .option('--all', 'remove everything the harness made (compiler roots, package indexes, the KVM probe result too); do not run it beside a run')
    .option('--dry-run', 'say what would go, remove nothing')
    .action(async (options: { keep: number; olderThan?: number; all?: boolean; dryRun?: boolean }) => {
      process.exitCode = await cachePruneCommand(cacheRoot(), options, printEvent);
    });
  cmd
    .command('setup')
    .description('install the Debian packages the harness needs (as root or with password-less sudo), or print the apt-get line')
    .option('--test', "also the tools this project's own test suite uses (cpio, xmllint)")
    .action(async (options: { test?: boolean }) => {
      await setupCommand(options, printEvent);
    });
  return cmd;
}
