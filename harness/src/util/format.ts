// Text for people, written one way everywhere: sizes, tables of aligned columns, moments in UTC,
// file modes.
// Machine formats (JSON reports, stamps in the cache) keep their ISO strings and exact bytes.

const BINARY_UNITS = ['KiB', 'MiB', 'GiB', 'TiB'] as const;

/**
 * 1536 as '1.5 KiB': binary units with one decimal, whole bytes under 1 KiB. For what takes
 * room on disk or in memory (cache entries, dropped output); the JSON reports keep the bytes.
 */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < BINARY_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${BINARY_UNITS[unit]}`;
}

const DECIMAL_UNITS = { MB: 1e6, GB: 1e9 } as const;
export type DecimalUnit = keyof typeof DECIMAL_UNITS;

/** `bytes` as a number of `unit` with one decimal, without the unit: 38_200_000 is '38.2' (MB), for '38.2/61.0 MB'. */
export function decimalAmount(bytes: number, unit: DecimalUnit): string {
  return (bytes / DECIMAL_UNITS[unit]).toFixed(1);
}

/**
 * '61.0 MB', '76.8 GB': decimal units, one decimal, in the unit given. For sizes the world counts
 * in them: downloads (as apt and mirrors state them) and free disk space (as `df -H`).
 */
export function formatDecimal(bytes: number, unit: DecimalUnit): string {
  return `${decimalAmount(bytes, unit)} ${unit}`;
}

export interface AlignOptions {
  /** Columns padded on the left (numbers, sizes). */
  right?: readonly number[];
  /** Widths a column keeps even when its cells are narrower (a layout that must not shift). */
  minWidths?: readonly number[];
}

/**
 * Rows as lines of columns, each padded to its widest cell and two spaces apart. The last column
 * is not padded and no line ends in blanks; the first row (the header) sets the column count.
 */
export function alignColumns(rows: readonly (readonly string[])[], options: AlignOptions = {}): string[] {
  if (rows.length === 0) return [];
  const right = new Set(options.right ?? []);
  const widths = rows[0]!.map((_, i) => Math.max(options.minWidths?.[i] ?? 0, ...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : right.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

/** A moment in UTC to the minute, '2026-11-25 02:43', or with 'day' '2026-11-25'; from ms since the epoch or an ISO string. */
export function utcTime(when: number | string | Date, precision: 'minute' | 'day' = 'minute'): string {
  const iso = new Date(when).toISOString();
  return precision === 'day' ? iso.slice(0, 10) : iso.slice(0, 16).replace('T', ' ');
}

/** The permission bits of a file mode as chmod takes them: 0o100660 is '0660'. */
export function octalMode(mode: number): string {
  return (mode & 0o777).toString(8).padStart(4, '0');
}
