// The doctor's findings as text: one line per check (`status name summary`), each line of its
// fix indented under it.
import { alignColumns } from '../../util/format.js';
import type { DoctorCheck } from './check.js';

// Fixed at their widest values (warn, host-tools), so that the layout never shifts.
const STATUS_WIDTH = 4;
const NAME_WIDTH = 12;
/** A fix's lines start under the check's name. */
const FIX_INDENT = ' '.repeat(STATUS_WIDTH + 2);

export function formatDoctor(checks: DoctorCheck[]): string {
  const rows = alignColumns(
    checks.map((c) => [c.status, c.name, c.summary]),
    { minWidths: [STATUS_WIDTH, NAME_WIDTH] },
  );
  const lines: string[] = [];
  checks.forEach((c, n) => {
    lines.push(rows[n]!);
    if (c.fix) c.fix.split('\n').forEach((line, i) => lines.push(`${FIX_INDENT}${i === 0 ? 'fix: ' : '     '}${line}`));
  });
  return `${lines.join('\n')}\n`;
}
