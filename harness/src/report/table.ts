// The result table printed at the end of a run: one row per kernel.
import type { KernelResult } from '../run.js';
import { droppedNote } from './logs.js';

const COLUMNS = ['kernel', 'outcome', 'boot', 'test', 'total', 'reason'] as const;

function seconds(ms: number | undefined): string {
  return ms === undefined ? '-' : `${(ms / 1000).toFixed(1)}s`;
}

export function resultRows(results: KernelResult[]): string[][] {
  // The reason, then what the output limit dropped: a pass that lost output says so.
  const reason = (r: KernelResult): string => [r.reasons[0], droppedNote(r)].filter(Boolean).join('; ');
  return results.map((r) => [r.kernel, r.outcome, seconds(r.stages.boot), seconds(r.stages.test), seconds(r.stages.total), reason(r)]);
}

export function formatTable(results: KernelResult[]): string {
  const rows = [COLUMNS.map(String), ...resultRows(results)];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
