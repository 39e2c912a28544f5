// npm run peer [-- --runs N] (node --import jiti/register scripts/peer-virtme-ng.ts): the harness against a peer,
// virtme-ng, on one task: boot Debian's generic amd64 6.1 kernel (6.1/generic, from the harness's cache) under
// TCG, print `uname -r`, power off. After one warm-up each, N runs per tool (default 3), alternating; prints each
// run's wall time, the medians and the ratio harness/virtme-ng. A run whose exit status is not 0 or whose stdout
// has no line that is the kernel's release is a failed run: reported, not timed (and the script exits 1).
//   kmod-harness: this checkout's CLI, `shell --no-load --command 'uname -r'` (it still builds the default module
//                 and test beside the boot; it is what `shell` does).
//   virtme-ng:    Debian's package, from the kernel series' suites if one has it, else sid, downloaded through the
//                 harness's private apt state and unpacked into <cache>/peers/virtme-ng_<version>, run with the
//                 host's /usr/bin/python3. The host packages it needs must be installed; missing ones are named.
// Run it under the machine's VM lock; it takes no lock itself.
import { spawn } from 'node:child_process';
import { access, constants, mkdir, open, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { cachedDir, cacheRoot } from '../harness/src/cache/store.js';
import { aptState, download, ensureLists, readIndex } from '../harness/src/debian/apt.js';
import { archiveUri, findMirrors, type SuiteRef } from '../harness/src/debian/mirror.js';
import { PackageIndex, parseDepends, type IndexPackage } from '../harness/src/debian/packages.js';
import { HarnessError, UsageError } from '../harness/src/errors.js';
import type { Emit } from '../harness/src/events.js';
import { aptInstallLine } from '../harness/src/host/setup.js';
import { loadCatalogue, seriesSpec } from '../harness/src/kernel/catalogue.js';
import { prepareKernel, type KernelArtifacts } from '../harness/src/kernel/index.js';
import { extractDebs } from '../harness/src/kernel/unpack.js';
import { installSignalHandlers, isStopping, killOnTeardown } from '../harness/src/util/lifecycle.js';
import { makeWorkDir } from '../harness/src/util/workdir.js';

const KERNEL = '6.1/generic';
const COMMAND = 'uname -r';
/** The guest both tools boot: the harness's defaults (512 MiB from the project config, 2 vCPUs for one kernel). */
const GUEST = { memoryMiB: 512, cpus: 2 };
const RUN_TIMEOUT_MS = 300_000;
const PEERS_AREA = 'peers';
const PACKAGE = 'virtme-ng';
/** Where virtme-ng is when the kernel's own suites lack it (bookworm does); sid's Release file is let expire. */
const SID: SuiteRef = { suite: 'sid', archive: 'debian', checkValidUntil: false };
/**
 * Not among virtme-ng's Depends, but needed here: Debian ships no virtme-ng-init, and its shell
 * init (virtme-init) finds the script's virtio-serial ports only as /dev/virtio-ports/<name>,
 * links the host's systemd-udevd makes in the guest. Without udev the command runs on the
 * console fallback, its output is lost and vng exits 255.
 */
const EXTRA_HOST_PACKAGES = ['udev'];
const PYTHON = '/usr/bin/python3';
const repo = path.resolve(import.meta.dirname, '..');
const cli = path.join(repo, 'dist/cli.js');

const sec = (ms: number): string => `${(ms / 1000).toFixed(3)} s`;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const shellQuote = (arg: string): string => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);
const log = (line: string): void => void process.stderr.write(`${line}\n`);
const emit: Emit = (e) => {
  if (e.type === 'info' || e.type === 'warn') log(`${e.type === 'warn' ? 'warning: ' : ''}${e.message}`);
};

function options(): { runs: number; warmup: number } {
  let values: { runs: string; warmup: string };
  try {
    ({ values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, warmup: { type: 'string', default: '1' } } }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error), { fix: 'npm run peer -- [--runs N] [--warmup N]' });
  }
  const count = (name: string, value: string, min: number): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min)
      throw new UsageError(`--${name} ${value}: not a whole number of at least ${min}`, { fix: `--${name} ${Math.max(min, 3)}` });
    return n;
  };
  return { runs: count('runs', values.runs, 1), warmup: count('warmup', values.warmup, 0) };
}

interface VirtmeNg {
  version: string;
  suite: string;
  depends: string;
  /** The unpacked package: usr/bin/vng, usr/lib/python3/dist-packages. */
  root: string;
}

