// Debug kernels built from Debian's source (harness/src/kernel-build): each fixture's bug is
// a kernel-error on 6.1-debug, and the very same module passes on stock 6.1, whose kernel
// reports none of them. That difference is the point of building debug kernels; it stays
// visible here. The first run builds 6.1-debug (~10 min on 2 cores), later runs use the cache.
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheRoot, LOCK_PREFIX } from '../../harness/src/cache/store.js';
import { UsageError } from '../../harness/src/errors.js';
import { prepareSource } from '../../harness/src/kernel-build/source.js';
import { loadCatalogue, seriesSpec } from '../../harness/src/kernel/catalogue.js';
import { SEED_MODULE_DIR, SEED_TEST_DIR, VMALLOC_MODULE_DIR, VMALLOC_TEST_DIR } from '../../harness/src/util/paths.js';
import { runOnKernel } from '../../harness/src/run.js';
import { useKernels, type ModuleRun } from '../../harness/src/vitest/index.js';
import { childEnv, FIXTURES, runKernels } from './support.js';

interface Expectation {
  outcome: string;
  kind: string | null;
  kindAlternatives?: string[];
  stage: string | null;
  withKmemleak?: { outcome: string; kind: string; stage: string | null };
  onStock?: { outcome: string };
}

const DEBUG = '6.1-debug';
const STOCK = '6.1';
// lock-order first: lockdep turns itself off after its first report (sleep-in-rcu is then
// reported by DEBUG_ATOMIC_SLEEP alone, kind bug).
const NAMES = ['lock-order', 'use-after-free', 'sleep-in-rcu', 'ubsan-bounds', 'leak'];
const fixtures = NAMES.map((name) => {
  const want = JSON.parse(readFileSync(path.join(FIXTURES, name, 'expect.json'), 'utf8')) as Expectation;
  // The leak fixture states its debug-kernel verdict under withKmemleak.
  const onDebug = want.withKmemleak ?? { outcome: want.outcome, kind: want.kind, stage: want.stage };
  return { name, onDebug: { ...onDebug, kinds: [onDebug.kind, ...(want.kindAlternatives ?? [])] }, onStock: want.onStock?.outcome ?? 'pass' };
});

// In a kernel matrix (GitHub's, one series per job) this file belongs to the 6.1 job.
const inRun = runKernels();
const here = inRun.includes(STOCK) || inRun.includes(DEBUG);
const [debug] = here ? await useKernels({ kernels: [DEBUG], bootTimeoutMs: 3_600_000 }) : [];
const [stock] = here ? await useKernels({ kernels: [STOCK] }) : [];

const explain = (r: ModuleRun): string =>
  `${r.reasons.join('\n')}\n${JSON.stringify(r.kernelErrors.map((e) => ({ kind: e.kind, title: e.title, module: e.module, stage: e.stage })))}`;
const source = (name: string) => ({ module: path.join(FIXTURES, name, 'module'), test: path.join(FIXTURES, name, 'test'), timeouts: { test: 20 } });

