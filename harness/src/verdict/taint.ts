// /proc/sys/kernel/tainted decoded, per Documentation/admin-guide/tainted-kernels.rst. A taint
// bit newly set by a test (W after a WARN, D after an oops) is evidence even when the log that
// explains it was lost; O and E are expected for every out-of-tree, unsigned test module, and
// N for every module with KUnit suites (KUnit sets it when a suite runs: a test, not a fault).

export interface TaintFlag {
  bit: number;
  letter: string;
  meaning: string;
}

export const TAINT_FLAGS: readonly TaintFlag[] = [
  { bit: 0, letter: 'P', meaning: 'proprietary module was loaded' },
  { bit: 1, letter: 'F', meaning: 'module was force loaded' },
  { bit: 2, letter: 'S', meaning: 'kernel running on an out of specification system' },
  { bit: 3, letter: 'R', meaning: 'module was force unloaded' },
  { bit: 4, letter: 'M', meaning: 'processor reported a Machine Check Exception (MCE)' },
  { bit: 5, letter: 'B', meaning: 'bad page referenced or some unexpected page flags' },
  { bit: 6, letter: 'U', meaning: 'taint requested by userspace application' },
  { bit: 7, letter: 'D', meaning: 'kernel died recently, i.e. there was an OOPS or BUG' },
  { bit: 8, letter: 'A', meaning: 'an ACPI table was overridden by user' },
  { bit: 9, letter: 'W', meaning: 'kernel issued a warning' },
  { bit: 10, letter: 'C', meaning: 'staging driver was loaded' },
  { bit: 11, letter: 'I', meaning: 'workaround for bug in platform firmware applied' },
  { bit: 12, letter: 'O', meaning: 'externally-built ("out-of-tree") module was loaded' },
  { bit: 13, letter: 'E', meaning: 'unsigned module was loaded' },
  { bit: 14, letter: 'L', meaning: 'soft lockup occurred' },
  { bit: 15, letter: 'K', meaning: 'kernel has been live patched' },
  { bit: 16, letter: 'X', meaning: 'auxiliary taint, defined for and used by distros' },
  { bit: 17, letter: 'T', meaning: 'kernel was built with the struct randomization plugin' },
  { bit: 18, letter: 'N', meaning: 'an in-kernel test has been run' },
  { bit: 19, letter: 'J', meaning: 'userspace used a mutating debug operation in fwctl' },
];

const BY_BIT = new Map(TAINT_FLAGS.map((f) => [f.bit, f]));
const BY_LETTER = new Map(TAINT_FLAGS.map((f) => [f.letter, f]));

// /proc/sys/kernel/tainted is an unsigned long; only the low 32 bits are defined, and JS bit
// operators are 32-bit, so bits are walked arithmetically to stay exact past bit 30.
function setBits(mask: number): number[] {
  const bits: number[] = [];
  let rest = Math.floor(Math.max(0, mask));
  for (let bit = 0; rest > 0 && bit < 53; bit++, rest = Math.floor(rest / 2)) {
    if (rest % 2 === 1) bits.push(bit);
  }
  return bits;
}

function flagFor(bit: number): TaintFlag {
  return BY_BIT.get(bit) ?? { bit, letter: '?', meaning: `unknown taint bit ${bit}` };
}

/**
 * The letters of the set bits in bit order, e.g. 12288 -> 'OE'. Unlike the kernel's
 * `Tainted: G           OE` column form, clear bits print nothing and an untainted mask is ''.
 */
export function taintLetters(mask: number): string {
  return setBits(mask)
    .map((bit) => flagFor(bit).letter)
    .join('');
}

/** The documented meaning of each taint letter in `letters` ('?' and unknown letters skipped). */
export function taintMeanings(letters: string): string[] {
  return [...letters].flatMap((l) => {
    const flag = BY_LETTER.get(l);
    return flag === undefined ? [] : [flag.meaning];
  });
}

/** The letters a test module sets by design: out-of-tree (O), unsigned (E), ran a KUnit suite (N). */
export const EXPECTED_TAINT = 'OEN';

/** Bits set in `after` but not in `before`, other than the `allowed` letters. */
export function newTaint(before: number, after: number, allowed = EXPECTED_TAINT): { mask: number; letters: string; meanings: string[] } {
  const previously = new Set(setBits(before));
  const flags = setBits(after)
    .filter((bit) => !previously.has(bit))
    .map(flagFor)
    .filter((f) => !allowed.includes(f.letter) || f.letter === '?');
  return {
    mask: flags.reduce((sum, f) => sum + 2 ** f.bit, 0),
    letters: flags.map((f) => f.letter).join(''),
    meanings: flags.map((f) => f.meaning),
  };
}
