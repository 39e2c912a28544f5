import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../harness/src/errors.js';
import { parseKernels } from '../../../harness/src/kernel/selection.js';
import { planVms } from '../../../harness/src/run.js';

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
      expect(e.fix).toBe("use one of: 5.10, 6.1, 6.12, 7.2 (or 'all'), buildroot:<output dir>, local:<bzImage>,<build dir>");
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

describe('parseKernels with kernels the user built', () => {
  it('takes buildroot:<dir> as one entry, beside catalogue series', () => {
    expect(parseKernels('buildroot:/work/br/output', known, '6.1')).toEqual(['buildroot:/work/br/output']);
    expect(parseKernels('6.1, buildroot:output ,7.2', known, '6.1')).toEqual(['6.1', 'buildroot:output', '7.2']);
  });

  it("keeps local:<bzImage>,<build dir> whole: the comma after a local: image is the spec's own", () => {
    expect(parseKernels('local:linux/arch/x86/boot/bzImage,linux', known, '6.1')).toEqual(['local:linux/arch/x86/boot/bzImage,linux']);
    expect(parseKernels('6.1,local:/k/bzImage, /k ,buildroot:/o,local:a,b', known, '6.1')).toEqual(['6.1', 'local:/k/bzImage,/k', 'buildroot:/o', 'local:a,b']);
  });

  it('rejects a local: spec without its build dir, naming the expected shape', () => {
    for (const bad of ['local:/k/bzImage', 'local:/k/bzImage,', 'local:/k/bzImage, ', 'local:', 'local:a,local:b,c', 'local:a,buildroot:/o']) {
      expect(() => parseKernels(bad, known, '6.1'), bad).toThrow(UsageError);
    }
    expect(() => parseKernels('local:/k/bzImage', known, '6.1')).toThrow("'local:/k/bzImage' is not local:<bzImage>,<build dir>");
  });

  it('rejects buildroot: without a directory', () => {
    expect(() => parseKernels('buildroot:', known, '6.1')).toThrow("'buildroot:' names no directory");
  });

  it("does not treat 'all' inside a list as every series", () => {
    expect(() => parseKernels('all,buildroot:/o', known, '6.1')).toThrow("unknown kernel series 'all'");
  });
});

describe('planVms', () => {
  const host = { cores: 2, freeMemMiB: 20_000, memoryMiB: 512 };
  it('gives a lone kernel two vCPUs and runs it alone', () => {
    expect(planVms({ ...host, kernels: 1 })).toEqual({ cpus: 2, parallel: 1 });
  });
  it('runs a matrix one vCPU per VM, as many at once as there are cores', () => {
    expect(planVms({ ...host, kernels: 4 })).toEqual({ cpus: 1, parallel: 2 });
    expect(planVms({ ...host, cores: 8, kernels: 4 })).toEqual({ cpus: 1, parallel: 4 });
  });
  it('lets memory bound the VMs, and the user override both', () => {
    expect(planVms({ ...host, cores: 8, freeMemMiB: 1600, kernels: 4 })).toEqual({ cpus: 1, parallel: 2 });
    expect(planVms({ ...host, kernels: 4, cpus: 2 })).toEqual({ cpus: 2, parallel: 1 });
    expect(planVms({ ...host, kernels: 4, parallel: 3 })).toEqual({ cpus: 1, parallel: 3 });
  });
});

describe('parseKernels with kernels the harness builds', () => {
  const known = ['5.10', '6.1'];
  it('accepts them by name, lists them in the error, and leaves them out of all', () => {
    expect(parseKernels('6.1-debug,6.1', known, '6.1', ['5.10-debug', '6.1-debug'])).toEqual(['6.1-debug', '6.1']);
    expect(parseKernels('all', known, '6.1', ['6.1-debug'])).toEqual(known);
    expect(() => parseKernels('6.2-debug', known, '6.1', ['6.1-debug'])).toThrow("unknown kernel series '6.2-debug'");
    try {
      parseKernels('nope', known, '6.1', ['6.1-debug']);
    } catch (error) {
      expect((error as { fix?: string }).fix).toContain("5.10, 6.1 (or 'all'), 6.1-debug, buildroot:");
    }
  });
});

describe('parseKernels with variants of the series', () => {
  const known = ['5.10', '6.1'];
  const variants = ['5.10/generic', '5.10/rt', '6.1/generic', '6.1/rt'];
  it('takes <series>/<variant> beside the series, and keeps them out of all', () => {
    expect(parseKernels('6.1,6.1/generic,6.1/rt', known, '6.1', variants)).toEqual(['6.1', '6.1/generic', '6.1/rt']);
    expect(parseKernels('all', known, '6.1', variants)).toEqual(known);
  });
  it('names the variants it knows for one it does not', () => {
    expect(() => parseKernels('6.1/arm64', known, '6.1', variants)).toThrow("unknown kernel series '6.1/arm64'");
    try {
      parseKernels('6.1/arm64', known, '6.1', variants);
    } catch (error) {
      expect((error as UsageError).fix).toContain('6.1/generic, 6.1/rt');
    }
  });
});