/** The newest virtme-ng of the first suite that has one: the kernel series' own suites first, then sid. */
async function findPackage(suites: SuiteRef[]): Promise<{ pkg: IndexPackage; suite: SuiteRef }> {
  const mirrors = await findMirrors();
  const errors: unknown[] = [];
  for (const suite of suites) {
    try {
      const state = aptState(cacheRoot(), suite, archiveUri(mirrors, suite.archive));
      await ensureLists(state, { emit });
      const pkg = new PackageIndex(await readIndex(state, `Package: ${PACKAGE}`)).pick(PACKAGE);
      if (pkg) return { pkg, suite };
    } catch (error) {
      emit({ type: 'warn', message: `${suite.suite}: ${error instanceof Error ? error.message : String(error)}` });
      errors.push(error);
    }
  }
  if (errors.length === suites.length) throw errors[0];
  throw new HarnessError('E_MISSING_TOOL', 'infra-error', `no ${PACKAGE} package in ${suites.map((s) => s.suite).join(', ')}`, {
    fix: `Debian may have renamed or dropped it: look for it with apt-cache policy ${PACKAGE}, and change SID in scripts/peer-virtme-ng.ts`,
  });
}

/** virtme-ng unpacked once into <cache>/peers/virtme-ng_<version>, byte-compiled as Debian's postinst does. */
async function prepareVirtmeNg(): Promise<VirtmeNg> {
  const { pkg, suite } = await findPackage([...seriesSpec(loadCatalogue(), KERNEL).suites, SID]);
  const key = `${PACKAGE}_${pkg.version}`.replace(/[^A-Za-z0-9.+~_-]/g, '_');
  const { dir, hit } = await cachedDir(
    PEERS_AREA,
    key,
    async (tmp) => {
      emit({ type: 'info', message: `downloading ${PACKAGE} ${pkg.version} from ${suite.suite}` });
      const downloads = path.join(tmp, 'download');
      await mkdir(downloads);
      const state = aptState(cacheRoot(), suite, archiveUri(await findMirrors(), suite.archive));
      const failed = await download(state, [pkg], downloads);
      if (failed.length > 0) {
        throw new HarnessError('E_MISSING_TOOL', 'infra-error', `cannot download ${PACKAGE} ${pkg.version} from ${suite.suite}: ${failed[0]!.reason}`, {
          fix: 'retry later, or set KMOD_HARNESS_MIRROR to another mirror',
        });
      }
      const root = path.join(tmp, 'root');
      await extractDebs(
        (await readdir(downloads)).map((n) => path.join(downloads, n)),
        root,
      );
      await rm(downloads, { recursive: true, force: true });
      // Compiled now, so that no run writes into the published entry (runs set PYTHONDONTWRITEBYTECODE).
      await execa(PYTHON, ['-m', 'compileall', '-q', path.join(root, 'usr/lib/python3/dist-packages')]);
      await writeFile(path.join(tmp, 'peer.json'), `${JSON.stringify({ package: PACKAGE, version: pkg.version, suite: suite.suite }, null, 2)}\n`);
    },
    cacheRoot(),
    { what: `${PACKAGE} ${pkg.version}`, emit },
  );
  emit({ type: 'info', message: `${hit ? 'cached' : 'ready'}: ${PACKAGE} ${pkg.version} (${suite.suite}) at ${dir}` });
  return { version: pkg.version, suite: suite.suite, depends: pkg.depends, root: path.join(dir, 'root') };
}

async function installed(name: string): Promise<boolean> {
  const r = await execa('dpkg-query', ['-W', '-f=${db:Status-Abbrev}', name], { reject: false });
  return r.exitCode === 0 && r.stdout.startsWith('ii');
}

/** virtme-ng's Depends (and udev) that are not installed on this host: the first alternative of each unmet group. */
async function missingHostPackages(depends: string): Promise<string[]> {
  const groups = [...parseDepends(depends).map((g) => g.map((d) => d.name)), ...EXTRA_HOST_PACKAGES.map((p) => [p])];
  const missing: string[] = [];
  for (const group of groups) {
    let met = false;
    for (const name of group) if (!met && (await installed(name))) met = true;
    if (!met) missing.push(group[0]!);
  }
  return missing;
}

interface Tool {
  name: string;
  argv: string[];
  env: Record<string, string>;
}

function harnessTool(): Tool {
  const guest = ['--accel', 'tcg', '--memory', String(GUEST.memoryMiB), '--cpus', String(GUEST.cpus)];
  return { name: 'kmod-harness', argv: [process.execPath, cli, 'shell', '--kernel', KERNEL, ...guest, '--no-load', '--command', COMMAND], env: {} };
}

