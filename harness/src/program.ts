// The kmod-harness commands: parse flags, print events and the result table, write reports,
// and set the exit code (0 only if every result passed).
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { checkModuleDir } from './build/kbuild.js';
import { checkTestSource } from './build/userland.js';
import { UsageError } from './errors.js';
import type { HarnessEvent } from './events.js';
import { ensureHostPackages } from './host/setup.js';
import { defaultSeries, knownSeries } from './kernel/index.js';
import { SEED_MODULE_DIR, SEED_TEST_DIR } from './paths.js';
import { parseAccelChoice } from './qemu/accel.js';
import { writeArtifacts } from './report/artifacts.js';
import { emitGithub } from './report/github.js';
import { writeJsonReport } from './report/json.js';
import { writeJunitReport } from './report/junit.js';
import { formatTable } from './report/table.js';
import { DEFAULT_TIMEOUTS, run } from './run.js';

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number of seconds');
  return n;
}

/**
 * The kernels of `--kernel`: comma-separated series from the catalogue, 'all', or kernels the
 * user built: `buildroot:<output dir>` and `local:<bzImage>,<build dir>`. The comma inside a
 * local: spec is its own (so neither path may contain a comma): the item after `local:<bzImage>`
 * is always its build dir.
 */
export function parseKernels(value: string | undefined, known: string[], fallback: string): string[] {
  if (value === undefined || value.trim() === '') return [fallback];
  if (value.trim() === 'all') return known;
  const kinds = `${known.join(', ')} (or 'all'), buildroot:<output dir>, local:<bzImage>,<build dir>`;
  const parts = value.split(',').map((s) => s.trim());
  const wanted: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part === '') continue;
    if (part.startsWith('local:')) {
      const buildDir = parts[i + 1];
      if (part === 'local:' || !buildDir || buildDir.startsWith('local:') || buildDir.startsWith('buildroot:')) {
        throw new UsageError(`'${part}' is not local:<bzImage>,<build dir>`, { fix: 'name the kernel image and its build dir, e.g. local:linux/arch/x86/boot/bzImage,linux' });
      }
      wanted.push(`${part},${buildDir}`);
      i++;
    } else if (part.startsWith('buildroot:')) {
      if (part === 'buildroot:') throw new UsageError("'buildroot:' names no directory", { fix: "use buildroot:<output dir>, Buildroot's output dir (with images/, build/, target/)" });
      wanted.push(part);
    } else if (known.includes(part)) wanted.push(part);
    else throw new UsageError(`unknown kernel series '${part}'`, { fix: `use one of: ${kinds}` });
  }
  if (wanted.length === 0) throw new UsageError(`no kernel series in '${value}'`, { fix: `use one or more of: ${kinds}, comma-separated` });
  return wanted;
}

function printEvent(event: HarnessEvent): void {
  const who = event.kernel ? `[${event.kernel}] ` : '';
  switch (event.type) {
    case 'stage-start':
      process.stderr.write(`${who}${event.stage}...\n`);
      break;
    case 'stage-end':
      process.stderr.write(`${who}${event.stage} done in ${event.ms} ms${event.detail ? ` (${event.detail})` : ''}\n`);
      break;
    case 'info':
      process.stderr.write(`${who}${event.message}\n`);
      break;
    case 'warn':
      process.stderr.write(`${who}warning: ${event.message}\n`);
      break;
  }
}

interface RunFlags {
  module: string;
  test: string;
  kernel?: string;
  json?: string;
  junit?: string;
  artifacts?: string;
  testTimeout: number;
  bootTimeout: number;
  accel?: string;
  memory: number;
  cpus?: number;
  parallel?: number;
  strict: boolean;
  bootParam: string[];
  loadTimeout: number;
  unloadTimeout: number;
}

