import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../../harness/src/errors.js';
import {
  builtinDefinitions,
  DEBUG_FRAGMENT,
  GUEST_ARCH_FRAGMENTS,
  GUEST_FRAGMENT,
  KCONFIG_DIR,
  readFragments,
  userDefinitions,
} from '../../../harness/src/kernel-build/definitions.js';

const SERIES = ['5.10', '6.1', '6.12', '7.2'];
const usage = (fn: () => unknown): UsageError => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return error as UsageError;
  }
  throw new Error('no error');
};

describe('builtinDefinitions', () => {
  it('is <series>-debug for every series: the guest configuration plus the debug fragment', () => {
    const k = (name: string) => path.join(KCONFIG_DIR, name);
    const x86 = GUEST_ARCH_FRAGMENTS.amd64;
    expect(builtinDefinitions(SERIES).map((d) => [d.name, d.series, d.fragmentFiles])).toEqual([
      // 5.10: no KFENCE (5.12), no DEBUG_INFO_NONE (5.18), still UBSAN_SANITIZE_ALL (gone in 6.9).
      ['5.10-debug', '5.10', [GUEST_FRAGMENT, x86, DEBUG_FRAGMENT, k('debug-ubsan-all.config')]],
      ['6.1-debug', '6.1', [GUEST_FRAGMENT, x86, DEBUG_FRAGMENT, k('debug-kfence.config'), k('debug-info-none.config'), k('debug-ubsan-all.config')]],
      ['6.12-debug', '6.12', [GUEST_FRAGMENT, x86, DEBUG_FRAGMENT, k('debug-kfence.config'), k('debug-info-none.config')]],
      ['7.2-debug', '7.2', [GUEST_FRAGMENT, x86, DEBUG_FRAGMENT, k('debug-kfence.config'), k('debug-info-none.config')]],
    ]);
  });

  it("is <variant>-debug for each arm64 variant: the series' source and debug fragments, arm64's guest fragment, the variant's compiler", () => {
    const [arm] = builtinDefinitions([], ['6.1/arm64']);
    expect(arm).toEqual({
      name: '6.1/arm64-debug',
      series: '6.1',
      arch: 'arm64',
      stock: '6.1/arm64',
      fragmentFiles: [GUEST_FRAGMENT, path.join(KCONFIG_DIR, 'guest-arm64.config'), ...builtinDefinitions(['6.1'])[0]!.fragmentFiles.slice(2)],
      config: {},
      definedIn: 'built in',
    });
    expect(builtinDefinitions(['6.1'])[0]).toMatchObject({ arch: 'amd64', stock: '6.1' });
  });

  it('keeps what only one architecture has out of the common guest fragment', () => {
    const common = readFileSync(GUEST_FRAGMENT, 'utf8');
    for (const option of ['CONFIG_KVM_GUEST', 'CONFIG_SERIAL_8250', 'CONFIG_ACPI', 'CONFIG_SERIAL_AMBA_PL011', 'CONFIG_PCI_HOST_GENERIC'])
      expect(common).not.toMatch(new RegExp(`^${option}=`, 'm'));
    expect(readFileSync(GUEST_ARCH_FRAGMENTS.amd64, 'utf8')).toMatch(/^CONFIG_SERIAL_8250_CONSOLE=y$/m);
    expect(readFileSync(GUEST_ARCH_FRAGMENTS.arm64, 'utf8')).toMatch(/^CONFIG_SERIAL_AMBA_PL011_CONSOLE=y$/m);
  });
});

