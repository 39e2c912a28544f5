import { describe, expect, it } from 'vitest';
import { buildKey, configProblems, countObjects, lastBuildError } from '../../../harness/src/kernel-build/build.js';

const source = { dir: '/c/sources/x/linux', package: 'linux-source-6.1', version: '6.1.192-3', suite: 'bookworm-security' };

describe('buildKey', () => {
  it('names the kernel and source version; the digest follows configuration and compiler', () => {
    const key = buildKey({ name: '6.1-debug', source, rendered: 'CONFIG_A=y\n', compiler: 'gcc (Debian 12.2.0-14) 12.2.0' });
    expect(key).toMatch(/^6\.1-debug_6\.1\.192-3_[0-9a-f]{12}$/);
    expect(buildKey({ name: '6.1-debug', source, rendered: 'CONFIG_A=y\n', compiler: 'gcc (Debian 12.2.0-14) 12.2.0' })).toBe(key);
    expect(buildKey({ name: '6.1-debug', source, rendered: 'CONFIG_A=m\n', compiler: 'gcc (Debian 12.2.0-14) 12.2.0' })).not.toBe(key);
    expect(buildKey({ name: '6.1-debug', source, rendered: 'CONFIG_A=y\n', compiler: 'gcc (Debian 12.3.0-1) 12.3.0' })).not.toBe(key);
    expect(
      buildKey({ name: '6.1-debug', source: { ...source, version: '6.1.193-1' }, rendered: 'CONFIG_A=y\n', compiler: 'gcc (Debian 12.2.0-14) 12.2.0' }),
    ).not.toBe(key);
  });
});

describe('configProblems', () => {
  it('is nothing when every option is there', () => {
    expect(configProblems('k', { unknown: [], dropped: [] })).toBeUndefined();
  });

  it('names unknown and dropped options with what Kconfig made of them', () => {
    const e = configProblems('mine', {
      unknown: ['CONFIG_KASAM'],
      dropped: [
        { option: 'CONFIG_KCSAN', wanted: 'y', got: undefined },
        { option: 'CONFIG_NR_CPUS', wanted: '8', got: '64' },
      ],
    });
    expect(e?.message).toBe(
      "kernel 'mine': options of its fragments are not in the built .config: unknown to this kernel: CONFIG_KASAM; not kept by Kconfig: CONFIG_KCSAN=y (got unset), CONFIG_NR_CPUS=8 (got 64)",
    );
    expect(e?.outcome).toBe('infra-error');
    expect(e?.code).toBe('E_USAGE');
  });
});

describe('lastBuildError and countObjects', () => {
  it("takes the last compiler or linker error, not make's own summary", () => {
    const log = [
      '  CC      mm/slub.o',
      'mm/slub.c:12:5: error: expected ; before }',
      'make[2]: *** [scripts/Makefile.build:250: mm/slub.o] Error 1',
      'make[1]: *** [Makefile:2012: mm] Error 2',
      'make: *** [Makefile:234: __sub-make] Error 2',
    ].join('\n');
    expect(lastBuildError(log)).toBe('mm/slub.c:12:5: error: expected ; before }');
    expect(lastBuildError('make: *** No rule to make target bzImage.  Stop.')).toBe('make: *** No rule to make target bzImage.  Stop.');
  });

  it('counts the objects kbuild announces', () => {
    expect(
      countObjects('  CC      mm/slub.o\n  AS      arch/x86/entry/entry_64.o\n  LD      vmlinux.o\n  CC [M]  drivers/x.o\n  HOSTCC  scripts/basic/fixdep\n'),
    ).toBe(3);
  });
});

describe('kernelTraits, bootSlowness and strictBootParams', async () => {
  const { kernelTraits, bootSlowness } = await import('../../../harness/src/kernel/traits.js');
  const { strictBootParams, STRICT_BOOT_PARAMS } = await import('../../../harness/src/qemu/args.js');
  it('a KASAN kernel boots 3x slower, with KFENCE sampling and every KASAN report instead of slub_debug', () => {
    const debug = kernelTraits('CONFIG_KASAN=y\nCONFIG_DEBUG_KMEMLEAK=y\nCONFIG_PROVE_LOCKING=y\nCONFIG_KUNIT=y\n');
    expect(debug).toEqual({ kasan: true, kmemleak: true, lockdep: true, kunit: true });
    expect(bootSlowness(debug)).toBe(3);
    expect(strictBootParams(debug)).toEqual(['kfence.sample_interval=100', 'kasan_multi_shot']);
    const stock = kernelTraits('# CONFIG_KASAN is not set\nCONFIG_KASAN_SHADOW_OFFSET=0xdffffc0000000000\n');
    expect(stock).toEqual({ kasan: false, kmemleak: false, lockdep: false, kunit: false });
    expect(bootSlowness(stock)).toBe(1);
    expect(strictBootParams(stock)).toBe(STRICT_BOOT_PARAMS);
  });
});
