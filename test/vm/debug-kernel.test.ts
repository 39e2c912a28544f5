// Debug kernels built from Debian's source (harness/src/kernel-build): each fixture's bug is
// a kernel-error on 6.1-debug, and the very same module passes on stock 6.1, whose kernel
// reports none of them. That difference is the point of building debug kernels; it stays
// visible here. The first run builds 6.1-debug (~10 min on 2 cores), later runs use the cache.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SEED_MODULE_DIR, SEED_TEST_DIR } from '../../harness/src/paths.js';
import { useKernels, type ModuleRun } from '../../harness/src/vitest/index.js';
import { FIXTURES } from './support.js';

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
// sleep-in-rcu before lock-order: lockdep turns itself off after its first report.
const NAMES = ['use-after-free', 'sleep-in-rcu', 'lock-order', 'ubsan-bounds', 'leak'];
const fixtures = NAMES.map((name) => {
  const want = JSON.parse(readFileSync(path.join(FIXTURES, name, 'expect.json'), 'utf8')) as Expectation;
  // The leak fixture states its debug-kernel verdict under withKmemleak.
  const onDebug = want.withKmemleak ?? { outcome: want.outcome, kind: want.kind, stage: want.stage };
  return { name, onDebug: { ...onDebug, kinds: [onDebug.kind, ...(want.kindAlternatives ?? [])] }, onStock: want.onStock?.outcome ?? 'pass' };
});

const [debug] = await useKernels({ kernels: [DEBUG], bootTimeoutMs: 3_600_000 });
const [stock] = await useKernels({ kernels: [STOCK] });

const explain = (r: ModuleRun): string => `${r.reasons.join('\n')}\n${JSON.stringify(r.kernelErrors.map((e) => ({ kind: e.kind, title: e.title, module: e.module, stage: e.stage })))}`;
const source = (name: string) => ({ module: path.join(FIXTURES, name, 'module'), test: path.join(FIXTURES, name, 'test'), timeouts: { test: 20 } });

describe(`${DEBUG}: the bugs stock kernels miss fail the run`, () => {
  it.each(fixtures)('$name -> $onDebug.outcome ($onDebug.kind), blamed on the module', async ({ name, onDebug }) => {
    const r = await debug!.run(source(name));
    expect(r.outcome, explain(r)).toBe(onDebug.outcome);
    const found = r.kernelErrors.find((e) => onDebug.kinds.includes(e.kind));
    expect(found, explain(r)).toBeDefined();
    expect(found!.module, explain(r)).toMatch(/^kmh_/);
    if (onDebug.stage) expect(found!.stage).toBe(onDebug.stage);
  });

  it('a kmemleak report is symbolized to the module source, though the module was unloaded', async () => {
    const r = await debug!.run(source('leak'));
    const leak = r.kernelErrors.find((e) => e.kind === 'kmemleak');
    expect(leak?.stage, explain(r)).toBe('leak-scan');
    expect(leak!.trace.some((l) => /^kmh_leak_read\+0x[0-9a-f]+\/0x[0-9a-f]+ \[kmh_leak\]$/.test(l)), leak!.trace.join('\n')).toBe(true);
    expect(leak!.source?.[0]?.file).toMatch(/kmh_leak\.c$/);
  });

  it('the seed module and the vmalloc module pass', async () => {
    for (const [module, test] of [
      [SEED_MODULE_DIR, SEED_TEST_DIR],
      [path.resolve(SEED_MODULE_DIR, '../kernel-module-vmalloc'), path.resolve(SEED_TEST_DIR, '../userland-vmalloc')],
    ] as const) {
      const r = await debug!.run({ module, test, timeouts: { test: 120 } });
      expect(r.outcome, explain(r)).toBe('pass');
    }
  });

  it('is the harness\'s guest kernel: virtio built in, the checkers on, their boot parameters', async () => {
    const info = debug!.session();
    expect(info.kernel.source).toBe('built');
    expect(info.traits).toEqual({ kasan: true, kmemleak: true, lockdep: true });
    const cmdline = (await debug!.exec('cat /proc/cmdline')).stdout;
    expect(cmdline).toContain('kasan_multi_shot');
    expect(cmdline).not.toContain('slub_debug');
    const modules = (await debug!.exec('cat /proc/modules; ls /sys/kernel/debug/kmemleak')).stdout;
    expect(modules.trim()).toBe('/sys/kernel/debug/kmemleak');
  });
});

describe(`stock ${STOCK}: the same modules pass, since its kernel reports none of these bugs`, () => {
  it.each(fixtures)('$name -> $onStock', async ({ name, onStock }) => {
    const r = await stock!.run(source(name));
    expect(r.outcome, explain(r)).toBe(onStock);
  });
});
