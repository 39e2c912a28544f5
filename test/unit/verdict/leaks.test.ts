import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { untag } from '../../../harness/src/guest/job.js';
import { judgeJob } from '../../../harness/src/verdict/judge.js';
import { stageMarker } from '../../../harness/src/verdict/kmsg.js';
import { moduleLeaks, parseFuncSymbols, symbolizeAddress, type FuncSymbol, type ModuleSection } from '../../../harness/src/verdict/leaks.js';

const SECTIONS_TEXT = `There are 30 section headers, starting at offset 0x4c58:

Section Headers:
  [Nr] Name              Type            Address          Off    Size   ES Flg Lk Inf Al
  [ 0]                   NULL            0000000000000000 000000 000000 00      0   0  0
  [ 1] .text             PROGBITS        0000000000000000 000040 0000c0 00  AX  0   0 16
  [ 2] .init.text        PROGBITS        0000000000000000 000100 000040 00  AX  0   0  1
`;
const SYMTAB_TEXT = `
Symbol table '.symtab' contains 40 entries:
   Num:    Value          Size Type    Bind   Vis      Ndx Name
     3: 0000000000000000   112 FUNC    LOCAL  DEFAULT    1 kmh_leak_read
     4: 0000000000000070    32 FUNC    LOCAL  DEFAULT    1 kmh_leak_open
     5: 0000000000000000    48 FUNC    LOCAL  DEFAULT    2 kmh_leak_init
     6: 0000000000000000     0 OBJECT  LOCAL  DEFAULT    5 kmh_leak_last
`;

describe('parseFuncSymbols', () => {
  it('keeps FUNC symbols with their section, value and size', () => {
    expect(parseFuncSymbols(SYMTAB_TEXT, SECTIONS_TEXT)).toEqual([
      { name: 'kmh_leak_read', section: '.text', value: 0, size: 112 },
      { name: 'kmh_leak_open', section: '.text', value: 0x70, size: 32 },
      { name: 'kmh_leak_init', section: '.init.text', value: 0, size: 48 },
    ]);
  });
});

const symbols = new Map<string, FuncSymbol[]>([['kmh_leak', parseFuncSymbols(SYMTAB_TEXT, SECTIONS_TEXT)]]);
const sections: ModuleSection[] = [
  { module: 'kmh_leak', section: '.text', address: 0xffffffffc0a01000n },
  { module: 'kmh_leak', section: '.init.text', address: 0xffffffffc0a06000n },
];

describe('symbolizeAddress', () => {
  it('maps an address inside a loaded text section to func+off/size [module]', () => {
    expect(symbolizeAddress(0xffffffffc0a01034n, sections, symbols)).toBe('kmh_leak_read+0x34/0x70 [kmh_leak]');
    expect(symbolizeAddress(0xffffffffc0a01075n, sections, symbols)).toBe('kmh_leak_open+0x5/0x20 [kmh_leak]');
    expect(symbolizeAddress(0xffffffffc0a06010n, sections, symbols)).toBe('kmh_leak_init+0x10/0x30 [kmh_leak]');
  });

  it('leaves addresses outside every function alone, and ignores sections hidden as 0', () => {
    expect(symbolizeAddress(0xffffffffc0a01200n, sections, symbols)).toBeUndefined();
    expect(symbolizeAddress(0xffffffff81234567n, sections, symbols)).toBeUndefined();
    expect(symbolizeAddress(0x34n, [{ module: 'kmh_leak', section: '.text', address: 0n }], symbols)).toBeUndefined();
  });
});

// A real report of the harness's 6.1-debug kernel, read after rmmod (test/fixtures/kmemleak).
const CAPTURED = path.resolve(import.meta.dirname, '../../fixtures/kmemleak');
const captured = readFileSync(path.join(CAPTURED, '6.1-debug-leak.txt'), 'utf8');
const realSymbols = new Map([
  [
    'kmh_leak',
    parseFuncSymbols(readFileSync(path.join(CAPTURED, 'kmh_leak.readelf-s.txt'), 'utf8'), readFileSync(path.join(CAPTURED, 'kmh_leak.readelf-S.txt'), 'utf8')),
  ],
]);

describe('moduleLeaks on a captured report', () => {
  const raw = { taint: {}, stillLoaded: [] as string[], sections: [] as ModuleSection[] };
  const report = untag(captured, raw);

  it('reads the section addresses the job printed before rmmod', () => {
    expect(raw.sections.find((s) => s.section === '.text')).toEqual({ module: 'kmh_leak', section: '.text', address: 0xffffffffa0000000n });
    expect(raw.sections).toHaveLength(6);
  });

  it("names the unloaded module's bare frames again, one block per object", () => {
    const leaks = moduleLeaks(report, ['kmh_leak'], raw.sections, realSymbols);
    expect(leaks).toHaveLength(3);
    expect(leaks[0]!.split('\n')).toContain('    [<000000005f491d0a>] kmh_leak_read+0x56/0x8b [kmh_leak]');
    expect(leaks[0]!.split('\n')[0]).toBe('unreferenced object 0xffff88800515b600 (size 128):');
  });

  it('keeps no object without a frame of the modules under test', () => {
    expect(
      moduleLeaks(
        report,
        ['kmh_other'],
        raw.sections.map((s) => ({ ...s, module: 'kmh_other' })),
        new Map(),
      ),
    ).toEqual([]);
    expect(moduleLeaks(report, [], raw.sections, realSymbols)).toEqual([]);
  });

  it('judged: one kmemleak kernel error per object in the leak-scan stage, blamed on the module; the scan summary alone fails nothing', () => {
    const leaks = moduleLeaks(report, ['kmh_leak'], raw.sections, realSymbols);
    const job = {
      ...raw,
      load: { exitCode: 0, signal: null, stdout: '', stderr: '' },
      test: { exitCode: 0, signal: null, stdout: 'ok\n', stderr: '' },
      unload: { exitCode: 0, signal: null, stdout: '', stderr: '' },
      kmemleak: report,
      // The dmesg of that scan: only kmemleak's summary line, between the job's markers.
      dmesg: [
        `<12>[   17.0] ${stageMarker('load:j', 'begin')}`,
        `<12>[   17.1] ${stageMarker('load:j', 'end')}`,
        `<12>[   18.0] ${stageMarker('leak-scan:j', 'begin')}`,
        '<6>[   18.268343] kmemleak: 3 new suspected memory leaks (see /sys/kernel/debug/kmemleak)',
        `<12>[   19.0] ${stageMarker('leak-scan:j', 'end')}`,
      ].join('\n'),
      settled: true,
      entries: {},
      reloads: [],
      timedOutStage: undefined,
      guestLost: false,
      stageMs: {},
    };
    const verdict = judgeJob(job, 'j', '', { leaks });
    expect(verdict.outcome).toBe('kernel-error');
    expect(verdict.kernelErrors.map((e) => [e.kind, e.module, e.stage])).toEqual(Array(3).fill(['kmemleak', 'kmh_leak', 'leak-scan']));
    expect(verdict.kernelErrors[0]!.trace).toContain('kmh_leak_read+0x56/0x8b [kmh_leak]');
    expect(judgeJob(job, 'j', '', { leaks: [] }).outcome).toBe('pass');
  });
});
