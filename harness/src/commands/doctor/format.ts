// The doctor's findings as text: one line per check (`status name summary`), each line of its
// fix indented under it.
import type { DoctorCheck } from './check.js';

export function formatDoctor(checks: DoctorCheck[]): string {
  const lines: string[] = [];
  for (const c of checks) {
    lines.push(`${c.status.padEnd(6)}${c.name.padEnd(14)}${c.summary}`);
    if (c.fix) c.fix.split('\n').forEach((line, i) => lines.push(`${' '.repeat(6)}${i === 0 ? 'fix: ' : '     '}${line}`));
  }
  return `${lines.join('\n')}\n`;
}
