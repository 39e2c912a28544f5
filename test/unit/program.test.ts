import { describe, expect, it } from 'vitest';
import { UsageError } from '../../harness/src/errors.js';
import { parseKernels } from '../../harness/src/program.js';

const known = ['5.10', '6.1', '6.12', '7.2'];

describe('parseKernels', () => {
  it('falls back to the default series when nothing is asked for', () => {
    expect(parseKernels(undefined, known, '6.1')).toEqual(['6.1']);
    expect(parseKernels('', known, '6.1')).toEqual(['6.1']);
  });

  it("expands 'all' to every known series, oldest first", () => {
    expect(parseKernels('all', known, '6.1')).toEqual(known);
  });

  it('takes a comma-separated list in the order given, ignoring blanks around names', () => {
    expect(parseKernels('6.12,5.10', known, '6.1')).toEqual(['6.12', '5.10']);
    expect(parseKernels(' 6.1 , 7.2,', known, '6.1')).toEqual(['6.1', '7.2']);
  });

  it('rejects an unknown series with a UsageError that lists the known ones', () => {
    expect(() => parseKernels('6.1,4.19', known, '6.1')).toThrow(UsageError);
    try {
      parseKernels('4.19', known, '6.1');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(UsageError);
      const e = error as UsageError;
      expect(e.code).toBe('E_USAGE');
      expect(e.message).toBe("unknown kernel series '4.19'");
      expect(e.fix).toBe("use one of: 5.10, 6.1, 6.12, 7.2 (or 'all')");
    }
  });

  it("does not match a series by prefix ('6' is not '6.1')", () => {
    expect(() => parseKernels('6', known, '6.1')).toThrow("unknown kernel series '6'");
  });
});

describe('parseKernels with nothing in the list', () => {
  it('rejects a list of only commas and blanks instead of running no kernel', () => {
    expect(() => parseKernels(',', ['6.1'], '6.1')).toThrow(UsageError);
    expect(() => parseKernels(' , ', ['6.1'], '6.1')).toThrow(/no kernel series/);
  });

  it("accepts ' all ' with blanks", () => {
    expect(parseKernels(' all ', ['5.10', '6.1'], '6.1')).toEqual(['5.10', '6.1']);
  });
});
