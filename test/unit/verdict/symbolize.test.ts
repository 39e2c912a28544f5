// The pure halves of symbolisation: frame parsing and the readelf tables of a real .ko (the
// WARN_ON fixture built against 6.1 headers). The addr2line half runs in the VM tests.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseInlineChain, parseModuleFrame, parseSymbols, pickLocation } from '../../../harness/src/verdict/symbolize.js';

const dir = path.resolve(import.meta.dirname, '../../fixtures/symbols');

describe('parseModuleFrame', () => {
  it('reads function, offset and module from a WARNING title and a trace line', () => {
    expect(parseModuleFrame('WARNING at /src/warn_mmap.c:22 kmh_warn_read+0x5/0xe [warn_mmap]')).toEqual({
      func: 'kmh_warn_read',
      offset: 5,
      module: 'warn_mmap',
      frame: 'kmh_warn_read+0x5/0xe [warn_mmap]',
    });
    expect(parseModuleFrame(' ? kmh_double_free_read.cold+0x1a/0x30 [kmh_double_free]')?.func).toBe('kmh_double_free_read.cold');
  });

  it('ignores frames of the kernel itself', () => {
    expect(parseModuleFrame(' proc_reg_read+0x56/0xa0')).toBeUndefined();
  });
});

describe('parseSymbols', () => {
  const symbols = parseSymbols(
    readFileSync(path.join(dir, 'warn_mmap.readelf-s.txt'), 'utf8'),
    readFileSync(path.join(dir, 'warn_mmap.readelf-S.txt'), 'utf8'),
  );

  it('maps each function to its section and section-relative value', () => {
    expect(symbols.get('kmh_warn_read')).toEqual({ section: '.text', value: 0 });
  });

  it('keeps only functions', () => {
    expect([...symbols.keys()].every((name) => !name.startsWith('__UNIQUE_ID'))).toBe(true);
    expect(symbols.size).toBeGreaterThan(1);
  });
});

describe('parseInlineChain and pickLocation', () => {
  // addr2line -f -i on kmh_leak_read+0x56 of the leak fixture built for 6.1-debug: kmalloc()
  // inlined from slab.h into the module's read function.
  const stdout = readFileSync(path.resolve(import.meta.dirname, '../../fixtures/kmemleak/kmh_leak.addr2line-i.txt'), 'utf8');

  it('reads the chain innermost first, and picks the line in the module, not the kernel header', () => {
    const chain = parseInlineChain(stdout);
    expect(chain.map((c) => [c.func, c.line])).toEqual([
      ['kmalloc', 563],
      ['kmh_leak_read', 35],
    ]);
    expect(pickLocation(chain)).toEqual({ func: 'kmh_leak_read', file: '/work/main/test/fixtures/modules/leak/module/kmh_leak.c', line: 35 });
  });

  it("keeps a helper inlined from the module's own sources, and skips unknown locations", () => {
    const own = parseInlineChain('helper\n/m/src/util.h:7\nkmh_read\n/m/src/main.c:20\n??\n??:0\n');
    expect(pickLocation(own)).toMatchObject({ func: 'helper', line: 7 });
    expect(pickLocation(parseInlineChain('??\n??:0\n'))).toBeUndefined();
  });
});