/**
 * --run with the cached vmlinuz: vng walks up from it to the entry's root, takes
 * <root>/lib/modules/<release> for the modules (its initramfs's 9p and virtio_console) and links
 * it into the guest, so nothing is copied to the host's /lib/modules. --force-9p: as root vng
 * would start QEMU's own C virtiofsd (Debian's QEMU 7.2), which fails here, and retry for ~3 s
 * before falling back to 9p.
 */
function vngTool(vng: VirtmeNg, kernel: KernelArtifacts): Tool {
  const argv = [PYTHON, path.join(vng.root, 'usr/bin/vng'), '--disable-kvm', '--force-9p', '--memory', `${GUEST.memoryMiB}M`, '--cpus', String(GUEST.cpus)];
  return {
    name: 'virtme-ng',
    argv: [...argv, '--run', kernel.vmlinuz, '--exec', COMMAND],
    // vng starts virtme-run through the shell: its bin dir goes first on PATH.
    env: {
      PATH: `${path.join(vng.root, 'usr/bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      PYTHONPATH: path.join(vng.root, 'usr/lib/python3/dist-packages'),
      PYTHONDONTWRITEBYTECODE: '1',
    },
  };
}

interface Run {
  ms: number;
  /** Why the run does not count; undefined for a good one. */
  failure: string | undefined;
  stderr: string;
  /** A line of its output about a snapshot, if it printed one. */
  snapshot: string | undefined;
}

/** Whether any process of group `pgid` is left. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A spawned child as killOnTeardown takes it: its pid, kill(), and a promise of how it ended. */
type Spawned = PromiseLike<{ exitCode: number | null; signal: NodeJS.Signals | null }> & { pid: number | undefined; kill(signal?: NodeJS.Signals): boolean };

/**
 * `argv` as the leader of a new process group, its stdout and stderr the files `fds`. Node's
 * spawn and not execa: execa types no fd beyond 9 and turns { file } into a pipe through Node's
 * sockets, which vng cannot reopen through /proc/self/fd (it hands QEMU /proc/self/fd/1 and 2):
 * it would fall back to the console and lose the output.
 */
function spawnGroup(argv: string[], options: { cwd: string; env: NodeJS.ProcessEnv; fds: [number, number] }): Spawned {
  const child = spawn(argv[0]!, argv.slice(1), { cwd: options.cwd, env: options.env, stdio: ['ignore', ...options.fds], detached: true });
  const ended = new Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (exitCode, signal) => resolve({ exitCode, signal }));
  });
  return { pid: child.pid, kill: (signal) => child.kill(signal), then: (onDone, onError) => ended.then(onDone, onError) };
}

/**
 * One run of `tool`, in its own process group and with its own TMPDIR (`scratch`, removed after),
 * so that a timeout or a Ctrl-C takes QEMU with it and a killed tool's temp files go too.
 */
async function runOnce(tool: Tool, release: string, scratch: string): Promise<Run> {
  await mkdir(scratch);
  const [out, err] = [path.join(scratch, 'stdout'), path.join(scratch, 'stderr')];
  const files = await Promise.all([open(out, 'w'), open(err, 'w')]);
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), RUN_TIMEOUT_MS);
  const start = performance.now();
  try {
    const env = { ...process.env, ...tool.env, TMPDIR: scratch };
    const child = killOnTeardown(
      spawnGroup(tool.argv, { cwd: tool.name === 'kmod-harness' ? repo : scratch, env, fds: [files[0].fd, files[1].fd] }),
      abort.signal,
    );
    const result = await child;
    const ms = performance.now() - start;
    const [stdout, stderr] = await Promise.all([readFile(out, 'utf8'), readFile(err, 'utf8')]);
    const reasons: string[] = [];
    if (abort.signal.aborted) reasons.push(`timed out after ${RUN_TIMEOUT_MS / 1000} s`);
    else if (result.exitCode !== 0) {
      reasons.push(result.signal ? `killed by ${result.signal}` : `exited ${result.exitCode}`);
      if (tool.name === 'virtme-ng' && result.exitCode === 255)
        reasons.push('no exit status came back from the guest (a panic, or no /dev/virtio-ports links: udev)');
    }
    const lines = stdout.split('\n').map((l) => l.replace(/\r$/, '').trim());
    if (!lines.includes(release))
      reasons.push(`no line of its stdout is ${release}${stdout.trim() ? ` (stdout: ${JSON.stringify(stdout.trim().slice(0, 200))})` : ''}`);
    if (child.pid !== undefined && groupAlive(child.pid)) {
      process.kill(-child.pid, 'SIGKILL');
      reasons.push('it left processes behind (killed)');
    }
    const snapshot = `${stdout}\n${stderr}`.split('\n').find((l) => /snapshot/i.test(l));
    return { ms, failure: reasons.length ? reasons.join('; ') : undefined, stderr, snapshot: snapshot?.trim() };
  } finally {
    clearTimeout(timer);
    await Promise.all(files.map((f) => f.close()));
    await rm(scratch, { recursive: true, force: true });
  }
}

function report(tool: Tool, run: Run, label: string): void {
  if (run.failure) {
    log(`${label} ${tool.name}: FAILED after ${sec(run.ms)}: ${run.failure}`);
    const tail = run.stderr.trim().split('\n').slice(-15).join('\n');
    if (tail) log(tail.replace(/^/gm, '    '));
  } else log(`${label} ${tool.name}: ${sec(run.ms)}${run.snapshot ? `   (said: ${run.snapshot})` : ''}`);
}

async function main(): Promise<number> {
  const { runs, warmup } = options();
  await access(cli, constants.R_OK).catch((error: unknown) => {
    throw new UsageError(`${cli} is missing: the harness is not built`, { fix: 'npx tsc -p tsconfig.json (npm run peer builds it first)', cause: error });
  });
  const kernel = await prepareKernel(KERNEL, { emit });
  const vng = await prepareVirtmeNg();
  const missing = await missingHostPackages(vng.depends);
  if (missing.length > 0) {
    throw new HarnessError('E_HOST_PACKAGES', 'infra-error', `${PACKAGE} ${vng.version} needs host packages that are missing: ${missing.join(', ')}`, {
      fix: aptInstallLine(missing),
    });
  }
  const tools = [harnessTool(), vngTool(vng, kernel)];
  const work = await makeWorkDir('kmod-harness-peer-');
  const samples = new Map<string, Run[]>(tools.map((t) => [t.name, []]));
  let n = 0;
  try {
    for (let i = 1; i <= warmup; i++) {
      for (const tool of tools) {
        const run = await runOnce(tool, kernel.release, path.join(work.path, `run-${++n}`));
        if (isStopping()) return 130;
        report(tool, run, `warm-up ${i}/${warmup}`);
        if (run.failure) return 1;
      }
    }
    for (let i = 1; i <= runs; i++) {
      for (const tool of tools) {
        const run = await runOnce(tool, kernel.release, path.join(work.path, `run-${++n}`));
        // A Ctrl-C's teardown killed it: the signal handler exits once the teardowns are done.
        if (isStopping()) return 130;
        report(tool, run, `run ${i}/${runs}`);
        samples.get(tool.name)!.push(run);
      }
    }
  } finally {
    await work.remove();
  }

  console.log(
    `\n${kernel.release} (${KERNEL}), TCG, ${GUEST.memoryMiB} MiB, ${GUEST.cpus} vCPUs: boot, \`${COMMAND}\`, power off; ${runs} alternating runs each after ${warmup} warm-up`,
  );
  console.log(`  kmod-harness: ${tools[0]!.argv.map(shellQuote).join(' ')}`);
  console.log(`  virtme-ng ${vng.version} (${vng.suite}): ${tools[1]!.argv.map(shellQuote).join(' ')}`);
  const medians = new Map<string, number>();
  let failures = 0;
  for (const tool of tools) {
    const rows = samples.get(tool.name)!;
    const good = rows.filter((r) => !r.failure).map((r) => r.ms);
    failures += rows.length - good.length;
    if (good.length) medians.set(tool.name, median(good));
    const each = rows.map((r) => (r.failure ? 'FAILED' : sec(r.ms))).join(', ');
    const snapshots = rows.filter((r) => r.snapshot).length;
    console.log(
      `  ${tool.name.padEnd(12)} median ${good.length ? sec(median(good)).padStart(9) : '        -'}   runs ${each}${snapshots ? `   (${snapshots} said: ${rows.find((r) => r.snapshot)!.snapshot})` : ''}`,
    );
  }
  const [h, v] = [medians.get('kmod-harness'), medians.get('virtme-ng')];
  console.log(`  ratio harness/virtme-ng ${h !== undefined && v !== undefined ? `${(h / v).toFixed(2)}x` : '- (a tool has no good run)'}`);
  if (failures) console.log(`  ${failures} failed run(s), not timed (above)`);
  return failures ? 1 : 0;
}

installSignalHandlers();
try {
  process.exitCode = await main();
} catch (error) {
  if (!(error instanceof HarnessError)) throw error;
  log(`error: ${error.message}${error.fix ? `\n  fix: ${error.fix}` : ''}`);
  process.exitCode = error.code === 'E_USAGE' ? 2 : 1;
}
