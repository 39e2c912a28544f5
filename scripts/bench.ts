// npm run bench (node --import jiti/register scripts/bench.ts): the harness timed through its real CLI on a warm cache. Prints medians.
//   seed:   the seed cycle on one kernel, per stage; "guest" is what the VM itself spends (boot
//           to the ready marker, and the insmod/test/rmmod commands), "overhead" the rest.
//   matrix: the seed on every catalogue kernel in one run: per kernel boot and cycle, and wall.
//   vmap:   in the guest, per kernel: the seed's second answer (kernel-module/vmalloc) timed by
//           userland/vmalloc/vmap_bench: bytes/s through the mapping vs read()/write(), and
//           first-touch cost per page, faulting vs pre-populated. Ratios, which survive TCG.
//   debug:  the seed cycle on 6.1-debug (built from source: KASAN, lockdep, kmemleak, ...) and on
//           stock 6.1, alternating: boot, test stages and wall, medians and the debug/stock ratio.
//   lifecycle: the seed cycle with the checks around the unload (settle 1 s, leftovers, one
//           reload) and without them (--settle 0 --reloads 0 --no-leftovers), alternating.
//   output: the flood-stdout fixture once: 1 GiB of test stdout through SSH, kept to 16 MiB;
//           what the harness reads per second. Not in the default set (~2.5 min under TCG).
//   arm64:  the seed cycle on 6.1/arm64 (cross-built, TCG on virt) and on 6.1, alternating: boot,
//           build, test stages and wall, medians and the arm64/amd64 ratio; then the arm64 CPU
//           models under TCG, alternating: the guest's boot to the ready marker with each.
//   snapshot: the seed cycle restored from a snapshot and booted cold (--no-snapshot), alternating:
//           boot to SSH, the stages, overhead (wall - guest), wall; the four-kernel matrix both
//           ways; the peak RSS of each QEMU and of the harness's own process during a run.
//   cold:   the matrix once on an empty cache (downloads, unpacking, compiler roots), then the
//           cold build of 6.1-debug on that cache: not in the default set, it takes ~15 minutes
//           and a few gigabytes. BENCH=cold to run it.
// Env: BENCH (default "seed,matrix,vmap,debug,lifecycle,arm64,snapshot"), BENCH_ARM64_CPUS (';'-separated -cpu values), BENCH_RUNS (5), BENCH_MATRIX_RUNS (3), BENCH_DEBUG_RUNS (3), BENCH_KERNEL (6.1),
//      BENCH_ARGS (extra CLI flags), KMOD_HARNESS_ACCEL.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { $ } from 'zx';
import type { KernelResult } from '../harness/src/run.js';
import { READY_MARKER } from '../harness/src/guest/boot.js';
import { buildImage } from '../harness/src/image/initramfs.js';
import { prepareKernel, type KernelArtifacts } from '../harness/src/kernel/index.js';
import { ARM64_TCG_CPU, kernelCmdline } from '../harness/src/qemu/args.js';
import { startVm } from '../harness/src/qemu/process.js';

type Stages = KernelResult['stages'];
/** One sample: numbers to take medians of, and labels. */
type Row = Record<string, number | string | undefined>;

const sections = (process.env.BENCH ?? 'seed,matrix,vmap,debug,lifecycle,arm64,snapshot').split(',');
const cli = path.resolve(import.meta.dirname, '../dist/cli.js');
const extra = (process.env.BENCH_ARGS ?? '').split(' ').filter(Boolean);
const dir = await mkdtemp(path.join(tmpdir(), 'kmod-harness-bench-'));
$.verbose = false;
$.quiet = true;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const sec = (ms: number | undefined): string => (ms === undefined ? '-' : `${(ms / 1000).toFixed(3)} s`);
let runCount = 0;

/** Peak RSS (VmHWM, bytes) of a process, or undefined once it is gone. */
async function peakRss(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
  return kb === undefined ? undefined : Number(kb) * 1024;
}

/** The processes under `root` (children, grandchildren, ...) with their command names. */
async function descendants(root: number): Promise<Array<{ pid: number; comm: string }>> {
  const all = await Promise.all(
    (await readdir('/proc'))
      .filter((n) => /^\d+$/.test(n))
      .map(async (n) => {
        const stat = await readFile(`/proc/${n}/stat`, 'utf8').catch(() => '');
        const m = /^(\d+) \((.*)\) \S+ (\d+)/.exec(stat);
        return m ? { pid: Number(m[1]), comm: m[2]!, ppid: Number(m[3]) } : undefined;
      }),
  );
  const procs = all.filter((p): p is { pid: number; comm: string; ppid: number } => p !== undefined);
  const found: Array<{ pid: number; comm: string }> = [];
  const walk = (pid: number): void => {
    for (const p of procs.filter((q) => q.ppid === pid)) {
      found.push(p);
      walk(p.pid);
    }
  };
  walk(root);
  return found;
}