describe('userDefinitions', () => {
  it('resolves fragment paths against the config dir; debug: false leaves the debug fragment out', () => {
    const [a, b] = userDefinitions(
      [
        { name: 'mine', series: '6.12', fragments: ['k/extra.config'], config: { CONFIG_FOO: 'y' } },
        { name: 'lean', series: '6.1', debug: false },
      ],
      SERIES,
      '/repo',
      '/repo/kmod-harness.config.ts',
    );
    expect(a).toEqual({
      name: 'mine',
      series: '6.12',
      arch: 'amd64',
      stock: '6.12',
      fragmentFiles: [
        GUEST_FRAGMENT,
        GUEST_ARCH_FRAGMENTS.amd64,
        DEBUG_FRAGMENT,
        path.join(KCONFIG_DIR, 'debug-kfence.config'),
        path.join(KCONFIG_DIR, 'debug-info-none.config'),
        '/repo/k/extra.config',
      ],
      config: { CONFIG_FOO: 'y' },
      definedIn: '/repo/kmod-harness.config.ts',
    });
    expect(b!.fragmentFiles).toEqual([GUEST_FRAGMENT, GUEST_ARCH_FRAGMENTS.amd64]);
  });

  it('refuses a taken name, a name with a comma or colon, and an unknown series, naming the field', () => {
    expect(usage(() => userDefinitions([{ name: '6.1-debug', series: '6.1' }], SERIES, '/', 'c')).message).toBe(
      "kernelBuilds[0].name: '6.1-debug' is already a kernel name",
    );
    expect(
      usage(() =>
        userDefinitions(
          [
            { name: 'a', series: '6.1' },
            { name: 'a', series: '6.1' },
          ],
          SERIES,
          '/',
          'c',
        ),
      ).message,
    ).toBe("kernelBuilds[1].name: 'a' is already a kernel name");
    expect(usage(() => userDefinitions([{ name: 'x,y', series: '6.1' }], SERIES, '/', 'c')).message).toMatch(
      /^kernelBuilds\[0\]\.name: 'x,y' is not a usable kernel name/,
    );
    expect(usage(() => userDefinitions([{ name: 'buildroot:x', series: '6.1' }], SERIES, '/', 'c')).message).toMatch(/not a usable kernel name/);
    const e = usage(() => userDefinitions([{ name: 'mine', series: '9.9' }], SERIES, '/', 'c'));
    expect(e.message).toBe("kernelBuilds[0].series: unknown kernel series '9.9'");
    expect(e.fix).toBe('use one of: 5.10, 6.1, 6.12, 7.2');
  });
});

describe('readFragments', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'kmh-fragments-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads each fragment in order and the single options last', async () => {
    await writeFile(path.join(dir, 'a.config'), 'CONFIG_A=y\n');
    const [def] = userDefinitions([{ name: 'm', series: '6.1', fragments: ['a.config'], config: { B: 'm' }, debug: false }], SERIES, dir, 'c');
    const { fragments } = await readFragments(def!);
    expect(fragments.map((f) => [...f].at(-1))).toEqual([
      ['CONFIG_MAGIC_SYSRQ', 'y'],
      ['CONFIG_SERIAL_8250_CONSOLE', 'y'],
      ['CONFIG_A', 'y'],
      ['CONFIG_B', 'm'],
    ]);
  });

  it('a missing fragment file or a bad line is a usage error naming it, and where it was defined', async () => {
    const [missing] = userDefinitions([{ name: 'm', series: '6.1', fragments: ['nope.config'] }], SERIES, dir, '/repo/kmod-harness.config.ts');
    const e = (await readFragments(missing!).catch((error: unknown) => error)) as UsageError;
    expect(e).toBeInstanceOf(UsageError);
    expect(e.message).toBe(`kernel 'm': the Kconfig fragment ${path.join(dir, 'nope.config')} cannot be read (ENOENT)`);
    expect(e.fix).toMatch(/in \/repo\/kmod-harness\.config\.ts/);
    await writeFile(path.join(dir, 'bad.config'), 'CONFIG_A=y\nKASAN=y\n');
    const [bad] = userDefinitions([{ name: 'm', series: '6.1', fragments: ['bad.config'] }], SERIES, dir, 'c');
    const e2 = (await readFragments(bad!).catch((error: unknown) => error)) as UsageError;
    expect(e2.message).toBe(
      `kernel 'm': ${path.join(dir, 'bad.config')}:2: not a Kconfig line: 'KASAN=y' (expected CONFIG_NAME=value or '# CONFIG_NAME is not set')`,
    );
  });
});

describe('kernelArch of a build', () => {
  it("is the build's own: 6.1/arm64-debug is arm64, 6.1-debug amd64", async () => {
    const { kernelArch } = await import('../../../harness/src/kernel-build/index.js');
    expect(kernelArch('6.1/arm64-debug')).toBe('arm64');
    expect(kernelArch('6.1-debug')).toBe('amd64');
    expect(kernelArch('6.12/arm64')).toBe('arm64');
  });
});