describe.runIf(here)(`${DEBUG}: the bugs stock kernels miss fail the run`, () => {
  it.each(fixtures)('$name -> $onDebug.outcome ($onDebug.kind), blamed on the module', async ({ name, onDebug }) => {
    const r = await debug!.run(source(name));
    expect(r.outcome, explain(r)).toBe(onDebug.outcome);
    const found = r.kernelErrors.find((e) => onDebug.kinds.includes(e.kind));
    expect(found, explain(r)).toBeDefined();
    expect(found!.module, explain(r)).toMatch(/^kmh_/);
    if (onDebug.stage) expect(found!.stage).toBe(onDebug.stage);
    // UBSAN names the file as compiled: the user's path, not the harness's build copy.
    if (found!.kind === 'ubsan') expect(found!.title).toContain(`${path.join(FIXTURES, name, 'module')}/kmh_ubsan.c:`);
  });

  it('a kmemleak report is symbolized to the module source, though the module was unloaded', async () => {
    const r = await debug!.run(source('leak'));
    const leak = r.kernelErrors.find((e) => e.kind === 'kmemleak');
    expect(leak?.stage, explain(r)).toBe('leak-scan');
    expect(
      leak!.trace.some((l) => /^kmh_leak_read\+0x[0-9a-f]+\/0x[0-9a-f]+ \[kmh_leak\]$/.test(l)),
      leak!.trace.join('\n'),
    ).toBe(true);
    expect(leak!.source?.[0]?.file).toMatch(/kmh_leak\.c$/);
  });

  it('the seed module and the vmalloc module pass', async () => {
    for (const [module, test] of [
      [SEED_MODULE_DIR, SEED_TEST_DIR],
      [VMALLOC_MODULE_DIR, VMALLOC_TEST_DIR],
    ] as const) {
      const r = await debug!.run({ module, test, timeouts: { test: 120 } });
      expect(r.outcome, explain(r)).toBe('pass');
    }
  });

  it("is the harness's guest kernel: virtio built in, the checkers on, their boot parameters", async () => {
    const info = debug!.session();
    expect(info.kernel.source).toBe('built');
    expect(info.traits).toEqual({ kasan: true, kmemleak: true, lockdep: true, kunit: true });
    const cmdline = (await debug!.exec('cat /proc/cmdline')).stdout;
    expect(cmdline).toContain('kasan_multi_shot');
    expect(cmdline).not.toContain('slub_debug');
    const modules = (await debug!.exec('cat /proc/modules; ls /sys/kernel/debug/kmemleak')).stdout;
    expect(modules.trim()).toBe('/sys/kernel/debug/kmemleak');
  });
});

// The KUnit fixtures' tests are one C file each: the harness builds it with the ktest.h header.
const kunitSource = (name: string, test: string) => ({
  module: path.join(FIXTURES, name, 'module'),
  test: path.join(FIXTURES, name, 'test', test),
  timeouts: { test: 20 },
});

describe.runIf(here)(`${DEBUG}: a module's KUnit suites run at load and are judged`, () => {
  it('a failed KUnit case is test-failed at load, every case a subtest, though the userland test passed', async () => {
    const r = await debug!.run(kunitSource('kunit-failing', 'kunit_failing_test.c'));
    expect(r.outcome, explain(r)).toBe('test-failed');
    expect(r.failedStage).toBe('load');
    expect(r.reasons).toEqual(['KUnit: subtest kunit.1.2 "kmh_kunit_fail_rounds" failed']);
    expect(r.exitCode).toBe(0);
    expect(r.subtests!.map((s) => [s.id, s.name, s.status])).toEqual([
      ['1', 'kmh_kunit_fail is loaded', 'pass'],
      ['kunit.1', 'kmh_kunit_fail', 'fail'],
      ['kunit.1.1', 'kmh_kunit_fail_copies', 'pass'],
      ['kunit.1.2', 'kmh_kunit_fail_rounds', 'fail'],
    ]);
    // KUnit's own account of the failure, its file named as the user's source.
    const failed = r.subtests!.find((s) => s.id === 'kunit.1.2')!;
    expect(failed.diagnostics).toContain(`kmh_kunit_fail_rounds: EXPECTATION FAILED at ${path.join(FIXTURES, 'kunit-failing', 'module')}/kmh_kunit_fail.c:25`);
    // KUnit sets taint N when a suite runs: expected, not a kernel error.
    expect(r.taint).toBeUndefined();
  });

  it('its twin, whose cases pass or skip, passes', async () => {
    const r = await debug!.run(kunitSource('kunit-passing', 'kunit_passing_test.c'));
    expect(r.outcome, explain(r)).toBe('pass');
    expect(r.subtests!.map((s) => [s.id, s.status])).toEqual([
      ['1', 'pass'],
      ['kunit.1', 'pass'],
      ['kunit.1.1', 'pass'],
      ['kunit.1.2', 'pass'],
      ['kunit.1.3', 'skip'],
    ]);
  });

  it(`on stock ${STOCK}, which has no KUnit, the module cannot build, and the fix says why`, async () => {
    const r = await runOnKernel(STOCK, {
      moduleDir: path.join(FIXTURES, 'kunit-failing', 'module'),
      test: path.join(FIXTURES, 'kunit-failing', 'test', 'kunit_failing_test.c'),
    });
    expect(r.outcome, r.reasons.join('\n')).toBe('build-failed');
    expect(r.reasons.join('\n')).toContain('this kernel has no KUnit (CONFIG_KUNIT is not set)');
  });
});