/** Peak RSS seen of each QEMU and of the harness (its node process) while `child` runs, sampled every 50 ms. */
function watchRss(child: { pid?: number | undefined }): () => { qemu: number[]; harness: number } {
  const qemu = new Map<number, number>();
  let harness = 0;
  let stopped = false;
  void (async () => {
    while (!stopped && child.pid !== undefined) {
      // The shell zx starts execs node itself: the harness is the child, or one of its descendants.
      for (const p of [{ pid: child.pid, comm: 'node' }, ...(await descendants(child.pid))]) {
        const rss = await peakRss(p.pid);
        if (rss === undefined) continue;
        if (p.comm.startsWith('qemu-system')) qemu.set(p.pid, Math.max(qemu.get(p.pid) ?? 0, rss));
        else if (p.comm === 'node' || p.comm === 'kmod-harness') harness = Math.max(harness, rss);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return () => {
    stopped = true;
    return { qemu: [...qemu.values()], harness };
  };
}

let lastRss: { qemu: number[]; harness: number } | undefined;

/** One CLI run; returns its wall time and JSON results. Any non-pass fails the benchmark. */
async function cliRun(kernel: string, env: Record<string, string> = {}, args: string[] = []): Promise<{ wall: number; results: KernelResult[] }> {
  const json = path.join(dir, `run-${++runCount}.json`);
  const start = performance.now();
  const child = $({ env: { ...process.env, ...env } })`node ${cli} run --kernel ${kernel} --json ${json} ${extra} ${args}`.nothrow();
  const rss = watchRss(child);
  const p = await child;
  const wall = performance.now() - start;
  lastRss = rss();
  const { results } = JSON.parse(await readFile(json, 'utf8')) as { results: KernelResult[] };
  const bad = results.filter((r) => r.outcome !== 'pass');
  if (p.exitCode !== 0 || bad.length) throw new Error(bad.map((r) => `${r.kernel}: ${r.outcome}: ${r.reasons.join('; ')}`).join('\n') || p.stderr);
  return { wall, results };
}

/** The numbers the rows hold under `key` (a stage that did not run has none). */
const numbers = (rows: readonly Row[], key: string): number[] => rows.map((r) => r[key]).filter((v): v is number => typeof v === 'number');

function printMedians(rows: Row[], keys: string[]): void {
  for (const k of keys) {
    const values = numbers(rows, k);
    if (values.length) console.log(`  ${k.padEnd(10)} ${sec(median(values)).padStart(9)}   (min ${sec(Math.min(...values))}, max ${sec(Math.max(...values))})`);
  }
}

async function seed() {
  const runs = Number(process.env.BENCH_RUNS ?? 5);
  const kernel = process.env.BENCH_KERNEL ?? '6.1';
  process.stderr.write(`seed: warm-up run on ${kernel}...\n`);
  await cliRun(kernel);
  const samples: Row[] = [];
  for (let i = 1; i <= runs; i++) {
    const { wall, results } = await cliRun(kernel);
    const s: Stages = results[0]!.stages;
    const guest = (s.boot ?? 0) + (s.load ?? 0) + (s.test ?? 0) + (s.unload ?? 0) + (s.settle ?? 0) + (s.reload ?? 0);
    samples.push({ wall, guest, overhead: wall - guest, ...s, release: results[0]!.kernel, accel: results[0]!.accel });
    process.stderr.write(`seed run ${i}/${runs}: ${sec(wall)}\n`);
  }
  console.log(`\nseed cycle on ${String(samples[0]?.release)} (${String(samples[0]?.accel)}), ${runs} runs, medians`);
  console.log('(build overlaps image+boot; ssh is part of boot; guest = boot + load + test + unload + settle + reload; overhead = wall - guest)');
  printMedians(samples, [
    'kernel',
    'build',
    'image',
    'boot',
    'ssh',
    'upload',
    'load',
    'test',
    'unload',
    'settle',
    'reload',
    'teardown',
    'guest',
    'overhead',
    'wall',
  ]);
}

async function lifecycle() {
  const runs = Number(process.env.BENCH_RUNS ?? 5);
  const kernel = process.env.BENCH_KERNEL ?? '6.1';
  const without = ['--settle', '0', '--reloads', '0', '--no-leftovers'];
  process.stderr.write(`lifecycle: warm-up run on ${kernel}...\n`);
  await cliRun(kernel);
  const on: Row[] = [];
  const off: Row[] = [];
  for (let i = 1; i <= runs; i++) {
    for (const [rows, args] of [
      [on, []],
      [off, without],
    ] as const) {
      const { wall, results } = await cliRun(kernel, {}, [...args]);
      const s: Stages = results[0]!.stages;
      rows.push({
        wall,
        job: (s.load ?? 0) + (s.test ?? 0) + (s.unload ?? 0) + (s.settle ?? 0) + (s.reload ?? 0),
        settle: s.settle,
        reload: s.reload,
        release: results[0]!.kernel,
      });
    }
    process.stderr.write(`lifecycle run ${i}/${runs}\n`);
  }
  console.log(`\nthe checks around the unload on ${String(on[0]?.release)}, ${runs} runs each, medians (job = load + test + unload + settle + reload)`);
  console.log('with settle 1 s, leftovers, one reload:');
  printMedians(on, ['settle', 'reload', 'job', 'wall']);
  console.log('without (--settle 0 --reloads 0 --no-leftovers):');
  printMedians(off, ['job', 'wall']);
  const m = (rows: Row[], k: string): number => median(numbers(rows, k));
  console.log(`  job +${sec(m(on, 'job') - m(off, 'job'))}, wall ${(m(on, 'wall') / m(off, 'wall')).toFixed(2)}x`);
}

async function output() {
  const kernel = process.env.BENCH_KERNEL ?? '6.1';
  const fixture = path.resolve(import.meta.dirname, '../test/fixtures/modules/flood-stdout');
  const args = ['--module', path.join(fixture, 'module'), '--test', path.join(fixture, 'test'), '--test-timeout', '900'];
  process.stderr.write(`output: 1 GiB of test stdout on ${kernel}...\n`);
  const { wall, results } = await cliRun(kernel, {}, args);
  const r = results[0]!;
  const read = 2 ** 30;
  console.log(`\ntest stdout through SSH on ${r.kernel} (${r.accel}): 1 GiB written by the test, ${r.dropped?.stdout ?? 0} bytes dropped`);
  console.log(`  test       ${sec(r.stages.test)}   ${(read / 2 ** 20 / ((r.stages.test ?? NaN) / 1000)).toFixed(1)} MiB/s`);
  console.log(`  wall       ${sec(wall)}`);
}

async function matrix() {
  const runs = Number(process.env.BENCH_MATRIX_RUNS ?? 3);
  process.stderr.write('matrix: warm-up run on all kernels...\n');
  await cliRun('all');
  const walls: Row[] = [];
  const perKernel = new Map<string, Row[]>();
  for (let i = 1; i <= runs; i++) {
    const { wall, results } = await cliRun('all');
    walls.push({ wall });
    for (const r of results) {
      const rows = perKernel.get(r.kernel) ?? [];
      rows.push({ boot: r.stages.boot, cycle: r.stages.total, build: r.stages.build });
      perKernel.set(r.kernel, rows);
    }
    process.stderr.write(`matrix run ${i}/${runs}: ${sec(wall)}\n`);
  }
  console.log(`\nmatrix: seed on every catalogue kernel in one run, ${runs} runs, medians (cycle = that kernel's wall time)`);
  for (const [kernel, rows] of perKernel) {
    const of = (k: string): number => median(numbers(rows, k));
    console.log(`  ${kernel.padEnd(28)} boot ${sec(of('boot'))}   build ${sec(of('build'))}   cycle ${sec(of('cycle'))}`);
  }
  printMedians(walls, ['wall']);
}

async function vmap() {
  const { VMALLOC_MODULE_DIR, VMALLOC_TEST_DIR } = await import('../harness/src/util/paths.js');
  const { prepareKernel, knownSeries } = await import('../harness/src/kernel/index.js');
  const { openSession, buildJob, runBuilt, consoleReader } = await import('../harness/src/session.js');
  const { installSignalHandlers } = await import('../harness/src/util/lifecycle.js');
  installSignalHandlers();
  const source = { moduleDir: VMALLOC_MODULE_DIR, test: VMALLOC_TEST_DIR };
  console.log('\nvmap in-guest benchmark (16 pages = 64 KiB; one run per kernel; ratios)');
  console.log('  kernel                       mmap/rw bytes/s   fault/prefault first touch   (mmap B/s, rw B/s, fault ns/page, prefault ns/page)');
  for (const series of knownSeries()) {
    const kernel = await prepareKernel(series);
    const buildDir = await mkdtemp(path.join(tmpdir(), 'kmod-harness-bench-vmap-'));
    const [built, session] = await Promise.all([buildJob(kernel, source, buildDir), openSession(kernel, { cpus: 1 })]);
    try {
      // vmap_bench is built beside the functional test; run it in the test's place.
      const bench = { ...built, test: { ...built.test, binary: path.join(path.dirname(built.test.binary), 'vmap_bench'), expectedKmsg: undefined } };
      const job = await runBuilt(session.guest.conn, consoleReader(session.info), bench, 'bench');
      if (job.outcome !== 'pass') throw new Error(`${kernel.release}: ${job.outcome}: ${job.reasons.join('; ')}`);
      const v = new Map<string, number>();
      for (const line of (job.raw.test?.stdout ?? '').split('\n')) {
        const f = line.split(' ');
        if (f[0] === 'bench') v.set(f.slice(1, -1).join(' '), Number(f.at(-1)));
      }
      const value = (name: string): number => {
        const x = v.get(name);
        if (x === undefined) throw new Error(`${kernel.release}: vmap_bench printed no ${name}`);
        return x;
      };
      const mmap = value('mmap_bytes_per_s');
      const rw = value('rw_bytes_per_s');
      const fault = value('first_touch_ns_per_page fault');
      const pre = value('first_touch_ns_per_page prefault');
      console.log(
        `  ${kernel.release.padEnd(28)} ${(mmap / rw).toFixed(2).padStart(8)}x   ${(fault / pre).toFixed(1).padStart(14)}x            (${(mmap / 1e6).toFixed(0)} MB/s, ${(rw / 1e6).toFixed(0)} MB/s, ${fault} ns, ${pre} ns)`,
      );
    } finally {
      await session.close();
      await rm(buildDir, { recursive: true, force: true });
    }
  }
}

/** A warm-up run on each kernel, then `runs` rounds of one run each, alternating: per kernel, the wall time and `pick` of the stages. */
async function alternating(label: string, kernels: string[], runs: number, pick: (s: Stages) => Row): Promise<Map<string, Row[]>> {
  for (const k of kernels) await cliRun(k);
  const rows = new Map<string, Row[]>(kernels.map((k) => [k, []]));
  for (let i = 1; i <= runs; i++) {
    for (const k of kernels) {
      const { wall, results } = await cliRun(k);
      rows.get(k)!.push({ wall, ...pick(results[0]!.stages) });
    }
    process.stderr.write(`${label} run ${i}/${runs}\n`);
  }
  return rows;
}

async function debug() {
  const runs = Number(process.env.BENCH_DEBUG_RUNS ?? 3);
  const kernels = ['6.1-debug', '6.1'];
  process.stderr.write('debug: warm-up run on 6.1-debug and 6.1 (builds 6.1-debug if it is not cached)...\n');
  const rows = await alternating('debug', kernels, runs, (s) => ({ boot: s.boot, load: s.load, test: s.test, unload: s.unload, 'leak-scan': s['leak-scan'] }));
  console.log(`\ndebug kernel: the seed cycle on 6.1-debug vs stock 6.1, ${runs} alternating runs each, medians (boot: to the ready marker)`);
  for (const key of ['boot', 'load', 'test', 'unload', 'leak-scan', 'wall']) {
    const m = kernels.map((k) => numbers(rows.get(k)!, key));
    if (m[0]!.length === 0) continue;
    const [d, s] = m.map((xs) => (xs.length ? median(xs) : undefined));
    console.log(
      `  ${key.padEnd(10)} 6.1-debug ${sec(d).padStart(9)}   6.1 ${s === undefined ? '        -' : sec(s).padStart(9)}${s && d ? `   ratio ${(d / s).toFixed(1)}x` : ''}`,
    );
  }
}

/** Boot `kernel` to the guest's ready marker with QEMU's `-cpu <model>` under TCG; ms from QEMU's start. */
async function bootToReady(kernel: KernelArtifacts, initramfs: string, model: string): Promise<number> {
  const work = await mkdtemp(path.join(dir, 'cpu-'));
  const start = performance.now();
  const vm = await startVm({
    kernel: kernel.vmlinuz,
    initrd: initramfs,
    append: kernelCmdline({ publicKey: 'AAAAC3NzaC1lZDI1NTE5AAAAIBENCHBENCHBENCHBENCHBENCHBENCHBENCHBENCHBEN', arch: 'arm64' }),
    accel: 'tcg',
    arch: 'arm64',
    tcgCpu: model,
    memoryMiB: 512,
    cpus: 2,
    consoleLog: path.join(work, 'console.log'),
  });
  try {
    await vm.waitForConsole(READY_MARKER, 120_000);
    return performance.now() - start;
  } finally {
    await vm.stop();
  }
}

async function arm64() {
  const runs = Number(process.env.BENCH_RUNS ?? 5);
  const kernels = ['6.1/arm64', '6.1'];
  process.stderr.write('arm64: warm-up run on 6.1/arm64 and 6.1...\n');
  const rows = await alternating('arm64', kernels, runs, (s) => ({ boot: s.boot, build: s.build, load: s.load, test: s.test, unload: s.unload }));
  console.log(`\narm64: the seed cycle on 6.1/arm64 (TCG, -cpu ${ARM64_TCG_CPU}) vs 6.1 (amd64), ${runs} alternating runs each, medians`);
  for (const key of ['boot', 'build', 'load', 'test', 'unload', 'wall']) {
    const [a, x] = kernels.map((k) => median(numbers(rows.get(k)!, key)));
    console.log(`  ${key.padEnd(10)} 6.1/arm64 ${sec(a).padStart(9)}   6.1 ${sec(x).padStart(9)}   ratio ${(a! / x!).toFixed(2)}x`);
  }

  const models = (process.env.BENCH_ARM64_CPUS ?? `${ARM64_TCG_CPU};cortex-a57;neoverse-n1;max,pauth-impdef=on;max`).split(';');
  const kernel = await prepareKernel('6.1/arm64');
  const image = await buildImage(kernel);
  const boots = new Map<string, number[]>(models.map((m) => [m, []]));
  const rounds = Math.max(3, Math.ceil(runs / 2));
  for (let i = 1; i <= rounds; i++) {
    for (const m of models) boots.get(m)!.push(await bootToReady(kernel, image.initramfs, m));
    process.stderr.write(`arm64 cpu round ${i}/${rounds}\n`);
  }
  console.log(`\narm64 CPU models under TCG: ${kernel.release} booted to the ready marker (2 vCPUs), ${rounds} alternating rounds, medians`);
  for (const [m, xs] of boots) console.log(`  ${m.padEnd(22)} ${sec(median(xs)).padStart(9)}${m === ARM64_TCG_CPU ? '   (the harness uses this one)' : ''}`);
}

/** Guest time of a seed run: what the VM itself spends; the rest of the wall time is the harness's (and the build's, where it is longer than the boot). */
const guestMs = (s: Stages): number => (s.boot ?? 0) + (s.ssh ?? 0) + (s.load ?? 0) + (s.test ?? 0) + (s.unload ?? 0) + (s.settle ?? 0) + (s.reload ?? 0);

async function snapshot() {
  const runs = Number(process.env.BENCH_RUNS ?? 5);
  const kernel = process.env.BENCH_KERNEL ?? '6.1';
  const ways = [
    ['restored', []],
    ['cold', ['--no-snapshot']],
  ] as const;
  process.stderr.write(`snapshot: warm-up runs on ${kernel} (the first saves the snapshot)...\n`);
  for (const [, args] of ways) await cliRun(kernel, {}, [...args]);
  const rows = new Map<string, Row[]>(ways.map(([w]) => [w, []]));
  const rss = new Map<string, { qemu: number[]; harness: number[] }>(ways.map(([w]) => [w, { qemu: [], harness: [] }]));
  for (let i = 1; i <= runs; i++) {
    for (const [way, args] of ways) {
      const { wall, results } = await cliRun(kernel, {}, [...args]);
      const r = results[0]!;
      if (r.boot !== (way === 'cold' ? 'cold' : 'restored')) throw new Error(`a ${way} run booted ${r.boot}`);
      const s = r.stages;
      const guest = guestMs(s);
      rows
        .get(way)!
        .push({ wall, 'to ssh': (s.boot ?? 0) + (s.ssh ?? 0), build: s.build, job: guest - (s.boot ?? 0) - (s.ssh ?? 0), guest, overhead: wall - guest });
      rss.get(way)!.qemu.push(...lastRss!.qemu);
      rss.get(way)!.harness.push(lastRss!.harness);
    }
    process.stderr.write(`snapshot run ${i}/${runs}\n`);
  }
  console.log(`\nsnapshot: the seed cycle on ${kernel}, restored vs cold (--no-snapshot), ${runs} alternating runs each, medians`);
  console.log(
    '(to ssh = QEMU start to SSH login; job = load + test + unload + settle + reload; overhead = wall - guest, the build included where it outlasts the boot)',
  );
  for (const key of ['to ssh', 'build', 'job', 'overhead', 'wall']) {
    const [a, b] = ways.map(([w]) => median(numbers(rows.get(w)!, key)));
    console.log(`  ${key.padEnd(10)} restored ${sec(a).padStart(9)}   cold ${sec(b).padStart(9)}   ratio ${(a! / b!).toFixed(2)}x`);
  }
  // The cycle as build, restore, insmod, test, rmmod, verdict: without the settle window and the reload.
  const bare: Row[] = [];
  for (let i = 1; i <= runs; i++) {
    const { wall, results } = await cliRun(kernel, {}, ['--settle', '0', '--reloads', '0']);
    const s = results[0]!.stages;
    bare.push({ wall, 'to ssh': (s.boot ?? 0) + (s.ssh ?? 0), job: guestMs(s) - (s.boot ?? 0) - (s.ssh ?? 0), overhead: wall - guestMs(s) });
  }
  console.log(`restored, without the settle window and the reload (--settle 0 --reloads 0), ${runs} runs, medians:`);
  printMedians(bare, ['to ssh', 'job', 'overhead', 'wall']);
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  for (const [way] of ways) {
    const r = rss.get(way)!;
    console.log(
      `  peak RSS, ${way}: QEMU ${mib(median(r.qemu))} (max ${mib(Math.max(...r.qemu))}), harness ${mib(median(r.harness))}, together ${mib(median(r.qemu) + median(r.harness))}`,
    );
  }

  const matrixRuns = Number(process.env.BENCH_MATRIX_RUNS ?? 3);
  process.stderr.write('snapshot: the matrix both ways, warm-up...\n');
  for (const [, args] of ways) await cliRun('all', {}, [...args]);
  const walls = new Map<string, number[]>(ways.map(([w]) => [w, []]));
  for (let i = 1; i <= matrixRuns; i++) {
    for (const [way, args] of ways) walls.get(way)!.push((await cliRun('all', {}, [...args])).wall);
    process.stderr.write(`snapshot matrix run ${i}/${matrixRuns}\n`);
  }
  const [a, b] = ways.map(([w]) => median(walls.get(w)!));
  console.log(`  matrix (all four series, one run), ${matrixRuns} alternating runs: restored ${sec(a)}   cold ${sec(b)}   ratio ${(a! / b!).toFixed(2)}x`);
}

async function cold() {
  const cache = path.join(dir, 'cold-cache');
  process.stderr.write(`cold: the matrix on an empty cache (${cache})...\n`);
  const { wall, results } = await cliRun('all', { KMOD_HARNESS_CACHE: cache });
  console.log('\ncold cache: seed on every catalogue kernel, one run (kernel = fetch and unpack, build includes a compiler root where needed)');
  for (const r of results) console.log(`  ${r.kernel.padEnd(28)} kernel ${sec(r.stages.kernel)}   build ${sec(r.stages.build)}   cycle ${sec(r.stages.total)}`);
  console.log(`  wall       ${sec(wall).padStart(9)}`);
  process.stderr.write('cold: building 6.1-debug from source on that cache...\n');
  const built = await cliRun('6.1-debug', { KMOD_HARNESS_CACHE: cache });
  const r = built.results[0]!;
  console.log(
    `\ncold build of 6.1-debug (source download, unpack, configure, bzImage + modules on all cores): kernel ${sec(r.stages.kernel)}   boot ${sec(r.stages.boot)}   cycle ${sec(r.stages.total)}`,
  );
}

try {
  if (sections.includes('seed')) await seed();
  if (sections.includes('matrix')) await matrix();
  if (sections.includes('vmap')) await vmap();
  if (sections.includes('debug')) await debug();
  if (sections.includes('lifecycle')) await lifecycle();
  if (sections.includes('output')) await output();
  if (sections.includes('arm64')) await arm64();
  if (sections.includes('snapshot')) await snapshot();
  if (sections.includes('cold')) await cold();
} finally {
  await rm(dir, { recursive: true, force: true });
}
