// The project's broken fixture modules (test/fixtures/modules/*/expect.json) on every kernel:
// each must end in its expected outcome, so the verdict can be trusted to fail. Fixtures that
// wreck the guest (panic, oops, a stuck reader, a module that cannot leave) get a VM of their
// own; the rest share the kernel's VM (useKernels).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runOnKernel } from '../../harness/src/run.js';
import { useKernels } from '../../harness/src/vitest/index.js';
import { FIXTURES } from './support.js';

interface Expectation {
  outcome: string;
  kind: string | null;
  kindAlternatives?: string[];
  stage: string | null;
  signal?: string;
  line?: number;
  optional?: boolean;
  /** A reason must contain this (TAP fixtures: the subtest named). */
  reasonIncludes?: string;
}

const OWN_VM = new Set(['panic-in-test', 'oops-at-load', 'endless-loop', 'unremovable', 'double-free']);
// Two fixtures already have VM tests of their own (verdict-fails.test.ts); those for debug
// kernels (expect.json "debugKernel") run in debug-kernel.test.ts, on stock and debug 6.1, and
// the lifecycle ones ("lifecycle") in lifecycle.test.ts.
const fixtures = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((d) => d.isDirectory() && !['warn-in-callback', 'failing-test'].includes(d.name))
  .filter((d) => !(JSON.parse(readFileSync(path.join(FIXTURES, d.name, 'expect.json'), 'utf8')) as { debugKernel?: boolean }).debugKernel)
  .filter((d) => !(JSON.parse(readFileSync(path.join(FIXTURES, d.name, 'expect.json'), 'utf8')) as { lifecycle?: boolean }).lifecycle)
  .map((d) => ({ name: d.name, expect: JSON.parse(readFileSync(path.join(FIXTURES, d.name, 'expect.json'), 'utf8')) as Expectation }));

const TEST_TIMEOUT_S = 8;

describe.each(await useKernels())('broken fixtures on $name', (vm) => {
  it.each(fixtures)('$name -> $expect.outcome', async ({ name, expect: want }) => {
    const source = { module: path.join(FIXTURES, name, 'module'), test: path.join(FIXTURES, name, 'test') };
    let outcome: string;
    let kinds: Array<{ kind: string; stage?: string }>;
    let signal: string | null | undefined;
    let reasons: string[];
    let diagnostics: Array<{ file: string; line: number }> = [];
    let consoleTail = '';
    if (OWN_VM.has(name) || want.outcome === 'build-failed') {
      const result = await runOnKernel(vm.series, { moduleDir: source.module, test: source.test, timeouts: { testS: TEST_TIMEOUT_S } });
      ({ outcome, reasons, signal, diagnostics } = result);
      consoleTail = result.logs.console?.slice(-2000) ?? '';
      kinds = result.kernelErrors;
    } else {
      const job = await vm.run({ ...source, timeouts: { test: TEST_TIMEOUT_S } });
      ({ outcome, reasons, signal } = job);
      kinds = job.kernelErrors;
    }
    expect(outcome, `${reasons.join('\n')}\n--- console tail ---\n${consoleTail}`).toBe(want.outcome);
    if (want.kind) {
      const allowed = [want.kind, ...(want.kindAlternatives ?? [])];
      expect(
        kinds.map((k) => k.kind).some((k) => allowed.includes(k)),
        JSON.stringify(kinds),
      ).toBe(true);
    } else if (!want.optional) {
      expect(kinds).toEqual([]);
    }
    if (want.signal) expect(signal).toMatch(new RegExp(want.signal));
    if (want.reasonIncludes) expect(reasons.join('\n')).toContain(want.reasonIncludes);
    if (want.line) expect(diagnostics.some((d) => d.line === want.line && d.file.startsWith(path.join(FIXTURES, name)))).toBe(true);
    if (want.stage && want.kind && want.outcome === 'kernel-error' && kinds.some((k) => k.stage)) {
      expect(kinds.find((k) => k.stage)?.stage).toBe(want.stage);
    }
    if (want.stage && want.outcome === 'timeout') expect(reasons.join(' ')).toMatch(new RegExp(want.stage));
  });
});
