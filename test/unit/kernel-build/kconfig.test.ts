import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEBUG_FRAGMENT, GATED_DEBUG_FRAGMENTS, GUEST_FRAGMENT } from '../../../harness/src/kernel-build/definitions.js';
import {
  checkConfig,
  FragmentSyntaxError,
  kconfigSymbols,
  mergeFragments,
  optionsFragment,
  parseDotConfig,
  parseFragment,
  renderFragment,
} from '../../../harness/src/kernel-build/kconfig.js';

const frag = (text: string, name = 'f.config') => parseFragment({ name, text });

describe('parseFragment', () => {
  it('reads y/m/n, strings and numbers, and "is not set" as n; skips comments and blanks', () => {
    const f = frag('# a comment\nCONFIG_A=y\nCONFIG_B=m\n\n# CONFIG_C is not set\nCONFIG_D="x y"\nCONFIG_E=16000\nCONFIG_F=0x10\nCONFIG_G=n\n');
    expect([...f]).toEqual([
      ['CONFIG_A', 'y'],
      ['CONFIG_B', 'm'],
      ['CONFIG_C', 'n'],
      ['CONFIG_D', '"x y"'],
      ['CONFIG_E', '16000'],
      ['CONFIG_F', '0x10'],
      ['CONFIG_G', 'n'],
    ]);
  });

  it('names the file and line of a line that is not Kconfig', () => {
    for (const bad of ['KASAN=y', 'CONFIG_A = y', 'CONFIG_A=yes', 'CONFIG_A="open']) {
      const e = (() => {
        try {
          frag(`CONFIG_OK=y\n${bad}\n`, 'my.config');
        } catch (error) {
          return error;
        }
        return undefined;
      })();
      expect(e).toBeInstanceOf(FragmentSyntaxError);
      expect((e as Error).message).toMatch(new RegExp(`^my\\.config:2: not a Kconfig line: '${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}'`));
    }
  });

  it("the harness's own fragments parse", () => {
    for (const file of [GUEST_FRAGMENT, DEBUG_FRAGMENT]) expect(frag(readFileSync(file, 'utf8'), file).size).toBeGreaterThan(10);
    for (const g of GATED_DEBUG_FRAGMENTS) expect(frag(readFileSync(g.file, 'utf8'), g.file).size).toBe(1);
    const debug = mergeFragments([DEBUG_FRAGMENT, ...GATED_DEBUG_FRAGMENTS.map((g) => g.file)].map((f) => frag(readFileSync(f, 'utf8'), f)));
    for (const o of [
      'CONFIG_KASAN',
      'CONFIG_KFENCE',
      'CONFIG_PROVE_LOCKING',
      'CONFIG_DEBUG_ATOMIC_SLEEP',
      'CONFIG_PROVE_RCU',
      'CONFIG_DEBUG_KMEMLEAK',
      'CONFIG_UBSAN_BOUNDS',
      'CONFIG_DEBUG_LIST',
      'CONFIG_DEBUG_OBJECTS_TIMERS',
      'CONFIG_DEBUG_OBJECTS_WORK',
      'CONFIG_DEBUG_PAGEALLOC',
      'CONFIG_KUNIT',
      'CONFIG_KALLSYMS_ALL',
    ]) {
      expect(debug.get(o), o).toBe('y');
    }
    expect(debug.get('CONFIG_DEBUG_KMEMLEAK_AUTO_SCAN')).toBe('n');
    expect(debug.get('CONFIG_DEBUG_PAGEALLOC_ENABLE_DEFAULT')).toBe('n');
  });
});

describe('optionsFragment and mergeFragments', () => {
  it("takes a config file's options with or without the prefix; booleans as y / not set", () => {
    expect([...optionsFragment({ CONFIG_A: 'y', B: true, C: false, N: 64, S: '"txt"' })]).toEqual([
      ['CONFIG_A', 'y'],
      ['CONFIG_B', 'y'],
      ['CONFIG_C', 'n'],
      ['CONFIG_N', '64'],
      ['CONFIG_S', '"txt"'],
    ]);
  });

  it('later fragments win, option by option, and render back as a .config', () => {
    const merged = mergeFragments([frag('CONFIG_A=y\nCONFIG_B=y\n'), frag('# CONFIG_A is not set\nCONFIG_C=m\n')]);
    expect(renderFragment(merged)).toBe('# CONFIG_A is not set\nCONFIG_B=y\nCONFIG_C=m\n');
  });
});

describe('checkConfig', () => {
  const built = parseDotConfig('#\n# Automatically generated\nCONFIG_A=y\nCONFIG_B=m\n# CONFIG_C is not set\nCONFIG_S="x"\n');
  const known = new Set(['CONFIG_A', 'CONFIG_B', 'CONFIG_C', 'CONFIG_D', 'CONFIG_S']);

  it('passes what the .config has, and an off option that is absent (known or not)', () => {
    expect(checkConfig(frag('CONFIG_A=y\nCONFIG_B=m\nCONFIG_S="x"\n# CONFIG_C is not set\n# CONFIG_GONE is not set\n'), built, known)).toEqual({
      unknown: [],
      dropped: [],
    });
  });

  it('names options Kconfig dropped or changed, and names it does not know', () => {
    expect(checkConfig(frag('CONFIG_A=m\nCONFIG_D=y\nCONFIG_TYPO=y\n# CONFIG_B is not set\n'), built, known)).toEqual({
      unknown: ['CONFIG_TYPO'],
      dropped: [
        { option: 'CONFIG_A', wanted: 'm', got: 'y' },
        { option: 'CONFIG_D', wanted: 'y', got: undefined },
        { option: 'CONFIG_B', wanted: 'n', got: 'm' },
      ],
    });
  });
});

describe('kconfigSymbols', () => {
  it('finds config and menuconfig entries, not their help text or selects', () => {
    const text =
      'menuconfig KASAN\n\tbool "KASAN"\n\tselect STACKDEPOT\n\thelp\n\t  config in help text\n\nconfig KASAN_GENERIC\n\tbool\nchoice\n  prompt "x"\n';
    expect(kconfigSymbols(text)).toEqual(['CONFIG_KASAN', 'CONFIG_KASAN_GENERIC']);
  });
});
