// KUnit suites in the module under test: on a kernel with KUnit, each suite a module registers
// runs while insmod loads it, and prints its KTAP to the kernel log (the console and dmesg),
// not to the test's stdout. This reads that KTAP out of the job's load stage and names it
// apart from the test's own subtests: ids `kunit.1.2` (suite 1, case 2). Pure.
//
// The kernel log rather than debugfs `kunit/<suite>/results`: it needs no debugfs, it is
// already captured with the job's markers around it, and 6.1's debugfs keeps only the last
// parameter of a parameterised case (test/fixtures/tap/kunit-debugfs.stdout).
import { sliceStage, type KmsgRecord } from './kmsg.js';
import { parseTap, tapVerdict, type Subtest, type TapResult } from './tap.js';

/** The root of KUnit subtest ids. */
export const KUNIT_ID = 'kunit';

/**
 * KUnit output starts with a KTAP version line or a suite header. A module's own printk that
 * happens to read `ok 1` is not KUnit without one of them.
 */
const KUNIT_START = /^\s*(KTAP version \d+|# Subtest: \S)/m;

export interface KunitRun {
  result: TapResult;
  /** Why KUnit says the suites failed (tap.ts tapVerdict, with the kunit ids); undefined when they passed. */
  reason?: string;
}

function prefixIds(subtests: readonly Subtest[]): void {
  for (const s of subtests) {
    s.id = `${KUNIT_ID}.${s.id}`;
    if (s.children) prefixIds(s.children);
  }
}

/** The KTAP KUnit printed in one stage of a job (`load:<id>`, `reload:<id>`), or undefined when it printed none. */
export function kunitInStage(records: KmsgRecord[], stage: string): KunitRun | undefined {
  const text = sliceStage(records, stage)
    .map((r) => r.text)
    .join('\n');
  if (!KUNIT_START.test(text)) return undefined;
  const result = parseTap(text);
  if (result === undefined) return undefined;
  prefixIds(result.subtests);
  // A suite whose cases all skip on this kernel (no such hardware) is KUnit's SKIP, as kunit.py
  // reports it: the module's userland test still decides whether anything was tested.
  const verdict = tapVerdict(result, { skipsAreNoPass: false });
  return verdict.reason === undefined ? { result } : { result, reason: verdict.reason };
}