async function runCommand(flags: RunFlags): Promise<number> {
  const kernels = parseKernels(flags.kernel ?? process.env.KMOD_HARNESS_KERNELS, knownSeries(), defaultSeries());
  const accel = parseAccelChoice(flags.accel ?? process.env.KMOD_HARNESS_ACCEL);
  // Bad paths are the user's to fix: say so before fetching or booting anything.
  await checkModuleDir(path.resolve(flags.module));
  await checkTestSource(path.resolve(flags.test));
  await ensureHostPackages(printEvent);
  const results = await run(kernels, {
    moduleDir: path.resolve(flags.module),
    test: path.resolve(flags.test),
    accel,
    timeouts: { bootS: flags.bootTimeout, loadS: flags.loadTimeout, testS: flags.testTimeout, unloadS: flags.unloadTimeout },
    strict: flags.strict,
    bootParams: flags.bootParam,
    memoryMiB: flags.memory,
    ...(flags.cpus ? { cpus: flags.cpus } : {}),
    ...(flags.parallel ? { parallel: flags.parallel } : {}),
    emit: printEvent,
  });
  if (flags.json) await writeJsonReport(flags.json, results);
  if (flags.junit) await writeJunitReport(flags.junit, results);
  if (flags.artifacts) await writeArtifacts(flags.artifacts, results, { junit: flags.junit !== undefined });
  process.stdout.write(`\n${formatTable(results)}\n`);
  for (const r of results) {
    for (const reason of r.reasons.slice(1)) process.stdout.write(`  ${r.kernel}: ${reason}\n`);
    for (const d of r.diagnostics.filter((x) => x.severity === 'error')) process.stdout.write(`  ${d.file}:${d.line}: ${d.message}\n`);
    for (const e of r.kernelErrors) for (const loc of e.source ?? []) process.stdout.write(`  ${r.kernel}: ${e.kind} ${loc.frame} at ${loc.file}:${loc.line}\n`);
  }
  // In a GitHub Actions step: the step summary and ::error annotations.
  await emitGithub(results, process.env);
  return results.every((r) => r.outcome === 'pass') ? 0 : 1;
}

export function program(): Command {
  const cmd = new Command('kmod-harness').description('Build an out-of-tree kernel module and its test, boot real kernels in QEMU, and judge the result.');
  cmd
    .command('run')
    .description('build, boot, load, test, judge (defaults: the seed module and test on the default kernel)')
    .option('--module <dir>', 'out-of-tree module directory (Kbuild or Makefile)', SEED_MODULE_DIR)
    .option('--test <file|dir>', 'userland test: a .c file or a directory with a Makefile honouring OUT=', SEED_TEST_DIR)
    .option('--kernel <spec>', `kernel series (${knownSeries().join(', ')}), comma-separated, or 'all'; also buildroot:<output dir> and local:<bzImage>,<build dir> (env KMOD_HARNESS_KERNELS)`)
    .option('--json <file>', 'write a JSON report')
    .option('--junit <file>', 'write a JUnit XML report: a testsuite per kernel, a testcase per stage and the verdict')
    .option('--artifacts <dir>', 'write per kernel <dir>/<release>/ (console.log, dmesg.txt, test-output.txt, build.log, result.json), and results.json (and junit.xml with --junit)')
    .option('--test-timeout <seconds>', 'time limit for the test', seconds, DEFAULT_TIMEOUTS.testS)
    .option('--boot-timeout <seconds>', 'time limit for boot to SSH', seconds, DEFAULT_TIMEOUTS.bootS)
    .option('--load-timeout <seconds>', 'time limit for insmod', seconds, DEFAULT_TIMEOUTS.loadS)
    .option('--unload-timeout <seconds>', 'time limit for rmmod', seconds, DEFAULT_TIMEOUTS.unloadS)
    .option('--no-strict', 'boot without slab debugging, init_on_free and KFENCE sampling')
    .option('--boot-param <param>', 'extra kernel parameter, repeatable; overrides the strict ones', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--accel <auto|kvm|tcg>', 'accelerator; auto probes KVM (env KMOD_HARNESS_ACCEL)')
    .option('--memory <MiB>', 'guest memory', (v) => Math.round(seconds(v)), 512)
    .option('--cpus <n>', 'guest CPUs (default: 2 for one kernel, 1 each for several)', (v) => Math.round(seconds(v)))
    .option('--parallel <n>', 'VMs at once (default: by host cores and memory)', (v) => Math.round(seconds(v)))
    .action(async (flags: RunFlags) => {
      process.exitCode = await runCommand(flags);
    });
  cmd
    .command('setup')
    .description('install the Debian packages the harness needs (as root or with password-less sudo), or print the apt-get line')
    .action(async () => {
      await ensureHostPackages(printEvent);
      process.stderr.write('host packages: all present\n');
    });
  return cmd;
}
