// The lifecycle fixtures (test/fixtures/modules/*/expect.json "lifecycle": true): bugs that
// strike after rmmod, registrations rmmod leaves behind, a second load that collides, a build
// that never ends, a test that floods stdout, a module that floods the kernel log after a
// WARN. Each runs on VMs of its own (they crash or spoil the guest), the module bugs on the
// oldest and the newest kernel of this run (freed module text unmapped: a page fault; 7.2
// refills it with int3), side by side as `kmod-harness run` does; the rest on the first kernel.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { run, type KernelResult } from '../../harness/src/run.js';
import { FIXTURES, firstKernel, qemuCount, runKernels } from './support.js';

interface Expectation {
  outcome: string;
  kind: string | null;
  kindAlternatives?: string[];
  stage: string | null;
  also?: Array<{ kind: string; stage: string }>;
  droppedAtLeast?: number;
  testTimeoutS?: number;
  titleIncludes?: string;
}

const fixture = (name: string) => ({
  moduleDir: path.join(FIXTURES, name, 'module'),
  test: path.join(FIXTURES, name, 'test'),
  expect: JSON.parse(readFileSync(path.join(FIXTURES, name, 'expect.json'), 'utf8')) as Expectation,
});

const all = runKernels();
const kernels = [...new Set([all[0]!, all.at(-1)!])];
/** Every kernel of the run, two VMs at a time on two cores, each booted and torn down. */
const MATRIX_MS = 600_000;

function explain(r: KernelResult): string {
  return `${r.kernel}: ${r.outcome}\n${r.reasons.join('\n')}\n${JSON.stringify(r.kernelErrors.map((e) => [e.kind, e.stage, e.module, e.title]))}\n--- console tail ---\n${r.logs.console?.slice(-3000) ?? ''}`;
}

describe(`bugs that strike after rmmod, on ${kernels.join(' and ')}`, () => {
  it.each(['timer-after-unload', 'work-after-unload'])(
    '%s: kernel-error at after-unload, blamed on the module through its freed memory',
    async (name) => {
      const { expect: want, ...source } = fixture(name);
      const results = await run(kernels, { ...source, timeouts: { testS: 30 } });
      for (const r of results) {
        expect(r.outcome, explain(r)).toBe('kernel-error');
        const allowed = [want.kind!, ...(want.kindAlternatives ?? [])];
        const first = r.kernelErrors[0]!;
        expect(allowed, explain(r)).toContain(first.kind);
        expect(first.stage, explain(r)).toBe('after-unload');
        expect(first.module, explain(r)).toMatch(/^kmh_/);
        // Blamed through an address inside the module as it was loaded: nothing else names it.
        expect(first.freedText, explain(r)).toMatch(/^kmh_\w+\+0x[0-9a-f]+\/0x[0-9a-f]+ \[kmh_\w+\]$/);
        expect(r.reasons[0]).toMatch(/in the module's memory after it was unloaded/);
      }
    },
    MATRIX_MS,
  );

  it(
    "leftover-proc: the /proc entry rmmod left is named, before the reload's collision",
    async () => {
      const { expect: want, ...source } = fixture('leftover-proc');
      const results = await run(kernels, { ...source, timeouts: { testS: 30 } });
      for (const r of results) {
        expect(r.outcome, explain(r)).toBe('kernel-error');
        expect(r.kernelErrors[0], explain(r)).toMatchObject({ kind: want.kind, stage: want.stage, module: 'kmh_leftover' });
        expect(r.reasons[0]).toBe('left behind after rmmod of kmh_leftover: /proc/kmh_leftover');
        expect(r.reasons.join('\n'), explain(r)).toMatch(/on reload \(the first load and unload succeeded\): insmod exited/);
      }
    },
    MATRIX_MS,
  );

  it(
    'reload-collision: what only a second load shows is load-failed on reload',
    async () => {
      const { expect: want, ...source } = fixture('reload-collision');
      const results = await run(kernels, { ...source, timeouts: { testS: 30 } });
      for (const r of results) {
        expect(r.outcome, explain(r)).toBe(want.outcome);
        expect(r.reasons[0], explain(r)).toMatch(/^on reload \(the first load and unload succeeded\): insmod exited with status \d+: /);
      }
      // With reloads off the same module passes: the reload is what catches it.
      for (const once of await run(kernels, { ...source, timeouts: { testS: 30 }, lifecycle: { reloads: 0 } }))
        expect(once.outcome, explain(once)).toBe('pass');
    },
    2 * MATRIX_MS,
  );
});

describe('bounds, on the first kernel', () => {
  it('endless-build: a test Makefile that never ends is a timeout of the test build within its limit, no QEMU left', async () => {
    const { expect: want, ...source } = fixture('endless-build');
    const before = await qemuCount();
    const started = performance.now();
    const [r] = await run([firstKernel()], { ...source, timeouts: { testBuildS: 15 } });
    const wallS = (performance.now() - started) / 1000;
    expect(r!.outcome, explain(r!)).toBe(want.outcome);
    expect(r!.timedOutStage).toBe(want.stage);
    expect(r!.reasons[0]).toBe('test-build did not finish within 15 s');
    expect(r!.reasons[1]).toMatch(/^fix: the test's build ran longer than its limit/);
    // The limit, plus the kernel from the cache and a boot being cancelled.
    expect(wallS).toBeLessThan(15 + 30);
    expect(await qemuCount()).toBe(before);
  });

  // 256 MiB here (~40 s under TCG), 16 times the limit; `BENCH=output npm run bench` runs the
  // fixture's default 1 GiB (~150 s) and reports the throughput.
  it('flood-stdout: a test writing 256 MiB to stdout passes, the harness survives and says how much it dropped', async () => {
    const { expect: want, ...source } = fixture('flood-stdout');
    const [r] = await run([firstKernel()], { ...source, testArgs: ['256'], timeouts: { testS: want.testTimeoutS! } });
    expect(r!.outcome, explain(r!)).toBe('pass');
    expect(r!.dropped?.stdout).toBeGreaterThanOrEqual(256 * 2 ** 20 - 16 * 2 ** 20);
    // What was kept is the bound (16 MiB), head and tail, with the dropped line between.
    expect(Buffer.byteLength(r!.logs.test ?? '')).toBeLessThan(17 * 2 ** 20);
    expect(r!.logs.test).toMatch(/\[kmod-harness: \d+ bytes dropped\]/);
  }, 900_000);

  it('log-flood-after-warn: a WARN pushed out of dmesg by the flood that follows is still found, on the console', async () => {
    const { expect: want, ...source } = fixture('log-flood-after-warn');
    const [r] = await run([firstKernel()], { ...source, timeouts: { testS: 60 } });
    expect(r!.outcome, explain(r!)).toBe('kernel-error');
    expect(r!.kernelErrors[0], explain(r!)).toMatchObject({ kind: want.kind, stage: want.stage });
    expect(r!.kernelErrors[0]!.title).toContain(want.titleIncludes!);
    // dmesg really lost it: the report came from the console alone.
    expect(r!.logs.dmesg ?? '').not.toContain('warning before the flood');
  });
});