describe.runIf(here)(`stock ${STOCK}: the same modules pass, since its kernel reports none of these bugs`, () => {
  it.each(fixtures)('$name -> $onStock', async ({ name, onStock }) => {
    const r = await stock!.run(source(name));
    expect(r.outcome, explain(r)).toBe(onStock);
  });
});

describe.runIf(here)('bad kernel definitions: exit 2 with the fix, nothing left in the cache', () => {
  const cli = path.resolve(import.meta.dirname, '../../dist/cli.js');
  const kernelsDir = path.join(cacheRoot(), 'kernels');
  // The entry's lock file (cache/lock.ts) stays: removing a flock file races its next taker.
  const leftovers = async (name: string) => (await readdir(kernelsDir)).filter((n) => n.includes(name) && !n.startsWith(LOCK_PREFIX));
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kmod-harness-bad-kernel-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const runWith = async (kernelBuilds: string, kernel: string) => {
    await writeFile(path.join(dir, 'kmod-harness.config.ts'), `export default { kernels: ['${kernel}'], kernelBuilds: ${kernelBuilds} };\n`);
    return execa('node', [cli, 'run', '--plain', '--kernel', kernel, '--module', SEED_MODULE_DIR, '--test', SEED_TEST_DIR], {
      cwd: dir,
      env: childEnv(),
      extendEnv: false,
      reject: false,
      all: true,
    });
  };

  it('an option this kernel does not know and one Kconfig drops are named after configuring; no build starts', async () => {
    // KCSAN cannot be on with KASAN: Kconfig drops it.
    const r = await runWith("[{ name: 'kmh-bad-options', series: '6.1', config: { CONFIG_KASAM: 'y', CONFIG_KCSAN: 'y' } }]", 'kmh-bad-options');
    expect(r.exitCode, r.all).toBe(2);
    expect(r.all).toContain(
      "kernel 'kmh-bad-options': options of its fragments are not in the built .config: unknown to this kernel: CONFIG_KASAM; not kept by Kconfig: CONFIG_KCSAN=y (got unset)",
    );
    expect(r.all).not.toContain('building bzImage');
    expect(await leftovers('kmh-bad-options')).toEqual([]);
  });

  it('a fragment that does not exist stops the run before anything is fetched', async () => {
    const r = await runWith("[{ name: 'kmh-no-fragment', series: '6.1', fragments: ['missing.config'] }]", 'kmh-no-fragment');
    expect(r.exitCode, r.all).toBe(2);
    expect(r.all).toContain(`kernel 'kmh-no-fragment': the Kconfig fragment ${path.join(dir, 'missing.config')} cannot be read (ENOENT)`);
    expect(r.all).not.toContain('kernel...');
  });

  it('a series whose suites have no linux-source package is a usage error naming the package', async () => {
    const spec = { ...seriesSpec(loadCatalogue(), '6.1'), series: '6.0' };
    const e = await prepareSource(spec, { cacheRoot: cacheRoot(), emit: () => {}, label: '6.0-debug' }).catch((error: unknown) => error);
    expect(e).toBeInstanceOf(UsageError);
    expect((e as Error).message).toBe('series 6.0 has no source package: no linux-source-6.0 in bookworm, bookworm-security');
  });
});
