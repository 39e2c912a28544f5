// The --json report: `{"results":[...]}`, one entry per kernel, log excerpts inline (head and
// tail, REPORT_LOG_BYTES each; --artifacts holds the logs as the run kept them).
import { writeFileAtomic } from '../util/files.js';
import type { KernelResult } from '../run.js';
import { withLogExcerpts } from './logs.js';

export function jsonReport(results: KernelResult[]): string {
  return `${JSON.stringify({ results: results.map((r) => withLogExcerpts(r)) }, null, 2)}\n`;
}

export async function writeJsonReport(file: string, results: KernelResult[]): Promise<void> {
  await writeFileAtomic(file, jsonReport(results));
}
