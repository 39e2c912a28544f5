// `kmod-harness run`: settings from the config file, env and flags; build, boot, test and judge
// every kernel; print the table, write the reports, and return the exit code.
import { checkModuleDir } from '../build/kbuild.js';
import { checkTestSource } from '../build/userland.js';
import { chooseOutputMode, createProgress } from '../console/index.js';
import { runSettings, type RunFlags, type RunSettings } from '../config/settings.js';
import type { Emit } from '../events.js';
import { ensureHostPackages } from '../host/setup.js';
import { isStopping } from '../util/lifecycle.js';
import { writeArtifacts } from '../report/artifacts.js';
import { emitGithub } from '../report/github.js';
import { writeJsonReport } from '../report/json.js';
import { writeJunitReport } from '../report/junit.js';
import { failingSubtests, formatTable, subtestDifferences } from '../report/table.js';
import { run, type KernelResult } from '../run.js';
import { allDefinitions, kernelArch } from '../kernel-build/index.js';
import { readFragments } from '../kernel-build/definitions.js';

/** The fragments of the kernels to build are read now: a missing file or a bad line is exit 2 before anything is fetched. */
export async function checkKernelBuilds(settings: Pick<RunSettings, 'kernels' | 'kernelBuilds'>): Promise<void> {
  const defs = allDefinitions(settings.kernelBuilds);
  for (const name of settings.kernels) {
    const def = defs.find((d) => d.name === name);
    if (def) await readFragments(def);
  }
}

/** Bad paths are the user's to fix: say so before fetching or booting anything. */
export async function checkSources(settings: Pick<RunSettings, 'moduleDir' | 'test'>): Promise<void> {
  await checkModuleDir(settings.moduleDir);
  await checkTestSource(settings.test);
}

export async function runKernels(settings: RunSettings, emit: Emit): Promise<KernelResult[]> {
  return run(settings.kernels, {
    moduleDir: settings.moduleDir,
    test: settings.test,
    testArgs: settings.testArgs,
    expectKernelLog: settings.expectKernelLog,
    kernelBuilds: settings.kernelBuilds,
    accel: settings.accel,
    timeouts: settings.timeouts,
    lifecycle: settings.lifecycle,
    strict: settings.strict,
    snapshot: settings.snapshot,
    bootParams: settings.bootParams,
    memoryMiB: settings.memoryMiB,
    outputLimitBytes: settings.outputLimitBytes,
    ...(settings.cpus ? { cpus: settings.cpus } : {}),
    ...(settings.parallel ? { parallel: settings.parallel } : {}),
    emit,
  });
}

/** The table, the reports and GitHub's summary and annotations; returns the exit code. */
export async function reportResults(settings: RunSettings, results: KernelResult[], out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const { json, junit, artifacts } = settings.reports;
  if (json) await writeJsonReport(json, results);
  if (junit) await writeJunitReport(junit, results);
  if (artifacts) await writeArtifacts(artifacts, results, { junit: junit !== undefined });
  out.write(`\n${formatTable(results)}\n`);
  for (const line of [...failingSubtests(results), ...subtestDifferences(results)]) out.write(`  ${line}\n`);
  for (const r of results) {
    for (const reason of r.reasons.slice(1)) out.write(`  ${r.kernel}: ${reason}\n`);
    for (const d of r.diagnostics.filter((x) => x.severity === 'error')) out.write(`  ${d.file}:${d.line}: ${d.message}\n`);
    for (const e of r.kernelErrors) for (const loc of e.source ?? []) out.write(`  ${r.kernel}: ${e.kind} ${loc.frame} at ${loc.file}:${loc.line}\n`);
  }
  await emitGithub(results, process.env);
  // Bad input found only on the way (a kernel option Kconfig dropped, a series without source).
  if (results.some((r) => r.errorCode === 'E_USAGE')) return 2;
  return results.every((r) => r.outcome === 'pass') ? 0 : 1;
}

/** Progress on stderr: live rows on a terminal, else (or with --plain) a line per event. */
export async function runCommand(flags: RunFlags & { config?: string; plain?: boolean }, stderr: NodeJS.WriteStream = process.stderr): Promise<number> {
  const settings = await runSettings(flags);
  const mode = chooseOutputMode({
    isTTY: stderr.isTTY === true,
    env: process.env,
    plainFlag: flags.plain === true,
    columns: stderr.columns,
    rows: stderr.rows,
  });
  const progress = createProgress({ series: settings.kernels, tty: mode === 'tty', stream: stderr });
  let results: KernelResult[] | undefined;
  try {
    if (settings.configFile) progress.emit({ type: 'info', message: `config: ${settings.configFile}` });
    await checkSources(settings);
    await checkKernelBuilds(settings);
    await ensureHostPackages(progress.emit, { arches: settings.kernels.map((k) => kernelArch(k, settings.kernelBuilds)) });
    results = await runKernels(settings, progress.emit);
  } finally {
    await progress.finish(results);
  }
  // After Ctrl-C the results are of VMs killed under the run: the signal handler exits 130.
  if (isStopping()) return 130;
  return reportResults(settings, results);
}
