// Compiler diagnostics out of a build log, with paths mapped from the build copy back to the
// user's source tree so a report (or a CI annotation) points at the file they edit.
import path from 'node:path';
import type { Diagnostic } from '../errors.js';

const GCC_LINE = /^(?<file>[^\s:][^:]*):(?<line>\d+):(?:(?<column>\d+):)?\s+(?:fatal )?(?<severity>error|warning):\s+(?<message>.*)$/;

// gcc quotes the offending source under each message as `   12 |   code`: never a diagnostic.
const SOURCE_EXCERPT = /^\s*\d*\s*\|/;

/**
 * Diagnostics in a build log. Relative file names are resolved against `baseDir` (the
 * directory make ran in); then the first `pathMap` entry whose `from` is the file's directory
 * or one of its parents maps it back into the user's tree.
 */
export function parseDiagnostics(log: string, pathMap: Array<{ from: string; to: string }> = [], baseDir?: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const raw of log.split('\n')) {
    if (SOURCE_EXCERPT.test(raw)) continue;
    const m = GCC_LINE.exec(raw.trim());
    if (!m?.groups) continue;
    let file = m.groups.file!;
    if (baseDir && !path.isAbsolute(file)) file = path.join(baseDir, file);
    for (const { from, to } of pathMap) {
      if (file === from || file.startsWith(`${from}/`)) {
        file = to + file.slice(from.length);
        break;
      }
    }
    out.push({
      file,
      line: Number(m.groups.line),
      ...(m.groups.column ? { column: Number(m.groups.column) } : {}),
      severity: m.groups.severity as Diagnostic['severity'],
      message: m.groups.message!,
    });
  }
  return out;
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}${d.column ? `:${d.column}` : ''}: ${d.severity}: ${d.message}`;
}
