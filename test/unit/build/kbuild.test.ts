import { describe, expect, it } from 'vitest';
import { firstErrorLine } from '../../../harness/src/build/kbuild.js';

// Failed kbuild runs captured on this project's machines (paths shortened).
const H = '/c/kernels/6.12_6.12.118-1/root/usr/src/linux-headers-6.12.118+deb13-common';

describe('firstErrorLine', () => {
  it("names the missing compiler rather than make's *** lines", () => {
    const log = `make: Entering directory '/c/kernels/6.12/root/usr/src/linux-headers-6.12.118+deb13-cloud-amd64'
  CC [M]  /tmp/w/m/lkmc_mmap.o
/bin/sh: 1: x86_64-linux-gnu-gcc-14: not found
make[2]: *** [${H}/scripts/Makefile.build:234: /tmp/w/m/lkmc_mmap.o] Error 127
make[2]: *** Waiting for unfinished jobs....
make: *** [${H}/Makefile:236: __sub-make] Error 2`;
    expect(firstErrorLine(log)).toBe('/bin/sh: 1: x86_64-linux-gnu-gcc-14: not found');
    expect(firstErrorLine('make[1]: gcc-10: No such file or directory\nmake: *** [x] Error 2')).toBe('make[1]: gcc-10: No such file or directory');
  });

  it('names an option the compiler rejects', () => {
    const log = `warning: pahole version differs from the one used to build the kernel
  CC [M]  lkmc_mmap.o
gcc: error: unrecognized command-line option ‘-fmin-function-alignment=16’; did you mean ‘-flimit-function-alignment’?
make[3]: *** [${H}/scripts/Makefile.build:294: lkmc_mmap.o] Error 1`;
    expect(firstErrorLine(log)).toMatch(/^gcc: error: unrecognized command-line option/);
  });

  it("falls back to make's first *** line", () => {
    expect(firstErrorLine(`  LD [M]  x.ko\nmake[2]: *** [a] Error 1\nmake: *** [b] Error 2`)).toBe('make[2]: *** [a] Error 1');
    expect(firstErrorLine('')).toBeUndefined();
  });
});

describe('noKunitFix', async () => {
  const { noKunitFix } = await import('../../../harness/src/build/kbuild.js');
  // modpost's line for test/fixtures/modules/kunit-failing built against stock 6.1's headers.
  const cause = 'ERROR: modpost: "kunit_log_append" [/tmp/kmod-harness-16274-wbmdL4/module/kmh_kunit_fail.ko] undefined!';
  it('names KUnit missing from the kernel when modpost cannot find its functions', () => {
    expect(noKunitFix(cause, '# CONFIG_KUNIT is not set\n')).toMatch(/^this kernel has no KUnit \(CONFIG_KUNIT is not set\).*--kernel 6\.1-debug/);
    expect(noKunitFix('ERROR: modpost: "__kunit_test_suites_init" [x.ko] undefined!', '')).toBeDefined();
  });
  it('says nothing for another undefined symbol, a KUnit kernel, or an unreadable config', () => {
    expect(noKunitFix('ERROR: modpost: "vmalloc_user" [x.ko] undefined!', '')).toBeUndefined();
    expect(noKunitFix(cause, 'CONFIG_KUNIT=y\n')).toBeUndefined();
    expect(noKunitFix(cause, undefined)).toBeUndefined();
  });
});
