import { describe, expect, it } from 'vitest';
import { alignColumns, decimalAmount, formatBytes, formatDecimal, octalMode, utcTime } from '../../../harness/src/util/format.js';

describe('formatBytes', () => {
  it('gives bytes, then KiB, MiB, GiB with one decimal', () => {
    expect([0, 1023, 1024, 1536, 16 * 2 ** 20, 2 ** 30 - 2 ** 20, 3 * 2 ** 30].map(formatBytes)).toEqual([
      '0 B',
      '1023 B',
      '1.0 KiB',
      '1.5 KiB',
      '16.0 MiB',
      '1023.0 MiB',
      '3.0 GiB',
    ]);
  });

  it('uses binary units, up to TiB', () => {
    expect([170_000_000, 3 * 1024 ** 3, 5 * 1024 ** 4, 2048 * 1024 ** 4].map(formatBytes)).toEqual(['162.1 MiB', '3.0 GiB', '5.0 TiB', '2048.0 TiB']);
  });
});

describe('formatDecimal', () => {
  it('gives the amount in the unit asked for, one decimal', () => {
    expect(formatDecimal(38_200_000, 'MB')).toBe('38.2 MB');
    expect(formatDecimal(140_349_000, 'MB')).toBe('140.3 MB');
    expect(formatDecimal(5e9, 'GB')).toBe('5.0 GB');
    expect(formatDecimal(0.2e9, 'GB')).toBe('0.2 GB');
    expect(formatDecimal(80e9, 'GB')).toBe('80.0 GB');
  });

  it('decimalAmount is the number without the unit', () => {
    expect(`${decimalAmount(38_200_000, 'MB')}/${formatDecimal(61_000_000, 'MB')}`).toBe('38.2/61.0 MB');
  });
});

describe('alignColumns', () => {
  it('pads each column to its widest cell, two spaces apart, and leaves the last column and line ends alone', () => {
    expect(
      alignColumns([
        ['A', 'BB', 'C'],
        ['aaaa', 'b', 'last column is long'],
        ['x', '', ''],
      ]),
    ).toEqual(['A     BB  C', 'aaaa  b   last column is long', 'x']);
  });

  it('right-aligns the columns asked for', () => {
    expect(
      alignColumns(
        [
          ['NAME', 'SIZE', 'WHAT'],
          ['a', '1.0 KiB', 'x'],
          ['bb', '162.1 MiB', 'y'],
        ],
        { right: [1] },
      ),
    ).toEqual(['NAME       SIZE  WHAT', 'a       1.0 KiB  x', 'bb    162.1 MiB  y']);
  });

  it('keeps minimum widths, and widens past them for a longer cell', () => {
    expect(alignColumns([['ok', 'qemu', 's']], { minWidths: [4, 12] })).toEqual(['ok    qemu          s']);
    expect(alignColumns([['ok', 'a-very-long-name', 's']], { minWidths: [4, 12] })).toEqual(['ok    a-very-long-name  s']);
  });

  it('takes the column count from the first row, and gives nothing for no rows', () => {
    expect(alignColumns([['A', 'B'], ['a']])).toEqual(['A  B', 'a']);
    expect(alignColumns([])).toEqual([]);
  });
});

describe('utcTime', () => {
  it('gives the minute in UTC, from ms or an ISO string', () => {
    expect(utcTime(Date.UTC(2026, 10, 25, 2, 43, 59))).toBe('2026-11-25 02:43');
    expect(utcTime('2026-01-02T03:04:05.000Z')).toBe('2026-01-02 03:04');
  });

  it("gives the day with 'day'", () => {
    expect(utcTime('2026-01-02T23:59:59.999Z', 'day')).toBe('2026-01-02');
    expect(utcTime(Date.UTC(2026, 0, 1), 'day')).toBe('2026-01-01');
  });
});

describe('octalMode', () => {
  it('gives the permission bits as four octal digits, without the file type or setuid/setgid/sticky', () => {
    expect([0o100660, 0o40755, 0o600, 0o20666, 0o104755].map(octalMode)).toEqual(['0660', '0755', '0600', '0666', '0755']);
  });
});
